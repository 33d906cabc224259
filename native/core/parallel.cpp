#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace scm {
namespace {

thread_local bool t_inside_parallel = false;

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
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      tasks_ = tasks;
      next_.store(0);
      pending_ = tasks;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    task_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void start(int threads) {
    stopping_ = false;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  void loop() {
    t_inside_parallel = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || (generation_ != seen && task_ != nullptr); });
        if (stopping_) return;
        seen = generation_;
      }
      work();
    }
  }

  void work() {
    for (;;) {
      size_t i = next_.fetch_add(1);
      if (i >= tasks_) return;
      try {
        (*task_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_all();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex submit_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)>* task_ = nullptr;
  size_t tasks_ = 0;
  std::atomic<size_t> next_{0};
  size_t pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
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
