// Building blocks shared by the networks (model_mlp.cpp, model_dit.cpp), templated over an Ops
// flavour (ops.h): the linear layer, the modulated norm (ADN or adaLN) and the conditioning
// trunk (time features -> MLP, + label embedding, + guidance embedding -> SiLU).
//
// Dual passes work on STACKED buffers: a tensor of `rows` rows and its tangent are one buffer
// of 2 * rows rows, [primal; tangent]. Linear maps (GEMMs without bias, permutations, adds)
// then run once over all 2 * rows rows; biases and tangent-free inputs (labels, guidance) go
// to the primal half only.
#pragma once
#include <algorithm>
#include <cmath>

#include "model_config.h"
#include "network.h"
#include "ops.h"

namespace scm::nn {

inline ScmGemmDesc gemm_desc(int64_t m, int64_t n, int64_t k, bool ta, bool tb, float beta) {
  ScmGemmDesc d{};
  d.m = m; d.n = n; d.k = k; d.trans_a = ta; d.trans_b = tb;
  d.lda = std::max<int64_t>(1, ta ? m : k);
  d.ldb = std::max<int64_t>(1, tb ? k : n);
  d.ldc = std::max<int64_t>(1, n);
  d.batch = 1; d.alpha = 1; d.beta = beta;
  return d;
}

// y [rows, out] = x [rows, in] W^T (+ b): W [out, in], b [out] nullable. beta = 1 adds to y.
template <class Ops, class T = typename Ops::T>
void linear_forward(const Ops& ops, int64_t rows, int64_t in, int64_t out, const T* x, const T* W, const T* b, T* y,
                    float beta = 0.f) {
  if (rows == 0) return;
  ops.gemm(gemm_desc(rows, out, in, false, true, beta), x, W, y);
  if (b) ops.bias_act_forward(rows, out, SCM_ACT_IDENTITY, y, b, y);
}

// Stacked dual: xx [2 rows, in] -> yy [2 rows, out] with one GEMM; the bias on the primal rows.
template <class Ops, class T = typename Ops::T>
void linear_dual(const Ops& ops, int64_t rows, int64_t in, int64_t out, const T* xx, const T* W, const T* b, T* yy) {
  if (rows == 0) return;
  ops.gemm(gemm_desc(2 * rows, out, in, false, true, 0.f), xx, W, yy);
  if (b) ops.bias_act_forward(rows, out, SCM_ACT_IDENTITY, yy, b, yy);
}

// `chunks` linears of one input, as one batched GEMM (the input broadcast, stride 0):
// y + j * y_stride [R, out] = x [R, in] W_j^T + b_j for j < chunks, W_j = W + j * out * in,
// b_j = b + j * out (nullable). R = rows, or 2 * rows when `stacked` (a dual pass: the biases
// on the primal rows only). One call instead of `chunks` (the DiT's modulation linears: at
// batch 1 each is a 1 x w x w product whose call costs more than its arithmetic).
template <class Ops, class T = typename Ops::T>
void linear_chunks(const Ops& ops, bool stacked, int64_t chunks, int64_t rows, int64_t in, int64_t out, const T* x,
                   const T* W, const T* b, T* y, int64_t y_stride) {
  if (rows == 0 || chunks == 0) return;
  ScmGemmDesc d = gemm_desc((stacked ? 2 : 1) * rows, out, in, false, true, 0.f);
  d.batch = chunks;
  d.stride_a = 0;
  d.stride_b = out * in;
  d.stride_c = y_stride;
  ops.gemm(d, x, W, y);
  if (b)
    for (int64_t j = 0; j < chunks; ++j)
      ops.bias_act_forward(rows, out, SCM_ACT_IDENTITY, y + j * y_stride, b + j * out, y + j * y_stride);
}

// db [cols] += column sums of dy [rows, cols], as a GEMM with a vector of ones (>= rows).
template <class Ops, class T = typename Ops::T>
void column_sums(const Ops& ops, int64_t rows, int64_t cols, const T* dy, const T* ones, T* db) {
  ops.gemm(gemm_desc(1, cols, rows, false, false, 1.f), ones, dy, db);
}

// dx = dy W (overwritten, nullable; beta_dx = 1 adds to dx); dW += dy^T x; db += sum_rows dy
// (nullable; needs `ones`, >= rows ones).
template <class Ops, class T = typename Ops::T>
void linear_backward(const Ops& ops, int64_t rows, int64_t in, int64_t out, const T* x, const T* W, const T* dy,
                     T* dx, T* dW, T* db, const T* ones, float beta_dx = 0.f) {
  if (rows == 0) return;
  if (dx) ops.gemm(gemm_desc(rows, in, out, false, false, beta_dx), dy, W, dx);
  if (dW) ops.gemm(gemm_desc(out, in, rows, true, false, 1.f), dy, x, dW);
  if (db) column_sums(ops, rows, out, dy, ones, db);
}

// ---------------------------------------------------------------- modulated norm
// ADN:   y = LN(x) * pnorm(s) + pnorm(b)          (SCM.md §5)
// adaLN: y = LN(x) * (1 + s) + b                  (the ablation)
// x, y [batch, tokens, C]; s, b [batch, C].
template <class T>
struct ModNormSaved {
  T* mean = nullptr;   // [batch * tokens]
  T* rstd = nullptr;   // [batch * tokens]
  T* srs = nullptr;    // [batch] (ADN)
  T* brs = nullptr;    // [batch] (ADN)
  T* xhat = nullptr;   // [2 * batch * tokens * C] (adaLN: the normalised x, stacked in a dual)
};

template <class Ops, class T = typename Ops::T>
void modnorm_forward(const Ops& ops, const ModelConfig& c, int64_t B, int64_t tokens, int64_t C, const T* x,
                     const T* s, const T* b, T* y, const ModNormSaved<T>& sv) {
  if (c.modulation == Modulation::Adn) {
    ops.adn_forward(B, tokens, C, c.norm_eps, c.pnorm_eps, x, s, b, y, sv.mean, sv.rstd, sv.srs, sv.brs);
  } else {
    ops.layer_norm_forward(B * tokens, C, c.norm_eps, x, sv.xhat, sv.mean, sv.rstd);
    ops.modulate_forward(B, tokens, C, 1.f, sv.xhat, s, b, y);
  }
}

// Stacked: xx [2 B tokens, C], ss / bb [2 B, C], yy [2 B tokens, C].
template <class Ops, class T = typename Ops::T>
void modnorm_dual(const Ops& ops, const ModelConfig& c, int64_t B, int64_t tokens, int64_t C, const T* xx,
                  const T* ss, const T* bb, T* yy, const ModNormSaved<T>& sv) {
  const int64_t n = B * tokens * C, nb = B * C;
  if (c.modulation == Modulation::Adn) {
    ops.adn_dual(B, tokens, C, c.norm_eps, c.pnorm_eps, xx, xx + n, ss, ss + nb, bb, bb + nb, yy, yy + n, sv.mean,
                 sv.rstd, sv.srs, sv.brs);
  } else {
    ops.layer_norm_dual(B * tokens, C, c.norm_eps, xx, xx + n, sv.xhat, sv.xhat + n, sv.mean, sv.rstd);
    ops.modulate_dual(B, tokens, C, 1.f, sv.xhat, sv.xhat + n, ss, ss + nb, bb, bb + nb, yy, yy + n);
  }
}

// dx [B tokens, C] overwritten; ds, db [B, C] overwritten. scratch: B tokens C (adaLN only).
template <class Ops, class T = typename Ops::T>
void modnorm_backward(const Ops& ops, const ModelConfig& c, int64_t B, int64_t tokens, int64_t C, const T* x,
                      const T* s, const T* b, const ModNormSaved<T>& sv, const T* dy, T* dx, T* ds, T* db,
                      T* scratch) {
  if (c.modulation == Modulation::Adn) {
    ops.adn_backward(B, tokens, C, x, s, b, sv.mean, sv.rstd, sv.srs, sv.brs, dy, dx, ds, db);
  } else {
    ops.modulate_backward(B, tokens, C, 1.f, sv.xhat, s, dy, scratch, ds, db);
    ops.layer_norm_backward(B * tokens, C, x, sv.mean, sv.rstd, scratch, dx);
  }
}

// Saved statistics of one modulated norm over B x tokens rows of C channels, in a workspace.
template <class Ops, class T = typename Ops::T>
struct ModNormBuffers {
  typename Ops::Buffer mean, rstd, srs, brs, xhat;
  void allocate(const Ops& ops, const ModelConfig& c, int64_t B, int64_t tokens, int64_t C) {
    mean = ops.alloc(B * tokens);
    rstd = ops.alloc(B * tokens);
    srs = ops.alloc(B);
    brs = ops.alloc(B);
    if (c.modulation == Modulation::AdaLn) xhat = ops.alloc(2 * B * tokens * C);
  }
  ModNormSaved<T> view() const { return {mean.data(), rstd.data(), srs.data(), brs.data(), xhat.data()}; }
};

// ---------------------------------------------------------------- conditioning trunk
// temb = features(c_noise(t)) [B, E]; e1 = temb W1^T; a1 = SiLU(e1 + b1); e2 = a1 W2^T + b2
// (+ onehot(label) Emb) (+ features(guidance) Wg^T + bg); cact = SiLU(e2) [B, width].
// The adaptive-weight head: logvar = temb Wlv^T + blv [B] (SCM.md §4).
template <class Ops>
class CondEmbedding {
 public:
  using T = typename Ops::T;
  CondEmbedding(const ModelConfig& c, ParamLayout& L);

  void reserve(const Ops& ops, int64_t B);
  // The returned pointer (cact [B, w]; dual: stacked [2B, w]) lives in this object's workspace.
  const T* forward(const Ops& ops, const T* params, int64_t B, const Conditioning& cond, T* logvar);
  const T* dual(const Ops& ops, const T* params, int64_t B, const Conditioning& cond, T* logvar);
  // dcact [B, w] (consumed: overwritten); dlogvar [B] nullable.
  void backward(const Ops& ops, const T* params, T* dcact, const T* dlogvar, T* grads, const T* ones);

 private:
  void features(const Ops& ops, int64_t B, const Conditioning& cond, bool dual);
  void add_label_and_guidance(const Ops& ops, const T* params, int64_t B, const Conditioning& cond);
  void logvar_head(const Ops& ops, const T* params, int64_t B, T* logvar);

  const ModelConfig& c_;
  size_t w1_, b1_, w2_, b2_, emb_ = 0, wg_ = 0, bg_ = 0, wlv_, blv_;
  std::vector<double> fourier_freq_;
  int64_t cap_ = 0, B_ = 0;
  typename Ops::Buffer cnoise_, temb_, e1_, a1_, e2_, cact_, onehot_, gin_, gemb_, dtmp_;
};

}  // namespace scm::nn
