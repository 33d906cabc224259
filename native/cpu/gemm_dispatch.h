// The CPU backend's GEMM paths, for the kernel table (native/cpu/gemm.cpp), the tests and
// the benchmark. Every path computes the full ScmGemmDesc (batched with strides, stride-0
// broadcast, transposes, lda/ldb/ldc, alpha, beta, fp32 or bf16 operands, SCM_GEMM_BF16):
//   Library  the library compiled in (gemm_library.h), its calls split across the engine's
//            pool; bf16 natively where the library and CPU can, else widened to fp32;
//   Builtin  the engine's own blocked kernel (gemm.h): the fallback and the reference;
//   Default  Library when the build has one, else Builtin (what the kernel table uses).
#pragma once
#include "../core/kernels/gemm.h"

namespace scm::cpu {

enum class GemmPath { Default, Builtin, Library };

// Validates the desc (scm::Error SCM_E_ARGUMENT) and computes C. Library without a library
// in the build is an SCM_E_ARGUMENT error.
void gemm_on_path(GemmPath path, const ScmGemmDesc& d, const void* a, const void* b, float* c);

// "onednn 2.6.3", "openblas 0.3.21" or "builtin": what the Default path computes with.
const char* gemm_library_name();
bool gemm_has_library();
// True when the Default path runs bf16 products natively (else: widened to fp32).
bool gemm_native_bf16();

// dst[i] = src[i] rounded to bf16 (the table's to_bf16), threaded on the engine's pool.
void to_bf16(int64_t n, const float* src, uint16_t* dst);

}  // namespace scm::cpu
