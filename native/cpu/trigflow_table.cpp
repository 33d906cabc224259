// The CPU backend's trigflow family: the float instantiations of native/cpu/trigflow.h.
#include "../core/kernels/table.h"
#include "trigflow.h"

namespace {

int tangent_normalize(int64_t batch, int64_t per_sample, int mode, float c, const float* g, float* out,
                      float* norms) {
  return scm::guarded([&] { scm::cpu::tangent_normalize<float>(batch, per_sample, mode, c, g, out, norms); });
}

int consistency_step(int64_t batch, int64_t per_sample, float sd, const float* t, const float* x, const float* F,
                     float* x0, const float* t_next, uint64_t seed, uint64_t offset, float* x_next) {
  return scm::guarded([&] {
    scm::cpu::consistency_step<float>(batch, per_sample, sd, t, x, F, x0, t_next, seed, offset, x_next);
  });
}

int euler_step(int64_t batch, int64_t per_sample, float sd, const float* s, const float* t, const float* x_s,
               const float* F_s, float* x_t) {
  return scm::guarded([&] { scm::cpu::euler_step<float>(batch, per_sample, sd, s, t, x_s, F_s, x_t); });
}

int heun_correct(int64_t batch, int64_t per_sample, float sd, const float* s, const float* t, const float* x_s,
                 const float* F_s, const float* x_eul, const float* F_t, float* x_t) {
  return scm::guarded(
      [&] { scm::cpu::heun_correct<float>(batch, per_sample, sd, s, t, x_s, F_s, x_eul, F_t, x_t); });
}

}  // namespace

void scm_cpu_fill_trigflow_train(ScmTrigflowKernels* k);  // trigflow_train_table.cpp

void scm_cpu_fill_trigflow(ScmTrigflowKernels* k) {
  k->tangent_normalize = tangent_normalize;
  k->consistency_step = consistency_step;
  k->euler_step = euler_step;
  k->heun_correct = heun_correct;
  scm_cpu_fill_trigflow_train(k);
}
