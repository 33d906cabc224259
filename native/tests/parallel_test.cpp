// The CPU thread pool (core/parallel.cpp): every index once, nested calls serial, errors
// rethrown, and the hand-off between back-to-back jobs (workers that poll for the next job
// must never run a finished job's function on a newer job's indices).
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "framework.h"
#include "../core/parallel.h"

using namespace scm_test;

namespace {

// Restores the pool size a test changed.
struct PoolSize {
  int saved = scm::cpu_thread_count();
  explicit PoolSize(int threads) { scm::set_cpu_thread_count(threads); }
  ~PoolSize() { scm::set_cpu_thread_count(saved); }
};

}  // namespace

SCM_TEST(parallel_for_covers_every_index_once) {
  for (int threads : {1, 2, 3, 5}) {
    PoolSize size(threads);
    for (size_t n : {size_t(1), size_t(7), size_t(64), size_t(1000), size_t(100003)}) {
      for (size_t grain : {size_t(1), size_t(13), size_t(4096)}) {
        std::vector<std::atomic<int>> hits(n);
        scm::parallel_for(n, grain, [&](size_t b, size_t e) {
          SCM_CHECK(b < e && e <= n, "chunk [", b, ", ", e, ") of ", n);
          for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
        });
        for (size_t i = 0; i < n; ++i)
          SCM_CHECK(hits[i].load() == 1, "threads ", threads, " n ", n, " grain ", grain, ": index ", i, " ran ", hits[i].load(), " times");
      }
    }
  }
}

// Thousands of tiny jobs back to back, each with its own function object and output: a
// worker still polling for (or finishing) job j must not touch job j+1's data through job
// j's function, and every job must be complete when parallel_for returns.
SCM_TEST(parallel_for_back_to_back_jobs_stay_separate) {
  PoolSize size(4);
  std::atomic<int> current{-1}, strays{0};
  for (int job = 0; job < 20000; ++job) {
    const size_t n = 1 + static_cast<size_t>(job % 9);
    std::vector<int> out(n, -1);
    current.store(job);
    scm::parallel_for(n, 1, [&, job](size_t b, size_t e) {
      if (current.load() != job) strays.fetch_add(1);
      for (size_t i = b; i < e; ++i) out[i] = job;
    });
    SCM_CHECK(strays.load() == 0, "a function of an earlier job ran during job ", job);
    for (size_t i = 0; i < n; ++i) SCM_CHECK(out[i] == job, "job ", job, " index ", i, " holds ", out[i]);
  }
}

SCM_TEST(parallel_for_nested_calls_run_serially) {
  PoolSize size(3);
  std::atomic<long> total{0};
  scm::parallel_for(12, 1, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const std::thread::id me = std::this_thread::get_id();
      scm::parallel_for(50, 1, [&](size_t b2, size_t e2) {
        SCM_CHECK(std::this_thread::get_id() == me, "a nested chunk ran on another thread");
        total.fetch_add(static_cast<long>(e2 - b2));
      });
    }
  });
  SCM_CHECK(total.load() == 12 * 50, "nested total ", total.load());
}

SCM_TEST(parallel_for_rethrows_a_task_error_and_stays_usable) {
  PoolSize size(3);
  bool caught = false;
  try {
    scm::parallel_for(16, 1, [&](size_t b, size_t) {
      if (b >= 8) throw std::runtime_error("task failed on purpose");
    });
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "task failed on purpose";
  }
  SCM_CHECK(caught, "the task's exception did not reach the caller");
  std::atomic<int> count{0};
  scm::parallel_for(16, 1, [&](size_t b, size_t e) { count.fetch_add(static_cast<int>(e - b)); });
  SCM_CHECK(count.load() == 16, "after an error the pool ran ", count.load(), " of 16");
}

// Two threads submitting at once: jobs are serialised, each sees only its own indices.
SCM_TEST(parallel_for_from_two_threads) {
  PoolSize size(3);
  std::atomic<bool> bad{false};
  auto submitter = [&](int id) {
    for (int job = 0; job < 3000; ++job) {
      std::vector<int> out(6, -1);
      scm::parallel_for(out.size(), 1, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) out[i] = id;
      });
      for (int v : out)
        if (v != id) bad.store(true);
    }
  };
  std::thread other(submitter, 2);
  submitter(1);
  other.join();
  SCM_CHECK(!bad.load(), "a job saw another submitter's writes");
}
