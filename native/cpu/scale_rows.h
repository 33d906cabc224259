// CPU reference of the per-sample scaling (pointwise family, item 9 of
// native/core/kernels/pointwise.h): y = alpha[b] * x over x, y [batch, per_sample], and y = +0
// exactly where alpha[b] == 0 (x is then not used, so a non-finite x of a dropped sample stays out).
#pragma once
#include <algorithm>
#include <cstdint>
#include "pointwise.h"

namespace scm::cpu {

namespace pointwise_checks {

inline bool scale_rows(const char* op, int64_t batch, int64_t per_sample, const void* alpha, const void* x,
                       const void* y) {
  count(op, "batch", batch), count(op, "per_sample", per_sample), product(op, batch, per_sample);
  if (batch * per_sample == 0) return false;
  ptr(alpha, op, "alpha"), ptr(x, op, "x"), ptr(y, op, "y");
  return true;
}

}  // namespace pointwise_checks

// Elementwise in T (one rounding, as on CUDA); y may alias x.
template <class T>
void scale_rows(int64_t batch, int64_t per_sample, const T* alpha, const T* x, T* y) {
  pointwise_detail::for_chunks(batch * per_sample, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end;) {  // the part of row `row` inside [begin, end)
      const int64_t row = k / per_sample, row_end = std::min(end, (row + 1) * per_sample);
      const T a = alpha[row];
      for (; k < row_end; ++k) y[k] = a == T(0) ? T(0) : a * x[k];
    }
  });
}

}  // namespace scm::cpu
