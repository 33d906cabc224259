#include "backend.h"

#include <atomic>
#include <mutex>

namespace scm {

const char* backend_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::Cpu: return "cpu";
    case BackendKind::Cuda: return "cuda";
    default: return "auto";
  }
}

const ScmKernels& cpu_kernels() {
  static const ScmKernels table = [] {
    ScmKernels k{};
    k.abi = SCM_KERNELS_ABI;
    k.size = sizeof(ScmKernels);
    k.last_error = &scm::last_error;
    scm_cpu_fill_memory(&k.memory);
    scm_cpu_fill_rng(&k.rng);
    scm_cpu_fill_gemm(&k.gemm);
    scm_cpu_fill_norm(&k.norm);
    scm_cpu_fill_pointwise(&k.pointwise);
    scm_cpu_fill_attention(&k.attention);
    scm_cpu_fill_trigflow(&k.trigflow);
    scm_cpu_fill_optim(&k.optim);
    return k;
  }();
  return table;
}

namespace {
std::atomic<int> g_default{static_cast<int>(BackendKind::Auto)};
}

void set_default_backend(BackendKind kind) { g_default.store(static_cast<int>(kind)); }
BackendKind default_backend() { return static_cast<BackendKind>(g_default.load()); }

BackendKind resolve_backend(BackendKind requested) {
  if (requested == BackendKind::Auto) requested = default_backend();
  std::string reason;
  switch (requested) {
    case BackendKind::Cpu:
      return BackendKind::Cpu;
    case BackendKind::Cuda:
      if (!cuda_kernels(&reason))
        fail(SCM_E_BACKEND_UNAVAILABLE, "the CUDA backend was requested but cannot be used: ", reason);
      return BackendKind::Cuda;
    default:
      return cuda_kernels(&reason) ? BackendKind::Cuda : BackendKind::Cpu;
  }
}

const ScmKernels& kernels_for(BackendKind resolved) {
  if (resolved == BackendKind::Cuda) {
    std::string reason;
    const ScmKernels* k = cuda_kernels(&reason);
    if (!k) fail(SCM_E_BACKEND_UNAVAILABLE, "CUDA backend unavailable: ", reason);
    return *k;
  }
  return cpu_kernels();
}

}  // namespace scm
