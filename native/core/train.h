// Training steps: TrigFlow diffusion (the teacher, SCM.md §1) and continuous-time consistency
// training / distillation (sCT / sCD, SCM.md §2, Algorithm 1). One call = one optimizer step:
// the data batch comes in (model space: x0 scaled so its std is about sd), statistics go out;
// parameters, gradients, optimizer state and EMA stay in backend memory.
//
// Randomness (times, noise, label dropout, guidance scales, dropout masks) comes from Philox
// streams keyed by (seed, step), so a run resumed at step s continues exactly as the
// uninterrupted run would (given the same data batches).
#pragma once
#include <cstdint>
#include <vector>

#include "model_state.h"

namespace scm {

enum class Objective { Diffusion = 0, Consistency = 1 };
enum class ConsistencyMethod { Sct = 0, Scd = 1 };
enum class TangentMode { Normalize = 0, Clip = 1, None = 2 };

struct TrainOptions {
  Objective objective = Objective::Diffusion;
  ConsistencyMethod method = ConsistencyMethod::Sct;
  uint64_t seed = 0;
  // optimizer (optim.h) with its schedule
  int optimizer = SCM_OPTIM_ADAM;
  double lr = 1e-4, beta1 = 0.9, beta2 = 0.99, eps = 1e-8, weight_decay = 0.0;
  double grad_clip = 0.0;          // max global gradient norm; 0 = off
  int64_t lr_warmup_steps = 0;     // linear warm-up
  int64_t lr_decay_steps = 0;      // inverse square root decay lr / sqrt(max(step / this, 1)); 0 = constant
  // linear cool-down over the last lr_cooldown_steps steps before step lr_cooldown_end (the
  // run's last step): step s in (end - cooldown, end] gets lr * (end - s + 1) / cooldown, so the
  // last step runs at lr / cooldown; 0 = none
  int64_t lr_cooldown_steps = 0, lr_cooldown_end = 0;
  double ema_halflife = 0.0;       // EMA half-life in samples; 0 = the EMA equals the weights
  double ema_rampup = 0.0;         // half-life <= this * samples seen (EDM's ramp-up); 0 = off
  // time proposal t = atan(exp(tau) / sd), tau ~ N(p_mean, p_std^2)
  double p_mean = -0.8, p_std = 1.6;
  double label_dropout = 0.0;      // labels replaced by the null label with this probability
  // consistency (SCM.md §2)
  int64_t tangent_warmup = 10000;  // H: r = min(1, step / H)
  TangentMode tangent = TangentMode::Normalize;
  double tangent_c = 0.1;
  bool adaptive_weighting = true;
  // sCD with a class-conditional teacher: CFG with w ~ U[guidance_min, guidance_max] given to
  // the student as an input (the student's config must have guidance_input). 0, 0 = no CFG.
  double guidance_min = 0.0, guidance_max = 0.0;

  void validate(const ModelConfig& student, const ModelConfig* teacher) const;
};

struct StepStats {
  int64_t step = 0;            // the step just taken (1-based count of steps done)
  double loss = 0;             // mean over the kept samples
  double grad_norm = 0;        // global gradient norm before clipping
  double lr = 0;
  int64_t dropped = 0;         // samples dropped for a non-finite F or tangent (SCM.md §2.2)
  bool skipped = false;        // the update was skipped (non-finite gradient or no sample kept)
  // consistency only
  double r = 0;                // tangent warm-up factor
  double tangent_norm_mean = 0, tangent_norm_max = 0;  // ||g|| before normalisation
  double logvar_min = 0, logvar_max = 0;               // w_phi(t) over the batch
};

// The per-step random draws (host), exposed so tests can rebuild a step independently.
struct StepDraws {
  std::vector<double> t;           // [B]
  std::vector<int32_t> labels;     // [B] after label dropout (empty when unconditional)
  std::vector<double> guidance;    // [B] (sCD with CFG)
  uint64_t noise_seed = 0, noise_offset = 0;     // eps = rng.normal(B*D, noise_seed, noise_offset)
  uint64_t dropout_seed = 0, dropout_offset = 0;
};

template <class Ops>
class Trainer {
 public:
  using T = typename Ops::T;
  // teacher: sCD only (its EMA weights, else its parameters, give dx/dt); it must outlive the
  // trainer. The student's EMA is created if missing.
  Trainer(ModelState<Ops>& student, ModelState<Ops>* teacher, const TrainOptions& options);

  // x0_host [B, D] floats (model space); labels_host [B] or nullptr (required for a
  // class-conditional model: use the null label K for unlabeled data).
  StepStats step(const float* x0_host, const int32_t* labels_host, int64_t B);

  StepDraws draws(int64_t step, int64_t B, const int32_t* labels_host) const;
  int64_t steps_done() const { return step_; }
  void set_steps_done(int64_t s) { step_ = s; }
  T* moment1() { return m_.data(); }
  T* moment2() { return v_.data(); }
  T* gradients() { return g_.data(); }  // of the last step, before clipping
  const TrainOptions& options() const { return o_; }

 private:
  void diffusion_loss(int64_t B, const StepDraws& d, StepStats& st);
  void consistency_loss(int64_t B, const StepDraws& d, StepStats& st);
  void apply_update(int64_t B, StepStats& st);
  void reserve(int64_t B);

  ModelState<Ops>& s_;
  ModelState<Ops>* teacher_;
  TrainOptions o_;
  Ops ops_;
  int64_t step_ = 0, cap_ = 0;
  std::vector<char> keep_;  // per sample of the last loss: kept (finite F and tangent)
  typename Ops::Buffer g_, m_, v_;
  // per-batch workspace
  typename Ops::Buffer x0_, eps_, xt_, vt_, uu_, FF_, F2_, dxdt_, g_tan_, dF_, alpha_, tvec_, wvec_, logvar_, red_;
  typename Ops::Buffer dlogvar_, norms_;
};

}  // namespace scm
