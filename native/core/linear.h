// The linear layer y = x Wᵀ + b on any backend, through the kernel table (gemm family +
// pointwise bias kernels). CPU reference: native/cpu/linear.h.
// Layouts: x [rows, in], W [out, in], b [out] nullable, y [rows, out]; precision is the
// gemm family's ScmGemmPrecision (the CPU always computes fp32).
#pragma once
#include "kernels/table.h"

namespace scm {

struct LinearShape {
  int64_t rows, in, out;
};

void linear_forward(const ScmKernels& k, const LinearShape& s, const float* x, const float* W, const float* b, float* y,
                    int precision = SCM_GEMM_FP32);

// The dual pass with primal and tangent rows stacked: xx = [x; tx] ([2 rows, in]) gives
// yy = [y; ty] ([2 rows, out]) with ONE GEMM over 2·rows rows; the bias goes to the primal
// half only (weights and bias have zero tangent).
void linear_dual(const ScmKernels& k, const LinearShape& s, const float* xx, const float* W, const float* b, float* yy,
                 int precision = SCM_GEMM_FP32);

// dx = dy W (overwritten, nullable); dW += dyᵀ x, db += Σ_rows dy (accumulated, nullable).
// scratch: rows·out floats of backend memory, used only when db is given.
void linear_backward(const ScmKernels& k, const LinearShape& s, const float* x, const float* W, const float* dy, float* dx,
                     float* dW, float* db, float* scratch, int precision = SCM_GEMM_FP32);

}  // namespace scm
