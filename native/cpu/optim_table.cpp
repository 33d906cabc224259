// The CPU backend's optim family: the float instantiation of native/cpu/optim.h.
#include "../core/kernels/table.h"
#include "optim.h"

namespace {

int step(const ScmOptimParams* params, int64_t n, float* param, const float* grad, float* m, float* v, float* ema) {
  return scm::guarded([&] { scm::cpu::optim_step<float>(params, n, param, grad, m, v, ema); });
}

}  // namespace

void scm_cpu_fill_optim(ScmOptimKernels* k) { k->step = step; }
