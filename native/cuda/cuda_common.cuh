// Shared helpers of the CUDA backend library: error reporting into the table's thread-local
// last error, the stream every kernel runs on, and launch-size helpers.
//
// Errors (protocol and reasons: cuda_error.h): every CUDA runtime call's result is checked, and
// a failure is reported with fail_cuda (or SCM_CUDA_TRY), which consumes the thread's pending
// CUDA error, so that it cannot resurface as the error of a later good launch; launches are
// checked with SCM_CUDA_LAUNCHED, kernels using stream-ordered scratch with launched_then_free.
// Cleanup on an error path (and in destructors) uses free_scratch_quietly.
// Sticky errors (a faulting kernel) are reported as E_CUDA saying the context is unusable.
#pragma once
#include <cuda_runtime.h>
#include <string>
#include "../core/kernels/table.h"
#include "cuda_error.h"

namespace scm::cuda {

void set_error(const std::string& message);
const char* last_error();

// All work of the library goes to the per-thread default stream: work queued by one host
// thread is ordered, work of different threads is not (see core/kernels/memory.h).
inline cudaStream_t stream() { return cudaStreamPerThread; }

// The real runtime for the reporting protocol of cuda_error.h.
struct Runtime {
  static int get_last_error() { return static_cast<int>(cudaGetLastError()); }
  static const char* error_name(int e) { return cudaGetErrorName(static_cast<cudaError_t>(e)); }
  static const char* error_string(int e) { return cudaGetErrorString(static_cast<cudaError_t>(e)); }
  static void set_error(const std::string& m) { ::scm::cuda::set_error(m); }
};

static_assert(code::kSuccess == cudaSuccess && code::kMemoryAllocation == cudaErrorMemoryAllocation &&
              code::kContained == cudaErrorContained && code::kIllegalAddress == cudaErrorIllegalAddress &&
              code::kLaunchTimeout == cudaErrorLaunchTimeout && code::kAssert == cudaErrorAssert &&
              code::kHardwareStackError == cudaErrorHardwareStackError &&
              code::kIllegalInstruction == cudaErrorIllegalInstruction &&
              code::kMisalignedAddress == cudaErrorMisalignedAddress &&
              code::kInvalidAddressSpace == cudaErrorInvalidAddressSpace && code::kInvalidPc == cudaErrorInvalidPc &&
              code::kLaunchFailure == cudaErrorLaunchFailure && code::kTensorMemoryLeak == cudaErrorTensorMemoryLeak &&
              code::kMpsClientTerminated == cudaErrorMpsClientTerminated &&
              code::kExternalDevice == cudaErrorExternalDevice,
              "cuda_error.h: an error code differs from this CUDA's cudaError_t");

// Reports a failed runtime call (err != cudaSuccess): consumes the thread's pending error,
// sets the message, returns SCM_E_OUT_OF_MEMORY or SCM_E_CUDA.
inline int fail_cuda(cudaError_t err, const char* what) { return report_failure<Runtime>(static_cast<int>(err), what); }

// After kernel launches: the launch error (read and cleared), or SCM_OK.
inline int check_launched(const char* what) { return check_launch<Runtime>(what); }

// Stream-ordered free of scratch on an error path (an earlier error is being returned) or in a
// destructor: a failure of the free itself is consumed, never left pending.
inline void free_scratch_quietly(void* p) {
  if (p && cudaFreeAsync(p, stream()) != cudaSuccess) (void)cudaGetLastError();
}

// After the kernels that used stream-ordered scratch p: the launch error first (read before
// the free, so a failing free cannot pass for it), then the free's own error.
inline int launched_then_free(void* p, const char* what) {
  const cudaError_t launch = cudaGetLastError();
  const cudaError_t freed = p ? cudaFreeAsync(p, stream()) : cudaSuccess;
  if (launch != cudaSuccess) return fail_cuda(launch, what);  // also consumes a failed free's error
  if (freed != cudaSuccess) return fail_cuda(freed, "cudaFreeAsync (scratch)");
  return SCM_OK;
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

// After a kernel launch: returns the status of a launch error (bad configuration, no kernel
// image..., or a sticky error of earlier work) from the enclosing function, named by `what`.
#define SCM_CUDA_LAUNCHED(what)                                              \
  do {                                                                       \
    if (int scm_rc_ = ::scm::cuda::check_launched(what)) return scm_rc_;     \
  } while (0)
