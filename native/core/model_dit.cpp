// The `dit` network (DiT with the sCM stabilisers, SCM.md §5), each pass written out plainly:
//
//   tokens = patchify(u) W_in^T + b_in + pos                        [B*T, w]
//   cact   = conditioning trunk (time MLP + label + guidance)       [B, w]      (nn.h)
//   per block l:
//     (s1, b1, s2, b2) = cact W_mod^T + b_mod                       4 x [B, w]
//     x1 = modnorm(h; s1, b1)           (ADN, or adaLN as an ablation)
//     q, k, v = split_heads(x1 W_qkv^T + b_qkv); qn, kn = QK-norm(q), QK-norm(k)
//     h = h + merge_heads(attention(qn, kn, v)) W_o^T + b_o
//     x2 = modnorm(h; s2, b2)
//     h = h + dropout(GELU(x2 W_1^T + b_1)) W_2^T + b_2
//   F = unpatchify(modnorm(h; s_f, b_f) W_out^T + b_out)           [B, C, H, W]
//
// No time-dependent multiplier outside the normalised modulation (no adaLN-Zero gates).
// The dual pass runs every op on stacked [primal; tangent] buffers (nn.h), with the attention
// JVP of SCM.md §3; it saves the same primal activations as the forward, so the backward can
// follow either.
#include "model_dit.h"

#include <cmath>

namespace scm {

template <class Ops>
Dit<Ops>::Dit(const Ops& ops, const ModelConfig& c) : ops_(ops), c_(c), cond_(c_, layout_) {
  c_.validate();
  require(c_.kind == NetworkKind::Dit, SCM_E_INTERNAL, "Dit built from a non-dit config");
  const int64_t w = c_.width, P = c_.token_dim(), L = c_.tokens(), hid = c_.hidden(), hd = c_.head_dim();
  const bool adn = c_.modulation == Modulation::Adn;
  const ParamInit mod_init = adn ? ParamInit::XavierUniform : ParamInit::Zero;
  p_.x_w = layout_.add("x_embed.weight", {w, P}, ParamInit::XavierUniform);
  p_.x_b = layout_.add("x_embed.bias", {w}, ParamInit::Zero);
  if (c_.learned_pos_embed) p_.pos = layout_.add("pos_embed", {L, w}, ParamInit::Normal, 0.02);
  for (int64_t l = 0; l < c_.depth; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    BlockParams bp;
    bp.mod_w = layout_.add(b + "mod.weight", {4 * w, w}, mod_init);
    bp.mod_b = layout_.add(b + "mod.bias", {4 * w}, ParamInit::Zero);
    bp.qkv_w = layout_.add(b + "attn.qkv.weight", {3 * w, w}, ParamInit::XavierUniform);
    bp.qkv_b = layout_.add(b + "attn.qkv.bias", {3 * w}, ParamInit::Zero);
    bp.qn = layout_.add(b + "attn.q_norm.weight", {hd}, ParamInit::One);
    bp.kn = layout_.add(b + "attn.k_norm.weight", {hd}, ParamInit::One);
    bp.proj_w = layout_.add(b + "attn.proj.weight", {w, w}, ParamInit::XavierUniform);
    bp.proj_b = layout_.add(b + "attn.proj.bias", {w}, ParamInit::Zero);
    bp.fc1_w = layout_.add(b + "mlp.fc1.weight", {hid, w}, ParamInit::XavierUniform);
    bp.fc1_b = layout_.add(b + "mlp.fc1.bias", {hid}, ParamInit::Zero);
    bp.fc2_w = layout_.add(b + "mlp.fc2.weight", {w, hid}, ParamInit::XavierUniform);
    bp.fc2_b = layout_.add(b + "mlp.fc2.bias", {w}, ParamInit::Zero);
    p_.blocks.push_back(bp);
  }
  p_.fmod_w = layout_.add("final.mod.weight", {2 * w, w}, mod_init);
  p_.fmod_b = layout_.add("final.mod.bias", {2 * w}, ParamInit::Zero);
  p_.out_w = layout_.add("final.linear.weight", {P, w}, ParamInit::Zero);
  p_.out_b = layout_.add("final.linear.bias", {P}, ParamInit::Zero);
  if (!c_.learned_pos_embed) fixed_pos_ = fixed_position_embedding();
}

// 2-D sinusoidal position embedding [T, w]: the first half of the channels encodes the row,
// the second half the column, each as [sin(pos f_i), cos(pos f_i)] with f_i = 10000^(-i/(q)).
template <class Ops>
std::vector<double> Dit<Ops>::fixed_position_embedding() const {
  const int64_t w = c_.width, gh = c_.sample_shape[1] / c_.patch, gw = c_.sample_shape[2] / c_.patch;
  const int64_t half = w / 2, q = std::max<int64_t>(1, half / 2);
  std::vector<double> pos(static_cast<size_t>(gh * gw * w), 0.0);
  for (int64_t y = 0; y < gh; ++y)
    for (int64_t x = 0; x < gw; ++x) {
      double* row = &pos[(y * gw + x) * w];
      for (int64_t part = 0; part < 2; ++part) {
        const double p = part == 0 ? double(y) : double(x);
        for (int64_t i = 0; i < q && part * half + 2 * i + 1 < w; ++i) {
          const double f = std::pow(10000.0, -double(i) / double(q));
          row[part * half + i] = std::sin(p * f);
          row[part * half + q + i] = std::cos(p * f);
        }
      }
    }
  return pos;
}

template <class Ops>
void Dit<Ops>::reserve(int64_t B) {
  if (B <= cap_) return;
  const Ops& o = ops_;
  const int64_t w = c_.width, L = c_.tokens(), P = c_.token_dim(), hid = c_.hidden(), H = c_.heads;
  const int64_t R = B * L, R2 = 2 * R;
  cond_.reserve(o, B);
  tok_ = o.alloc(R2 * P);
  hs_.clear();
  for (int64_t l = 0; l <= c_.depth; ++l) hs_.push_back(o.alloc(R2 * w));
  blocks_.clear();
  blocks_.resize(c_.depth);
  for (auto& a : blocks_) {
    a.mod = o.alloc(4 * 2 * B * w);
    a.n1.allocate(o, c_, B, L, w);
    a.n2.allocate(o, c_, B, L, w);
    a.x1 = o.alloc(R2 * w);
    a.q = o.alloc(R2 * w);
    a.k = o.alloc(R2 * w);
    a.v = o.alloc(R2 * w);
    a.rq = o.alloc(R * H);
    a.rk = o.alloc(R * H);
    a.qn = o.alloc(R2 * w);
    a.kn = o.alloc(R2 * w);
    a.o = o.alloc(R2 * w);
    a.lse = o.alloc(R * H);
    a.om = o.alloc(R2 * w);
    a.hmid = o.alloc(R2 * w);
    a.x2 = o.alloc(R2 * w);
    a.z1 = o.alloc(R2 * hid);
    a.act = o.alloc(R2 * hid);
    if (c_.dropout > 0) a.drop = o.alloc(R2 * hid);
  }
  fmod_ = o.alloc(2 * 2 * B * w);
  fnorm_.allocate(o, c_, B, L, w);
  xf_ = o.alloc(R2 * w);
  qkv_ = o.alloc(R2 * 3 * w);
  outtok_ = o.alloc(R2 * P);
  // backward scratch
  dh_ = o.alloc(R * w);
  dtmp_ = o.alloc(R * w);
  dx_ = o.alloc(R * w);
  dhid_ = o.alloc(R * hid);
  dqkv_ = o.alloc(R * 3 * w);
  dq_ = o.alloc(R * w);
  dk_ = o.alloc(R * w);
  dv_ = o.alloc(R * w);
  dqn_ = o.alloc(R * w);
  dkn_ = o.alloc(R * w);
  dmod_ = o.alloc(4 * B * w);
  dcact_ = o.alloc(B * w);
  dscratch_ = o.alloc(R * w);
  ones_ = o.alloc(std::max<int64_t>(R, B));
  std::vector<double> ones(static_cast<size_t>(std::max<int64_t>(R, B)), 1.0);
  o.upload(ones_.data(), ones);
  if (!c_.learned_pos_embed) {
    pos_ = o.alloc(L * w);
    o.upload(pos_.data(), fixed_pos_);
  }
  cap_ = B;
}

template <class Ops>
ScmAttentionShape Dit<Ops>::attention_shape(int64_t B) const {
  ScmAttentionShape s{};
  s.batch = B;
  s.heads = c_.heads;
  s.len_q = s.len_k = c_.tokens();
  s.head_dim = c_.head_dim();
  s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c_.head_dim())));
  s.key_lengths = nullptr;
  s.precision = ops_.attention_precision();
  return s;
}

// Dropout masks of block l: the Philox uniforms (seed, offset + l * B*T*hidden + i).
template <class Ops>
uint64_t Dit<Ops>::dropout_offset(int64_t l) const {
  return doff_ + static_cast<uint64_t>(l) * static_cast<uint64_t>(B_ * c_.tokens() * c_.hidden());
}

// ---------------------------------------------------------------- forward / dual
// One implementation for both: `stacked` = dual (buffers hold [primal; tangent]).
template <class Ops>
void Dit<Ops>::run(const T* P, int64_t B, const T* u, const Conditioning& cond, T* F, T* logvar, bool stacked) {
  reserve(B);
  B_ = B;
  dropout_ = cond.train && c_.dropout > 0;
  dseed_ = cond.dropout_seed;
  doff_ = cond.dropout_offset;
  const Ops& o = ops_;
  const int64_t w = c_.width, L = c_.tokens(), Pd = c_.token_dim(), hid = c_.hidden(), H = c_.heads, hd = c_.head_dim();
  const int64_t C = c_.sample_shape[0], Hh = c_.sample_shape[1], Ww = c_.sample_shape[2], p = c_.patch;
  const int64_t R = B * L, S = stacked ? 2 : 1, n = R * w, nb = B * w, nh = R * hid;
  const T* none = nullptr;
  const T* cact = stacked ? cond_.dual(o, P, B, cond, logvar) : cond_.forward(o, P, B, cond, logvar);
  cact_saved_ = cact;
  S_ = S;

  // patch embedding (+ position, primal only)
  o.patchify(S * B, C, Hh, Ww, p, u, tok_.data());
  T* h0 = hs_[0].data();
  if (stacked) nn::linear_dual(o, R, Pd, w, tok_.data(), P + p_.x_w, P + p_.x_b, h0);
  else nn::linear_forward(o, R, Pd, w, tok_.data(), P + p_.x_w, P + p_.x_b, h0);
  o.bias_act_forward(B, L * w, SCM_ACT_IDENTITY, h0, c_.learned_pos_embed ? P + p_.pos : pos_.data(), h0);

  auto lin = [&](int64_t rows, int64_t in, int64_t out, const T* x, size_t W, const T* b, T* y) {
    if (stacked) nn::linear_dual(o, rows, in, out, x, P + W, b, y);
    else nn::linear_forward(o, rows, in, out, x, P + W, b, y);
  };
  auto modnorm = [&](const T* x, const T* s, const T* b, T* y, const nn::ModNormSaved<T>& sv) {
    if (stacked) nn::modnorm_dual(o, c_, B, L, w, x, s, b, y, sv);
    else nn::modnorm_forward(o, c_, B, L, w, x, s, b, y, sv);
  };
  const ScmAttentionShape shape = attention_shape(B);

  for (int64_t l = 0; l < c_.depth; ++l) {
    const BlockParams& bp = p_.blocks[l];
    BlockActs& a = blocks_[l];
    const T* h = hs_[l].data();
    T* mod = a.mod.data();  // chunk j at mod + j * S * nb: [s1, b1, s2, b2]
    nn::linear_chunks(o, stacked, 4, B, w, w, cact, P + bp.mod_w, P + bp.mod_b, mod, S * nb);
    const T *s1 = mod, *b1 = mod + S * nb, *s2 = mod + 2 * S * nb, *b2 = mod + 3 * S * nb;
    // attention branch
    modnorm(h, s1, b1, a.x1.data(), a.n1.view());
    lin(R, w, 3 * w, a.x1.data(), bp.qkv_w, P + bp.qkv_b, qkv_.data());
    o.split_heads(S * B, L, H, hd, 3, qkv_.data(), a.q.data(), a.k.data(), a.v.data());
    if (stacked) {
      o.qk_norm_dual(R * H, hd, c_.qk_eps, a.q.data(), a.q.data() + n, P + bp.qn, a.qn.data(), a.qn.data() + n, a.rq.data());
      o.qk_norm_dual(R * H, hd, c_.qk_eps, a.k.data(), a.k.data() + n, P + bp.kn, a.kn.data(), a.kn.data() + n, a.rk.data());
      o.attention_jvp(shape, a.qn.data(), a.kn.data(), a.v.data(), a.qn.data() + n, a.kn.data() + n, a.v.data() + n,
                      a.o.data(), a.o.data() + n, a.lse.data());
    } else {
      o.qk_norm_forward(R * H, hd, c_.qk_eps, a.q.data(), P + bp.qn, a.qn.data(), a.rq.data());
      o.qk_norm_forward(R * H, hd, c_.qk_eps, a.k.data(), P + bp.kn, a.kn.data(), a.rk.data());
      o.attention_forward(shape, a.qn.data(), a.kn.data(), a.v.data(), a.o.data(), a.lse.data());
    }
    o.merge_heads(S * B, L, H, hd, 1, a.o.data(), none, none, a.om.data());
    lin(R, w, w, a.om.data(), bp.proj_w, P + bp.proj_b, a.hmid.data());
    o.add(S * n, a.hmid.data(), h, a.hmid.data());
    // MLP branch
    modnorm(a.hmid.data(), s2, b2, a.x2.data(), a.n2.view());
    lin(R, w, hid, a.x2.data(), bp.fc1_w, none, a.z1.data());
    if (stacked) o.bias_act_dual(R, hid, SCM_ACT_GELU_TANH, a.z1.data(), a.z1.data() + nh, P + bp.fc1_b, a.act.data(), a.act.data() + nh);
    else o.bias_act_forward(R, hid, SCM_ACT_GELU_TANH, a.z1.data(), P + bp.fc1_b, a.act.data());
    const T* mlp_in = a.act.data();
    if (dropout_) {
      const float pd = static_cast<float>(c_.dropout);
      const uint64_t off = dropout_offset(l);
      if (stacked) o.dropout_dual(nh, pd, dseed_, off, a.act.data(), a.act.data() + nh, a.drop.data(), a.drop.data() + nh);
      else o.dropout_forward(nh, pd, dseed_, off, a.act.data(), a.drop.data());
      mlp_in = a.drop.data();
    }
    T* hn = hs_[l + 1].data();
    lin(R, hid, w, mlp_in, bp.fc2_w, P + bp.fc2_b, hn);
    o.add(S * n, hn, a.hmid.data(), hn);
  }
  // final layer
  T* fm = fmod_.data();
  nn::linear_chunks(o, stacked, 2, B, w, w, cact, P + p_.fmod_w, P + p_.fmod_b, fm, S * nb);
  modnorm(hs_[c_.depth].data(), fm, fm + S * nb, xf_.data(), fnorm_.view());
  lin(R, w, Pd, xf_.data(), p_.out_w, P + p_.out_b, outtok_.data());
  o.unpatchify(S * B, C, Hh, Ww, p, outtok_.data(), F);
}

template <class Ops>
void Dit<Ops>::forward(const T* P, int64_t B, const T* u, const Conditioning& cond, T* F, T* logvar, bool save) {
  require(B >= 1, SCM_E_ARGUMENT, "dit forward: batch ", B, " < 1");
  run(P, B, u, cond, F, logvar, false);
  saved_ = save;
}

template <class Ops>
void Dit<Ops>::dual(const T* P, int64_t B, const T* uu, const Conditioning& cond, T* FF, T* logvar, bool save) {
  require(B >= 1, SCM_E_ARGUMENT, "dit dual: batch ", B, " < 1");
  run(P, B, uu, cond, FF, logvar, true);
  saved_ = save;
}

// ---------------------------------------------------------------- backward
template <class Ops>
void Dit<Ops>::backward(const T* P, const T* dF, const T* dlogvar, T* G) {
  require(saved_, SCM_E_INTERNAL, "dit backward without a saved forward or dual");
  saved_ = false;
  const Ops& o = ops_;
  const int64_t B = B_, w = c_.width, L = c_.tokens(), Pd = c_.token_dim(), hid = c_.hidden(), H = c_.heads, hd = c_.head_dim();
  const int64_t C = c_.sample_shape[0], Hh = c_.sample_shape[1], Ww = c_.sample_shape[2], p = c_.patch;
  const int64_t R = B * L, n = R * w, nb = B * w;
  const T* ones = ones_.data();
  T* none = nullptr;
  T* dh = dh_.data();
  T* dcact = dcact_.data();
  T* dmod = dmod_.data();

  // The saved primal is the first half of each stacked buffer after a dual; the modulation
  // chunks sit at j * S_ * nb (S_ = 2 after a dual, 1 after a forward).
  const int64_t Srun = S_;
  o.patchify(B, C, Hh, Ww, p, dF, outtok_.data());  // dF -> token gradients (reuses the buffer)
  nn::linear_backward(o, R, w, Pd, xf_.data(), P + p_.out_w, outtok_.data(), dx_.data(), G + p_.out_w, G + p_.out_b, ones);
  const T* fm = fmod_.data();
  nn::modnorm_backward(o, c_, B, L, w, hs_[c_.depth].data(), fm, fm + Srun * nb, fnorm_.view(), dx_.data(), dh, dmod,
                       dmod + nb, dscratch_.data());
  o.zero(dcact, static_cast<size_t>(nb));
  nn::linear_backward(o, B, w, w, cact_saved_, P + p_.fmod_w, dmod, dcact, G + p_.fmod_w, G + p_.fmod_b, ones, 1.f);
  nn::linear_backward(o, B, w, w, cact_saved_, P + p_.fmod_w + static_cast<size_t>(w * w), dmod + nb, dcact,
                      G + p_.fmod_w + static_cast<size_t>(w * w), G + p_.fmod_b + w, ones, 1.f);

  const ScmAttentionShape shape = attention_shape(B);
  for (int64_t l = c_.depth - 1; l >= 0; --l) {
    const BlockParams& bp = p_.blocks[l];
    BlockActs& a = blocks_[l];
    const T* mod = a.mod.data();
    const T *s1 = mod, *b1 = mod + Srun * nb, *s2 = mod + 2 * Srun * nb, *b2 = mod + 3 * Srun * nb;
    // MLP branch: h_next = hmid + fc2(drop(gelu(fc1(x2))))
    const T* mlp_in = dropout_ ? a.drop.data() : a.act.data();
    nn::linear_backward(o, R, hid, w, mlp_in, P + bp.fc2_w, dh, dhid_.data(), G + bp.fc2_w, G + bp.fc2_b, ones);
    if (dropout_)
      o.dropout_backward(R * hid, static_cast<float>(c_.dropout), dseed_, dropout_offset(l), dhid_.data(), dhid_.data());
    o.bias_act_backward(R, hid, SCM_ACT_GELU_TANH, a.z1.data(), P + bp.fc1_b, dhid_.data(), dhid_.data(), G + bp.fc1_b);
    nn::linear_backward(o, R, w, hid, a.x2.data(), P + bp.fc1_w, dhid_.data(), dx_.data(), G + bp.fc1_w, none, ones);
    nn::modnorm_backward(o, c_, B, L, w, a.hmid.data(), s2, b2, a.n2.view(), dx_.data(), dtmp_.data(), dmod + 2 * nb,
                         dmod + 3 * nb, dscratch_.data());
    o.add(n, dh, dtmp_.data(), dh);  // d hmid
    // attention branch: hmid = h + proj(merge(attn(qn, kn, v)))
    nn::linear_backward(o, R, w, w, a.om.data(), P + bp.proj_w, dh, dx_.data(), G + bp.proj_w, G + bp.proj_b, ones);
    o.split_heads(B, L, H, hd, 1, dx_.data(), dtmp_.data(), none, none);  // d o
    o.attention_backward(shape, a.qn.data(), a.kn.data(), a.v.data(), a.o.data(), a.lse.data(), dtmp_.data(), dqn_.data(),
                         dkn_.data(), dv_.data());
    o.qk_norm_backward(R * H, hd, a.q.data(), P + bp.qn, a.rq.data(), dqn_.data(), dq_.data(), G + bp.qn);
    o.qk_norm_backward(R * H, hd, a.k.data(), P + bp.kn, a.rk.data(), dkn_.data(), dk_.data(), G + bp.kn);
    o.merge_heads(B, L, H, hd, 3, dq_.data(), dk_.data(), dv_.data(), dqkv_.data());
    nn::linear_backward(o, R, w, 3 * w, a.x1.data(), P + bp.qkv_w, dqkv_.data(), dx_.data(), G + bp.qkv_w, G + bp.qkv_b, ones);
    nn::modnorm_backward(o, c_, B, L, w, hs_[l].data(), s1, b1, a.n1.view(), dx_.data(), dtmp_.data(), dmod, dmod + nb,
                         dscratch_.data());
    o.add(n, dh, dtmp_.data(), dh);  // d h_l
    // modulation: 4 chunks from cact
    for (int64_t j = 0; j < 4; ++j)
      nn::linear_backward(o, B, w, w, cact_saved_, P + bp.mod_w + static_cast<size_t>(j * w * w), dmod + j * nb, dcact,
                          G + bp.mod_w + static_cast<size_t>(j * w * w), G + bp.mod_b + j * w, ones, 1.f);
  }
  // patch embedding and position
  if (c_.learned_pos_embed) nn::column_sums(o, B, L * w, dh, ones, G + p_.pos);
  nn::linear_backward(o, R, Pd, w, tok_.data(), P + p_.x_w, dh, none, G + p_.x_w, G + p_.x_b, ones);
  cond_.backward(o, P, dcact, dlogvar, G, ones);
}

template class Dit<TableOps>;
template class Dit<ReferenceOps>;

}  // namespace scm
