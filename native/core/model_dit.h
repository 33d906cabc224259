// The `dit` network: declaration (passes in model_dit.cpp).
#pragma once
#include "nn.h"

namespace scm {

template <class Ops>
class Dit final : public Network<Ops> {
 public:
  using T = typename Ops::T;
  Dit(const Ops& ops, const ModelConfig& config);
  const ModelConfig& config() const override { return c_; }
  const ParamLayout& layout() const override { return layout_; }
  void forward(const T* params, int64_t B, const T* u, const Conditioning& cond, T* F, T* logvar, bool save) override;
  void dual(const T* params, int64_t B, const T* uu, const Conditioning& cond, T* FF, T* logvar, bool save) override;
  void backward(const T* params, const T* dF, const T* dlogvar, T* grads) override;

 private:
  struct BlockParams {
    size_t mod_w, mod_b, qkv_w, qkv_b, qn, kn, proj_w, proj_b, fc1_w, fc1_b, fc2_w, fc2_b;
  };
  struct Params {
    size_t x_w, x_b, pos = 0, fmod_w, fmod_b, out_w, out_b;
    std::vector<BlockParams> blocks;
  };
  using Buf = typename Ops::Buffer;
  // Saved activations of one block (stacked [primal; tangent] after a dual).
  struct BlockActs {
    Buf mod, x1, q, k, v, rq, rk, qn, kn, o, lse, om, hmid, x2, z1, act, drop;
    nn::ModNormBuffers<Ops> n1, n2;
  };

  void reserve(int64_t B);
  void run(const T* params, int64_t B, const T* u, const Conditioning& cond, T* F, T* logvar, bool stacked);
  ScmAttentionShape attention_shape(int64_t B) const;
  uint64_t dropout_offset(int64_t block) const;
  std::vector<double> fixed_position_embedding() const;

  Ops ops_;
  ModelConfig c_;
  ParamLayout layout_;
  nn::CondEmbedding<Ops> cond_;
  Params p_;
  std::vector<double> fixed_pos_;

  // state of the last saving pass
  int64_t cap_ = 0, B_ = 0, S_ = 1;
  bool saved_ = false, dropout_ = false;
  uint64_t dseed_ = 0, doff_ = 0;
  const T* cact_saved_ = nullptr;

  // workspace
  Buf tok_, fmod_, xf_, qkv_, outtok_, pos_;
  std::vector<Buf> hs_;
  std::vector<BlockActs> blocks_;
  nn::ModNormBuffers<Ops> fnorm_;
  Buf dh_, dtmp_, dx_, dhid_, dqkv_, dq_, dk_, dv_, dqn_, dkn_, dmod_, dcact_, dscratch_, ones_;
};

}  // namespace scm
