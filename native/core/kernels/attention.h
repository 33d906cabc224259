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

enum ScmAttentionPrecision {
  SCM_ATTN_FP32 = 0,  // fp32 arithmetic throughout (CPU; CUDA reference paths)
  SCM_ATTN_BF16 = 1,  // CUDA tensor cores: bf16 operands, fp32 accumulation and softmax
  SCM_ATTN_FP16 = 2   // CUDA tensor cores: fp16 operands, fp32 accumulation and softmax
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
