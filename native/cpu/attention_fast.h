// The float fast paths of attention behind the CPU table (attention_table.cpp): the forward (o
// and lse), the JVP, and the backward of short sequences. attention_flash.h stays the plain
// reference (and computes the backward of long sequences); these compute the same functions
// with the 8-lane vector code of fast_math.h and no libm call in the inner loops: at a DiT's
// short sequences (49 tokens of a 28x28 image) the reference's scalar exp, per-task buffers
// and 64-wide tiles made attention a fifth of a batch-1 forward, and its backward a quarter
// of a training step.
//
// Per task: a block of up to kRows query rows of one (batch, head). The valid keys of that
// item (key_lengths) are transposed once per task into d x n8 (n rounded up to 8 lanes, the
// pad lanes masked to -inf). Per query row, two passes over a row of n logits held in a
// buffer (not online: a row of len_k floats is small next to the tiles it replaces):
//   s_c = scale (q . k_c), 8 keys per vector, the dot product summed over x = 0 .. d-1;
//   m = max_c s_c;  p_c = exp8(s_c - m);  l = Σ_c p_c (lanes, then a fixed-order lane sum);
//   o = (Σ_c p_c v_c) / l  (8 head-dim lanes per vector, keys in order);  lse = m + log l.
// A row without a valid key gives o = 0 and lse = -inf, as the reference.
// Accuracy: float arithmetic with exp8 (2 ulp); the tests compare with the double naive
// reference at 1e-5 relative L2 (native/tests/attention_test.cpp) and the ISA variants bit
// for bit (plain IEEE float operations in the same order, no FMA under -ffp-contract=off).
#pragma once
#include <cstdint>

#include "../core/kernels/attention.h"
#include "fast_math.h"

namespace scm::cpu::fast {

void attention_forward(Isa isa, const ScmAttentionShape& s, const float* q, const float* k, const float* v, float* o,
                       float* lse /* nullable */);

// The JVP (o, to and lse) with the forward's tasks and row passes, adding per row
//   Sdot_c = scale (qdot . k_c + q . kdot_c)  (keys and key tangents transposed once per task),
//   mu = Σ_c p_c Sdot_c / l,  to = (Σ_c p_c Sdot_c v_c + Σ_c p_c vdot_c) / l - mu o.
void attention_jvp(Isa isa, const ScmAttentionShape& s, const float* q, const float* k, const float* v, const float* tq,
                   const float* tk, const float* tv, float* o, float* to, float* lse /* nullable */);

// The backward (dq, dk, dv from o, lse and dout) for short sequences: one task per (batch,
// head) keeps the head's whole P and dS (len_q x n8 floats each) in cache, so it runs only when
// attention_backward_fits(s); the table falls back to the tiled reference otherwise. Per head:
// keys and values transposed once (d x n8, pad lanes 0), then per query row r
//   P_rc = exp8(scale (q_r . k_c) - lse_r),  D_r = dO_r . o_r,
//   dS_rc = scale P_rc ((dO_r . v_c) - D_r)   (0 for pad keys and rows with lse_r = -inf),
//   dq_r = Σ_c dS_rc k_c;
// then P and dS transposed (n x len_q) for dv_c = Σ_r P_rc dO_r and dk_c = Σ_r dS_rc q_r.
// Masked keys get dk = dv = 0. Same float accuracy and ISA bit-identity as the forward.
bool attention_backward_fits(const ScmAttentionShape& s);
void attention_backward(Isa isa, const ScmAttentionShape& s, const float* q, const float* k, const float* v,
                        const float* o, const float* lse, const float* dout, float* dq, float* dk, float* dv);

}  // namespace scm::cpu::fast
