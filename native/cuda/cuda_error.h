// How the CUDA backend reports a failed CUDA runtime call or kernel launch. Plain C++ without
// CUDA headers, so that the host-only test native/tests/cuda_error_test.cpp runs the same code
// against a model of the runtime's per-thread error state; cuda_common.cuh instantiates it
// with the real runtime and checks the numeric codes below against cudaError_t.
//
// The CUDA runtime keeps one "last error" per host thread: every failing runtime call (and a
// failed launch) records its error there, and cudaGetLastError() returns it and resets it to
// cudaSuccess. So a failure must be consumed where it is reported: otherwise the next good
// launch on that thread, whose check reads the last error, reports the old failure (the
// "stale error"). Sticky errors (a kernel faulted: illegal address, trap, ...) corrupt the
// context: they cannot be reset, and every later CUDA call of the process fails with them.
#pragma once
#include <string>
#include "../core/status.h"

namespace scm::cuda {

// The cudaError_t values named here (driver_types.h; static_asserts in cuda_common.cuh).
namespace code {
constexpr int kSuccess = 0;
constexpr int kMemoryAllocation = 2;
// Documented as leaving "the process in an inconsistent state": any further CUDA work
// returns the same error, the process must be restarted to use CUDA again.
constexpr int kContained = 226;
constexpr int kIllegalAddress = 700;
constexpr int kLaunchTimeout = 702;
constexpr int kAssert = 710;
constexpr int kHardwareStackError = 714;
constexpr int kIllegalInstruction = 715;
constexpr int kMisalignedAddress = 716;
constexpr int kInvalidAddressSpace = 717;
constexpr int kInvalidPc = 718;
constexpr int kLaunchFailure = 719;
constexpr int kTensorMemoryLeak = 721;
constexpr int kMpsClientTerminated = 810;
constexpr int kExternalDevice = 911;
}  // namespace code

enum class ErrorKind {
  kOk,           // cudaSuccess
  kOutOfMemory,  // the allocation failed; the context is fine
  kRecoverable,  // any other failure that leaves the context usable (bad value, launch configuration...)
  kContextLost,  // sticky: the context is corrupt and stays so
};

constexpr ErrorKind classify_error(int err) {
  switch (err) {
    case code::kSuccess: return ErrorKind::kOk;
    case code::kMemoryAllocation: return ErrorKind::kOutOfMemory;
    case code::kContained:
    case code::kIllegalAddress:
    case code::kLaunchTimeout:
    case code::kAssert:
    case code::kHardwareStackError:
    case code::kIllegalInstruction:
    case code::kMisalignedAddress:
    case code::kInvalidAddressSpace:
    case code::kInvalidPc:
    case code::kLaunchFailure:
    case code::kTensorMemoryLeak:
    case code::kMpsClientTerminated:
    case code::kExternalDevice: return ErrorKind::kContextLost;
    default: return ErrorKind::kRecoverable;
  }
}

constexpr int status_of(ErrorKind kind) {
  return kind == ErrorKind::kOk ? SCM_OK : kind == ErrorKind::kOutOfMemory ? SCM_E_OUT_OF_MEMORY : SCM_E_CUDA;
}

// "what: cudaErrorName (description)", plus what a lost context means for the caller.
inline std::string describe_error(const char* what, const char* name, const char* text, ErrorKind kind) {
  std::string m = std::string(what) + ": " + name + " (" + text + ")";
  if (kind == ErrorKind::kContextLost)
    m += "; the CUDA context is unusable after this error (it may come from earlier queued work of any op): every "
         "later CUDA call in this process fails, restart the process to use the GPU again";
  return m;
}

// R is the runtime: static int get_last_error() (cudaGetLastError: returns the thread's last
// error and resets it, a sticky one excepted), static const char* error_name(int),
// static const char* error_string(int), static void set_error(const std::string&) (the
// library's thread-local message).

// A runtime call returned err (!= success): consume the thread's last error it also recorded,
// set the message, return the status.
template <class R>
int report_failure(int err, const char* what) {
  (void)R::get_last_error();
  const ErrorKind kind = classify_error(err);
  R::set_error(describe_error(what, R::error_name(err), R::error_string(err), kind));
  return status_of(kind);
}

// After kernel launches: reads and clears the thread's last error (a failed launch, or a
// sticky error of earlier work); SCM_OK when there is none.
template <class R>
int check_launch(const char* what) {
  const int err = R::get_last_error();
  return err == code::kSuccess ? SCM_OK : report_failure<R>(err, what);
}

}  // namespace scm::cuda
