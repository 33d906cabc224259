// Finds and loads the CUDA backend library (libscm_cuda.so) at run time, so that the addon
// itself never depends on CUDA: a CPU-only machine loads nothing CUDA-related beyond one
// failed dlopen of the driver. Every way this can fail becomes a plain-words reason.
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "backend.h"
#include "log.h"

#ifndef SCM_CUDA_BUILT
#define SCM_CUDA_BUILT 0
#endif
#ifndef SCM_CUDA_NOT_BUILT_REASON
#define SCM_CUDA_NOT_BUILT_REASON "this build of scm-native has no CUDA backend"
#endif

namespace scm {
namespace {

using EntryFn = const ScmKernels* (*)(char* reason, size_t reason_size);

struct CudaState {
  const ScmKernels* kernels = nullptr;
  std::string reason;
};

std::string directory_of_this_library() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&directory_of_this_library), &info) && info.dli_fname) {
    std::string path = info.dli_fname;
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
  }
  return ".";
}

CudaState load() {
  CudaState s;
  const char* forced = std::getenv("SCM_BACKEND");
  if (forced && std::strcmp(forced, "cpu") == 0) {
    s.reason = "CUDA disabled by the environment (SCM_BACKEND=cpu)";
    return s;
  }
  if (!SCM_CUDA_BUILT) {
    s.reason = SCM_CUDA_NOT_BUILT_REASON;
    return s;
  }
  // Cheap driver check first: loading cuBLAS costs time and memory a CPU machine should
  // not pay.
  if (!dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    s.reason = "no NVIDIA driver found (libcuda.so.1 cannot be loaded)";
    return s;
  }
  std::string path;
  if (const char* env = std::getenv("SCM_CUDA_LIBRARY")) path = env;
  else path = directory_of_this_library() + "/libscm_cuda.so";
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* err = dlerror();
    std::string msg = err ? err : "unknown dlopen error";
    if (msg.find("cublas") != std::string::npos)
      s.reason = "the cuBLAS libraries cannot be loaded (" + msg + ")";
    else
      s.reason = "the CUDA backend library cannot be loaded (" + msg + ")";
    return s;
  }
  auto entry = reinterpret_cast<EntryFn>(dlsym(lib, "scm_cuda_kernels"));
  if (!entry) {
    s.reason = "the CUDA backend library " + path + " has no scm_cuda_kernels entry";
    return s;
  }
  char reason[512] = {0};
  const ScmKernels* k = entry(reason, sizeof(reason));
  if (!k) {
    s.reason = reason[0] ? reason : "the CUDA backend refused to start";
    return s;
  }
  if (k->abi != SCM_KERNELS_ABI || k->size != sizeof(ScmKernels)) {
    s.reason = "the CUDA backend library " + path + " was built from another version of scm-native (run npm run rebuild)";
    return s;
  }
  s.kernels = k;
  return s;
}

}  // namespace

const ScmKernels* cuda_kernels(std::string* reason) {
  static std::once_flag once;
  static CudaState state;
  std::call_once(once, [] {
    state = load();
    if (state.kernels) {
      ScmDeviceProperties p{};
      if (state.kernels->memory.properties(&p) == 0) log(LogLevel::Info, std::string("CUDA backend loaded: ") + p.name);
    } else {
      log(LogLevel::Info, "CUDA backend not in use: " + state.reason);
    }
  });
  if (!state.kernels && reason) *reason = state.reason;
  return state.kernels;
}

}  // namespace scm
