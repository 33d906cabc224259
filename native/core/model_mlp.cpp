// The `mlp` network (for low-dimensional data), each pass written out plainly:
//
//   h    = u W_in^T + b_in                                         [B, w]
//   cact = conditioning trunk (time MLP + label + guidance)        [B, w]      (nn.h)
//   per block l:
//     (s, b) = cact W_mod^T + b_mod;  x = modnorm(h; s, b)          (ADN, or adaLN)
//     h = h + dropout(SiLU(x W_1^T + b_1)) W_2^T + b_2
//   F = modnorm(h; s_f, b_f) W_out^T + b_out                       [B, D]
//
// The dual pass runs on stacked [primal; tangent] buffers (nn.h) and saves the same primal
// activations as the forward.
#include "model_mlp.h"

namespace scm {

template <class Ops>
Mlp<Ops>::Mlp(const Ops& ops, const ModelConfig& c) : ops_(ops), c_(c), cond_(c_, layout_) {
  require(c_.kind == NetworkKind::Mlp, SCM_E_INTERNAL, "Mlp built from a non-mlp config");
  const int64_t w = c_.width, D = c_.sample_size(), hid = c_.hidden();
  const ParamInit mod_init = c_.modulation == Modulation::Adn ? ParamInit::XavierUniform : ParamInit::Zero;
  x_w_ = layout_.add("x_embed.weight", {w, D}, ParamInit::XavierUniform);
  x_b_ = layout_.add("x_embed.bias", {w}, ParamInit::Zero);
  for (int64_t l = 0; l < c_.depth; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    BlockParams bp;
    bp.mod_w = layout_.add(b + "mod.weight", {2 * w, w}, mod_init);
    bp.mod_b = layout_.add(b + "mod.bias", {2 * w}, ParamInit::Zero);
    bp.fc1_w = layout_.add(b + "mlp.fc1.weight", {hid, w}, ParamInit::XavierUniform);
    bp.fc1_b = layout_.add(b + "mlp.fc1.bias", {hid}, ParamInit::Zero);
    bp.fc2_w = layout_.add(b + "mlp.fc2.weight", {w, hid}, ParamInit::XavierUniform);
    bp.fc2_b = layout_.add(b + "mlp.fc2.bias", {w}, ParamInit::Zero);
    blocks_p_.push_back(bp);
  }
  fmod_w_ = layout_.add("final.mod.weight", {2 * w, w}, mod_init);
  fmod_b_ = layout_.add("final.mod.bias", {2 * w}, ParamInit::Zero);
  out_w_ = layout_.add("final.linear.weight", {D, w}, ParamInit::Zero);
  out_b_ = layout_.add("final.linear.bias", {D}, ParamInit::Zero);
}

template <class Ops>
void Mlp<Ops>::reserve(int64_t B) {
  if (B <= cap_) return;
  const Ops& o = ops_;
  const int64_t w = c_.width, hid = c_.hidden(), B2 = 2 * B;
  cond_.reserve(o, B);
  uin_ = o.alloc(B2 * c_.sample_size());
  hs_.clear();
  for (int64_t l = 0; l <= c_.depth; ++l) hs_.push_back(o.alloc(B2 * w));
  blocks_.clear();
  blocks_.resize(c_.depth);
  for (auto& a : blocks_) {
    a.mod = o.alloc(2 * B2 * w);
    a.norm.allocate(o, c_, B, 1, w);
    a.x = o.alloc(B2 * w);
    a.z1 = o.alloc(B2 * hid);
    a.act = o.alloc(B2 * hid);
    if (c_.dropout > 0) a.drop = o.alloc(B2 * hid);
  }
  fmod_ = o.alloc(2 * B2 * w);
  fnorm_.allocate(o, c_, B, 1, w);
  xf_ = o.alloc(B2 * w);
  dh_ = o.alloc(B * w);
  dx_ = o.alloc(B * w);
  dtmp_ = o.alloc(B * w);
  dhid_ = o.alloc(B * hid);
  dmod_ = o.alloc(2 * B * w);
  dcact_ = o.alloc(B * w);
  dscratch_ = o.alloc(B * w);
  ones_ = o.alloc(B);
  o.upload(ones_.data(), std::vector<double>(static_cast<size_t>(B), 1.0));
  cap_ = B;
}

template <class Ops>
uint64_t Mlp<Ops>::dropout_offset(int64_t l) const {
  return doff_ + static_cast<uint64_t>(l) * static_cast<uint64_t>(B_ * c_.hidden());
}

template <class Ops>
void Mlp<Ops>::run(const T* P, int64_t B, const T* u, const Conditioning& cond, T* F, T* logvar, bool stacked) {
  reserve(B);
  B_ = B;
  dropout_ = cond.train && c_.dropout > 0;
  dseed_ = cond.dropout_seed;
  doff_ = cond.dropout_offset;
  const Ops& o = ops_;
  const int64_t w = c_.width, D = c_.sample_size(), hid = c_.hidden();
  const int64_t S = stacked ? 2 : 1, nb = B * w, nh = B * hid;
  const T* none = nullptr;
  const T* cact = stacked ? cond_.dual(o, P, B, cond, logvar) : cond_.forward(o, P, B, cond, logvar);
  cact_saved_ = cact;
  S_ = S;
  auto lin = [&](int64_t in, int64_t out, const T* x, size_t W, const T* b, T* y) {
    if (stacked) nn::linear_dual(o, B, in, out, x, P + W, b, y);
    else nn::linear_forward(o, B, in, out, x, P + W, b, y);
  };
  auto modnorm = [&](const T* x, const T* s, const T* b, T* y, const nn::ModNormSaved<T>& sv) {
    if (stacked) nn::modnorm_dual(o, c_, B, 1, w, x, s, b, y, sv);
    else nn::modnorm_forward(o, c_, B, 1, w, x, s, b, y, sv);
  };
  o.copy(uin_.data(), u, static_cast<size_t>(S * B * D));  // kept for the backward of x_embed
  lin(D, w, uin_.data(), x_w_, P + x_b_, hs_[0].data());
  for (int64_t l = 0; l < c_.depth; ++l) {
    const BlockParams& bp = blocks_p_[l];
    BlockActs& a = blocks_[l];
    T* mod = a.mod.data();
    lin(w, w, cact, bp.mod_w, P + bp.mod_b, mod);
    lin(w, w, cact, bp.mod_w + static_cast<size_t>(w * w), P + bp.mod_b + w, mod + S * nb);
    modnorm(hs_[l].data(), mod, mod + S * nb, a.x.data(), a.norm.view());
    lin(w, hid, a.x.data(), bp.fc1_w, none, a.z1.data());
    if (stacked) o.bias_act_dual(B, hid, SCM_ACT_SILU, a.z1.data(), a.z1.data() + nh, P + bp.fc1_b, a.act.data(), a.act.data() + nh);
    else o.bias_act_forward(B, hid, SCM_ACT_SILU, a.z1.data(), P + bp.fc1_b, a.act.data());
    const T* mlp_in = a.act.data();
    if (dropout_) {
      const float pd = static_cast<float>(c_.dropout);
      if (stacked) o.dropout_dual(nh, pd, dseed_, dropout_offset(l), a.act.data(), a.act.data() + nh, a.drop.data(), a.drop.data() + nh);
      else o.dropout_forward(nh, pd, dseed_, dropout_offset(l), a.act.data(), a.drop.data());
      mlp_in = a.drop.data();
    }
    T* hn = hs_[l + 1].data();
    lin(hid, w, mlp_in, bp.fc2_w, P + bp.fc2_b, hn);
    o.add(S * nb, hn, hs_[l].data(), hn);
  }
  T* fm = fmod_.data();
  lin(w, w, cact, fmod_w_, P + fmod_b_, fm);
  lin(w, w, cact, fmod_w_ + static_cast<size_t>(w * w), P + fmod_b_ + w, fm + S * nb);
  modnorm(hs_[c_.depth].data(), fm, fm + S * nb, xf_.data(), fnorm_.view());
  lin(w, D, xf_.data(), out_w_, P + out_b_, F);
}

template <class Ops>
void Mlp<Ops>::forward(const T* P, int64_t B, const T* u, const Conditioning& cond, T* F, T* logvar, bool save) {
  require(B >= 1, SCM_E_ARGUMENT, "mlp forward: batch ", B, " < 1");
  run(P, B, u, cond, F, logvar, false);
  saved_ = save;
}

template <class Ops>
void Mlp<Ops>::dual(const T* P, int64_t B, const T* uu, const Conditioning& cond, T* FF, T* logvar, bool save) {
  require(B >= 1, SCM_E_ARGUMENT, "mlp dual: batch ", B, " < 1");
  run(P, B, uu, cond, FF, logvar, true);
  saved_ = save;
}

template <class Ops>
void Mlp<Ops>::backward(const T* P, const T* dF, const T* dlogvar, T* G) {
  require(saved_, SCM_E_INTERNAL, "mlp backward without a saved forward or dual");
  saved_ = false;
  const Ops& o = ops_;
  const int64_t B = B_, w = c_.width, D = c_.sample_size(), hid = c_.hidden(), nb = B * w;
  const T* ones = ones_.data();
  T* none = nullptr;
  T *dh = dh_.data(), *dcact = dcact_.data(), *dmod = dmod_.data();
  const T* fm = fmod_.data();
  nn::linear_backward(o, B, w, D, xf_.data(), P + out_w_, dF, dx_.data(), G + out_w_, G + out_b_, ones);
  nn::modnorm_backward(o, c_, B, 1, w, hs_[c_.depth].data(), fm, fm + S_ * nb, fnorm_.view(), dx_.data(), dh, dmod,
                       dmod + nb, dscratch_.data());
  o.zero(dcact, static_cast<size_t>(nb));
  auto mod_backward = [&](size_t W, size_t b) {
    nn::linear_backward(o, B, w, w, cact_saved_, P + W, dmod, dcact, G + W, G + b, ones, 1.f);
    nn::linear_backward(o, B, w, w, cact_saved_, P + W + static_cast<size_t>(w * w), dmod + nb, dcact,
                        G + W + static_cast<size_t>(w * w), G + b + w, ones, 1.f);
  };
  mod_backward(fmod_w_, fmod_b_);
  for (int64_t l = c_.depth - 1; l >= 0; --l) {
    const BlockParams& bp = blocks_p_[l];
    BlockActs& a = blocks_[l];
    const T* mod = a.mod.data();
    const T* mlp_in = dropout_ ? a.drop.data() : a.act.data();
    nn::linear_backward(o, B, hid, w, mlp_in, P + bp.fc2_w, dh, dhid_.data(), G + bp.fc2_w, G + bp.fc2_b, ones);
    if (dropout_) o.dropout_backward(B * hid, static_cast<float>(c_.dropout), dseed_, dropout_offset(l), dhid_.data(), dhid_.data());
    o.bias_act_backward(B, hid, SCM_ACT_SILU, a.z1.data(), P + bp.fc1_b, dhid_.data(), dhid_.data(), G + bp.fc1_b);
    nn::linear_backward(o, B, w, hid, a.x.data(), P + bp.fc1_w, dhid_.data(), dx_.data(), G + bp.fc1_w, none, ones);
    nn::modnorm_backward(o, c_, B, 1, w, hs_[l].data(), mod, mod + S_ * nb, a.norm.view(), dx_.data(), dtmp_.data(), dmod,
                         dmod + nb, dscratch_.data());
    o.add(nb, dh, dtmp_.data(), dh);
    mod_backward(bp.mod_w, bp.mod_b);
  }
  nn::linear_backward(o, B, D, w, uin_.data(), P + x_w_, dh, none, G + x_w_, G + x_b_, ones);
  cond_.backward(o, P, dcact, dlogvar, G, ones);
}

template class Mlp<TableOps>;
template class Mlp<ReferenceOps>;

}  // namespace scm
