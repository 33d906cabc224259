// CPU reference of the linear layer y = x Wᵀ + b (templated: the tests run it in double).
// Layouts: x [rows, in], W [out, in] (PyTorch's), b [out] nullable, y [rows, out].
// The engine's backend-independent linear (native/core/linear.h) must equal this.
#pragma once
#include "../core/kernels/gemm.h"
#include "gemm.h"

namespace scm::cpu {

template <class T>
ScmGemmDesc linear_desc(int64_t m, int64_t n, int64_t k, bool ta, bool tb, float beta) {
  ScmGemmDesc d{};
  d.m = m; d.n = n; d.k = k; d.trans_a = ta; d.trans_b = tb;
  d.lda = std::max<int64_t>(1, ta ? m : k);
  d.ldb = std::max<int64_t>(1, tb ? k : n);
  d.ldc = std::max<int64_t>(1, n);
  d.batch = 1; d.alpha = 1; d.beta = beta;
  return d;
}

// y = x Wᵀ + b
template <class T>
void linear_forward(int64_t rows, int64_t in, int64_t out, const T* x, const T* W, const T* b, T* y) {
  gemm<T>(linear_desc<T>(rows, out, in, false, true, 0.f), x, W, y);
  if (b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) y[r * out + o] += b[o];
}

// (y, ty) = (x Wᵀ + b, tx Wᵀ): weights have zero tangent.
template <class T>
void linear_dual(int64_t rows, int64_t in, int64_t out, const T* x, const T* tx, const T* W, const T* b, T* y, T* ty) {
  linear_forward<T>(rows, in, out, x, W, b, y);
  linear_forward<T>(rows, in, out, tx, W, static_cast<const T*>(nullptr), ty);
}

// dx = dy W (overwritten); dW += dyᵀ x, db += Σ_rows dy (accumulated; nullable).
template <class T>
void linear_backward(int64_t rows, int64_t in, int64_t out, const T* x, const T* W, const T* dy, T* dx, T* dW, T* db) {
  if (dx) gemm<T>(linear_desc<T>(rows, in, out, false, false, 0.f), dy, W, dx);
  if (dW) gemm<T>(linear_desc<T>(out, in, rows, true, false, 1.f), dy, x, dW);
  if (db)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) db[o] += dy[r * out + o];
}

}  // namespace scm::cpu
