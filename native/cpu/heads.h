// CPU reference of the attention head layouts (pointwise family, item 7 of
// native/core/kernels/pointwise.h): split_heads x [B, T, parts*H*hd] -> out_p [B, H, T, hd] and its
// inverse merge_heads. Both are permutations: every element is copied, nothing is computed.
#pragma once
#include <algorithm>
#include <cstdint>
#include "pointwise.h"

namespace scm::cpu {

namespace pointwise_checks {

// split_heads (split = true: `heads` are the outputs) and merge_heads (`heads` are the inputs).
// parts in {1, 2, 3}; the pointers of parts >= `parts` must be null (checked even when there is
// nothing to do), the others given; no output may be an input or another output (pointer
// equality). Returns false when there is nothing to copy.
inline bool heads(const char* op, bool split, int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts,
                  const void* x, const void* const (&heads)[3]) {
  count(op, "B", B), count(op, "T", T), count(op, "H", H), count(op, "hd", hd);
  require(parts >= 1 && parts <= 3, SCM_E_ARGUMENT, op, ": parts=", parts, " must be 1, 2 or 3");
  for (int64_t p = parts; p < 3; ++p)
    require(heads[p] == nullptr, SCM_E_ARGUMENT, op, ": pointer ", p, " must be null when parts=", parts);
  product(op, B, T), product(op, B * T, parts), product(op, B * T * parts, H), product(op, B * T * parts * H, hd);
  if (B * T * H * hd == 0) return false;
  ptr(x, op, "x");
  for (int64_t p = 0; p < parts; ++p) {
    require(heads[p] != nullptr, SCM_E_ARGUMENT, op, ": head tensor ", p, " is null (parts=", parts, ")");
    require(heads[p] != x, SCM_E_ARGUMENT, op, ": head tensor ", p, " aliases x");
    for (int64_t q = 0; split && q < p; ++q)
      require(heads[p] != heads[q], SCM_E_ARGUMENT, op, ": outputs ", q, " and ", p, " are the same buffer");
  }
  return true;
}

}  // namespace pointwise_checks

namespace heads_detail {

// Calls fn(x_offset, p, head_offset) for every run of hd contiguous elements: x[x_offset + e] is
// out_p[head_offset + e] for e < hd. Rows (b, t) of x run in parallel.
template <class Fn>
void for_head_runs(int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts, Fn&& fn) {
  const int64_t width = parts * H * hd;
  parallel_for(static_cast<size_t>(B * T), std::max<size_t>(1, pointwise_detail::kGrain / std::max<int64_t>(1, width)),
               [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {  // r = b*T + t
      const int64_t b = int64_t(r) / T, t = int64_t(r) % T;
      for (int64_t p = 0; p < parts; ++p)
        for (int64_t h = 0; h < H; ++h) fn(int64_t(r) * width + (p * H + h) * hd, p, ((b * H + h) * T + t) * hd);
    }
  });
}

}  // namespace heads_detail

// out_p[b, h, t, e] = x[b, t, (p*H + h)*hd + e] for p < parts (out1, out2 null when unused).
template <class Real>
void split_heads(int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts, const Real* x, Real* out0, Real* out1,
                 Real* out2) {
  Real* const out[3] = {out0, out1, out2};
  heads_detail::for_head_runs(B, T, H, hd, parts,
                              [&](int64_t xo, int64_t p, int64_t ho) { std::copy_n(x + xo, hd, out[p] + ho); });
}

// x[b, t, (p*H + h)*hd + e] = in_p[b, h, t, e]: the inverse of split_heads.
template <class Real>
void merge_heads(int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts, const Real* in0, const Real* in1,
                 const Real* in2, Real* x) {
  const Real* const in[3] = {in0, in1, in2};
  heads_detail::for_head_runs(B, T, H, hd, parts,
                              [&](int64_t xo, int64_t p, int64_t ho) { std::copy_n(in[p] + ho, hd, x + xo); });
}

}  // namespace scm::cpu
