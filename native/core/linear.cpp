#include "linear.h"

#include <algorithm>
#include "backend.h"

namespace scm {
namespace {

ScmGemmDesc desc(int64_t m, int64_t n, int64_t k, bool ta, bool tb, float beta, int precision) {
  ScmGemmDesc d{};
  d.m = m; d.n = n; d.k = k; d.trans_a = ta; d.trans_b = tb;
  d.lda = std::max<int64_t>(1, ta ? m : k);
  d.ldb = std::max<int64_t>(1, tb ? k : n);
  d.ldc = std::max<int64_t>(1, n);
  d.batch = 1; d.alpha = 1; d.beta = beta; d.precision = precision;
  return d;
}

void validate(const LinearShape& s, const char* what) {
  require(s.rows >= 0 && s.in >= 1 && s.out >= 1, SCM_E_ARGUMENT, what, ": bad linear shape rows=", s.rows, " in=", s.in,
          " out=", s.out);
}

void add_bias(const ScmKernels& k, int64_t rows, int64_t out, const float* b, float* y) {
  if (!b || rows == 0) return;
  require(k.pointwise.bias_act_forward != nullptr, SCM_E_INTERNAL, "pointwise.bias_act_forward missing");
  check(k, k.pointwise.bias_act_forward(rows, out, SCM_ACT_IDENTITY, y, b, y), "linear bias");
}

}  // namespace

void linear_forward(const ScmKernels& k, const LinearShape& s, const float* x, const float* W, const float* b, float* y,
                    int precision) {
  validate(s, "linear forward");
  if (s.rows == 0) return;
  ScmGemmDesc d = desc(s.rows, s.out, s.in, false, true, 0.f, precision);
  check(k, k.gemm.gemm(&d, x, W, y), "linear forward gemm");
  add_bias(k, s.rows, s.out, b, y);
}

void linear_dual(const ScmKernels& k, const LinearShape& s, const float* xx, const float* W, const float* b, float* yy,
                 int precision) {
  validate(s, "linear dual");
  if (s.rows == 0) return;
  ScmGemmDesc d = desc(2 * s.rows, s.out, s.in, false, true, 0.f, precision);
  check(k, k.gemm.gemm(&d, xx, W, yy), "linear dual gemm");
  add_bias(k, s.rows, s.out, b, yy);  // primal rows only
}

void linear_backward(const ScmKernels& k, const LinearShape& s, const float* x, const float* W, const float* dy, float* dx,
                     float* dW, float* db, float* scratch, int precision) {
  validate(s, "linear backward");
  if (s.rows == 0) return;
  if (dx) {
    ScmGemmDesc d = desc(s.rows, s.in, s.out, false, false, 0.f, precision);
    check(k, k.gemm.gemm(&d, dy, W, dx), "linear backward dx");
  }
  if (dW) {
    ScmGemmDesc d = desc(s.out, s.in, s.rows, true, false, 1.f, precision);
    check(k, k.gemm.gemm(&d, dy, x, dW), "linear backward dW");
  }
  if (db) {
    require(scratch != nullptr, SCM_E_ARGUMENT, "linear backward: db needs a scratch buffer of rows*out floats");
    require(k.pointwise.bias_act_backward != nullptr, SCM_E_INTERNAL, "pointwise.bias_act_backward missing");
    // identity activation: scratch = dy, db += Σ_rows dy (deterministic column sums)
    check(k, k.pointwise.bias_act_backward(s.rows, s.out, SCM_ACT_IDENTITY, dy, nullptr, dy, scratch, db), "linear backward db");
  }
}

}  // namespace scm
