// The `mlp` network: declaration (passes in model_mlp.cpp).
#pragma once
#include "nn.h"

namespace scm {

template <class Ops>
class Mlp final : public Network<Ops> {
 public:
  using T = typename Ops::T;
  Mlp(const Ops& ops, const ModelConfig& config);
  const ModelConfig& config() const override { return c_; }
  const ParamLayout& layout() const override { return layout_; }
  void forward(const T* params, int64_t B, const T* u, const Conditioning& cond, T* F, T* logvar, bool save) override;
  void dual(const T* params, int64_t B, const T* uu, const Conditioning& cond, T* FF, T* logvar, bool save) override;
  void backward(const T* params, const T* dF, const T* dlogvar, T* grads) override;

 private:
  struct BlockParams { size_t mod_w, mod_b, fc1_w, fc1_b, fc2_w, fc2_b; };
  using Buf = typename Ops::Buffer;
  struct BlockActs {
    Buf mod, x, z1, act, drop, hmid;
    nn::ModNormBuffers<Ops> norm;
  };

  void reserve(int64_t B);
  void run(const T* params, int64_t B, const T* u, const Conditioning& cond, T* F, T* logvar, bool stacked);
  uint64_t dropout_offset(int64_t block) const;

  Ops ops_;
  ModelConfig c_;
  ParamLayout layout_;
  nn::CondEmbedding<Ops> cond_;
  size_t x_w_, x_b_, fmod_w_, fmod_b_, out_w_, out_b_;
  std::vector<BlockParams> blocks_p_;

  int64_t cap_ = 0, B_ = 0, S_ = 1;
  bool saved_ = false, dropout_ = false;
  uint64_t dseed_ = 0, doff_ = 0;
  const T* cact_saved_ = nullptr;

  Buf uin_, fmod_, xf_;
  std::vector<Buf> hs_;
  std::vector<BlockActs> blocks_;
  nn::ModNormBuffers<Ops> fnorm_;
  Buf dh_, dx_, dtmp_, dhid_, dmod_, dcact_, dscratch_, ones_;
};

}  // namespace scm
