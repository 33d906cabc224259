// Kernel family: backend memory and device properties.
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
  int (*free)(void* ptr);                   // nullptr is fine
  int (*copy_to_device)(void* dst, const void* host_src, size_t bytes);
  int (*copy_to_host)(void* host_dst, const void* src, size_t bytes);
  int (*copy_on_device)(void* dst, const void* src, size_t bytes);
  int (*fill_bytes)(void* dst, int byte_value, size_t bytes);
  int (*synchronize)(void);                 // waits for all queued device work
  int (*properties)(ScmDeviceProperties* out);
};
