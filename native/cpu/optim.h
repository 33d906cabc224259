// CPU reference kernels of the optim family (templated so the tests run them in double).
// Semantics and formulas: native/core/kernels/optim.h. The per-step scalars come from
// optim_coefficients (double, shared with the CUDA backend); the elementwise update runs in
// double and is split over threads (each element is independent).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include "../core/error.h"
#include "../core/kernels/optim.h"
#include "../core/parallel.h"

namespace scm::cpu {

// The per-step scalars of one optimizer step (host, double).
struct OptimCoefficients {
  double lr, beta1, beta2, eps, grad_scale, ema_decay;
  double l2;          // weight decay added to the gradient (coupled kinds), else 0
  double decay;       // the decoupled factor 1 - lr * weight_decay (decoupled kinds), else 1
  double inv_bc1;     // 1 / (1 - beta1^t)
  double inv_sqrt_bc2;// 1 / sqrt(1 - beta2^t): vh = v / bc2, sqrt(vh) = sqrt(v) * inv_sqrt_bc2
  bool adaptive;      // false: RAdam's un-adapted momentum step (rho_t <= 5)
  double rect;        // RAdam's rectification r (1 for Adam)
};

// RAdam's threshold on rho_t (torch.optim.RAdam's value).
constexpr double kRadamRhoThreshold = 5.0;

// Validates the parameters (shared with the CUDA entry) and computes the scalars.
inline OptimCoefficients optim_coefficients(const ScmOptimParams* p, int64_t n, const void* param, const void* grad,
                                            const void* m, const void* v) {
  const char* op = "optim step";
  require(p != nullptr, SCM_E_ARGUMENT, op, ": params is null");
  require(n >= 0, SCM_E_ARGUMENT, op, ": n=", n, " < 0");
  if (n > 0)
    require(param && grad && m && v, SCM_E_ARGUMENT, op, ": param, grad, m and v must not be null");
  const int kind = p->kind;
  require(kind >= SCM_OPTIM_ADAM && kind <= SCM_OPTIM_RADAMW, SCM_E_ARGUMENT, op, ": unknown kind ", kind);
  require(p->step >= 1, SCM_E_ARGUMENT, op, ": step=", p->step, " (1-based) < 1");
  require(std::isfinite(p->lr) && p->lr >= 0, SCM_E_ARGUMENT, op, ": lr=", p->lr, " must be finite and >= 0");
  require(p->beta1 >= 0 && p->beta1 < 1, SCM_E_ARGUMENT, op, ": beta1=", p->beta1, " not in [0, 1)");
  require(p->beta2 >= 0 && p->beta2 < 1, SCM_E_ARGUMENT, op, ": beta2=", p->beta2, " not in [0, 1)");
  require(std::isfinite(p->eps) && p->eps >= 0, SCM_E_ARGUMENT, op, ": eps=", p->eps, " must be finite and >= 0");
  require(std::isfinite(p->weight_decay) && p->weight_decay >= 0, SCM_E_ARGUMENT, op,
          ": weight_decay=", p->weight_decay, " must be finite and >= 0");
  require(std::isfinite(p->grad_scale), SCM_E_ARGUMENT, op, ": grad_scale=", p->grad_scale, " is not finite");
  require(p->ema_decay >= 0 && p->ema_decay <= 1, SCM_E_ARGUMENT, op, ": ema_decay=", p->ema_decay,
          " not in [0, 1]");

  OptimCoefficients c{};
  c.lr = p->lr;
  c.beta1 = p->beta1;
  c.beta2 = p->beta2;
  c.eps = p->eps;
  c.grad_scale = p->grad_scale;
  c.ema_decay = p->ema_decay;
  const bool decoupled = kind == SCM_OPTIM_ADAMW || kind == SCM_OPTIM_RADAMW;
  c.l2 = decoupled ? 0.0 : static_cast<double>(p->weight_decay);
  c.decay = decoupled ? 1.0 - c.lr * p->weight_decay : 1.0;
  const double t = static_cast<double>(p->step);
  const double b1t = std::pow(c.beta1, t), b2t = std::pow(c.beta2, t);
  const double bc1 = 1.0 - b1t, bc2 = 1.0 - b2t;
  c.inv_bc1 = 1.0 / bc1;
  c.inv_sqrt_bc2 = bc2 > 0 ? 1.0 / std::sqrt(bc2) : 0.0;
  c.adaptive = true;
  c.rect = 1.0;
  if (kind == SCM_OPTIM_RADAM || kind == SCM_OPTIM_RADAMW) {
    const double rho_inf = 2.0 / (1.0 - c.beta2) - 1.0;
    const double rho_t = bc2 > 0 ? rho_inf - 2.0 * t * b2t / bc2 : 0.0;
    if (rho_t > kRadamRhoThreshold) {
      c.rect = std::sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t));
    } else {
      c.adaptive = false;
    }
  } else {
    require(bc2 > 0, SCM_E_ARGUMENT, op, ": beta2=", p->beta2, " gives 1 - beta2^t = 0");
  }
  return c;
}

template <class T>
void optim_step(const ScmOptimParams* params, int64_t n, T* param, const T* grad, T* m, T* v, T* ema) {
  const OptimCoefficients c = optim_coefficients(params, n, param, grad, m, v);
  parallel_for(static_cast<size_t>(n), 1 << 14, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      double p = param[i];
      double g = static_cast<double>(grad[i]) * c.grad_scale + c.l2 * p;
      p *= c.decay;
      const double mi = c.beta1 * static_cast<double>(m[i]) + (1.0 - c.beta1) * g;
      const double vi = c.beta2 * static_cast<double>(v[i]) + (1.0 - c.beta2) * g * g;
      m[i] = static_cast<T>(mi);
      v[i] = static_cast<T>(vi);
      const double mh = mi * c.inv_bc1;
      if (c.adaptive) {
        p -= c.lr * c.rect * mh / (std::sqrt(vi) * c.inv_sqrt_bc2 + c.eps);
      } else {
        p -= c.lr * mh;
      }
      param[i] = static_cast<T>(p);
      if (ema) ema[i] = static_cast<T>(c.ema_decay * static_cast<double>(ema[i]) + (1.0 - c.ema_decay) * p);
    }
  });
}

}  // namespace scm::cpu
