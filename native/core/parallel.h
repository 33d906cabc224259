// A small fixed thread pool for the CPU kernels. parallel_for splits [0, n) into chunks and
// runs them on the pool plus the calling thread; it returns when all chunks are done.
// Nested calls (a kernel inside a parallel region) run serially, so kernels can call each
// other freely. The pool size is SCM_NUM_THREADS, else the hardware concurrency.
#pragma once
#include <cstddef>
#include <functional>

namespace scm {

// Calls fn(begin, end) on disjoint chunks covering [0, n). grain: the smallest chunk worth a
// thread (work items below it are done serially).
void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);

int cpu_thread_count();
// Changes the pool size (>= 1); waits for a parallel_for running on another thread. Not to be
// called from inside a parallel_for. The CPU GEMM library computes on this pool too
// (native/cpu/gemm_library.h), so this is the one thread count of the CPU backend.
void set_cpu_thread_count(int threads);

}  // namespace scm
