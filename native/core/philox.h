// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) and
// the project's mapping of its output to uniform and normal floats. This header compiles
// as host C++ and as CUDA device code; both give the same bits for the same (seed, index):
//  - the generator is pure 32-bit integer arithmetic;
//  - the float transforms use only correctly rounded +, *, / and sqrt (never fused, never
//    a libm call): on the device through __fadd_rn & co., on the host with
//    -ffp-contract=off (set for the whole project by the build).
//
// Stream layout: element j of the stream (seed, offset) is word (offset + j) % 4 of the
// Philox block with counter {lo32(b), hi32(b), 0, 0}, b = (offset + j) / 4, and key
// {lo32(seed), hi32(seed)}. Normals use Box-Muller on the pairs (word 0, word 1) and
// (word 2, word 3) of the same block: even words take r*cos, odd words r*sin.
#pragma once
#include <stdint.h>

#if defined(__CUDACC__)
#define SCM_HD __host__ __device__ __forceinline__
#else
#define SCM_HD inline
#endif

namespace scm {
namespace philox {

struct Block { uint32_t v[4]; };

SCM_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// One Philox4x32 block: 10 rounds of (counter, key).
SCM_HD Block philox4x32_10(Block ctr, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  const uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(M0, ctr.v[0], &hi0);
    uint32_t lo1 = mulhilo(M1, ctr.v[2], &hi1);
    Block next;
    next.v[0] = hi1 ^ ctr.v[1] ^ k0;
    next.v[1] = lo1;
    next.v[2] = hi0 ^ ctr.v[3] ^ k1;
    next.v[3] = lo0;
    ctr = next;
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

SCM_HD Block block_at(uint64_t seed, uint64_t block_index) {
  Block c;
  c.v[0] = static_cast<uint32_t>(block_index);
  c.v[1] = static_cast<uint32_t>(block_index >> 32);
  c.v[2] = 0;
  c.v[3] = 0;
  return philox4x32_10(c, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Correctly rounded float operations that no compiler may fuse.
#if defined(__CUDA_ARCH__)
SCM_HD float add(float a, float b) { return __fadd_rn(a, b); }
SCM_HD float sub(float a, float b) { return __fsub_rn(a, b); }
SCM_HD float mul(float a, float b) { return __fmul_rn(a, b); }
SCM_HD float div(float a, float b) { return __fdiv_rn(a, b); }
SCM_HD float sqrt_rn(float a) { return __fsqrt_rn(a); }
#else
SCM_HD float add(float a, float b) { return a + b; }
SCM_HD float sub(float a, float b) { return a - b; }
SCM_HD float mul(float a, float b) { return a * b; }
SCM_HD float div(float a, float b) { return a / b; }
SCM_HD float sqrt_rn(float a) { return __builtin_sqrtf(a); }
#endif

// 32 random bits -> uniform in (0, 1): (2 * (x >> 9) + 1) / 2^24, exact in float.
SCM_HD float to_uniform(uint32_t x) {
  return static_cast<float>(((x >> 9) << 1) | 1u) * 5.9604644775390625e-8f;  // 2^-24
}

SCM_HD uint32_t float_bits(float f) {
  union { float f; uint32_t u; } c;
  c.f = f;
  return c.u;
}
SCM_HD float bits_float(uint32_t u) {
  union { float f; uint32_t u; } c;
  c.u = u;
  return c.f;
}

// Natural log for x in (0, 1] (all to_uniform can return), ~1e-7 relative accuracy.
SCM_HD float log_unit(float x) {
  uint32_t bits = float_bits(x);
  int e = static_cast<int>((bits >> 23) & 0xFFu) - 127;
  float m = bits_float((bits & 0x007FFFFFu) | 0x3F800000u);  // [1, 2)
  if (m > 1.41421356f) {  // keep m in [sqrt(1/2), sqrt(2)]
    m = mul(m, 0.5f);
    e += 1;
  }
  float f = sub(m, 1.0f);
  float s = div(f, add(2.0f, f));
  float s2 = mul(s, s);
  // 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + s^7/7 + s^9/9)
  float p = add(0.14285714f, mul(s2, 0.11111111f));
  p = add(0.2f, mul(s2, p));
  p = add(0.33333333f, mul(s2, p));
  p = mul(s2, p);
  float log_m = mul(2.0f, add(s, mul(s, p)));
  float ef = static_cast<float>(e);
  return add(mul(ef, 0.693145751953125f), add(mul(ef, 1.428606765330187e-06f), log_m));
}

// sin and cos of 2*pi*u for u in (0, 1).
SCM_HD void sincos_two_pi(float u, float* s_out, float* c_out) {
  float v = mul(u, 4.0f);                        // exact
  int q = static_cast<int>(add(v, 0.5f));        // nearest quadrant, 0..4
  float f = sub(v, static_cast<float>(q));       // [-0.5, 0.5], exact
  float x = mul(f, 1.57079632679f);              // [-pi/4, pi/4]
  float x2 = mul(x, x);
  // Taylor series to x^11 / x^10: error below 2e-9 on [-pi/4, pi/4].
  float sp = sub(1.0f / 362880.0f, mul(x2, 1.0f / 39916800.0f));
  sp = sub(1.0f / 5040.0f, mul(x2, sp));
  sp = sub(1.0f / 120.0f, mul(x2, sp));
  sp = sub(1.0f / 6.0f, mul(x2, sp));
  float sin_x = sub(x, mul(mul(x, x2), sp));
  float cp = sub(1.0f / 40320.0f, mul(x2, 1.0f / 3628800.0f));
  cp = sub(1.0f / 720.0f, mul(x2, cp));
  cp = sub(1.0f / 24.0f, mul(x2, cp));
  cp = sub(0.5f, mul(x2, cp));
  float cos_x = sub(1.0f, mul(x2, cp));
  switch (q & 3) {
    case 0: *s_out = sin_x; *c_out = cos_x; break;
    case 1: *s_out = cos_x; *c_out = -sin_x; break;
    case 2: *s_out = -sin_x; *c_out = -cos_x; break;
    default: *s_out = -cos_x; *c_out = sin_x; break;
  }
}

// Element `index` of the uniform stream `seed`.
SCM_HD float uniform_at(uint64_t seed, uint64_t index) {
  Block b = block_at(seed, index >> 2);
  return to_uniform(b.v[index & 3]);
}

// Element `index` of the normal stream `seed`.
SCM_HD float normal_at(uint64_t seed, uint64_t index) {
  Block b = block_at(seed, index >> 2);
  unsigned w = static_cast<unsigned>(index & 3);
  unsigned pair = w & 2u;
  float u1 = to_uniform(b.v[pair]);
  float u2 = to_uniform(b.v[pair + 1]);
  float r = sqrt_rn(mul(-2.0f, log_unit(u1)));
  float s, c;
  sincos_two_pi(u2, &s, &c);
  return mul(r, (w & 1u) ? s : c);
}

}  // namespace philox
}  // namespace scm
