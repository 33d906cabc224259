// Kernel family: optimizer steps (Adam, AdamW, RAdam, RAdamW) fused with the EMA update.
// Conventions: common.h. CPU reference: native/cpu/optim.h; CUDA: native/cuda/optim.cu.
//
// One call updates one flat float32 parameter array of n elements in place, with its state
// m (first moment) and v (second moment), both float32 [n], zero before step 1.
// With t = step (1-based), bc1 = 1 - beta1^t, bc2 = 1 - beta2^t, per element:
//   g  = grad * grad_scale
//   g += weight_decay * p                      (ADAM, RADAM: L2 weight decay, coupled, as torch)
//   p *= 1 - lr * weight_decay                 (ADAMW, RADAMW: decoupled, Loshchilov & Hutter)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g^2
//   mh = m / bc1,  vh = v / bc2
//   ADAM / ADAMW:   p -= lr * mh / (sqrt(vh) + eps)
//   RADAM / RADAMW (Liu et al. 2020, "On the variance of the adaptive learning rate"):
//     rho_inf = 2 / (1 - beta2) - 1,  rho_t = rho_inf - 2 t beta2^t / bc2
//     rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)),
//                 p -= lr * r * mh / (sqrt(vh) + eps)
//     otherwise:  p -= lr * mh                  (un-adapted momentum step; v is still updated)
//     The threshold 5 is torch.optim.RAdam's (the paper's code used 4 in early versions); eps
//     is placed as in Adam (sqrt(vh) + eps), which differs from torch's RAdam placement
//     ((sqrt(v) + eps) / sqrt(bc2)) by eps scaled by sqrt(bc2), negligible for eps ~1e-8.
//   then, when ema is given: ema = ema_decay * ema + (1 - ema_decay) * p (the UPDATED p).
// The per-step scalars (bc1, bc2, rho_t, r) are computed in double on the host; the elementwise
// update runs in double on the CPU backend and in float32 on the CUDA backend.
#pragma once
#include "common.h"

enum ScmOptimizerKind {
  SCM_OPTIM_ADAM = 0,    // Adam, L2 weight decay added to the gradient
  SCM_OPTIM_ADAMW = 1,   // Adam, decoupled weight decay
  SCM_OPTIM_RADAM = 2,   // rectified Adam, L2 weight decay
  SCM_OPTIM_RADAMW = 3   // rectified Adam, decoupled weight decay
};

// Host memory (passed by pointer; not backend memory).
typedef struct ScmOptimParams {
  int32_t kind;          // ScmOptimizerKind
  int32_t reserved;      // 0
  int64_t step;          // t, 1-based (the step being taken)
  float lr;              // learning rate (finite, >= 0)
  float beta1, beta2;    // in [0, 1)
  float eps;             // >= 0 (finite)
  float weight_decay;    // >= 0
  float grad_scale;      // multiplies grad first (1 for none; e.g. 1/accumulation or clip factor)
  float ema_decay;       // in [0, 1]; used only when ema is given
} ScmOptimParams;

struct ScmOptimKernels {
  // param, grad, m, v [n]; ema [n] nullable (no EMA when null). param, m, v (and ema) are
  // updated in place; grad is read only; the five arrays must not overlap. n >= 0.
  int (*step)(const ScmOptimParams* params, int64_t n, float* param, const float* grad, float* m, float* v,
              float* ema);
};
