// CPU reference of the trigflow family's training steps (native/core/kernels/trigflow.h):
// noisy_sample (x_t and v_t from x0 and eps), tangent_target (the sCM tangent g) and cfg_combine
// (classifier-free guidance). Per-sample cos / sin and every element in double; each element's
// inputs are read before its outputs are written, so outputs may alias inputs (as the header
// allows). Samples run in parallel, large samples in chunks (trigflow_detail).
#pragma once
#include <cmath>
#include <cstdint>
#include "trigflow.h"

namespace scm::cpu {

// ---------------------------------------------------------------- argument checks
// Shared with the CUDA entries (native/cuda/trigflow_train.cu). Each returns false when there is
// nothing to compute (batch = 0).
inline bool validate_noisy_sample(int64_t batch, int64_t per_sample, double sd, const void* t, const void* x0,
                                  const void* eps, const void* x_t, const void* v_t) {
  const char* op = "noisy_sample";
  validate_trigflow(op, batch, per_sample);
  validate_sd(op, sd);
  if (batch == 0) return false;
  require_trigflow_ptr(t != nullptr, op, "t");
  require_trigflow_ptr(x0 != nullptr, op, "x0");
  require_trigflow_ptr(eps != nullptr, op, "eps");
  require_trigflow_ptr(x_t != nullptr, op, "x_t");
  require(v_t != x_t, SCM_E_ARGUMENT, op, ": x_t and v_t are the same buffer");
  return true;
}
inline bool validate_tangent_target(int64_t batch, int64_t per_sample, double sd, double r, const void* t,
                                    const void* F, const void* dxdt, const void* x_t, const void* J, const void* g) {
  const char* op = "tangent_target";
  validate_trigflow(op, batch, per_sample);
  validate_sd(op, sd);
  require(r >= 0 && r <= 1, SCM_E_ARGUMENT, op, ": r=", r, " must be in [0, 1]");
  if (batch == 0) return false;
  require_trigflow_ptr(t != nullptr, op, "t");
  require_trigflow_ptr(F != nullptr, op, "F");
  require_trigflow_ptr(dxdt != nullptr, op, "dxdt");
  require_trigflow_ptr(x_t != nullptr, op, "x_t");
  require_trigflow_ptr(J != nullptr, op, "J");
  require_trigflow_ptr(g != nullptr, op, "g");
  return true;
}
inline bool validate_cfg_combine(int64_t batch, int64_t per_sample, const void* w, const void* F_uncond,
                                 const void* F_cond, const void* out) {
  const char* op = "cfg_combine";
  validate_trigflow(op, batch, per_sample);
  if (batch == 0) return false;
  require_trigflow_ptr(w != nullptr, op, "w");
  require_trigflow_ptr(F_uncond != nullptr, op, "F_uncond");
  require_trigflow_ptr(F_cond != nullptr, op, "F_cond");
  require_trigflow_ptr(out != nullptr, op, "out");
  return true;
}

// ---------------------------------------------------------------- noisy sample
// z = sd * eps;  x_t = cos t * x0 + sin t * z;  v_t = cos t * z - sin t * x0 (v_t nullable).
template <class T>
void noisy_sample(int64_t batch, int64_t per_sample, double sd, const T* t, const T* x0, const T* eps, T* x_t,
                  T* v_t) {
  if (!validate_noisy_sample(batch, per_sample, sd, t, x0, eps, x_t, v_t)) return;
  trigflow_detail::for_each_sample_chunk(batch, per_sample, [&](int64_t b, int64_t lo, int64_t hi) {
    const double tb = t[b], ct = std::cos(tb), st = std::sin(tb);
    for (int64_t i = b * per_sample + lo; i < b * per_sample + hi; ++i) {
      const double a = x0[i], z = sd * static_cast<double>(eps[i]);
      x_t[i] = static_cast<T>(ct * a + st * z);
      if (v_t) v_t[i] = static_cast<T>(ct * z - st * a);
    }
  });
}

// ---------------------------------------------------------------- sCM tangent target
// g = -cos^2 t * (sd * F - dxdt) - r * (cos t * sin t * x_t + sd * J).
template <class T>
void tangent_target(int64_t batch, int64_t per_sample, double sd, double r, const T* t, const T* F, const T* dxdt,
                    const T* x_t, const T* J, T* g) {
  if (!validate_tangent_target(batch, per_sample, sd, r, t, F, dxdt, x_t, J, g)) return;
  trigflow_detail::for_each_sample_chunk(batch, per_sample, [&](int64_t b, int64_t lo, int64_t hi) {
    const double tb = t[b], ct = std::cos(tb), st = std::sin(tb), c2 = ct * ct, cs = ct * st;
    for (int64_t i = b * per_sample + lo; i < b * per_sample + hi; ++i) {
      const double f = F[i], v = dxdt[i], x = x_t[i], j = J[i];
      g[i] = static_cast<T>(-c2 * (sd * f - v) - r * (cs * x + sd * j));
    }
  });
}

// ---------------------------------------------------------------- classifier-free guidance
// out = F_u + w[b] * (F_c - F_u).
template <class T>
void cfg_combine(int64_t batch, int64_t per_sample, const T* w, const T* F_uncond, const T* F_cond, T* out) {
  if (!validate_cfg_combine(batch, per_sample, w, F_uncond, F_cond, out)) return;
  trigflow_detail::for_each_sample_chunk(batch, per_sample, [&](int64_t b, int64_t lo, int64_t hi) {
    const double wb = w[b];
    for (int64_t i = b * per_sample + lo; i < b * per_sample + hi; ++i) {
      const double u = F_uncond[i], c = F_cond[i];
      out[i] = static_cast<T>(u + wb * (c - u));
    }
  });
}

}  // namespace scm::cpu
