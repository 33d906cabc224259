// Kernel family: matrix products. (Plain C: the C API uses ScmGemmDesc.)
#pragma once
#include "common.h"

enum ScmGemmPrecision {
  SCM_GEMM_FP32 = 0,  // full fp32
  SCM_GEMM_TF32 = 1,  // CUDA: TF32 tensor cores, fp32 accumulation (the CPU computes fp32)
  SCM_GEMM_BF16 = 2   // bf16 operands (fp32 operands are rounded to bf16), fp32 accumulation and output
};

// Element type of an operand (ScmGemmDesc::a_type / b_type). C is always fp32.
enum ScmDtype {
  SCM_DTYPE_F32 = 0,   // float
  SCM_DTYPE_BF16 = 1   // uint16_t holding bfloat16 bits (the upper half of a float)
};

// C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b] for b in [0, batch), row-major.
// op(A) is m x k (A is m x k, or k x m when trans_a), op(B) is k x n (B is k x n, or n x k
// when trans_b), C is m x n. lda/ldb/ldc are row strides in elements of the stored
// matrices; stride_* are the distances between consecutive batch items (0 broadcasts).
// beta == 0 ignores the previous contents of C (NaN in C does not propagate).
//
// Operand values: a bf16 operand (a_type / b_type = SCM_DTYPE_BF16) is used exactly; an fp32
// operand is used as is, except under SCM_GEMM_BF16, where it is first rounded to bf16
// (round to nearest even). Products are accumulated in fp32 (or better). So weights kept in
// bf16 (to_bf16 once) give the same result as fp32 weights under SCM_GEMM_BF16, without
// converting them on every call. A zero-initialised desc means fp32 operands, fp32 math.
typedef struct ScmGemmDesc {
  int64_t m, n, k;
  int trans_a, trans_b;
  int64_t lda, ldb, ldc;
  int64_t batch;
  int64_t stride_a, stride_b, stride_c;
  float alpha, beta;
  int precision;       // ScmGemmPrecision
  int a_type, b_type;  // ScmDtype of A and B (appended in kernel ABI 3)
} ScmGemmDesc;

/* Sets lda/ldb/ldc and the batch strides for dense operands: A batch x (m x k, or k x m when
 * trans_a), B batch x (k x n, or n x k when trans_b), C batch x m x n, all rows contiguous. */
static inline void scm_gemm_dense_layout(ScmGemmDesc* d) {
  d->lda = d->trans_a ? d->m : d->k;
  d->ldb = d->trans_b ? d->k : d->n;
  d->ldc = d->n;
  d->stride_a = d->m * d->k;
  d->stride_b = d->k * d->n;
  d->stride_c = d->m * d->n;
  if (d->lda == 0) d->lda = 1;
  if (d->ldb == 0) d->ldb = 1;
  if (d->ldc == 0) d->ldc = 1;
}

typedef struct ScmGemmKernels {
  // a and b point to floats or to bf16 values, as desc->a_type / b_type say.
  int (*gemm)(const ScmGemmDesc* desc, const void* a, const void* b, float* c);
  // dst[i] = src[i] rounded to bf16 (round to nearest even; NaN stays NaN, inf stays inf).
  int (*to_bf16)(int64_t n, const float* src, uint16_t* dst);
} ScmGemmKernels;
