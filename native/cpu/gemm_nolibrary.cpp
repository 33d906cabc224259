// No CPU GEMM library in this build (SCM_CPU_GEMM=builtin, none found, or node-gyp): the
// engine's own kernel (native/cpu/gemm.h) computes every GEMM. See gemm_library.h.
#include "gemm_library.h"
#include "../core/error.h"

namespace scm::cpu::library {

const char* name() { return nullptr; }
bool native_bf16() { return false; }
void gemm(const ScmGemmDesc&, const void*, const void*, float*) {
  fail(SCM_E_INTERNAL, "gemm: this build has no CPU GEMM library");
}

}  // namespace scm::cpu::library
