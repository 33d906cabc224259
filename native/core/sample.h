// Samplers (SCM.md §1 "Multi-step samplers", §6): the diffusion model's PF-ODE solvers (Euler
// = DDIM, and EDM's Heun written in TrigFlow variables, with CFG) and the consistency model's
// 1-, 2- and N-step sampling with re-noising. Results are in model space ([count, D] floats).
//
// Noise is drawn from Philox streams by global sample index, so the samples do not depend on
// how `count` is split into batches: sample i's initial noise is element i*D.. of the stream
// (sample_seed(seed, 0), 0), the re-noise before consistency step j is from
// (sample_seed(seed, j), 0).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "model_state.h"

namespace scm {

enum class Solver { Euler = 0, Heun = 1 };

struct SampleOptions {
  int64_t count = 1;
  uint64_t seed = 0;
  // Diffusion: the solver's time grid t_0 > t_1 > ... > t_{N-1} > 0 (then 0); consistency: the
  // denoising times t_0 > ... > t_{N-1} > 0 (re-noising between them). Each in (0, pi/2).
  std::vector<double> times;
  Solver solver = Solver::Heun;
  std::vector<int32_t> labels;  // [count], or empty (unconditional; or the null label)
  // Diffusion: the CFG scale (1 = plain conditional). Consistency: the guidance input of a
  // student that takes one (ignored otherwise).
  double guidance = 1.0;
  int64_t batch = 256;          // samples per network evaluation
  bool use_ema = true;
  std::function<bool()> aborted;  // polled between network evaluations; true stops with E_ABORTED
};

struct SampleResult {
  std::vector<float> samples;  // [count, D], model space
  int64_t nfe = 0;             // network evaluations per sample (CFG counts 2 per step)
};

// EDM's rho-schedule of `steps` noise levels from sigma_max down to sigma_min, mapped to
// TrigFlow time t = atan(sigma / sd) (SCM.md §1).
std::vector<double> edm_time_grid(int64_t steps, double sd, double sigma_min = 0.002, double sigma_max = 80.0,
                                  double rho = 7.0);
uint64_t sample_seed(uint64_t seed, uint64_t stage);

template <class Ops>
SampleResult sample_diffusion(ModelState<Ops>& model, const SampleOptions& options);
template <class Ops>
SampleResult sample_consistency(ModelState<Ops>& model, const SampleOptions& options);

}  // namespace scm
