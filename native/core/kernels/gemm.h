// Kernel family: matrix products. (Plain C: the C API uses ScmGemmDesc.)
#pragma once
#include "common.h"

enum ScmGemmPrecision {
  SCM_GEMM_FP32 = 0,  // full fp32 (the CPU always computes this)
  SCM_GEMM_TF32 = 1,  // CUDA: TF32 tensor cores, fp32 accumulation
  SCM_GEMM_BF16 = 2   // CUDA: bf16 operands, fp32 accumulation and output
};

// C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b] for b in [0, batch), row-major.
// op(A) is m x k (A is m x k, or k x m when trans_a), op(B) is k x n (B is k x n, or n x k
// when trans_b), C is m x n. lda/ldb/ldc are row strides in elements of the stored
// matrices; stride_* are the distances between consecutive batch items (0 broadcasts).
// beta == 0 ignores the previous contents of C (NaN in C does not propagate).
typedef struct ScmGemmDesc {
  int64_t m, n, k;
  int trans_a, trans_b;
  int64_t lda, ldb, ldc;
  int64_t batch;
  int64_t stride_a, stride_b, stride_c;
  float alpha, beta;
  int precision;  // ScmGemmPrecision
} ScmGemmDesc;

typedef struct ScmGemmKernels {
  int (*gemm)(const ScmGemmDesc* desc, const float* a, const float* b, float* c);
} ScmGemmKernels;
