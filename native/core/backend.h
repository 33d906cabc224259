// Backend selection: the CPU kernel table (always present) and the CUDA one (loaded on
// demand from libscm_cuda.so, see cuda_loader.cpp), plus helpers to call through a table.
#pragma once
#include <string>
#include "kernels/table.h"
#include "error.h"

namespace scm {

enum class BackendKind { Auto = 0, Cpu = 1, Cuda = 2 };

const char* backend_name(BackendKind kind);  // "auto" | "cpu" | "cuda"

const ScmKernels& cpu_kernels();

// The CUDA kernel table, or nullptr with *reason saying in plain words why CUDA cannot be
// used (not built, no driver, library or cuBLAS missing, no device, driver too old,
// disabled with SCM_BACKEND=cpu). Loads the library at most once; never unloads it.
const ScmKernels* cuda_kernels(std::string* reason);

// The default for BackendKind::Auto (set by setBackend); initially Auto = CUDA if usable.
void set_default_backend(BackendKind kind);
BackendKind default_backend();

// Resolves Auto to Cpu or Cuda; throws E_BACKEND_UNAVAILABLE (with the reason) when an
// explicitly requested CUDA backend cannot be used.
BackendKind resolve_backend(BackendKind requested);
const ScmKernels& kernels_for(BackendKind resolved);

// Throws scm::Error carrying the table's last error when rc != 0.
inline void check(const ScmKernels& k, int rc, const char* what) {
  if (rc != 0) fail(static_cast<ScmStatus>(rc), what, ": ", k.last_error());
}

}  // namespace scm
