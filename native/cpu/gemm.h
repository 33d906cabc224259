// CPU reference GEMM (templated so the tests can run it in double): blocked over columns,
// four rows of C per pass sharing each row of op(B), parallel over batch x row groups.
// Semantics: native/core/kernels/gemm.h (ScmGemmDesc).
#pragma once
#include <algorithm>
#include <vector>
#include "../core/kernels/gemm.h"
#include "../core/parallel.h"

namespace scm::cpu {

template <class T>
void gemm(const ScmGemmDesc& d, const T* a, const T* b, T* c) {
  const int64_t m = d.m, n = d.n, k = d.k;
  if (m == 0 || n == 0 || d.batch == 0) return;
  const T alpha = static_cast<T>(d.alpha), beta = static_cast<T>(d.beta);
  // op(B) as a contiguous k x n matrix per batch item when B is stored transposed.
  std::vector<T> packed;
  if (d.trans_b && k > 0) {
    packed.resize(static_cast<size_t>(d.batch) * k * n);
    parallel_for(static_cast<size_t>(d.batch * n), 64, [&](size_t begin, size_t end) {
      for (size_t bj = begin; bj < end; ++bj) {
        int64_t bi = bj / n, j = bj % n;
        const T* src = b + bi * d.stride_b + j * d.ldb;
        T* dst = packed.data() + bi * k * n + j;
        for (int64_t p = 0; p < k; ++p) dst[p * n] = src[p];
      }
    });
  }
  constexpr int64_t kRows = 4, kCols = 512;
  const int64_t groups = (m + kRows - 1) / kRows;
  const size_t work_per_group = static_cast<size_t>(std::max<int64_t>(1, k * n * kRows));
  parallel_for(static_cast<size_t>(d.batch * groups), std::max<size_t>(1, (1u << 16) / work_per_group),
               [&](size_t begin, size_t end) {
    T acc[kRows][kCols];
    for (size_t item = begin; item < end; ++item) {
      const int64_t bi = item / groups, i0 = (item % groups) * kRows;
      const int64_t rows = std::min(kRows, m - i0);
      const T* A = a + bi * d.stride_a;
      const T* B = d.trans_b ? packed.data() + bi * k * n : b + bi * d.stride_b;
      const int64_t ldb = d.trans_b ? n : d.ldb;
      T* C = c + bi * d.stride_c;
      for (int64_t j0 = 0; j0 < n; j0 += kCols) {
        const int64_t cols = std::min(kCols, n - j0);
        for (int64_t r = 0; r < kRows; ++r)
          for (int64_t j = 0; j < cols; ++j) acc[r][j] = T(0);
        for (int64_t p = 0; p < k; ++p) {
          T av[kRows];
          for (int64_t r = 0; r < kRows; ++r) {
            int64_t i = i0 + std::min(r, rows - 1);
            av[r] = d.trans_a ? A[p * d.lda + i] : A[i * d.lda + p];
          }
          const T* Brow = B + p * ldb + j0;
          for (int64_t j = 0; j < cols; ++j) {
            const T bv = Brow[j];
            acc[0][j] += av[0] * bv;
            acc[1][j] += av[1] * bv;
            acc[2][j] += av[2] * bv;
            acc[3][j] += av[3] * bv;
          }
        }
        for (int64_t r = 0; r < rows; ++r) {
          T* Crow = C + (i0 + r) * d.ldc + j0;
          if (beta == T(0)) {
            for (int64_t j = 0; j < cols; ++j) Crow[j] = alpha * acc[r][j];
          } else {
            for (int64_t j = 0; j < cols; ++j) Crow[j] = alpha * acc[r][j] + beta * Crow[j];
          }
        }
      }
    }
  });
}

}  // namespace scm::cpu
