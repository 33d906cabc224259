// The continuous-time consistency loss (SCM.md §2, Algorithm 1), for sCT (dx/dt = v_t) and sCD
// (dx/dt = sd F_teacher, optionally with classifier-free guidance):
//   1. x_t = cos t x0 + sin t z;  dx/dt from the data (sCT) or the teacher (sCD)
//   2. one dual pass of the student at theta- = theta along the rearranged tangents
//      (SCM.md §2.1, convention B): u_dot = cos t sin t dxdt / sd, t_dot = cos t sin t,
//      giving [F-; J] with J = cos t sin t dF/dt, and w_phi(t)
//   3. g = -cos^2 t (sd F- - dxdt) - r (cos t sin t x_t + sd J),  r = min(1, step / H)
//   4. g <- g / (||g|| + c) (or clip, or none)
//   5. L = mean_b[ e^{w_b} / D ||F - F- - g||^2 - w_b ]: since F = F- in value,
//      dL/dF = -2 e^{w_b} g / (B D) and dL/dw_b = (e^{w_b} ||g||^2 / D - 1) / B;
//      the backward runs from the activations the dual pass saved (no second forward).
#include "train.h"

#include <cmath>

namespace scm {

template <class Ops>
void Trainer<Ops>::consistency_loss(int64_t B, const StepDraws& d, StepStats& st) {
  const ModelConfig& c = s_.config();
  const int64_t D = c.sample_size(), n = B * D;
  const double sd = c.sd;
  const T* none = nullptr;
  ops_.upload(tvec_.data(), d.t);
  ops_.noisy_sample(B, D, sd, tvec_.data(), x0_.data(), eps_.data(), xt_.data(), vt_.data());
  std::vector<double> alpha(static_cast<size_t>(B));
  auto scale = [&](const std::vector<double>& a, const T* x, T* y) {
    ops_.upload(alpha_.data(), a);
    ops_.scale_rows(B, D, alpha_.data(), x, y);
  };
  // u = x_t / sd (the primal half of the dual input)
  scale(std::vector<double>(static_cast<size_t>(B), 1.0 / sd), xt_.data(), uu_.data());

  // dx/dt
  const T* dxdt = vt_.data();
  if (o_.method == ConsistencyMethod::Scd) {
    Network<Ops>& tn = teacher_->network();
    const T* tw = teacher_->weights(true);
    Conditioning tc;
    tc.t = d.t;
    tc.labels = d.labels;
    if (d.guidance.empty()) {
      tn.forward(tw, B, uu_.data(), tc, F2_.data(), nullptr, false);
    } else {
      // conditional and unconditional halves in one batch of 2B, then F_u + w (F_c - F_u)
      ops_.copy(uu_.data() + 2 * n, uu_.data(), static_cast<size_t>(n));
      ops_.copy(uu_.data() + 3 * n, uu_.data(), static_cast<size_t>(n));
      tc.t.insert(tc.t.end(), d.t.begin(), d.t.end());
      tc.labels.insert(tc.labels.end(), static_cast<size_t>(B), static_cast<int32_t>(c.num_classes));
      tn.forward(tw, 2 * B, uu_.data() + 2 * n, tc, F2_.data(), nullptr, false);
      ops_.upload(wvec_.data(), d.guidance);
      ops_.cfg_combine(B, D, wvec_.data(), F2_.data() + n, F2_.data(), F2_.data());
    }
    scale(std::vector<double>(static_cast<size_t>(B), sd), F2_.data(), dxdt_.data());
    dxdt = dxdt_.data();
  }

  // the rearranged tangents: u_dot = cos t sin t dxdt / sd, t_dot = cos t sin t
  Conditioning cond;
  cond.t = d.t;
  cond.t_dot.resize(B);
  cond.labels = d.labels;
  cond.guidance = d.guidance;
  cond.train = true;
  cond.dropout_seed = d.dropout_seed;
  cond.dropout_offset = d.dropout_offset;
  for (int64_t b = 0; b < B; ++b) {
    cond.t_dot[b] = std::cos(d.t[b]) * std::sin(d.t[b]);
    alpha[b] = cond.t_dot[b] / sd;
  }
  scale(alpha, dxdt, uu_.data() + n);
  s_.network().dual(s_.params(), B, uu_.data(), cond, FF_.data(), logvar_.data(), true);

  // tangent target, its norm, normalisation
  const double r = o_.tangent_warmup > 0 ? std::min(1.0, static_cast<double>(step_) / static_cast<double>(o_.tangent_warmup)) : 1.0;
  st.r = r;
  T* g = g_tan_.data();
  ops_.tangent_target(B, D, sd, r, tvec_.data(), FF_.data(), dxdt, xt_.data(), FF_.data() + n, g);
  if (o_.tangent == TangentMode::None) {
    ops_.sumsq(B, D, g, norms_.data());
  } else {
    ops_.tangent_normalize(B, D, o_.tangent == TangentMode::Clip ? SCM_TANGENT_CLIP : SCM_TANGENT_NORMALIZE,
                           o_.tangent_c, g, g, norms_.data());
  }
  std::vector<double> gnorm = ops_.download(norms_.data(), static_cast<size_t>(B));
  if (o_.tangent == TangentMode::None)
    for (double& v : gnorm) v = std::sqrt(v);
  ops_.sumsq(B, D, g, red_.data());
  const std::vector<double> gsq = ops_.download(red_.data(), static_cast<size_t>(B));
  ops_.sumsq(B, D, FF_.data(), red_.data());
  const std::vector<double> fsq = ops_.download(red_.data(), static_cast<size_t>(B));
  const std::vector<double> lv = ops_.download(logvar_.data(), static_cast<size_t>(B));

  keep_.assign(static_cast<size_t>(B), 1);
  int64_t kept = 0;
  for (int64_t b = 0; b < B; ++b) {
    keep_[b] = std::isfinite(gnorm[b]) && std::isfinite(gsq[b]) && std::isfinite(fsq[b]) && std::isfinite(lv[b]);
    kept += keep_[b];
  }
  st.dropped = B - kept;
  if (kept == 0 || st.dropped > 0) return;  // the caller redoes the step without the dropped samples

  // loss and its gradients
  std::vector<double> dlv(static_cast<size_t>(B), 0.0);
  double loss = 0, nsum = 0, nmax = 0, lmin = INFINITY, lmax = -INFINITY;
  const double inv = 1.0 / static_cast<double>(B);
  for (int64_t b = 0; b < B; ++b) {
    const double w = o_.adaptive_weighting ? lv[b] : 0.0, ew = std::exp(w);
    loss += (ew * gsq[b] / D - w) * inv;
    alpha[b] = -2.0 * ew * inv / static_cast<double>(D);
    dlv[b] = (ew * gsq[b] / D - 1.0) * inv;
    nsum += gnorm[b];
    nmax = std::max(nmax, gnorm[b]);
    lmin = std::min(lmin, lv[b]);
    lmax = std::max(lmax, lv[b]);
  }
  st.loss = loss;
  st.tangent_norm_mean = nsum * inv;
  st.tangent_norm_max = nmax;
  st.logvar_min = lmin;
  st.logvar_max = lmax;
  scale(alpha, g, dF_.data());
  ops_.zero(g_.data(), s_.param_count());
  if (o_.adaptive_weighting) {
    ops_.upload(dlogvar_.data(), dlv);
    s_.network().backward(s_.params(), dF_.data(), dlogvar_.data(), g_.data());
  } else {
    s_.network().backward(s_.params(), dF_.data(), none, g_.data());
  }
}

template void Trainer<TableOps>::consistency_loss(int64_t, const StepDraws&, StepStats&);
template void Trainer<ReferenceOps>::consistency_loss(int64_t, const StepDraws&, StepStats&);

}  // namespace scm
