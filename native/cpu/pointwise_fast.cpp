// The float fast path of bias + activation (pointwise_fast.h; formulas and accuracy there).
#include "pointwise_fast.h"

#include <algorithm>
#include <type_traits>

#include "pointwise.h"

namespace scm::cpu::fast {
namespace {

enum Mode { kForward = 0, kDual = 1, kBackward = 2 };

constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kGeluC = 0.044715;
// Beyond |w| = 170 the exponential part vanishes in float for every z: |w| >= |z| for both
// activations and |w'(z) z| <= 3 |w|, so |z| e^-|w| and e^-|w| |w' z| are below 3 * 170 e^-170
// < 2^-150: the lanes take e = 0 exactly (and 2^n stays a normal double).
constexpr double kCut = -170.0;

SCM_FAST_INLINE d4 widen(f4 v) { return __builtin_convertvector(v, d4); }
SCM_FAST_INLINE f4 narrow(d4 v) { return __builtin_convertvector(v, f4); }

// The double lanes of the activation: 4 (d4 / l4, two per 8 floats) in the baseline and AVX2
// variants, 8 (d8 / l8, one ZMM register per 8 floats) in the AVX-512 one. The same IEEE
// operations on every lane either way, so the variants agree bit for bit.
typedef double d8 __attribute__((vector_size(64)));
typedef int64_t l8 __attribute__((vector_size(64)));

template <class V>
SCM_FAST_INLINE V fill(typename std::remove_reference<decltype(V{}[0])>::type c) {
  V v;
  for (int i = 0; i < int(sizeof(V) / sizeof(c)); ++i) v[i] = c;
  return v;
}
template <class D, class L>
SCM_FAST_INLINE D blend(L mask, D a, D b) { return (D)(((L)a & mask) | ((L)b & ~mask)); }

// e^r for |r| <= ln2/2 (+ rounding): degree-8 Taylor polynomial, Horner in double
// (truncation < 2.1e-10 relative, 0.004 float ulp).
template <class D>
SCM_FAST_INLINE D exp_poly_d(D r) {
  D p = fill<D>(1.0 / 40320.0);
  p = p * r + fill<D>(1.0 / 5040.0);
  p = p * r + fill<D>(1.0 / 720.0);
  p = p * r + fill<D>(1.0 / 120.0);
  p = p * r + fill<D>(1.0 / 24.0);
  p = p * r + fill<D>(1.0 / 6.0);
  p = p * r + fill<D>(0.5);
  p = p * r + fill<D>(1.0);
  return p * r + fill<D>(1.0);
}

// act(z) and act'(z) of the lanes of D in double, z = x + b exact (see pointwise_fast.h).
template <int Act, class D, class L>
SCM_FAST_INLINE void act_lanes(D z, D& y, D& d) {
  D w, g;  // w(z) and w'(z)
  if (Act == SCM_ACT_SILU) {
    w = z, g = fill<D>(1.0);
  } else {
    const D k2 = fill<D>(2.0 * kSqrt2OverPi), c = fill<D>(kGeluC), zz = z * z;
    w = k2 * (z + c * (zz * z));
    g = k2 * (fill<D>(1.0) + fill<D>(3.0 * kGeluC) * zz);
  }
  // e = exp(-|w|) = 2^n e^r: n = round(a / ln2) with the 1.5 * 2^52 shifter (its low bits hold
  // n: no double -> int64 conversion, which AVX2 lacks), r = a - n ln2 (fdlibm's split ln2:
  // n ln2_hi is exact), |r| <= ln2/2.
  const D a = (D)((L)w | fill<L>(INT64_MIN));      // -|w|
  const L keep = a >= fill<D>(kCut);               // false for NaN (z carries the NaN)
  const D ac = blend<D, L>(keep, a, fill<D>(kCut));  // in [kCut, 0]
  const D shifter = fill<D>(6755399441055744.0);
  const D t = ac * fill<D>(1.4426950408889634) + shifter;
  const D n = t - shifter;
  const L ni = (L)t - (L)shifter;  // in [-246, 0]
  const D r = (ac - n * fill<D>(6.93147180369123816490e-01)) - n * fill<D>(1.90821492927058770002e-10);
  const D p = blend<D, L>(keep, exp_poly_d(r), fill<D>(0.0));  // 0 past the cut
  const D e = p * (D)((ni + fill<L>(1023)) << 52);
  // sigma(w) and 1 - sigma(w), each without cancellation: e / (1 + e) and 1 / (1 + e).
  const D inv = fill<D>(1.0) / (fill<D>(1.0) + e), s = e * inv;
  const L neg = z < fill<D>(0.0);
  const D sig = blend<D, L>(neg, s, inv), sc = blend<D, L>(neg, inv, s);
  y = z * sig;
  // sigma + sigma (1 - sigma) w' z: a vanishing e gives 0 (not 0 * inf) for finite z.
  d = sig + ((sig * sc) * g) * z;
}

// act(z) of 8 lanes (f8) and act'(z) t or act'(z) (t null: forward), z = x + b: two d4 halves,
// or (Wide) one d8.
template <int Act, int M, bool Wide>
SCM_FAST_INLINE void act8(f8 x, f8 b, f8 t, f8& y, f8& dt) {
  if constexpr (Wide) {
    d8 yw, dw;
    act_lanes<Act, d8, l8>(__builtin_convertvector(x, d8) + __builtin_convertvector(b, d8), yw, dw);
    y = __builtin_convertvector(yw, f8);
    if (M != kForward) dt = __builtin_convertvector(dw * __builtin_convertvector(t, d8), f8);
  } else {
    d4 yl, yh, dl, dh;
    act_lanes<Act, d4, l4>(widen(lo(x)) + widen(lo(b)), yl, dl);  // the double sum of two floats is exact
    act_lanes<Act, d4, l4>(widen(hi(x)) + widen(hi(b)), yh, dh);
    y = combine(narrow(yl), narrow(yh));
    if (M != kForward) dt = combine(narrow(dl * widen(lo(t))), narrow(dh * widen(hi(t))));
  }
}

// One run of n elements of a row: x, t, y, ty at element 0, bias b at its column (nullable).
// forward: y = act(z); dual: y = act(z), ty = act'(z) t; backward: ty = act'(z) t (t = dy,
// ty = dx). Outputs may alias inputs element for element (loads come before stores).
template <int Act, int M, bool Wide>
SCM_FAST_INLINE void run_segment(int64_t n, const float* x, const float* b, const float* t, float* y, float* ty) {
  const f8 zero = splat(0.0f);
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    f8 yv, dv;
    act8<Act, M, Wide>(load(x + j), b ? load(b + j) : zero, M != kForward ? load(t + j) : zero, yv, dv);
    if (M != kForward) store(ty + j, dv);
    if (M != kBackward) store(y + j, yv);
  }
  if (j < n) {
    const int64_t m = n - j;
    f8 yv, dv;
    act8<Act, M, Wide>(load_partial(x + j, m, 0.0f), b ? load_partial(b + j, m, 0.0f) : zero,
                 M != kForward ? load_partial(t + j, m, 0.0f) : zero, yv, dv);
    if (M != kForward) store_partial(ty + j, dv, m);
    if (M != kBackward) store_partial(y + j, yv, m);
  }
}

using SegmentFn = void (*)(int64_t, const float*, const float*, const float*, float*, float*);

#define SCM_SEGMENT(NAME, ATTR, WIDE, ACT, MODE)                                                \
  ATTR void NAME(int64_t n, const float* x, const float* b, const float* t, float* y, float* ty) { \
    run_segment<ACT, MODE, WIDE>(n, x, b, t, y, ty);                                            \
  }
#define SCM_SEGMENTS(SUFFIX, ATTR, WIDE)                                  \
  SCM_SEGMENT(silu_fwd_##SUFFIX, ATTR, WIDE, SCM_ACT_SILU, kForward)      \
  SCM_SEGMENT(silu_dual_##SUFFIX, ATTR, WIDE, SCM_ACT_SILU, kDual)        \
  SCM_SEGMENT(silu_bwd_##SUFFIX, ATTR, WIDE, SCM_ACT_SILU, kBackward)     \
  SCM_SEGMENT(gelu_fwd_##SUFFIX, ATTR, WIDE, SCM_ACT_GELU_TANH, kForward) \
  SCM_SEGMENT(gelu_dual_##SUFFIX, ATTR, WIDE, SCM_ACT_GELU_TANH, kDual)   \
  SCM_SEGMENT(gelu_bwd_##SUFFIX, ATTR, WIDE, SCM_ACT_GELU_TANH, kBackward)

SCM_SEGMENTS(base, , false)
#if SCM_FAST_X86
SCM_SEGMENTS(avx2, SCM_FAST_TARGET_AVX2, false)
SCM_SEGMENTS(avx512, SCM_FAST_TARGET_AVX512, true)
#endif

SegmentFn segment_fn(Isa isa, int act, int mode) {
  static const SegmentFn base[2][3] = {{silu_fwd_base, silu_dual_base, silu_bwd_base},
                                       {gelu_fwd_base, gelu_dual_base, gelu_bwd_base}};
#if SCM_FAST_X86
  static const SegmentFn avx2[2][3] = {{silu_fwd_avx2, silu_dual_avx2, silu_bwd_avx2},
                                       {gelu_fwd_avx2, gelu_dual_avx2, gelu_bwd_avx2}};
  static const SegmentFn avx512[2][3] = {{silu_fwd_avx512, silu_dual_avx512, silu_bwd_avx512},
                                         {gelu_fwd_avx512, gelu_dual_avx512, gelu_bwd_avx512}};
  const SegmentFn v2 = avx2[act == SCM_ACT_GELU_TANH][mode], v512 = avx512[act == SCM_ACT_GELU_TANH][mode];
#else
  const SegmentFn v2 = nullptr, v512 = nullptr;
#endif
  return variant(isa, base[act == SCM_ACT_GELU_TANH][mode], v2, "bias_act", v512);
}

// Elementwise over rows x cols in chunks (the reference's grain), each chunk cut at row ends
// so a run has one bias offset: fn(k, c, len) for the run of len elements at flat index k,
// column c.
template <class Fn>
void for_runs(int64_t rows, int64_t cols, Fn&& fn) {
  pointwise_detail::for_chunks(rows * cols, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end;) {
      const int64_t c = k % cols, len = std::min(end - k, cols - c);
      fn(k, c, len);
      k += len;
    }
  });
}

void run(Isa isa, int mode, int64_t rows, int64_t cols, int act, const float* x, const float* bias, const float* t,
         float* y, float* ty) {
  if (act == SCM_ACT_IDENTITY) {
    // z = x + b in float is the reference's float(double(x) + double(b)); act' = 1.
    for_runs(rows, cols, [&](int64_t k, int64_t c, int64_t len) {
      const float* b = bias ? bias + c : nullptr;
      if (mode != kBackward) {
        if (b) for (int64_t j = 0; j < len; ++j) y[k + j] = x[k + j] + b[j];
        else for (int64_t j = 0; j < len; ++j) y[k + j] = x[k + j] + 0.0f;  // -0 -> +0 as x + 0.0
      }
      if (mode != kForward && ty + k != t + k)
        for (int64_t j = 0; j < len; ++j) ty[k + j] = t[k + j];
    });
    return;
  }
  const SegmentFn fn = segment_fn(isa, act, mode);
  for_runs(rows, cols, [&](int64_t k, int64_t c, int64_t len) {
    fn(len, x + k, bias ? bias + c : nullptr, t ? t + k : nullptr, y ? y + k : nullptr, ty ? ty + k : nullptr);
  });
}

}  // namespace

void bias_act_forward(Isa isa, int64_t rows, int64_t cols, int act, const float* x, const float* bias, float* y) {
  run(isa, kForward, rows, cols, act, x, bias, nullptr, y, nullptr);
}

void bias_act_dual(Isa isa, int64_t rows, int64_t cols, int act, const float* x, const float* tx, const float* bias,
                   float* y, float* ty) {
  run(isa, kDual, rows, cols, act, x, bias, tx, y, ty);
}

void bias_act_backward(Isa isa, int64_t rows, int64_t cols, int act, const float* x, const float* bias,
                       const float* dy, float* dx, float* dbias) {
  run(isa, kBackward, rows, cols, act, x, bias, dy, nullptr, dx);
  if (dbias) pointwise_detail::bias_column_sums<float>(rows, cols, dx, dbias);
}

}  // namespace scm::cpu::fast
