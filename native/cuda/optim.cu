// The CUDA backend's optim family (semantics: native/core/kernels/optim.h; the CPU reference is
// native/cpu/optim.h). The per-step scalars and the argument checks are the CPU backend's
// (scm::cpu::optim_coefficients, double on the host); one fused elementwise kernel then
// updates param, m, v (and the EMA) in float32, one read and one write of each array.
#include <algorithm>
#include "cuda_common.cuh"
#include "../cpu/optim.h"

namespace {

struct StepCoef {
  float lr_rect;       // lr * r (adaptive) or lr (momentum step)
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float eps, grad_scale, l2, decay, inv_bc1, inv_sqrt_bc2;
  float ema_decay, one_minus_ema_decay;
  int adaptive;
};

__global__ void optim_kernel(StepCoef c, size_t n, float* __restrict__ param, const float* __restrict__ grad,
                             float* __restrict__ m, float* __restrict__ v, float* __restrict__ ema) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    float p = param[i];
    const float g = grad[i] * c.grad_scale + c.l2 * p;
    p *= c.decay;
    const float mi = c.beta1 * m[i] + c.one_minus_beta1 * g;
    const float vi = c.beta2 * v[i] + c.one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float mh = mi * c.inv_bc1;
    if (c.adaptive) {
      p -= c.lr_rect * mh / (sqrtf(vi) * c.inv_sqrt_bc2 + c.eps);
    } else {
      p -= c.lr_rect * mh;
    }
    param[i] = p;
    if (ema) ema[i] = c.ema_decay * ema[i] + c.one_minus_ema_decay * p;
  }
}

int step(const ScmOptimParams* params, int64_t n, float* param, const float* grad, float* m, float* v, float* ema) {
  scm::cpu::OptimCoefficients d{};
  int rc = scm::guarded([&] { d = scm::cpu::optim_coefficients(params, n, param, grad, m, v); });
  if (rc) {
    scm::cuda::set_error(scm::last_error());
    return rc;
  }
  if (n == 0) return SCM_OK;
  StepCoef c;
  c.lr_rect = float(d.lr * d.rect);
  c.beta1 = float(d.beta1);
  c.one_minus_beta1 = float(1.0 - d.beta1);
  c.beta2 = float(d.beta2);
  c.one_minus_beta2 = float(1.0 - d.beta2);
  c.eps = float(d.eps);
  c.grad_scale = float(d.grad_scale);
  c.l2 = float(d.l2);
  c.decay = float(d.decay);
  c.inv_bc1 = float(d.inv_bc1);
  c.inv_sqrt_bc2 = float(d.inv_sqrt_bc2);
  c.ema_decay = float(d.ema_decay);
  c.one_minus_ema_decay = float(1.0 - d.ema_decay);
  c.adaptive = d.adaptive ? 1 : 0;
  const size_t count = size_t(n);
  optim_kernel<<<scm::cuda::blocks_for(count, 256), 256, 0, scm::cuda::stream()>>>(c, count, param, grad, m, v, ema);
  SCM_CUDA_LAUNCHED("optim step");
  return SCM_OK;
}

}  // namespace

void scm_cuda_fill_optim(ScmOptimKernels* k) { k->step = step; }
