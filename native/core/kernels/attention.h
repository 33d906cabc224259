// Kernel family: scaled dot-product attention, forward, JVP (forward-mode along a tangent)
// and backward through the primal path. Formulas: shared SCM.md §3.
//
// Layouts (row-major): q, tq, o, to, dq, dout: [batch, heads, len_q, head_dim];
// k, v, tk, tv, dk, dv: [batch, heads, len_k, head_dim]; lse: [batch, heads, len_q] (fp32,
// natural log of sum_j exp(S_ij), i.e. m + log l).
// key_lengths (nullable, device memory, [batch] int32): only keys j < key_lengths[b] take
// part for batch item b. A row with no valid key (len_k == 0 or key_lengths[b] == 0) gives
// o = 0, to = 0, lse = -inf and zero gradients: never NaN.
#pragma once
#include "common.h"

// Operand precision of the CUDA products (the CPU ignores it and computes in fp32).
// The flash entries (forward / jvp / backward) have bf16 and fp16 tensor-core operands only:
//   SCM_ATTN_FP32 runs them with bf16 operands (the fp32 path on the GPU is naive_*);
//   SCM_ATTN_FP16 gives fp16 operands in forward only (q, k, v must lie within fp16's
//   +-65504 there; P <= 1 always does); jvp and backward run it with bf16
//   operands, because their operands include tangents, e^{S-m} Sdot, dout and
//   dS = P (dP - D), which the inputs do not bound: in fp16 anything past 65504 becomes inf
//   and then NaN, while bf16 has fp32's range (at 8 significant bits against fp16's 11).
//   So with SCM_ATTN_FP16 the o of jvp is bf16-accurate, not fp16-accurate like forward's.
// The naive entries: SCM_ATTN_FP32 fp32 products, SCM_ATTN_BF16 bf16 operands, SCM_ATTN_FP16
// TF32 (fp16's mantissa, fp32's range) in every pass.
enum ScmAttentionPrecision {
  SCM_ATTN_FP32 = 0,  // fp32 arithmetic throughout (CPU; CUDA naive path; flash: bf16 operands)
  SCM_ATTN_BF16 = 1,  // CUDA tensor cores: bf16 operands, fp32 accumulation and softmax
  SCM_ATTN_FP16 = 2   // CUDA tensor cores: fp16 operands in the flash forward (jvp, backward: bf16)
};

struct ScmAttentionShape {
  int64_t batch, heads, len_q, len_k, head_dim;
  float scale;                // usually 1 / sqrt(head_dim)
  const int32_t* key_lengths; // nullable, see above
  int precision;              // ScmAttentionPrecision; the CPU ignores it
};

struct ScmAttentionKernels {
  // Tiled / flash-style: one pass over key blocks, no len_q x len_k buffer.
  int (*forward)(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                 float* o, float* lse /* nullable */);
  int (*jvp)(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
             const float* tq, const float* tk, const float* tv, float* o, float* to,
             float* lse /* nullable */);
  int (*backward)(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                  const float* o, const float* lse, const float* dout, float* dq, float* dk,
                  float* dv);
  // Naive: materialises S and P (len_q x len_k per head). The reference, and the
  // baseline of the attention benchmark.
  int (*naive_forward)(const ScmAttentionShape* s, const float* q, const float* k,
                       const float* v, float* o, float* lse /* nullable */);
  int (*naive_jvp)(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                   const float* tq, const float* tk, const float* tv, float* o, float* to,
                   float* lse /* nullable */);
  int (*naive_backward)(const ScmAttentionShape* s, const float* q, const float* k,
                        const float* v, const float* o, const float* lse, const float* dout,
                        float* dq, float* dk, float* dv);
};
