// The TrigFlow diffusion loss (SCM.md §1): ||sd F_theta(x_t/sd, t) - v_t||^2, written as the
// unit-weight MSE of F_theta against v_t / sd, mean over elements and kept samples.
#include "train.h"

#include <cmath>

namespace scm {

template <class Ops>
void Trainer<Ops>::diffusion_loss(int64_t B, const StepDraws& d, StepStats& st) {
  const ModelConfig& c = s_.config();
  const int64_t D = c.sample_size(), n = B * D;
  const double sd = c.sd;
  ops_.upload(tvec_.data(), d.t);
  ops_.noisy_sample(B, D, sd, tvec_.data(), x0_.data(), eps_.data(), xt_.data(), vt_.data());
  // u = x_t / sd and the target v_t / sd
  ops_.upload(alpha_.data(), std::vector<double>(static_cast<size_t>(B), 1.0 / sd));
  ops_.scale_rows(B, D, alpha_.data(), xt_.data(), uu_.data());
  ops_.scale_rows(B, D, alpha_.data(), vt_.data(), vt_.data());

  Conditioning cond;
  cond.t = d.t;
  cond.labels = d.labels;
  cond.train = true;
  cond.dropout_seed = d.dropout_seed;
  cond.dropout_offset = d.dropout_offset;
  s_.network().forward(s_.params(), B, uu_.data(), cond, FF_.data(), nullptr, true);

  // per-sample squared errors: dF = F - v_t/sd, then ||dF_b||^2
  ops_.scaled_difference(n, 1.0, FF_.data(), vt_.data(), dF_.data());
  ops_.sumsq(B, D, dF_.data(), red_.data());
  const std::vector<double> err = ops_.download(red_.data(), static_cast<size_t>(B));
  keep_.assign(static_cast<size_t>(B), 1);
  int64_t kept = 0;
  double sum = 0;
  for (int64_t b = 0; b < B; ++b) {
    keep_[b] = std::isfinite(err[b]);
    if (keep_[b]) ++kept, sum += err[b];
  }
  st.dropped = B - kept;
  if (kept == 0 || st.dropped > 0) return;  // the caller redoes the step without the dropped samples
  st.loss = sum / static_cast<double>(kept * D);
  // dL/dF = 2 (F - v_t/sd) / (B D)
  ops_.upload(alpha_.data(), std::vector<double>(static_cast<size_t>(B), 2.0 / static_cast<double>(B * D)));
  ops_.scale_rows(B, D, alpha_.data(), dF_.data(), dF_.data());
  ops_.zero(g_.data(), s_.param_count());
  s_.network().backward(s_.params(), dF_.data(), nullptr, g_.data());
}

template void Trainer<TableOps>::diffusion_loss(int64_t, const StepDraws&, StepStats&);
template void Trainer<ReferenceOps>::diffusion_loss(int64_t, const StepDraws&, StepStats&);

}  // namespace scm
