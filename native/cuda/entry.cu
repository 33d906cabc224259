// The CUDA backend library's one exported entry: checks for a usable device and returns the
// filled kernel table, or nullptr with a plain-words reason.
#include <cstdio>
#include <cstring>
#include "cuda_common.cuh"

namespace scm::cuda {
namespace {
thread_local std::string t_last_error;
}
void set_error(const std::string& message) { t_last_error = message; }
const char* last_error() { return t_last_error.c_str(); }
}  // namespace scm::cuda

namespace {
const char* table_last_error() { return scm::cuda::last_error(); }
}

extern "C" __attribute__((visibility("default")))
const ScmKernels* scm_cuda_kernels(char* reason, size_t reason_size) {
  auto say = [&](const std::string& text) {
    if (reason && reason_size) std::snprintf(reason, reason_size, "%s", text.c_str());
  };
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  // Every failure below is consumed (cudaGetLastError) so that none is left pending on this
  // thread, where the first kernel launch check would report it (cuda_error.h).
  if (err != cudaSuccess) (void)cudaGetLastError();
  if (err == cudaErrorInsufficientDriver) {
    int driver = 0;
    if (cudaDriverGetVersion(&driver) != cudaSuccess) (void)cudaGetLastError();
    say("the NVIDIA driver is too old for this CUDA " + std::to_string(CUDART_VERSION / 1000) +
        " build (driver supports CUDA " + std::to_string(driver / 1000) + "." +
        std::to_string((driver % 1000) / 10) + ")");
    return nullptr;
  }
  if (err == cudaErrorNoDevice || (err == cudaSuccess && count == 0)) {
    say("no CUDA device found");
    return nullptr;
  }
  if (err != cudaSuccess) {
    say(std::string("CUDA cannot start: ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
    return nullptr;
  }
  cudaDeviceProp prop{};
  err = cudaGetDeviceProperties(&prop, 0);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    say(std::string("CUDA cannot read the properties of device 0: ") + cudaGetErrorName(err) + " (" +
        cudaGetErrorString(err) + ")");
    return nullptr;
  }
  if (prop.major < 8) {
    say("the GPU " + std::string(prop.name) + " has compute capability " + std::to_string(prop.major) +
        "." + std::to_string(prop.minor) + "; scm-native needs 8.0 or newer");
    return nullptr;
  }
  static ScmKernels table = [] {
    ScmKernels k{};
    k.abi = SCM_KERNELS_ABI;
    k.size = sizeof(ScmKernels);
    k.last_error = table_last_error;
    scm_cuda_fill_memory(&k.memory);
    scm_cuda_fill_rng(&k.rng);
    scm_cuda_fill_gemm(&k.gemm);
    scm_cuda_fill_norm(&k.norm);
    scm_cuda_fill_pointwise(&k.pointwise);
    scm_cuda_fill_attention(&k.attention);
    scm_cuda_fill_trigflow(&k.trigflow);
    scm_cuda_fill_optim(&k.optim);
    return k;
  }();
  return &table;
}
