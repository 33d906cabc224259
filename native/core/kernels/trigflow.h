// Kernel family: TrigFlow pointwise steps of sCM (SCM.md §1, §2 step 6, §6).
// Conventions: common.h. CPU reference: native/cpu/trigflow.h; CUDA: native/cuda/trigflow.cu.
//
// Every tensor is a dense row-major [batch, per_sample] float32 view (per_sample = D, the
// product of all non-batch dims); per-sample times (t, s, t_next) are float32 [batch] arrays
// in backend memory; sd (sigma_d) is a scalar. Outputs may alias inputs of the same shape
// (every entry is elementwise once the per-sample scalars are known), except that
// tangent_normalize's out may alias g only (its norm is read before anything is written on
// the CPU; the CUDA kernels also finish the norm before writing).
//
// Formulas (per element i of sample b, with ct = cos t[b], st = sin t[b]):
//   tangent_normalize, mode SCM_TANGENT_NORMALIZE: out = g / (||g_b||_2 + c)
//                      mode SCM_TANGENT_CLIP:      out = clamp(g, -1, 1)
//     Non-finite values propagate (a NaN stays NaN in both modes; the norm is NaN/inf), so the
//     caller's non-finite guard (SCM.md §2.2) can see them.
//     ||g_b||_2 is the plain L2 norm over all per_sample elements, accumulated in double on
//     the CPU and the CUDA backend. No gradient: in sCM the tangent g is a constant.
//   consistency_step (the consistency function / denoiser, SCM.md §1 and §6):
//     x0 = ct * x - st * sd * F                                with F = F_theta(x/sd, t)
//     and, when t_next is given, the re-noising of §6:
//     x_next = cos t'[b] * x0 + sin t'[b] * sd * z,   z = philox::normal_at(seed, offset + b*per_sample + i)
//     (z is element (offset + flat index) of the rng family's normal stream (seed, offset), so
//     the noise is identical on every backend and equals rng.normal(out, n, seed, offset)).
//   euler_step (DDIM, SCM.md §1): x_t = cos(s-t) * x_s - sin(s-t) * sd * F_s,
//     F_s = F_theta(x_s/sd, s[b]); exact when the network's (x0, z) prediction is constant.
//   heun_correct (2nd order, SCM.md §1 "Second-order": EDM's Heun written in TrigFlow). In EDM's
//     variables xh = x / cos(tau), sigma = sd * tan(tau), the PF-ODE is dxh/dsigma = Z / sd with
//     Z = sin(tau) * x + cos(tau) * sd * F(x/sd, tau) (the noise prediction); EDM's Euler step in
//     these variables is exactly euler_step above, and EDM's Heun averages the two velocities:
//       Z_s = sin s * x_s   + cos s * sd * F_s
//       Z_t = sin t * x_eul + cos t * sd * F_t
//       x_t = (cos t / cos s) * x_s - (sin(s-t) / cos s) * (Z_s + Z_t) / 2
//     The caller passes
//       x_s    the state at time s (the SAME x_s given to euler_step),
//       F_s    = F_theta(x_s / sd, s)       (the velocity already used by euler_step),
//       x_eul  = euler_step(x_s, F_s, s -> t), the predictor,
//       F_t    = F_theta(x_eul / sd, t),
//     and x_t (may alias x_eul) receives the corrected state. When Z_t = Z_s this is euler_step.
//     Averaging the TrigFlow velocities F directly in the DDIM formula is only first order
//     (checked in native/tests/trigflow_test.cpp). Needs cos s > 0, i.e. s < pi/2 (EDM's
//     t_max = atan(80 / sd)); the last step of a sampler (to t = 0) stays first order: call
//     euler_step only.
//   noisy_sample (SCM.md §1, §2 step 1): with z = sd * eps (eps standard normal),
//     x_t = cos t[b] * x0 + sin t[b] * z,   v_t = cos t[b] * z - sin t[b] * x0   (v_t nullable;
//     x_t and v_t must be different buffers).
//   tangent_target (SCM.md §2 step 5), with J from the dual pass with the rearranged tangents
//     (SCM.md §2.1, J = cos t sin t dF/dt) and r the tangent warm-up factor in [0, 1]:
//     g = -cos^2 t * (sd * F - dxdt) - r * (cos t * sin t * x_t + sd * J)
//     (F = F_theta-(x_t/sd, t) detached; dxdt = v_t for sCT, sd * F_teacher for sCD); r is
//     checked to lie in [0, 1] (NaN is rejected). At r = 1, g = cos t * df/dt along the trajectory
//     (f the consistency function; checked in native/tests/trigflow_train_test.cpp).
//   cfg_combine (classifier-free guidance, SCM.md §1): out = F_u + w[b] * (F_c - F_u), w [batch].
//   These three: CPU reference native/cpu/trigflow_train.h (double), CUDA
//   native/cuda/trigflow_train.cu (cos / sin per sample in double, the elementwise arithmetic
//   in double on both backends, rounded once to float).
// Sizes: batch >= 0, per_sample >= 1; sd > 0 and c >= 0 finite.
#pragma once
#include "common.h"

enum ScmTangentMode {
  SCM_TANGENT_NORMALIZE = 0,  // g / (||g|| + c)
  SCM_TANGENT_CLIP = 1        // clamp(g, -1, 1)
};

struct ScmTrigflowKernels {
  // g, out [batch, per_sample] (out may alias g); norms [batch] nullable: ||g_b||_2 (the norm
  // of the input), written in both modes when given. c is ignored in clip mode.
  int (*tangent_normalize)(int64_t batch, int64_t per_sample, int mode, float c, const float* g, float* out,
                           float* norms);

  // x, F [batch, per_sample]; t [batch]; x0 [batch, per_sample] nullable (written when given).
  // t_next [batch] nullable: when given, x_next [batch, per_sample] = re-noised x0 with the
  // Philox normal stream (seed, offset); when null, x_next must be null too and seed/offset are
  // unused. At least one of x0 and x_next must be given.
  int (*consistency_step)(int64_t batch, int64_t per_sample, float sd, const float* t, const float* x,
                          const float* F, float* x0, const float* t_next, uint64_t seed, uint64_t offset,
                          float* x_next);

  // s, t [batch]; x_s, F_s, x_t [batch, per_sample] (x_t may alias x_s).
  int (*euler_step)(int64_t batch, int64_t per_sample, float sd, const float* s, const float* t, const float* x_s,
                    const float* F_s, float* x_t);

  // s, t [batch] (s < pi/2); x_s, F_s, x_eul, F_t, x_t [batch, per_sample] (x_t may alias x_eul
  // or x_s); see the formula above for what each is.
  int (*heun_correct)(int64_t batch, int64_t per_sample, float sd, const float* s, const float* t,
                      const float* x_s, const float* F_s, const float* x_eul, const float* F_t, float* x_t);

  // x0, eps, x_t [batch, per_sample]; t [batch]; v_t nullable. Elementwise: x_t and v_t may
  // alias x0 or eps (each element's inputs are read before its outputs are written).
  int (*noisy_sample)(int64_t batch, int64_t per_sample, float sd, const float* t, const float* x0, const float* eps,
                      float* x_t, float* v_t);

  // F, dxdt, x_t, J, g [batch, per_sample]; t [batch]; r in [0, 1]. g may alias any input.
  int (*tangent_target)(int64_t batch, int64_t per_sample, float sd, float r, const float* t, const float* F,
                        const float* dxdt, const float* x_t, const float* J, float* g);

  // w [batch]; F_uncond, F_cond, out [batch, per_sample] (out may alias either input).
  int (*cfg_combine)(int64_t batch, int64_t per_sample, const float* w, const float* F_uncond, const float* F_cond,
                     float* out);
};
