// The parts of a training step shared by the diffusion and the consistency objectives: option
// checks, the per-step random draws, dropping non-finite samples, and the optimizer update
// (gradient-norm clip, learning-rate schedule, Adam-family step fused with the EMA).
// The losses: train_diffusion.cpp, train_consistency.cpp.
#include "train.h"

#include <cmath>

namespace scm {

namespace {

constexpr double kHalfPi = 1.5707963267948966;

// Independent Philox streams per purpose (the seed is mixed with a purpose constant).
enum Purpose : uint64_t { kTau = 1, kLabel = 2, kGuidance = 3, kNoise = 4, kDropout = 5 };
uint64_t stream_seed(uint64_t seed, uint64_t purpose) {
  uint64_t z = seed + purpose * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

void TrainOptions::validate(const ModelConfig& s, const ModelConfig* t) const {
  const char* w = "training options";
  auto finite_nonneg = [&](double v, const char* name) {
    require(std::isfinite(v) && v >= 0, SCM_E_ARGUMENT, w, ": ", name, "=", v, " must be finite and >= 0");
  };
  require(std::isfinite(lr) && lr >= 0, SCM_E_ARGUMENT, w, ": lr=", lr, " must be finite and >= 0");
  require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, SCM_E_ARGUMENT, w, ": betas must be in [0, 1)");
  finite_nonneg(eps, "eps");
  finite_nonneg(weight_decay, "weightDecay");
  finite_nonneg(grad_clip, "gradClip");
  finite_nonneg(ema_halflife, "emaHalfLife");
  finite_nonneg(ema_rampup, "emaRampup");
  finite_nonneg(tangent_c, "tangentC");
  require(optimizer >= SCM_OPTIM_ADAM && optimizer <= SCM_OPTIM_RADAMW, SCM_E_ARGUMENT, w, ": unknown optimizer ", optimizer);
  require(lr_warmup_steps >= 0 && lr_decay_steps >= 0 && tangent_warmup >= 0, SCM_E_ARGUMENT, w,
          ": step counts must be >= 0");
  require(lr_cooldown_steps >= 0 && (lr_cooldown_steps == 0 || lr_cooldown_steps <= lr_cooldown_end), SCM_E_ARGUMENT, w,
          ": lrCooldownSteps=", lr_cooldown_steps, " must be in [0, the run's steps = ", lr_cooldown_end, "]");
  require(std::isfinite(p_mean) && std::isfinite(p_std) && p_std > 0, SCM_E_ARGUMENT, w, ": proposal mean ", p_mean,
          " / std ", p_std, " invalid (std must be > 0)");
  require(label_dropout >= 0 && label_dropout <= 1, SCM_E_ARGUMENT, w, ": labelDropout=", label_dropout,
          " must be in [0, 1]");
  require(label_dropout == 0 || s.num_classes > 0, SCM_E_ARGUMENT, w, ": labelDropout needs a class-conditional model");
  const bool cfg = guidance_max > 0;
  require(std::isfinite(guidance_min) && std::isfinite(guidance_max) && guidance_min <= guidance_max &&
              guidance_min >= 0,
          SCM_E_ARGUMENT, w, ": guidance range [", guidance_min, ", ", guidance_max, "] invalid");
  if (objective == Objective::Diffusion) {
    require(t == nullptr, SCM_E_ARGUMENT, w, ": diffusion training takes no teacher");
    require(!cfg, SCM_E_ARGUMENT, w, ": a guidance range is for consistency distillation");
    return;
  }
  if (method == ConsistencyMethod::Sct) {
    require(!cfg, SCM_E_ARGUMENT, w, ": a guidance range needs sCD (a teacher)");
    return;
  }
  require(t != nullptr, SCM_E_ARGUMENT, w, ": sCD needs a teacher model");
  require(t->sample_shape == s.sample_shape, SCM_E_SHAPE, w, ": the teacher's samples have another shape than the student's");
  require(t->num_classes == s.num_classes, SCM_E_ARGUMENT, w, ": teacher has ", t->num_classes,
          " classes, the student ", s.num_classes);
  require(t->sd == s.sd, SCM_E_ARGUMENT, w, ": teacher sd ", t->sd, " differs from the student's ", s.sd);
  require(!t->guidance_input, SCM_E_ARGUMENT, w, ": the teacher must be a diffusion model without a guidance input");
  if (cfg) {
    require(s.num_classes > 0, SCM_E_ARGUMENT, w, ": classifier-free guidance needs a class-conditional teacher");
    require(s.guidance_input, SCM_E_ARGUMENT, w, ": distilling with guidance needs a student with guidanceInput");
  } else {
    require(!s.guidance_input, SCM_E_ARGUMENT, w, ": the student takes a guidance input but no guidance range was given");
  }
}

template <class Ops>
Trainer<Ops>::Trainer(ModelState<Ops>& student, ModelState<Ops>* teacher, const TrainOptions& o)
    : s_(student), teacher_(teacher), o_(o), ops_(student.ops()) {
  o_.validate(student.config(), teacher ? &teacher->config() : nullptr);
  const size_t P = s_.param_count();
  g_ = ops_.alloc(P);
  m_ = ops_.alloc(P);
  v_ = ops_.alloc(P);
  ops_.zero(g_.data(), P);
  ops_.zero(m_.data(), P);
  ops_.zero(v_.data(), P);
  s_.ensure_ema();
}

template <class Ops>
void Trainer<Ops>::reserve(int64_t B) {
  if (B <= cap_) return;
  const int64_t D = s_.config().sample_size();
  x0_ = ops_.alloc(B * D);
  eps_ = ops_.alloc(B * D);
  xt_ = ops_.alloc(B * D);
  vt_ = ops_.alloc(B * D);
  uu_ = ops_.alloc(4 * B * D);
  FF_ = ops_.alloc(2 * B * D);
  F2_ = ops_.alloc(2 * B * D);
  dxdt_ = ops_.alloc(B * D);
  g_tan_ = ops_.alloc(B * D);
  dF_ = ops_.alloc(B * D);
  alpha_ = ops_.alloc(B);
  tvec_ = ops_.alloc(2 * B);
  wvec_ = ops_.alloc(B);
  logvar_ = ops_.alloc(B);
  dlogvar_ = ops_.alloc(B);
  red_ = ops_.alloc(B);
  norms_ = ops_.alloc(B);
  cap_ = B;
}

template <class Ops>
StepDraws Trainer<Ops>::draws(int64_t step, int64_t B, const int32_t* labels) const {
  const ModelConfig& c = s_.config();
  const uint64_t base = static_cast<uint64_t>(step) << 32;
  StepDraws d;
  d.t.resize(B);
  for (int64_t b = 0; b < B; ++b) {
    const double tau = o_.p_mean + o_.p_std * philox::normal_at(stream_seed(o_.seed, kTau), base + b);
    d.t[b] = std::min(std::max(std::atan(std::exp(tau) / c.sd), 1e-7), kHalfPi - 1e-7);
  }
  if (c.num_classes > 0) {
    require(labels != nullptr, SCM_E_ARGUMENT, "training step: the model is class-conditional; labels are required");
    d.labels.assign(labels, labels + B);
    if (o_.label_dropout > 0)
      for (int64_t b = 0; b < B; ++b)
        if (philox::uniform_at(stream_seed(o_.seed, kLabel), base + b) < o_.label_dropout)
          d.labels[b] = static_cast<int32_t>(c.num_classes);
  }
  if (o_.guidance_max > 0) {
    d.guidance.resize(B);
    for (int64_t b = 0; b < B; ++b)
      d.guidance[b] = o_.guidance_min +
                      (o_.guidance_max - o_.guidance_min) * philox::uniform_at(stream_seed(o_.seed, kGuidance), base + b);
  }
  d.noise_seed = stream_seed(o_.seed, kNoise);
  d.noise_offset = static_cast<uint64_t>(step) << 36;
  d.dropout_seed = stream_seed(o_.seed, kDropout);
  d.dropout_offset = static_cast<uint64_t>(step) << 36;
  return d;
}

template <class Ops>
StepStats Trainer<Ops>::step(const float* x0_host, const int32_t* labels, int64_t B) {
  require(B >= 1, SCM_E_ARGUMENT, "training step: batch ", B, " < 1");
  require(x0_host != nullptr, SCM_E_ARGUMENT, "training step: no data");
  reserve(B);
  const int64_t D = s_.config().sample_size();
  StepDraws d = draws(step_, B, labels);
  ops_.upload(x0_.data(), x0_host, static_cast<size_t>(B * D));
  ops_.normal(eps_.data(), static_cast<size_t>(B * D), d.noise_seed, d.noise_offset);

  StepStats st;
  auto run = [&](int64_t nb) {
    if (o_.objective == Objective::Diffusion) diffusion_loss(nb, d, st);
    else consistency_loss(nb, d, st);
  };
  run(B);
  if (st.dropped > 0 && st.dropped < B) {
    // Non-finite samples poison the saved activations of the whole batch: redo the step
    // without them (same draws, same noise for each kept sample).
    std::vector<float> x0(static_cast<size_t>(B * D)), eps(static_cast<size_t>(B * D));
    ops_.download(x0.data(), x0_.data(), x0.size());
    ops_.download(eps.data(), eps_.data(), eps.size());
    StepDraws k = d;
    k.t.clear(), k.labels.clear(), k.guidance.clear();
    std::vector<float> kx, ke;
    for (int64_t b = 0; b < B; ++b) {
      if (!keep_[b]) continue;
      k.t.push_back(d.t[b]);
      if (!d.labels.empty()) k.labels.push_back(d.labels[b]);
      if (!d.guidance.empty()) k.guidance.push_back(d.guidance[b]);
      kx.insert(kx.end(), x0.begin() + b * D, x0.begin() + (b + 1) * D);
      ke.insert(ke.end(), eps.begin() + b * D, eps.begin() + (b + 1) * D);
    }
    const int64_t nk = static_cast<int64_t>(k.t.size());
    const int64_t dropped = st.dropped;
    ops_.upload(x0_.data(), kx.data(), kx.size());
    ops_.upload(eps_.data(), ke.data(), ke.size());
    d = k;
    st = StepStats();
    run(nk);
    if (st.dropped > 0) st.skipped = true;  // should not happen: the kept samples were finite
    st.dropped += dropped;
  }
  if (st.dropped >= B) st.skipped = true;
  apply_update(B, st);
  return st;
}

template <class Ops>
void Trainer<Ops>::apply_update(int64_t B, StepStats& st) {
  const size_t P = s_.param_count();
  ++step_;
  st.step = step_;
  const double t = static_cast<double>(step_);
  double lr = o_.lr;
  if (o_.lr_warmup_steps > 0) lr *= std::min(1.0, t / static_cast<double>(o_.lr_warmup_steps));
  if (o_.lr_decay_steps > 0) lr /= std::sqrt(std::max(t / static_cast<double>(o_.lr_decay_steps), 1.0));
  if (o_.lr_cooldown_steps > 0) {
    const int64_t left = o_.lr_cooldown_end - step_ + 1;  // steps left, this one included
    if (left <= o_.lr_cooldown_steps) lr *= std::max(left, int64_t{0}) / static_cast<double>(o_.lr_cooldown_steps);
  }
  st.lr = lr;
  if (st.skipped) return;
  ops_.sumsq(1, static_cast<int64_t>(P), g_.data(), red_.data());
  const double norm = std::sqrt(ops_.download(red_.data(), 1)[0]);
  st.grad_norm = norm;
  if (!std::isfinite(norm)) {
    st.skipped = true;
    return;
  }
  double h = o_.ema_halflife;
  if (o_.ema_rampup > 0) h = std::min(h, t * static_cast<double>(B) * o_.ema_rampup);
  ScmOptimParams p{};
  p.kind = o_.optimizer;
  p.step = step_;
  p.lr = static_cast<float>(lr);
  p.beta1 = static_cast<float>(o_.beta1);
  p.beta2 = static_cast<float>(o_.beta2);
  p.eps = static_cast<float>(o_.eps);
  p.weight_decay = static_cast<float>(o_.weight_decay);
  p.grad_scale = static_cast<float>(o_.grad_clip > 0 ? std::min(1.0, o_.grad_clip / (norm + 1e-6)) : 1.0);
  p.ema_decay = static_cast<float>(h > 0 ? std::pow(0.5, static_cast<double>(B) / h) : 0.0);
  ops_.optim_step(p, static_cast<int64_t>(P), s_.params(), g_.data(), m_.data(), v_.data(), s_.ema());
}

template class Trainer<TableOps>;
template class Trainer<ReferenceOps>;

}  // namespace scm
