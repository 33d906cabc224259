// The CPU backend's norm family entries: float instantiations of native/cpu/norm.h behind the
// argument checks shared with the CUDA entries (norm_checks) and scm::guarded.
#include "norm.h"
#include "../core/kernels/table.h"

namespace {

namespace chk = scm::cpu::norm_checks;
namespace K = scm::cpu;

int ln_forward(int64_t rows, int64_t cols, float eps, const float* x, const float* gamma, const float* beta, float* y,
               float* mean, float* rstd) {
  return scm::guarded([&] {
    if (chk::layer_norm_forward(rows, cols, eps, x, y, mean, rstd))
      K::layer_norm_forward<float>(rows, cols, eps, x, gamma, beta, y, mean, rstd);
  });
}
int ln_dual(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, const float* gamma,
            const float* beta, float* y, float* ty, float* mean, float* rstd) {
  return scm::guarded([&] {
    if (chk::dual("layer_norm_dual", rows, cols, eps, x, tx, y, ty))
      K::layer_norm_dual<float>(rows, cols, eps, x, tx, gamma, beta, y, ty, mean, rstd);
  });
}
int ln_backward(int64_t rows, int64_t cols, const float* x, const float* gamma, const float* mean, const float* rstd,
                const float* dy, float* dx, float* dgamma, float* dbeta) {
  return scm::guarded([&] {
    if (chk::backward("layer_norm_backward", true, rows, cols, x, mean, rstd, dy))
      K::layer_norm_backward<float>(rows, cols, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
  });
}

int rms_forward(int64_t rows, int64_t cols, float eps, const float* x, const float* gamma, float* y, float* rstd) {
  return scm::guarded([&] {
    if (chk::rms_forward("rms_norm_forward", rows, cols, eps, x, y, rstd))
      K::rms_norm_forward<float>(rows, cols, eps, x, gamma, y, rstd);
  });
}
int rms_dual(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, const float* gamma, float* y,
             float* ty, float* rstd) {
  return scm::guarded([&] {
    if (chk::dual("rms_norm_dual", rows, cols, eps, x, tx, y, ty))
      K::rms_norm_dual<float>(rows, cols, eps, x, tx, gamma, y, ty, rstd);
  });
}
int rms_backward(int64_t rows, int64_t cols, const float* x, const float* gamma, const float* rstd, const float* dy,
                 float* dx, float* dgamma) {
  return scm::guarded([&] {
    if (chk::backward("rms_norm_backward", false, rows, cols, x, nullptr, rstd, dy))
      K::rms_norm_backward<float>(rows, cols, x, gamma, rstd, dy, dx, dgamma);
  });
}

int pixel_forward(int64_t rows, int64_t cols, float eps, const float* x, float* y, float* rstd) {
  return scm::guarded([&] {
    if (chk::rms_forward("pixel_norm_forward", rows, cols, eps, x, y, rstd))
      K::pixel_norm_forward<float>(rows, cols, eps, x, y, rstd);
  });
}
int pixel_dual(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, float* y, float* ty,
               float* rstd) {
  return scm::guarded([&] {
    if (chk::dual("pixel_norm_dual", rows, cols, eps, x, tx, y, ty))
      K::pixel_norm_dual<float>(rows, cols, eps, x, tx, y, ty, rstd);
  });
}
int pixel_backward(int64_t rows, int64_t cols, const float* x, const float* rstd, const float* dy, float* dx) {
  return scm::guarded([&] {
    if (chk::backward("pixel_norm_backward", false, rows, cols, x, nullptr, rstd, dy))
      K::pixel_norm_backward<float>(rows, cols, x, rstd, dy, dx);
  });
}

int adn_forward(int64_t batch, int64_t tokens, int64_t C, float eps, float pnorm_eps, const float* x, const float* s,
                const float* b, float* y, float* mean, float* rstd, float* s_rstd, float* b_rstd) {
  return scm::guarded([&] {
    if (chk::adn_forward(batch, tokens, C, eps, pnorm_eps, x, s, b, y, mean, rstd, s_rstd, b_rstd))
      K::adn_forward<float>(batch, tokens, C, eps, pnorm_eps, x, s, b, y, mean, rstd, s_rstd, b_rstd);
  });
}
int adn_dual(int64_t batch, int64_t tokens, int64_t C, float eps, float pnorm_eps, const float* x, const float* tx,
             const float* s, const float* ts, const float* b, const float* tb, float* y, float* ty, float* mean,
             float* rstd, float* s_rstd, float* b_rstd) {
  return scm::guarded([&] {
    if (chk::adn_dual(batch, tokens, C, eps, pnorm_eps, x, tx, s, b, y, ty))
      K::adn_dual<float>(batch, tokens, C, eps, pnorm_eps, x, tx, s, ts, b, tb, y, ty, mean, rstd, s_rstd, b_rstd);
  });
}
int adn_backward(int64_t batch, int64_t tokens, int64_t C, const float* x, const float* s, const float* b,
                 const float* mean, const float* rstd, const float* s_rstd, const float* b_rstd, const float* dy,
                 float* dx, float* ds, float* db) {
  return scm::guarded([&] {
    if (chk::adn_backward(batch, tokens, C, x, s, b, mean, rstd, s_rstd, b_rstd, dy))
      K::adn_backward<float>(batch, tokens, C, x, s, b, mean, rstd, s_rstd, b_rstd, dy, dx, ds, db);
  });
}

int qk_forward(int64_t rows, int64_t d, float eps, const float* x, const float* gamma, float* y, float* rstd) {
  return scm::guarded([&] {
    if (rows != 0) scm::cpu::require_ptr(gamma, "qk_norm_forward", "gamma");
    if (chk::rms_forward("qk_norm_forward", rows, d, eps, x, y, rstd))
      K::qk_norm_forward<float>(rows, d, eps, x, gamma, y, rstd);
  });
}
int qk_dual(int64_t rows, int64_t d, float eps, const float* x, const float* tx, const float* gamma, float* y,
            float* ty, float* rstd) {
  return scm::guarded([&] {
    if (rows != 0) scm::cpu::require_ptr(gamma, "qk_norm_dual", "gamma");
    if (chk::dual("qk_norm_dual", rows, d, eps, x, tx, y, ty))
      K::qk_norm_dual<float>(rows, d, eps, x, tx, gamma, y, ty, rstd);
  });
}
int qk_backward(int64_t rows, int64_t d, const float* x, const float* gamma, const float* rstd, const float* dy,
                float* dx, float* dgamma) {
  return scm::guarded([&] {
    if (rows != 0) scm::cpu::require_ptr(gamma, "qk_norm_backward", "gamma");
    if (chk::backward("qk_norm_backward", false, rows, d, x, nullptr, rstd, dy))
      K::qk_norm_backward<float>(rows, d, x, gamma, rstd, dy, dx, dgamma);
  });
}

}  // namespace

void scm_cpu_fill_norm(ScmNormKernels* k) {
  k->layer_norm_forward = ln_forward;
  k->layer_norm_dual = ln_dual;
  k->layer_norm_backward = ln_backward;
  k->rms_norm_forward = rms_forward;
  k->rms_norm_dual = rms_dual;
  k->rms_norm_backward = rms_backward;
  k->pixel_norm_forward = pixel_forward;
  k->pixel_norm_dual = pixel_dual;
  k->pixel_norm_backward = pixel_backward;
  k->adn_forward = adn_forward;
  k->adn_dual = adn_dual;
  k->adn_backward = adn_backward;
  k->qk_norm_forward = qk_forward;
  k->qk_norm_dual = qk_dual;
  k->qk_norm_backward = qk_backward;
}
