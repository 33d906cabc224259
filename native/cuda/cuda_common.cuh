// Shared helpers of the CUDA backend library: error reporting into the table's thread-local
// last error, the stream every kernel runs on, and launch-size helpers.
#pragma once
#include <cuda_runtime.h>
#include <string>
#include "../core/kernels/table.h"

namespace scm::cuda {

void set_error(const std::string& message);
const char* last_error();

// All work of the library goes to the per-thread default stream.
inline cudaStream_t stream() { return cudaStreamPerThread; }

inline int fail_cuda(cudaError_t err, const char* what) {
  set_error(std::string(what) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
  return err == cudaErrorMemoryAllocation ? SCM_E_OUT_OF_MEMORY : SCM_E_CUDA;
}

inline unsigned blocks_for(size_t n, unsigned threads) {
  size_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b > 65535u * 32u ? 65535u * 32u : (b == 0 ? 1 : b));
}

}  // namespace scm::cuda

// Returns the mapped status from the enclosing function when a CUDA call fails.
#define SCM_CUDA_TRY(call)                                              \
  do {                                                                  \
    cudaError_t scm_err_ = (call);                                      \
    if (scm_err_ != cudaSuccess) return ::scm::cuda::fail_cuda(scm_err_, #call); \
  } while (0)

// After a kernel launch: reports launch errors (bad configuration, no kernel image...).
#define SCM_CUDA_LAUNCHED(what) SCM_CUDA_TRY(cudaGetLastError())
