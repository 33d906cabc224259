// The conditioning trunk of the networks (nn.h: CondEmbedding): time features, the time MLP,
// the label and guidance embeddings and the adaptive-weight head, with forward, dual and
// backward passes.
#include "nn.h"

namespace scm::nn {

namespace {
constexpr double kTwoPi = 6.283185307179586;
// Fixed stream of the Fourier frequencies (part of the architecture, not of the seed).
constexpr uint64_t kFourierSeed = 0x46F0E1E5ull;
}  // namespace

template <class Ops>
CondEmbedding<Ops>::CondEmbedding(const ModelConfig& c, ParamLayout& L) : c_(c) {
  const int64_t E = c.time_dim, w = c.width;
  w1_ = L.add("t_embed.fc1.weight", {w, E}, ParamInit::XavierUniform);
  b1_ = L.add("t_embed.fc1.bias", {w}, ParamInit::Zero);
  w2_ = L.add("t_embed.fc2.weight", {w, w}, ParamInit::XavierUniform);
  b2_ = L.add("t_embed.fc2.bias", {w}, ParamInit::Zero);
  if (c.num_classes > 0) emb_ = L.add("y_embed.weight", {c.num_classes + 1, w}, ParamInit::Normal, 0.02);
  if (c.guidance_input) {
    wg_ = L.add("g_embed.fc.weight", {w, E}, ParamInit::Zero);
    bg_ = L.add("g_embed.fc.bias", {w}, ParamInit::Zero);
  }
  wlv_ = L.add("logvar.weight", {1, E}, ParamInit::Zero);
  blv_ = L.add("logvar.bias", {1}, ParamInit::Zero);
  if (c.time_embedding == TimeEmbedding::Fourier) {
    fourier_freq_.resize(static_cast<size_t>(E / 2));
    for (size_t i = 0; i < fourier_freq_.size(); ++i) fourier_freq_[i] = c.fourier_scale * philox::normal_at(kFourierSeed, i);
  }
}

template <class Ops>
void CondEmbedding<Ops>::reserve(const Ops& ops, int64_t B) {
  if (B <= cap_) return;
  const int64_t E = c_.time_dim, w = c_.width;
  cnoise_ = ops.alloc(2 * B);
  temb_ = ops.alloc(2 * B * E);
  e1_ = ops.alloc(2 * B * w);
  a1_ = ops.alloc(2 * B * w);
  e2_ = ops.alloc(2 * B * w);
  cact_ = ops.alloc(2 * B * w);
  dtmp_ = ops.alloc(B * w);
  if (c_.num_classes > 0) onehot_ = ops.alloc(B * (c_.num_classes + 1));
  if (c_.guidance_input) {
    gin_ = ops.alloc(B);
    gemb_ = ops.alloc(B * E);
  }
  cap_ = B;
}

// temb (and its tangent in the second half when dual) from c_noise(t).
template <class Ops>
void CondEmbedding<Ops>::features(const Ops& ops, int64_t B, const Conditioning& cond, bool dual) {
  require(static_cast<int64_t>(cond.t.size()) == B, SCM_E_SHAPE, "network: ", cond.t.size(), " times for a batch of ", B);
  if (dual)
    require(static_cast<int64_t>(cond.t_dot.size()) == B, SCM_E_SHAPE, "network dual: ", cond.t_dot.size(),
            " time tangents for a batch of ", B);
  const int64_t E = c_.time_dim;
  std::vector<double> c(B), cdot(dual ? B : 0);
  for (int64_t b = 0; b < B; ++b) {
    const double t = cond.t[b];
    require(std::isfinite(t) && t > 0 && t < 1.5707963267948966, SCM_E_ARGUMENT, "network: time ", t,
            " of sample ", b, " is not in (0, pi/2)");
    c[b] = time_transform(c_, t);
    if (dual) cdot[b] = time_transform_derivative(c_, t) * cond.t_dot[b];
  }
  if (c_.time_embedding == TimeEmbedding::Positional) {
    std::vector<double> both(c);
    both.insert(both.end(), cdot.begin(), cdot.end());
    ops.upload(cnoise_.data(), both);
    if (dual) ops.time_embed_dual(B, E, cnoise_.data(), cnoise_.data() + B, temb_.data(), temb_.data() + B * E);
    else ops.time_embed_forward(B, E, cnoise_.data(), temb_.data());
    return;
  }
  // Fourier features, in double on the host: [cos(2 pi f c), sin(2 pi f c)].
  const int64_t half = E / 2;
  std::vector<double> f(static_cast<size_t>((dual ? 2 : 1) * B * E));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < half; ++i) {
      const double fr = kTwoPi * fourier_freq_[i], a = fr * c[b];
      f[b * E + i] = std::cos(a);
      f[b * E + half + i] = std::sin(a);
      if (dual) {
        f[(B + b) * E + i] = -std::sin(a) * fr * cdot[b];
        f[(B + b) * E + half + i] = std::cos(a) * fr * cdot[b];
      }
    }
  }
  ops.upload(temb_.data(), f);
}

// e2[:B] += onehot(labels) Emb + features(guidance) Wg^T + bg (both tangent-free).
template <class Ops>
void CondEmbedding<Ops>::add_label_and_guidance(const Ops& ops, const T* P, int64_t B, const Conditioning& cond) {
  const int64_t w = c_.width, E = c_.time_dim;
  if (c_.num_classes > 0) {
    const int64_t K1 = c_.num_classes + 1;
    require(cond.labels.empty() || static_cast<int64_t>(cond.labels.size()) == B, SCM_E_SHAPE, "network: ",
            cond.labels.size(), " labels for a batch of ", B);
    std::vector<double> oh(static_cast<size_t>(B * K1), 0.0);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t y = cond.labels.empty() ? c_.num_classes : cond.labels[b];
      require(y >= 0 && y <= c_.num_classes, SCM_E_ARGUMENT, "network: label ", y, " of sample ", b,
              " is not in [0, ", c_.num_classes, "] (", c_.num_classes, " = no label)");
      oh[b * K1 + y] = 1.0;
    }
    ops.upload(onehot_.data(), oh);
    ops.gemm(gemm_desc(B, w, K1, false, false, 1.f), onehot_.data(), P + emb_, e2_.data());
  } else {
    require(cond.labels.empty(), SCM_E_ARGUMENT, "network: labels given to an unconditional model");
  }
  if (c_.guidance_input) {
    require(static_cast<int64_t>(cond.guidance.size()) == B, SCM_E_ARGUMENT,
            "network: this model takes the guidance scale as an input; got ", cond.guidance.size(),
            " values for a batch of ", B);
    ops.upload(gin_.data(), cond.guidance);
    ops.time_embed_forward(B, E, gin_.data(), gemb_.data());
    linear_forward(ops, B, E, w, gemb_.data(), P + wg_, P + bg_, e2_.data(), 1.f);
  }
}

template <class Ops>
void CondEmbedding<Ops>::logvar_head(const Ops& ops, const T* P, int64_t B, T* logvar) {
  if (logvar) linear_forward(ops, B, c_.time_dim, 1, temb_.data(), P + wlv_, P + blv_, logvar);
}

template <class Ops>
auto CondEmbedding<Ops>::forward(const Ops& ops, const T* P, int64_t B, const Conditioning& cond, T* logvar) -> const T* {
  reserve(ops, B);
  B_ = B;
  const int64_t E = c_.time_dim, w = c_.width;
  features(ops, B, cond, false);
  linear_forward(ops, B, E, w, temb_.data(), P + w1_, static_cast<const T*>(nullptr), e1_.data());
  ops.bias_act_forward(B, w, SCM_ACT_SILU, e1_.data(), P + b1_, a1_.data());
  linear_forward(ops, B, w, w, a1_.data(), P + w2_, P + b2_, e2_.data());
  add_label_and_guidance(ops, P, B, cond);
  ops.bias_act_forward(B, w, SCM_ACT_SILU, e2_.data(), static_cast<const T*>(nullptr), cact_.data());
  logvar_head(ops, P, B, logvar);
  return cact_.data();
}

template <class Ops>
auto CondEmbedding<Ops>::dual(const Ops& ops, const T* P, int64_t B, const Conditioning& cond, T* logvar) -> const T* {
  reserve(ops, B);
  B_ = B;
  const int64_t E = c_.time_dim, w = c_.width, n = B * w;
  features(ops, B, cond, true);
  linear_dual(ops, B, E, w, temb_.data(), P + w1_, static_cast<const T*>(nullptr), e1_.data());
  ops.bias_act_dual(B, w, SCM_ACT_SILU, e1_.data(), e1_.data() + n, P + b1_, a1_.data(), a1_.data() + n);
  linear_dual(ops, B, w, w, a1_.data(), P + w2_, P + b2_, e2_.data());
  add_label_and_guidance(ops, P, B, cond);
  ops.bias_act_dual(B, w, SCM_ACT_SILU, e2_.data(), e2_.data() + n, static_cast<const T*>(nullptr), cact_.data(),
                    cact_.data() + n);
  logvar_head(ops, P, B, logvar);
  return cact_.data();
}

template <class Ops>
void CondEmbedding<Ops>::backward(const Ops& ops, const T* P, T* dcact, const T* dlogvar, T* G, const T* ones) {
  const int64_t B = B_, E = c_.time_dim, w = c_.width;
  // dcact -> de2 (in place)
  ops.bias_act_backward(B, w, SCM_ACT_SILU, e2_.data(), static_cast<const T*>(nullptr), dcact, dcact, static_cast<T*>(nullptr));
  const T* de2 = dcact;
  if (c_.num_classes > 0)
    ops.gemm(gemm_desc(c_.num_classes + 1, w, B, true, false, 1.f), onehot_.data(), de2, G + emb_);
  if (c_.guidance_input)
    linear_backward(ops, B, E, w, gemb_.data(), P + wg_, de2, static_cast<T*>(nullptr), G + wg_, G + bg_, ones);
  T* da1 = dtmp_.data();
  linear_backward(ops, B, w, w, a1_.data(), P + w2_, de2, da1, G + w2_, G + b2_, ones);
  ops.bias_act_backward(B, w, SCM_ACT_SILU, e1_.data(), P + b1_, da1, da1, G + b1_);
  linear_backward(ops, B, E, w, temb_.data(), P + w1_, da1, static_cast<T*>(nullptr), G + w1_, static_cast<T*>(nullptr), ones);
  if (dlogvar)
    linear_backward(ops, B, E, 1, temb_.data(), P + wlv_, dlogvar, static_cast<T*>(nullptr), G + wlv_, G + blv_, ones);
}

template class CondEmbedding<TableOps>;
template class CondEmbedding<ReferenceOps>;

}  // namespace scm::nn
