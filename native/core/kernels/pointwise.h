// Kernel family: pointwise ops of a transformer layer (everything that is not a GEMM, a norm
// or attention). Conventions: common.h. CPU reference: native/cpu/pointwise.h; CUDA:
// native/cuda/pointwise.cu.
//
// Every entry takes dense row-major float32 tensors in backend memory. Elementwise outputs may
// alias their elementwise input of the same shape (y may be x, dx may be dy). Dual passes are
// forward-mode JVPs (x, tx) -> (y, ty) with zero tangent for parameters (bias); backward
// passes OVERWRITE input gradients and ACCUMULATE (+=) parameter gradients (dbias).
//
// 1. Bias + activation, fused: y = act(x + bias) over x, y [rows, cols], bias [cols] nullable
//    (= 0), act one of ScmActivation:
//      identity:   act(z) = z
//      SiLU:       act(z) = z * sigmoid(z),       act'(z) = s * (1 + z * (1 - s)), s = sigmoid(z)
//      GELU tanh:  act(z) = 0.5 z (1 + tanh(u)),  u = sqrt(2/pi) (z + 0.044715 z^3),
//                  act'(z) = 0.5 (1 + tanh u) + 0.5 z (1 - tanh^2 u) sqrt(2/pi) (1 + 3*0.044715 z^2)
//    dual: ty = act'(x + bias) * tx. backward: dx = act'(x + bias) * dy (overwritten),
//    dbias[c] += sum_rows dx[r, c] (accumulated, nullable; deterministic on both backends).
//    A linear layer is the gemm family (x W^T into y, see gemm.h) followed by this entry with
//    act = identity (or the activation it feeds): its backward is this entry's backward
//    (giving d(xW^T) and dbias) followed by the two gemms for dx and dW.
// 2. Residual add: y = a + b over n elements. dual: ty = ta + tb (each tangent nullable = 0;
//    ty is zero-filled when both are null). backward: da = dy, db = dy (copies, each nullable).
// 3. Positional time embedding of one scalar time per sample (SCM.md §5, transformer-style
//    sinusoids of the raw time t, c_noise(t) = t): t [batch], emb [batch, dim], dim even >= 2,
//    half = dim / 2, frequencies from 1 down to 1e-4 inclusive (EDM's endpoint = true form):
//        f_i = 10000^(-i / (half - 1))  for i < half   (f_0 = 1 when half = 1)
//        emb[b, i] = cos(t_b * f_i),  emb[b, half + i] = sin(t_b * f_i)
//    dual (tt [batch], the time tangent): temb[b, i] = -sin(t_b f_i) f_i tt_b,
//    temb[b, half + i] = cos(t_b f_i) f_i tt_b. backward: dt[b] = sum_i demb[b, i] * (-sin(t_b f_i) f_i)
//    + demb[b, half + i] * cos(t_b f_i) f_i (overwritten; t is an input, not a parameter).
//    Computed in double on the CPU, in fp32 (sincosf, full precision) on CUDA (SCM.md §2.2).
// 4. Patchify / unpatchify: images [B, C, H, W] <-> tokens [B, T, P], p the patch size, H and W
//    multiples of p, T = (H/p) * (W/p), P = C * p * p. Token index tok = gy * (W/p) + gx (row-
//    major over the patch grid), feature index f = (c * p + i) * p + j (channel, then row i,
//    then column j inside the patch):
//        tokens[b, gy*(W/p) + gx, (c*p + i)*p + j] = images[b, c, gy*p + i, gx*p + j]
//    Both are permutations and inverse to each other: the dual of either is the same entry
//    applied to the tangent, and the backward of patchify is unpatchify applied to dtokens
//    (and vice versa). Output and input must not alias.
// 5. Reductions (accumulated in double on the CPU, in fp32 on CUDA with a deterministic tree):
//    mse: out[0] = mean_i (a_i - b_i)^2 over n >= 1 elements, b nullable (= 0, mean of squares).
//      dual: tout[0] = (2/n) sum_i (a_i - b_i)(ta_i - tb_i) (ta, tb nullable = 0).
//      backward: da = (2 dout / n)(a - b), db = -da (each overwritten, nullable); dout is the
//      upstream gradient of out[0], a host float (1 for a loss).
//    sumsq (per-sample sums of squares): x [batch, dim], out[b] = sum_j x[b, j]^2.
//      dual: tout[b] = 2 sum_j x[b, j] tx[b, j]. backward: dx[b, j] = 2 dout[b] x[b, j]
//      (dout [batch] in backend memory; dx overwritten).
//    out, tout, dout: backend memory.
// 6. Dropout: y_i = x_i * m_i / (1 - p), m_i = (philox::uniform_at(seed, offset + i) >= p),
//    p in [0, 1) (p = 0 keeps everything: the uniforms are in (0, 1)). The mask is a pure
//    function of (seed, offset + i) and bit-identical on every backend, so the dual pass
//    (ty = tx * m / (1 - p)) and the backward (dx = dy * m / (1 - p)) reproduce the forward's
//    mask from the same (seed, offset); nothing is stored. The scale 1 / (1 - p) is computed
//    in float (1.0f / (1.0f - p)) on both backends. The uniforms are those of the rng family's
//    rng.uniform(out, n, seed, offset); a caller applying dropout at several places of one
//    step advances offset by n per call so the masks use disjoint parts of the stream.
// 7. Attention head layouts. split_heads: x [B, T, parts*H*hd] (the output of one linear with
//    parts*H*hd features, parts = 3 for a fused q/k/v projection) -> out_p [B, H, T, hd], p < parts:
//        out_p[b, h, t, e] = x[b, t, (p*H + h)*hd + e]
//    merge_heads is the inverse: in_p [B, H, T, hd] -> x [B, T, parts*H*hd]. Both are permutations
//    (linear maps): the dual of either is the same entry applied to the tangents, and the backward
//    of one is the other applied to the output gradient. parts is 1, 2 or 3; the pointers of
//    parts >= `parts` must be null (checked even when a size is 0). Outputs must not alias
//    inputs, nor (split) each other: checked by pointer equality. A pure copy on both backends
//    (CPU: native/cpu/heads.h; CUDA: native/cuda/pointwise_model.cu).
// 8. Per-sample modulation (adaLN, the ablation of ADN, SCM.md §5): x, y [batch, tokens, C];
//    s, b [batch, C], broadcast over tokens:  y = x * (offset + s[b]) + b[b]   (offset = 1 for
//    adaLN's "1 + scale", 0 for a plain scale). dual: ty = tx*(offset + s) + x*ts + tb (ts, tb
//    nullable = zero tangent). backward: dx = dy*(offset + s); ds[b, c] = sum_t dy*x;
//    db[b, c] = sum_t dy: all OVERWRITTEN (s and b are per-sample inputs, as in ADN), each
//    nullable; with tokens = 0, ds = db = 0 (x and dy may then be null). s and b are required,
//    offset must be finite. y may alias x (forward and dual; in the dual ty may alias tx), dx may
//    alias dy. Sums in double on the CPU, in fp32 in a fixed order on CUDA: deterministic on both
//    (CPU: native/cpu/modulate.h; CUDA: native/cuda/pointwise_model.cu).
// 9. Per-sample scaling: x, y [batch, per_sample], alpha [batch] (backend memory):
//    y = alpha[b] * x, and y = +0 exactly wherever alpha[b] == 0 (+0 or -0), even when x is not
//    finite (so a dropped sample contributes nothing downstream); a non-finite x of a sample with
//    alpha != 0 propagates. One fp32 multiply on both backends. y may alias x. It is linear: its
//    dual is the same entry on the tangent, its backward the same entry on dy (CPU:
//    native/cpu/scale_rows.h; CUDA: native/cuda/pointwise_model.cu).
// Sizes: every count >= 0 (0 = nothing to do; mse needs n >= 1); products must fit int64.
#pragma once
#include "common.h"

enum ScmActivation {
  SCM_ACT_IDENTITY = 0,
  SCM_ACT_SILU = 1,
  SCM_ACT_GELU_TANH = 2
};

struct ScmPointwiseKernels {
  // ---- 1. bias + activation: x, y [rows, cols]; bias [cols] nullable; act an ScmActivation.
  int (*bias_act_forward)(int64_t rows, int64_t cols, int act, const float* x, const float* bias, float* y);
  int (*bias_act_dual)(int64_t rows, int64_t cols, int act, const float* x, const float* tx, const float* bias,
                       float* y, float* ty);
  // x and bias as in forward (the pre-activation is recomputed); dy, dx [rows, cols] (dx may
  // alias dy); dbias [cols] accumulated, nullable.
  int (*bias_act_backward)(int64_t rows, int64_t cols, int act, const float* x, const float* bias, const float* dy,
                           float* dx, float* dbias);

  // ---- 2. residual add over n elements.
  int (*add_forward)(int64_t n, const float* a, const float* b, float* y);
  // ta, tb nullable (= zero tangent).
  int (*add_dual)(int64_t n, const float* a, const float* ta, const float* b, const float* tb, float* y, float* ty);
  // da, db nullable.
  int (*add_backward)(int64_t n, const float* dy, float* da, float* db);

  // ---- 3. positional time embedding: t [batch], emb [batch, dim].
  int (*time_embed_forward)(int64_t batch, int64_t dim, const float* t, float* emb);
  // tt [batch], temb [batch, dim]; emb nullable (written when given).
  int (*time_embed_dual)(int64_t batch, int64_t dim, const float* t, const float* tt, float* emb, float* temb);
  // demb [batch, dim]; dt [batch] overwritten.
  int (*time_embed_backward)(int64_t batch, int64_t dim, const float* t, const float* demb, float* dt);

  // ---- 4. patchify: images [B, C, H, W] -> tokens [B, (H/p)*(W/p), C*p*p]; unpatchify: the inverse.
  int (*patchify)(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const float* images, float* tokens);
  int (*unpatchify)(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const float* tokens, float* images);

  // ---- 5. reductions. mse: a, b [n] (b nullable); out [1].
  int (*mse_forward)(int64_t n, const float* a, const float* b, float* out);
  // ta, tb nullable; out [1] nullable (written when given); tout [1].
  int (*mse_dual)(int64_t n, const float* a, const float* ta, const float* b, const float* tb, float* out,
                  float* tout);
  // da, db [n] nullable; dout a host value.
  int (*mse_backward)(int64_t n, const float* a, const float* b, float dout, float* da, float* db);
  // sumsq: x [batch, dim]; out [batch].
  int (*sumsq_forward)(int64_t batch, int64_t dim, const float* x, float* out);
  // tx [batch, dim]; out nullable; tout [batch].
  int (*sumsq_dual)(int64_t batch, int64_t dim, const float* x, const float* tx, float* out, float* tout);
  // dout [batch]; dx [batch, dim] overwritten.
  int (*sumsq_backward)(int64_t batch, int64_t dim, const float* x, const float* dout, float* dx);

  // ---- 6. dropout over n elements with the Philox stream (seed, offset); p in [0, 1).
  int (*dropout_forward)(int64_t n, float p, uint64_t seed, uint64_t offset, const float* x, float* y);
  int (*dropout_dual)(int64_t n, float p, uint64_t seed, uint64_t offset, const float* x, const float* tx, float* y,
                      float* ty);
  int (*dropout_backward)(int64_t n, float p, uint64_t seed, uint64_t offset, const float* dy, float* dx);

  // ---- 7. attention head layouts (see above).
  int (*split_heads)(int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts, const float* x, float* out0,
                     float* out1, float* out2);
  int (*merge_heads)(int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts, const float* in0,
                     const float* in1, const float* in2, float* x);

  // ---- 8. per-sample modulation: x, y [batch, tokens, C]; s, b [batch, C].
  int (*modulate_forward)(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* s,
                          const float* b, float* y);
  // ts, tb nullable (= zero tangent).
  int (*modulate_dual)(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* tx,
                       const float* s, const float* ts, const float* b, const float* tb, float* y, float* ty);
  // dx [batch, tokens, C], ds, db [batch, C]: overwritten, each nullable.
  int (*modulate_backward)(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* s,
                           const float* dy, float* dx, float* ds, float* db);

  // ---- 9. per-sample scaling: x, y [batch, per_sample]; alpha [batch].
  int (*scale_rows)(int64_t batch, int64_t per_sample, const float* alpha, const float* x, float* y);
};
