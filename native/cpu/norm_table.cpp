// The CPU backend's norm family entries: float instantiations of native/cpu/norm.h behind
// argument checks (shared with the CUDA entries) and scm::guarded.
#include "norm.h"
#include "../core/kernels/table.h"

namespace {

using scm::cpu::require_ptr;
using scm::cpu::validate_adn;
using scm::cpu::validate_norm;

int ln_forward(int64_t rows, int64_t cols, float eps, const float* x, const float* gamma, const float* beta, float* y,
               float* mean, float* rstd) {
  return scm::guarded([&] {
    const char* op = "layer_norm_forward";
    validate_norm(op, rows, cols, eps);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(y, op, "y"), require_ptr(mean, op, "mean"), require_ptr(rstd, op, "rstd");
    scm::cpu::layer_norm_forward<float>(rows, cols, eps, x, gamma, beta, y, mean, rstd);
  });
}
int ln_dual(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, const float* gamma,
            const float* beta, float* y, float* ty, float* mean, float* rstd) {
  return scm::guarded([&] {
    const char* op = "layer_norm_dual";
    validate_norm(op, rows, cols, eps);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(tx, op, "tx"), require_ptr(y, op, "y"), require_ptr(ty, op, "ty");
    scm::cpu::layer_norm_dual<float>(rows, cols, eps, x, tx, gamma, beta, y, ty, mean, rstd);
  });
}
int ln_backward(int64_t rows, int64_t cols, const float* x, const float* gamma, const float* mean, const float* rstd,
                const float* dy, float* dx, float* dgamma, float* dbeta) {
  return scm::guarded([&] {
    const char* op = "layer_norm_backward";
    validate_norm(op, rows, cols, 0.0);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(mean, op, "mean"), require_ptr(rstd, op, "rstd"), require_ptr(dy, op, "dy");
    scm::cpu::layer_norm_backward<float>(rows, cols, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
  });
}

int rms_forward(int64_t rows, int64_t cols, float eps, const float* x, const float* gamma, float* y, float* rstd) {
  return scm::guarded([&] {
    const char* op = "rms_norm_forward";
    validate_norm(op, rows, cols, eps);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(y, op, "y"), require_ptr(rstd, op, "rstd");
    scm::cpu::rms_norm_forward<float>(rows, cols, eps, x, gamma, y, rstd);
  });
}
int rms_dual(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, const float* gamma, float* y,
             float* ty, float* rstd) {
  return scm::guarded([&] {
    const char* op = "rms_norm_dual";
    validate_norm(op, rows, cols, eps);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(tx, op, "tx"), require_ptr(y, op, "y"), require_ptr(ty, op, "ty");
    scm::cpu::rms_norm_dual<float>(rows, cols, eps, x, tx, gamma, y, ty, rstd);
  });
}
int rms_backward(int64_t rows, int64_t cols, const float* x, const float* gamma, const float* rstd, const float* dy,
                 float* dx, float* dgamma) {
  return scm::guarded([&] {
    const char* op = "rms_norm_backward";
    validate_norm(op, rows, cols, 0.0);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(rstd, op, "rstd"), require_ptr(dy, op, "dy");
    scm::cpu::rms_norm_backward<float>(rows, cols, x, gamma, rstd, dy, dx, dgamma);
  });
}

int pixel_forward(int64_t rows, int64_t cols, float eps, const float* x, float* y, float* rstd) {
  return scm::guarded([&] {
    const char* op = "pixel_norm_forward";
    validate_norm(op, rows, cols, eps);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(y, op, "y"), require_ptr(rstd, op, "rstd");
    scm::cpu::pixel_norm_forward<float>(rows, cols, eps, x, y, rstd);
  });
}
int pixel_dual(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, float* y, float* ty,
               float* rstd) {
  return scm::guarded([&] {
    const char* op = "pixel_norm_dual";
    validate_norm(op, rows, cols, eps);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(tx, op, "tx"), require_ptr(y, op, "y"), require_ptr(ty, op, "ty");
    scm::cpu::pixel_norm_dual<float>(rows, cols, eps, x, tx, y, ty, rstd);
  });
}
int pixel_backward(int64_t rows, int64_t cols, const float* x, const float* rstd, const float* dy, float* dx) {
  return scm::guarded([&] {
    const char* op = "pixel_norm_backward";
    validate_norm(op, rows, cols, 0.0);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(rstd, op, "rstd"), require_ptr(dy, op, "dy");
    scm::cpu::pixel_norm_backward<float>(rows, cols, x, rstd, dy, dx);
  });
}

int adn_forward(int64_t batch, int64_t tokens, int64_t C, float eps, float pnorm_eps, const float* x, const float* s,
                const float* b, float* y, float* mean, float* rstd, float* s_rstd, float* b_rstd) {
  return scm::guarded([&] {
    const char* op = "adn_forward";
    validate_adn(op, batch, tokens, C, eps, pnorm_eps);
    if (batch == 0) return;
    require_ptr(s, op, "s"), require_ptr(b, op, "b"), require_ptr(s_rstd, op, "s_rstd"),
        require_ptr(b_rstd, op, "b_rstd");
    if (tokens > 0)
      require_ptr(x, op, "x"), require_ptr(y, op, "y"), require_ptr(mean, op, "mean"), require_ptr(rstd, op, "rstd");
    scm::cpu::adn_forward<float>(batch, tokens, C, eps, pnorm_eps, x, s, b, y, mean, rstd, s_rstd, b_rstd);
  });
}
int adn_dual(int64_t batch, int64_t tokens, int64_t C, float eps, float pnorm_eps, const float* x, const float* tx,
             const float* s, const float* ts, const float* b, const float* tb, float* y, float* ty, float* mean,
             float* rstd, float* s_rstd, float* b_rstd) {
  return scm::guarded([&] {
    const char* op = "adn_dual";
    validate_adn(op, batch, tokens, C, eps, pnorm_eps);
    if (batch == 0) return;
    require_ptr(s, op, "s"), require_ptr(b, op, "b");
    if (tokens > 0)
      require_ptr(x, op, "x"), require_ptr(tx, op, "tx"), require_ptr(y, op, "y"), require_ptr(ty, op, "ty");
    scm::cpu::adn_dual<float>(batch, tokens, C, eps, pnorm_eps, x, tx, s, ts, b, tb, y, ty, mean, rstd, s_rstd,
                              b_rstd);
  });
}
int adn_backward(int64_t batch, int64_t tokens, int64_t C, const float* x, const float* s, const float* b,
                 const float* mean, const float* rstd, const float* s_rstd, const float* b_rstd, const float* dy,
                 float* dx, float* ds, float* db) {
  return scm::guarded([&] {
    const char* op = "adn_backward";
    validate_adn(op, batch, tokens, C, 0.0, 0.0);
    if (batch == 0) return;
    require_ptr(s, op, "s"), require_ptr(b, op, "b"), require_ptr(s_rstd, op, "s_rstd"),
        require_ptr(b_rstd, op, "b_rstd");
    if (tokens > 0)
      require_ptr(x, op, "x"), require_ptr(mean, op, "mean"), require_ptr(rstd, op, "rstd"), require_ptr(dy, op, "dy");
    scm::cpu::adn_backward<float>(batch, tokens, C, x, s, b, mean, rstd, s_rstd, b_rstd, dy, dx, ds, db);
  });
}

int qk_forward(int64_t rows, int64_t d, float eps, const float* x, const float* gamma, float* y, float* rstd) {
  return scm::guarded([&] {
    const char* op = "qk_norm_forward";
    validate_norm(op, rows, d, eps);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(gamma, op, "gamma"), require_ptr(y, op, "y"), require_ptr(rstd, op, "rstd");
    scm::cpu::qk_norm_forward<float>(rows, d, eps, x, gamma, y, rstd);
  });
}
int qk_dual(int64_t rows, int64_t d, float eps, const float* x, const float* tx, const float* gamma, float* y,
            float* ty, float* rstd) {
  return scm::guarded([&] {
    const char* op = "qk_norm_dual";
    validate_norm(op, rows, d, eps);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(tx, op, "tx"), require_ptr(gamma, op, "gamma"), require_ptr(y, op, "y"),
        require_ptr(ty, op, "ty");
    scm::cpu::qk_norm_dual<float>(rows, d, eps, x, tx, gamma, y, ty, rstd);
  });
}
int qk_backward(int64_t rows, int64_t d, const float* x, const float* gamma, const float* rstd, const float* dy,
                float* dx, float* dgamma) {
  return scm::guarded([&] {
    const char* op = "qk_norm_backward";
    validate_norm(op, rows, d, 0.0);
    if (rows == 0) return;
    require_ptr(x, op, "x"), require_ptr(gamma, op, "gamma"), require_ptr(rstd, op, "rstd"), require_ptr(dy, op, "dy");
    scm::cpu::qk_norm_backward<float>(rows, d, x, gamma, rstd, dy, dx, dgamma);
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
