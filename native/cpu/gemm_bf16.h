// bfloat16 <-> float on the CPU: the bit-level conversions of the gemm family's to_bf16 entry
// and of the GEMM operand preparation (native/cpu/gemm_operands.h). bf16 is the upper 16 bits
// of an IEEE float, so widening is exact and narrowing rounds the lower 16 bits away.
#pragma once
#include <cstdint>
#include <cstring>

namespace scm::cpu {

// Round to nearest, ties to even. NaN stays NaN (quiet, sign and top payload bits kept);
// inf stays inf; finite values above the largest bf16 round to inf, as IEEE rounding does.
inline uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
  const uint32_t nan = (x >> 16) | 0x0040u;
  return static_cast<uint16_t>((x & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

inline float bf16_to_float(uint16_t h) {
  const uint32_t x = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}

// f rounded to the nearest bf16, as a float.
inline float round_to_bf16(float f) { return bf16_to_float(float_to_bf16(f)); }

}  // namespace scm::cpu
