#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace scm {
namespace {

thread_local bool t_inside_parallel = false;

// How long an idle thread keeps polling before it sleeps on a condition variable: a worker
// waiting for the next job, the caller waiting for the last task of its job. A model pass
// at batch 1 runs a hundred small parallel_for calls a few microseconds apart; waking a
// sleeping thread costs 10-50 us on a VM (futex), more than many of those ops take.
constexpr auto kSpin = std::chrono::microseconds(100);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls done() (cheap, lock-free) until it is true or kSpin has passed. True when done.
template <class Done>
bool spin_until(Done done) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= until) return done();
  }
}

// One job at a time. A job is published under mutex_ with a new generation; tasks are
// claimed from `claim_`, which packs (generation << 32 | next index), by compare-exchange,
// so a worker that saw an older job can never claim (and run that job's function on) an
// index of a newer one. `pending_` counts the job's unfinished tasks; the caller returns
// when it is 0, so the job's function outlives every call of it.
class Pool {
 public:
  explicit Pool(int threads) { start(threads); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Waits for the running job (another thread's parallel_for) to finish first.
  void resize(int threads) {
    std::lock_guard<std::mutex> submit_lock(submit_mutex_);
    stop();
    start(threads);
  }

  // Runs task(i) for i in [0, tasks) on the workers and the caller.
  void run(size_t tasks, const std::function<void(size_t)>& task) {
    std::unique_lock<std::mutex> submit_lock(submit_mutex_);  // one job at a time
    uint32_t gen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      gen = ++generation_;
      task_ = &task;
      tasks_ = tasks;
      error_ = nullptr;
      pending_.store(tasks, std::memory_order_relaxed);
      claim_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);
      published_.store(gen, std::memory_order_release);
    }
    wake_.notify_all();  // no system call when no worker sleeps
    work(gen, task, tasks);
    if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void start(int threads) {
    stopping_.store(false);
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  void loop() {
    t_inside_parallel = true;
    uint32_t seen = published_.load(std::memory_order_acquire);
    for (;;) {
      auto fresh = [&] { return stopping_.load(std::memory_order_acquire) || published_.load(std::memory_order_acquire) != seen; };
      const std::function<void(size_t)>* task;
      size_t tasks;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!fresh()) {
          lock.unlock();
          spin_until(fresh);
          lock.lock();
          wake_.wait(lock, fresh);
        }
        if (stopping_.load()) return;
        seen = generation_;
        task = task_;
        tasks = tasks_;
      }
      if (task) work(seen, *task, tasks);  // task_ is null once that job has returned
    }
  }

  void work(uint32_t gen, const std::function<void(size_t)>& task, size_t tasks) {
    for (;;) {
      uint64_t c = claim_.load(std::memory_order_acquire);
      size_t i;
      do {
        if (static_cast<uint32_t>(c >> 32) != gen) return;
        i = static_cast<size_t>(c & 0xffffffffu);
        if (i >= tasks) return;
      } while (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire));
      try {
        task(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        { std::lock_guard<std::mutex> lock(mutex_); }  // the caller is spinning or inside done_.wait
        done_.notify_all();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex submit_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)>* task_ = nullptr;  // the current job, under mutex_
  size_t tasks_ = 0;                                    // under mutex_
  uint32_t generation_ = 0;                             // under mutex_
  std::atomic<uint32_t> published_{0};                  // generation_, for lock-free polling
  std::atomic<uint64_t> claim_{0};
  std::atomic<size_t> pending_{0};
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
};

int default_threads() {
  if (const char* env = std::getenv("SCM_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

Pool& pool() {
  static Pool instance(default_threads());
  return instance;
}

}  // namespace

void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  grain = std::max<size_t>(grain, 1);
  Pool& p = pool();
  size_t max_chunks = (n + grain - 1) / grain;
  size_t chunks = std::min<size_t>(max_chunks, static_cast<size_t>(p.size()) * 4);
  if (chunks <= 1 || p.size() == 1 || t_inside_parallel) {
    fn(0, n);
    return;
  }
  size_t per = (n + chunks - 1) / chunks;
  chunks = (n + per - 1) / per;
  std::function<void(size_t)> task = [&](size_t c) {
    bool was_inside = t_inside_parallel;
    t_inside_parallel = true;
    size_t begin = c * per, end = std::min(n, begin + per);
    try {
      fn(begin, end);
    } catch (...) {
      t_inside_parallel = was_inside;
      throw;
    }
    t_inside_parallel = was_inside;
  };
  p.run(chunks, task);
}

int cpu_thread_count() { return pool().size(); }

void set_cpu_thread_count(int threads) { pool().resize(std::max(1, threads)); }

}  // namespace scm
