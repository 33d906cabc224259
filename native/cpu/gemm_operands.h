// Operand preparation for the CPU GEMM paths: brings A and B to the element type a path
// computes on (fp32 for the builtin kernel and OpenBLAS; bf16 for oneDNN's native bf16
// kernels), applying the operand rule of ScmGemmDesc (an fp32 operand is rounded to bf16
// under SCM_GEMM_BF16; a bf16 operand is used exactly). An operand that is already in the
// wanted form is used in place; otherwise its valid elements (never the gaps of ld > cols)
// are packed densely into scratch owned by the calling thread, valid until that thread's
// next call, and the returned desc describes the packed layout (ld = cols, batch stride
// rows x cols, or 0 when the operand was broadcast).
#pragma once
#include "../core/kernels/gemm.h"

namespace scm::cpu {

struct GemmOperands {
  ScmGemmDesc desc;  // m, n, k, trans, C and scalars as given; A/B layouts and types updated
  const void* a;
  const void* b;
};

// compute_type: SCM_DTYPE_F32 or SCM_DTYPE_BF16, the element type both operands get.
GemmOperands prepare_gemm_operands(const ScmGemmDesc& d, const void* a, const void* b, int compute_type);

// Whether every operand value is a bf16 value under the desc's rule (both operands bf16, or
// rounded to bf16 by SCM_GEMM_BF16): then a native bf16 GEMM computes exactly what is asked.
inline bool gemm_operands_are_bf16(const ScmGemmDesc& d) {
  return (d.a_type == SCM_DTYPE_BF16 || d.precision == SCM_GEMM_BF16) &&
         (d.b_type == SCM_DTYPE_BF16 || d.precision == SCM_GEMM_BF16);
}

}  // namespace scm::cpu
