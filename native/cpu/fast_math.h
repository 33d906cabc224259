// Fast float math of the CPU backend: 8-lane vector code (GCC / Clang vector extensions) for
// the float table entries whose double-accumulating references (pointwise.h) spend their time
// in libm. Used by pointwise_fast.cpp (bias_act: SiLU, GELU-tanh); exp8 is a general float
// e^x for such kernels (tested in native/tests/fast_math_test.cpp).
//
// Rules of this file:
//  - Plain IEEE arithmetic only: +, -, *, /, compares, bit selects, exact conversions. No FMA
//    (the build has -ffp-contract=off and nothing here calls fma), no -ffast-math: every ISA
//    variant computes bit-identical results (tested: fast_isa_variants_bit_identical).
//  - No control flow on values: selects are bitwise blends, so the code is the same for every
//    lane and for the tails (a tail is a partial vector padded by the caller).
//  - ISA variants: each kernel is an always-inline template instantiated in wrappers, one
//    compiled for the baseline ISA and one with __attribute__((target("avx2"))) on x86-64, and
//    where wider vectors pay (bias_act's double lanes; the attention kernels' float lanes gained
//    ~4% and have none) one for AVX-512 (F, DQ, VL, BW);
//    best_isa() picks at run time (cpuid + OS support, cached). A kernel without an AVX-512
//    wrapper runs its AVX2 one on an AVX-512 CPU.
//
// exp8(a): e^a for every float a: correctly signed zero below -104 (e^a < 2^-150), +inf above
// 88.73, NaN for NaN, subnormal results rounded once (two-step scaling). Cody-Waite range
// reduction in float (n = round(a / ln2), r = a - n ln2_hi - n ln2_lo, |r| <= ln2/2) and a
// degree-7 Taylor polynomial (truncation < 6e-9 relative): max error 2 ulp over the range
// (measured in fast_math_test.cpp).
#pragma once
#include <cstdint>
#include <cstring>

#include "../core/error.h"

#if !(defined(__GNUC__) || defined(__clang__))
#error "native/cpu/fast_math.h needs GCC or Clang vector extensions"
#endif

// 32-byte vectors pass by value between the always-inline helpers only (never across an ABI
// boundary), so GCC's note that their ABI differs without AVX does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) || defined(__i386__)
#define SCM_FAST_X86 1
#define SCM_FAST_TARGET_AVX2 __attribute__((target("avx2")))
#define SCM_FAST_TARGET_AVX512 __attribute__((target("avx2,avx512f,avx512dq,avx512vl,avx512bw")))
#else
#define SCM_FAST_X86 0
#endif

#define SCM_FAST_INLINE inline __attribute__((always_inline))

namespace scm::cpu::fast {

// The instruction sets a fast kernel is compiled for. Baseline: the build's (x86-64: SSE2).
enum class Isa { Baseline = 0, Avx2 = 1, Avx512 = 2 };
// Baseline always; Avx2 / Avx512 (F, DQ, VL and BW) when the CPU and the OS support them.
bool isa_available(Isa isa);
// The fastest available (cached); SCM_CPU_ISA=baseline or =avx2 caps it there.
Isa best_isa();
const char* isa_name(Isa isa);

// The compiled variant of a kernel for isa: base, avx2 (pass SCM_FAST_AVX2(name): name_avx2, or
// nullptr where the build is not x86) or avx512 (SCM_FAST_AVX512(name); nullptr: the kernel has
// no AVX-512 wrapper and runs avx2 there). An ISA the build or the CPU lacks is an
// SCM_E_ARGUMENT error naming op.
#if SCM_FAST_X86
#define SCM_FAST_AVX2(NAME) NAME##_avx2
#define SCM_FAST_AVX512(NAME) NAME##_avx512
#else
#define SCM_FAST_AVX2(NAME) nullptr
#define SCM_FAST_AVX512(NAME) nullptr
#endif
template <class Fn>
inline Fn variant(Isa isa, Fn base, Fn avx2, const char* op, Fn avx512 = nullptr) {
  if (isa == Isa::Baseline) return base;
  require(avx2 != nullptr, SCM_E_ARGUMENT, op, ": only the baseline ISA on this CPU");
  require(isa_available(isa), SCM_E_ARGUMENT, op, ": this CPU has no ", isa_name(isa));
  return isa == Isa::Avx512 && avx512 != nullptr ? avx512 : avx2;
}

typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));
typedef float f4 __attribute__((vector_size(16)));
typedef int32_t i4 __attribute__((vector_size(16)));
typedef double d4 __attribute__((vector_size(32)));
typedef int64_t l4 __attribute__((vector_size(32)));

constexpr int kLanes = 8;

SCM_FAST_INLINE f8 splat(float v) { return f8{v, v, v, v, v, v, v, v}; }
SCM_FAST_INLINE i8 splat_i(int32_t v) { return i8{v, v, v, v, v, v, v, v}; }

SCM_FAST_INLINE f8 load(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
SCM_FAST_INLINE void store(float* p, f8 v) { std::memcpy(p, &v, sizeof v); }
// The first n (< 8) lanes from p, the others `pad`.
SCM_FAST_INLINE f8 load_partial(const float* p, int64_t n, float pad) {
  float t[kLanes];
  for (int i = 0; i < kLanes; ++i) t[i] = pad;
  for (int64_t i = 0; i < n; ++i) t[i] = p[i];
  return load(t);
}
SCM_FAST_INLINE void store_partial(float* p, f8 v, int64_t n) {
  float t[kLanes];
  store(t, v);
  for (int64_t i = 0; i < n; ++i) p[i] = t[i];
}

// Same-size vector casts reinterpret the bits.
SCM_FAST_INLINE i8 bits(f8 v) { return (i8)v; }
SCM_FAST_INLINE f8 from_bits(i8 v) { return (f8)v; }
// mask lanes are all ones (true) or all zeros (false): a comparison result.
SCM_FAST_INLINE f8 select(i8 mask, f8 a, f8 b) { return from_bits((bits(a) & mask) | (bits(b) & ~mask)); }

SCM_FAST_INLINE f4 lo(f8 v) {
  f4 r;
  std::memcpy(&r, &v, sizeof r);
  return r;
}
SCM_FAST_INLINE f4 hi(f8 v) {
  f4 r;
  std::memcpy(&r, reinterpret_cast<const char*>(&v) + sizeof r, sizeof r);
  return r;
}
SCM_FAST_INLINE f8 combine(f4 a, f4 b) {
  f8 r;
  std::memcpy(&r, &a, sizeof a);
  std::memcpy(reinterpret_cast<char*>(&r) + sizeof a, &b, sizeof b);
  return r;
}
SCM_FAST_INLINE i8 combine_i(i4 a, i4 b) {
  i8 r;
  std::memcpy(&r, &a, sizeof a);
  std::memcpy(reinterpret_cast<char*>(&r) + sizeof a, &b, sizeof b);
  return r;
}

// 2^n as a float for integer n in [-126, 127] (exact).
SCM_FAST_INLINE f8 pow2i(i8 n) { return from_bits((n + 127) << 23); }

// e^r for |r| <= ln2/2 (+ rounding): degree-7 Taylor polynomial, Horner in float.
SCM_FAST_INLINE f8 exp_poly(f8 r) {
  f8 p = splat(1.0f / 5040.0f);
  p = p * r + splat(1.0f / 720.0f);
  p = p * r + splat(1.0f / 120.0f);
  p = p * r + splat(1.0f / 24.0f);
  p = p * r + splat(1.0f / 6.0f);
  p = p * r + splat(0.5f);
  p = p * r + splat(1.0f);
  return p * r + splat(1.0f);
}

// Lane-wise sum of 8 lanes in a fixed order (deterministic).
SCM_FAST_INLINE float hsum(f8 v) {
  const f4 s = lo(v) + hi(v);
  return (s[0] + s[2]) + (s[1] + s[3]);
}
SCM_FAST_INLINE float hmax(f8 v) {
  float m = v[0];
  for (int i = 1; i < kLanes; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// e^a, every float a (see the header comment).
SCM_FAST_INLINE f8 exp8(f8 a) {
  const i8 small = a < splat(-104.0f);  // e^a < 2^-150: +0
  const i8 large = a > splat(88.7228394f);  // e^a > FLT_MAX: +inf
  // Clamp into [-104, 88.72] (NaN stays NaN: its compares are false).
  f8 x = select(small, splat(-104.0f), a);
  x = select(large, splat(88.7228394f), x);
  // n = round(x / ln2) with the 1.5 * 2^23 shifter; its low bits hold n (no float->int
  // conversion of a NaN).
  const f8 shifter = splat(12582912.0f);
  const f8 t = x * splat(1.44269504f) + shifter;
  const f8 nf = t - shifter;
  const i8 n = bits(t) - bits(shifter);  // n in [-150, 128]
  // r = x - n ln2 with ln2 = ln2_hi + ln2_lo, ln2_hi = 355/512 (n * ln2_hi is exact).
  const f8 r = (x - nf * splat(0.693359375f)) - nf * splat(-2.12194440e-4f);
  const f8 p = exp_poly(r);
  const i8 n1 = n >> 1, n2 = n - n1;  // each in [-75, 64]: 2^n1 and 2^n2 are normal
  const f8 e = (p * pow2i(n1)) * pow2i(n2);
  return select(small, splat(0.0f), select(large, splat(__builtin_inff()), e));
}

}  // namespace scm::cpu::fast
