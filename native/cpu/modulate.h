// CPU reference of the per-sample modulation (pointwise family, item 8 of
// native/core/kernels/pointwise.h): y = x * (offset + s[i]) + b[i] over x, y [batch, tokens, C]
// with s, b [batch, C] broadcast over the tokens of sample i. Arithmetic in double; ds and db are
// sums over the tokens in double, in token order (deterministic).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include "pointwise.h"

namespace scm::cpu {

namespace pointwise_checks {

inline void modulate_sizes(const char* op, int64_t batch, int64_t tokens, int64_t C, double offset) {
  count(op, "batch", batch), count(op, "tokens", tokens), count(op, "C", C);
  product(op, batch, tokens), product(op, batch * tokens, C);
  require(std::isfinite(offset), SCM_E_ARGUMENT, op, ": offset=", offset, " must be finite");
}
// Forward (tx, ty null) and dual. Returns false when there is nothing to compute.
inline bool modulate(const char* op, int64_t batch, int64_t tokens, int64_t C, double offset, const void* x,
                     const void* s, const void* b, const void* y, bool dual, const void* tx, const void* ty) {
  modulate_sizes(op, batch, tokens, C, offset);
  if (batch * tokens * C == 0) return false;
  ptr(x, op, "x"), ptr(s, op, "s"), ptr(b, op, "b"), ptr(y, op, "y");
  if (dual) ptr(tx, op, "tx"), ptr(ty, op, "ty");
  return true;
}
// Backward: work whenever batch * C > 0 (with tokens = 0, ds and db are zero-filled).
inline bool modulate_backward(int64_t batch, int64_t tokens, int64_t C, double offset, const void* x, const void* s,
                              const void* dy) {
  const char* op = "modulate_backward";
  modulate_sizes(op, batch, tokens, C, offset);
  if (batch * C == 0) return false;
  ptr(s, op, "s");
  if (tokens > 0) ptr(x, op, "x"), ptr(dy, op, "dy");
  return true;
}

}  // namespace pointwise_checks

namespace modulate_detail {

// Calls fn(i, row) for every token row (row = i*tokens + t of sample i), rows in parallel.
template <class Fn>
void for_rows(int64_t batch, int64_t tokens, int64_t C, Fn&& fn) {
  parallel_for(static_cast<size_t>(batch * tokens), std::max<size_t>(1, pointwise_detail::kGrain / std::max<int64_t>(1, C)),
               [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) fn(int64_t(r) / tokens, int64_t(r));
  });
}

}  // namespace modulate_detail

// y = x*(offset + s) + b; with tx and ty given (the dual), also ty = tx*(offset + s) + x*ts + tb
// (ts, tb nullable = zero tangent). Each element's inputs are read before its outputs are
// written, so y may alias x and ty may alias tx.
template <class T>
void modulate_dual(int64_t batch, int64_t tokens, int64_t C, double offset, const T* x, const T* tx, const T* s,
                   const T* ts, const T* b, const T* tb, T* y, T* ty) {
  modulate_detail::for_rows(batch, tokens, C, [&](int64_t i, int64_t r) {
    for (int64_t c = 0; c < C; ++c) {
      const int64_t k = r * C + c, sc = i * C + c;
      const double xv = x[k], scale = offset + static_cast<double>(s[sc]);
      if (ty) {
        const double t = static_cast<double>(tx[k]) * scale + (ts ? xv * static_cast<double>(ts[sc]) : 0.0) +
                         (tb ? static_cast<double>(tb[sc]) : 0.0);
        ty[k] = static_cast<T>(t);
      }
      y[k] = static_cast<T>(xv * scale + static_cast<double>(b[sc]));
    }
  });
}
template <class T>
void modulate_forward(int64_t batch, int64_t tokens, int64_t C, double offset, const T* x, const T* s, const T* b,
                      T* y) {
  modulate_dual<T>(batch, tokens, C, offset, x, nullptr, s, nullptr, b, nullptr, y, nullptr);
}

// dx = dy*(offset + s); ds[i, c] = sum_t dy*x; db[i, c] = sum_t dy: all overwritten, each nullable.
// Work items are (sample, 64-channel chunk): the sums of an item are complete before it writes its
// part of dx, so dx may alias dy.
template <class T>
void modulate_backward(int64_t batch, int64_t tokens, int64_t C, double offset, const T* x, const T* s, const T* dy,
                       T* dx, T* ds, T* db) {
  constexpr int64_t kChunk = 64;
  const int64_t chunks = (C + kChunk - 1) / kChunk;
  const size_t grain = std::max<size_t>(1, pointwise_detail::kGrain / std::max<int64_t>(1, tokens * kChunk));
  parallel_for(static_cast<size_t>(batch * chunks), grain, [&](size_t begin, size_t end) {
    for (size_t w = begin; w < end; ++w) {
      const int64_t i = int64_t(w) / chunks, c0 = (int64_t(w) % chunks) * kChunk, width = std::min(kChunk, C - c0);
      if (ds || db) {
        double sum_s[kChunk] = {}, sum_b[kChunk] = {};
        for (int64_t t = 0; t < tokens; ++t) {
          const int64_t off = (i * tokens + t) * C + c0;
          for (int64_t j = 0; j < width; ++j) {
            const double g = dy[off + j];
            sum_s[j] += g * static_cast<double>(x[off + j]);
            sum_b[j] += g;
          }
        }
        for (int64_t j = 0; j < width; ++j) {
          if (ds) ds[i * C + c0 + j] = static_cast<T>(sum_s[j]);
          if (db) db[i * C + c0 + j] = static_cast<T>(sum_b[j]);
        }
      }
      if (!dx) continue;
      for (int64_t t = 0; t < tokens; ++t) {
        const int64_t off = (i * tokens + t) * C + c0;
        for (int64_t j = 0; j < width; ++j)
          dx[off + j] = static_cast<T>(static_cast<double>(dy[off + j]) * (offset + static_cast<double>(s[i * C + c0 + j])));
      }
    }
  });
}

}  // namespace scm::cpu
