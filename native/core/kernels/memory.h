// Kernel family: backend memory and device properties.
//
// Ordering (what every table entry, of every family, may assume and must provide):
//  - The CPU backend runs everything synchronously: each entry returns with its work done.
//  - The CUDA backend queues the work of each entry (kernels, cuBLAS, copy_on_device,
//    fill_bytes, scratch allocation) on the calling host thread's own stream, the per-thread
//    default stream: the work one thread queues runs in the order it was queued, and an entry
//    may return before its work ran. Work queued by DIFFERENT threads is not ordered.
//  - Entries that hand data to or from the host return only when the calling thread's queued
//    work and the copy are complete: copy_to_device (host_src may be reused at once),
//    copy_to_host (sees every earlier entry of this thread), synchronize, free.
//  - None of them waits for work queued by other threads.
//
// Hence the end-of-operation rule, for every caller of the table (binding workers, the C API,
// models and training steps): an operation that may leave device work queued (one that does
// not end with copy_to_host) must call synchronize() on its thread before it reports
// completion. Then, when the next operation runs on another thread (libuv runs successive async
// calls on different worker threads: training step N on thread A, step N+1 on thread B), all
// work on shared buffers is complete. Within one operation, on one thread, no synchronization
// is needed. Operations that run at the same time on buffers they share are a race whatever
// the backend: the caller must order them.
#pragma once
#include "common.h"

struct ScmDeviceProperties {
  char name[256];
  uint64_t memory_bytes;        // total memory of the device (host RAM for the CPU)
  int compute_capability_major; // 0 for the CPU
  int compute_capability_minor;
  int multiprocessors;          // SMs on a GPU, worker threads on the CPU
};

struct ScmMemoryKernels {
  int (*alloc)(void** out, size_t bytes);   // *out = nullptr when bytes == 0
  int (*free)(void* ptr);                   // nullptr is fine; waits for this thread's queued work first
  int (*copy_to_device)(void* dst, const void* host_src, size_t bytes);
  int (*copy_to_host)(void* host_dst, const void* src, size_t bytes);
  int (*copy_on_device)(void* dst, const void* src, size_t bytes);  // queued (may return early)
  int (*fill_bytes)(void* dst, int byte_value, size_t bytes);       // queued (may return early)
  // Waits until all work queued BY THE CALLING THREAD is complete (not other threads' work),
  // and reports an asynchronous failure of it. Ends every operation that leaves work queued.
  int (*synchronize)(void);
  int (*properties)(ScmDeviceProperties* out);
};
