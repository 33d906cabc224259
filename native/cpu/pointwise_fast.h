// The float fast path of the pointwise family's bias + activation (kernels/pointwise.h item 1),
// behind the CPU table entries (pointwise_table.cpp). The double template bias_act_* in
// pointwise.h stays the reference; this computes the same function in 4-lane double vectors
// with no libm call (the reference's scalar exp / tanh were ~38% of a dit training step):
//
//   identity  y = x + b in float: bit-identical to the reference (the double sum of two floats
//             rounds to the float sum), ty = tx, dx = dy;
//   SiLU, GELU-tanh  both as z sigma(w) with w = z (SiLU) or w = 2 sqrt(2/pi)(z + 0.044715 z^3)
//             (GELU: 0.5 (1 + tanh u) = sigma(2u)), and act'(z) = sigma(w) + sigma(w)(1 -
//             sigma(w)) w'(z) z, with sigma(w) and 1 - sigma(w) as e / (1 + e) and 1 / (1 + e)
//             (e = exp(-|w|), the pair swapped for z >= 0): no cancellation in 1 + tanh for
//             z << 0. (The double reference's 1 + tanh(u) is quantised to multiples of 1.1e-16:
//             its GELU loses float accuracy below z = -6 and is 0 below z = -7.3, where the true
//             value is ~1e-18 .. 1e-36; this path keeps it.)
//             Everything in double: z = x + b (exact), w, the reduction exp(-|w|) = 2^n e^r
//             (|r| <= ln2/2, fdlibm's split ln2), e^r as a degree-8 polynomial (2e-10 relative),
//             sigma, act, act' and act'(z) t; each float output is rounded once.
//   Special values as the reference formulas give them: act(+inf) = +inf, act(-inf) = NaN,
//   act'(+-inf) = NaN, NaN propagates; act(z) = z and act'(z) = 1 for large finite z,
//   act(z) = -0 and act'(z) = 0 for large negative z (also where x + b overflows float with
//   both finite: the double z is finite, act = +inf / -0 and act' = 1 / 0 as in the reference).
// Accuracy against a long-double evaluation (native/tests/fast_math_test.cpp states the bounds
// and notes the measured maxima): act, act' and act'(z) t within 1 ulp (measured 0.51), except
// act' within 2^-20 sigma(w) of its zero crossings (SiLU' at z = -1.2785, GELU' at z = -0.7518),
// where the error is below 1 ulp of sigma(w), the size of the cancelling terms.
//
// dbias: the same double column sums as the reference (bias_column_sums, pointwise.h).
// The Isa argument selects the compiled variant (bit-identical: plain IEEE double and float
// operations, no FMA under -ffp-contract=off; tests compare them; the table uses best_isa()):
// baseline and AVX2 evaluate 8 floats as two 4-lane doubles, AVX-512 as one 8-lane double
// (1.6-1.7x faster forward and dual than AVX2 on a 2-core AMD EPYC with AVX-512, measured
// with native/bench/dit_step_bench --only act).
#pragma once
#include <cstdint>

#include "fast_math.h"

namespace scm::cpu::fast {

void bias_act_forward(Isa isa, int64_t rows, int64_t cols, int act, const float* x, const float* bias, float* y);
void bias_act_dual(Isa isa, int64_t rows, int64_t cols, int act, const float* x, const float* tx, const float* bias,
                   float* y, float* ty);
void bias_act_backward(Isa isa, int64_t rows, int64_t cols, int act, const float* x, const float* bias,
                       const float* dy, float* dx, float* dbias);

}  // namespace scm::cpu::fast
