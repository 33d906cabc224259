// The CPU GEMM library compiled into this build, behind one small interface. Exactly one
// implementation is linked, chosen at build time (CMake: SCM_CPU_GEMM=auto|onednn|openblas|
// builtin; node-gyp: builtin):
//   native/cpu/gemm_onednn.cpp     oneDNN dnnl::matmul (fp32; bf16 where the CPU has
//                                  AVX512-BF16 / AMX kernels)
//   native/cpu/gemm_openblas.cpp   OpenBLAS cblas_sgemm (fp32)
//   native/cpu/gemm_nolibrary.cpp  none: the engine's own kernel (native/cpu/gemm.h) computes
//
// Threads: the library always runs single-threaded on the calling thread. The dispatcher
// (native/cpu/gemm.cpp) splits a GEMM into tasks and runs them on the engine's pool
// (core/parallel.h), so the library's threads never add to the engine's: one pool, sized by
// SCM_NUM_THREADS / setCpuThreads.
#pragma once
#include "../core/kernels/gemm.h"

namespace scm::cpu::library {

// "onednn 2.6.3", "openblas 0.3.21" (name and version of the library in use), or nullptr
// when the build has none.
const char* name();

// True when bf16 x bf16 -> fp32 products run natively (oneDNN on a CPU with AVX512-BF16 or
// AMX-BF16). Otherwise bf16 operands are widened to fp32 (exact) and the fp32 GEMM computes.
bool native_bf16();

// One GEMM (ScmGemmDesc semantics, precision ignored), single-threaded, on the calling
// thread. Preconditions (the dispatcher guarantees them): a valid desc with m, n, k, batch
// >= 1; a_type == b_type, both SCM_DTYPE_F32, or both SCM_DTYPE_BF16 when native_bf16().
// Throws scm::Error when the library fails.
void gemm(const ScmGemmDesc& d, const void* a, const void* b, float* c);

}  // namespace scm::cpu::library
