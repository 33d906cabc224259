// Argument validation shared by the backends' kernel entries (the C API and the binding
// validate user input earlier with friendlier messages; these catch internal misuse).
#pragma once
#include <algorithm>
#include "../core/error.h"
#include "../core/kernels/gemm.h"

namespace scm::cpu {

inline void validate_gemm(const ScmGemmDesc& d) {
  require(d.m >= 0 && d.n >= 0 && d.k >= 0 && d.batch >= 0, SCM_E_ARGUMENT,
          "gemm: negative size (m=", d.m, ", n=", d.n, ", k=", d.k, ", batch=", d.batch, ")");
  const int64_t a_cols = d.trans_a ? d.m : d.k, b_cols = d.trans_b ? d.k : d.n;
  require(d.lda >= std::max<int64_t>(1, a_cols), SCM_E_ARGUMENT, "gemm: lda=", d.lda, " < ", a_cols);
  require(d.ldb >= std::max<int64_t>(1, b_cols), SCM_E_ARGUMENT, "gemm: ldb=", d.ldb, " < ", b_cols);
  require(d.ldc >= std::max<int64_t>(1, d.n), SCM_E_ARGUMENT, "gemm: ldc=", d.ldc, " < ", d.n);
  require(d.batch <= 1 || d.stride_c >= (d.m - 1) * d.ldc + d.n, SCM_E_ARGUMENT,
          "gemm: stride_c=", d.stride_c, " makes batch items of C overlap");
  require(d.m < (1ll << 31) && d.n < (1ll << 31) && d.k < (1ll << 31), SCM_E_ARGUMENT,
          "gemm: a dimension is 2^31 or larger");
  require(d.stride_a >= 0 && d.stride_b >= 0, SCM_E_ARGUMENT, "gemm: negative batch stride (stride_a=", d.stride_a,
          ", stride_b=", d.stride_b, ")");
  require(d.precision == SCM_GEMM_FP32 || d.precision == SCM_GEMM_TF32 || d.precision == SCM_GEMM_BF16,
          SCM_E_ARGUMENT, "gemm: unknown precision ", d.precision, " (expected SCM_GEMM_FP32, _TF32 or _BF16)");
  for (int t : {d.a_type, d.b_type})
    require(t == SCM_DTYPE_F32 || t == SCM_DTYPE_BF16, SCM_E_ARGUMENT, "gemm: unknown operand type ", t,
            " in ", t == d.a_type ? "a_type" : "b_type", " (expected SCM_DTYPE_F32 or SCM_DTYPE_BF16)");
}

}  // namespace scm::cpu
