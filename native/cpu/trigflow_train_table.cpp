// The CPU backend's trigflow training steps: the float instantiations of native/cpu/trigflow_train.h
// (noisy_sample, tangent_target, cfg_combine); scm_cpu_fill_trigflow (trigflow_table.cpp) calls
// scm_cpu_fill_trigflow_train.
#include "../core/kernels/table.h"
#include "trigflow_train.h"

namespace {

int noisy_sample(int64_t batch, int64_t per_sample, float sd, const float* t, const float* x0, const float* eps,
                 float* x_t, float* v_t) {
  return scm::guarded([&] { scm::cpu::noisy_sample<float>(batch, per_sample, sd, t, x0, eps, x_t, v_t); });
}

int tangent_target(int64_t batch, int64_t per_sample, float sd, float r, const float* t, const float* F,
                   const float* dxdt, const float* x_t, const float* J, float* g) {
  return scm::guarded([&] { scm::cpu::tangent_target<float>(batch, per_sample, sd, r, t, F, dxdt, x_t, J, g); });
}

int cfg_combine(int64_t batch, int64_t per_sample, const float* w, const float* F_uncond, const float* F_cond,
                float* out) {
  return scm::guarded([&] { scm::cpu::cfg_combine<float>(batch, per_sample, w, F_uncond, F_cond, out); });
}

}  // namespace

void scm_cpu_fill_trigflow_train(ScmTrigflowKernels* k) {
  k->noisy_sample = noisy_sample;
  k->tangent_target = tangent_target;
  k->cfg_combine = cfg_combine;
}
