// Host-only tests of the CUDA backend's error reporting (native/cuda/cuda_error.h), run against
// a model of the CUDA runtime's per-thread last error: a failing call records its error,
// cudaGetLastError() returns it and resets it, except a sticky error, which nothing resets.
// The sticky codes of the model are written out here from the CUDA documentation, not taken
// from cuda_error.h, so a wrong classification there fails these tests.
#include <set>
#include "framework.h"
#include "../cuda/cuda_error.h"

using namespace scm_test;
namespace cu = scm::cuda;

namespace {

// cudaError_t values (driver_types.h).
constexpr int kInvalidValue = 1, kMemoryAllocation = 2, kInvalidConfiguration = 9, kInvalidDeviceFunction = 98,
              kNoKernelImage = 209, kIllegalAddress = 700, kLaunchOutOfResources = 701, kAssert = 710,
              kLaunchFailure = 719;

// "This leaves the process in an inconsistent state and any further CUDA work will return the
// same error" (CUDA 13 driver_types.h), plus cudaErrorAssert ("the device cannot be used again").
const std::set<int> kDocumentedSticky = {226, 700, 702, 710, 714, 715, 716, 717, 718, 719, 721, 810, 911};

struct FakeRuntime {
  static int last;             // the thread's last error
  static std::string message;  // what set_error received

  static void reset() {
    last = 0;
    message.clear();
  }
  // A runtime call (or launch) failing with err records it as the last error.
  static int fail(int err) {
    if (!kDocumentedSticky.count(last)) last = err;  // a sticky error stays the last error
    return err;
  }
  static int get_last_error() {
    const int e = last;
    if (!kDocumentedSticky.count(e)) last = 0;
    return e;
  }
  static const char* error_name(int e) {
    switch (e) {
      case kMemoryAllocation: return "cudaErrorMemoryAllocation";
      case kIllegalAddress: return "cudaErrorIllegalAddress";
      case kInvalidValue: return "cudaErrorInvalidValue";
      default: return "cudaErrorOther";
    }
  }
  static const char* error_string(int e) { return e == kMemoryAllocation ? "out of memory" : "some description"; }
  static void set_error(const std::string& m) { message = m; }
};
int FakeRuntime::last = 0;
std::string FakeRuntime::message;

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

}  // namespace

// Every documented sticky code is a lost context reported as E_CUDA; out of memory is
// E_OUT_OF_MEMORY; launch-configuration and argument errors leave the context usable.
SCM_TEST(cuda_error_classification) {
  for (int e : kDocumentedSticky) {
    SCM_CHECK(cu::classify_error(e) == cu::ErrorKind::kContextLost, "code ", e, " is sticky");
    SCM_CHECK(cu::status_of(cu::classify_error(e)) == SCM_E_CUDA, "code ", e);
  }
  SCM_CHECK(cu::classify_error(0) == cu::ErrorKind::kOk && cu::status_of(cu::ErrorKind::kOk) == SCM_OK);
  SCM_CHECK(cu::classify_error(kMemoryAllocation) == cu::ErrorKind::kOutOfMemory);
  SCM_CHECK(cu::status_of(cu::classify_error(kMemoryAllocation)) == SCM_E_OUT_OF_MEMORY);
  for (int e : {kInvalidValue, kInvalidConfiguration, kInvalidDeviceFunction, kNoKernelImage, kLaunchOutOfResources}) {
    SCM_CHECK(cu::classify_error(e) == cu::ErrorKind::kRecoverable, "code ", e, " leaves the context usable");
    SCM_CHECK(cu::status_of(cu::classify_error(e)) == SCM_E_CUDA, "code ", e);
  }
}

// The stale error: an allocation fails (OOM), the op reports it; the next op on the thread
// launches a good kernel and must succeed, not report the old OOM.
SCM_TEST(cuda_error_report_consumes_the_failure) {
  FakeRuntime::reset();
  const int rc = cu::report_failure<FakeRuntime>(FakeRuntime::fail(kMemoryAllocation), "cudaMallocAsync (scratch)");
  SCM_CHECK(rc == SCM_E_OUT_OF_MEMORY, "rc=", rc);
  SCM_CHECK(FakeRuntime::message == "cudaMallocAsync (scratch): cudaErrorMemoryAllocation (out of memory)",
            FakeRuntime::message);
  SCM_CHECK(FakeRuntime::last == 0, "the OOM is still pending: the next launch check would report it");
  const int next = cu::check_launch<FakeRuntime>("next op's kernel");
  SCM_CHECK(next == SCM_OK, "a good launch after a reported OOM failed with ", next, ": ", FakeRuntime::message);

  // Same for a failed cudaFuncSetAttribute (a recoverable error).
  FakeRuntime::reset();
  SCM_CHECK(cu::report_failure<FakeRuntime>(FakeRuntime::fail(kInvalidValue), "cudaFuncSetAttribute") == SCM_E_CUDA);
  SCM_CHECK(!contains(FakeRuntime::message, "unusable"), FakeRuntime::message);
  SCM_CHECK(cu::check_launch<FakeRuntime>("next op's kernel") == SCM_OK, FakeRuntime::message);
}

// A launch error is reported under the op's name and cleared; no error, no message.
SCM_TEST(cuda_error_launch_check) {
  FakeRuntime::reset();
  FakeRuntime::message = "untouched";
  SCM_CHECK(cu::check_launch<FakeRuntime>("flash attention jvp") == SCM_OK);
  SCM_CHECK(FakeRuntime::message == "untouched", "a good launch set a message: ", FakeRuntime::message);
  FakeRuntime::fail(kInvalidConfiguration);
  SCM_CHECK(cu::check_launch<FakeRuntime>("flash attention jvp") == SCM_E_CUDA);
  SCM_CHECK(contains(FakeRuntime::message, "flash attention jvp: cudaErrorOther"), FakeRuntime::message);
  SCM_CHECK(FakeRuntime::last == 0);
  SCM_CHECK(cu::check_launch<FakeRuntime>("the kernel after") == SCM_OK, FakeRuntime::message);
}

// A sticky error (a kernel faulted) says the context is unusable, and keeps being reported.
SCM_TEST(cuda_error_sticky_says_context_unusable) {
  for (int sticky : {kIllegalAddress, kAssert, kLaunchFailure}) {
    FakeRuntime::reset();
    FakeRuntime::fail(sticky);  // found by the next synchronising call
    const int rc = cu::report_failure<FakeRuntime>(sticky, "copy to host");
    SCM_CHECK(rc == SCM_E_CUDA, "rc=", rc);
    SCM_CHECK(contains(FakeRuntime::message, "copy to host: ") &&
                  contains(FakeRuntime::message, "the CUDA context is unusable") &&
                  contains(FakeRuntime::message, "restart the process"),
              FakeRuntime::message);
    FakeRuntime::message.clear();
    SCM_CHECK(cu::check_launch<FakeRuntime>("next kernel") == SCM_E_CUDA, "a sticky error vanished");
    SCM_CHECK(contains(FakeRuntime::message, "next kernel: ") && contains(FakeRuntime::message, "unusable"),
              FakeRuntime::message);
  }
  // An out-of-memory message does not claim a lost context.
  SCM_CHECK(!contains(cu::describe_error("alloc", "cudaErrorMemoryAllocation", "out of memory",
                                         cu::ErrorKind::kOutOfMemory), "unusable"));
}
