// Kernel family: normalisations (layer norm, RMS norm, pixel norm, ADN modulation, QK-norm).
// Conventions: common.h. CPU reference: native/cpu/norm.h; CUDA: native/cuda/norm.cu.
//
// Every op normalises each row of a dense row-major [rows, cols] tensor over its last dim.
// Forward passes save per-row statistics for the backward pass; dual passes are the JVP
// (x, tx) -> (y, ty) with zero tangent for gamma/beta; backward passes OVERWRITE dx (and the
// other input gradients) and ACCUMULATE (+=) dgamma/dbeta. Every gradient output of a
// backward pass is nullable (= not wanted); dy and the saved statistics are required.
//
// Formulas (per row, n = cols, mean over the row):
//   layer norm: mu = mean(x), rstd = 1/sqrt(mean((x-mu)^2) + eps), xhat = (x-mu)*rstd,
//               y = xhat*gamma + beta                 (gamma nullable = 1, beta nullable = 0)
//   RMS norm:   rstd = 1/sqrt(mean(x^2) + eps), xhat = x*rstd, y = xhat*gamma (gamma nullable = 1)
//   pixel norm: y = x / sqrt(mean(x^2) + eps)         (RMS norm without gamma; SCM.md §5: eps 1e-8)
//   QK-norm:    RMS norm with a required gamma [head_dim] over a [rows, head_dim] view of q or k
//               (rows = batch*heads*tokens, any layout whose head_dim is contiguous); call it
//               once for q and once for k (each with its own gamma).
//   ADN (SCM.md §5): x [batch, tokens, C], s, b [batch, C] (one per sample, broadcast over tokens):
//               y = layer_norm(x; eps, no affine) * pnorm(s) + pnorm(b),
//               pnorm(a) = a / sqrt(mean_C(a^2) + pnorm_eps)   (SCM.md: pnorm_eps = 1e-8).
//
// Sizes: rows >= 0 (ADN: batch >= 0, tokens >= 1), cols >= 1 (any value, not only multiples
// of 32), eps >= 0 (layer/RMS/ADN norms usually 1e-5 or 1e-6). Saved statistics are float32 [rows].
// Bad sizes or missing required pointers return SCM_E_ARGUMENT (same checks on every backend).
#pragma once
#include "common.h"

struct ScmNormKernels {
  // ---- layer norm: x, y [rows, cols]; gamma, beta [cols] (each nullable); mean, rstd [rows].
  int (*layer_norm_forward)(int64_t rows, int64_t cols, float eps, const float* x, const float* gamma,
                            const float* beta, float* y, float* mean, float* rstd);
  // tx, ty [rows, cols]; mean, rstd nullable (written when given, as in forward).
  int (*layer_norm_dual)(int64_t rows, int64_t cols, float eps, const float* x, const float* tx,
                         const float* gamma, const float* beta, float* y, float* ty, float* mean, float* rstd);
  // dy, dx [rows, cols] (dx overwritten); mean, rstd from forward; gamma nullable (as in forward);
  // dgamma, dbeta [cols] accumulated, nullable (= not wanted); dgamma is ignored when gamma is null.
  int (*layer_norm_backward)(int64_t rows, int64_t cols, const float* x, const float* gamma,
                             const float* mean, const float* rstd, const float* dy, float* dx,
                             float* dgamma, float* dbeta);

  // ---- RMS norm: x, y [rows, cols]; gamma [cols] nullable; rstd [rows].
  int (*rms_norm_forward)(int64_t rows, int64_t cols, float eps, const float* x, const float* gamma,
                          float* y, float* rstd);
  // rstd nullable (written when given).
  int (*rms_norm_dual)(int64_t rows, int64_t cols, float eps, const float* x, const float* tx,
                       const float* gamma, float* y, float* ty, float* rstd);
  // dx overwritten; dgamma [cols] accumulated, nullable (ignored when gamma is null).
  int (*rms_norm_backward)(int64_t rows, int64_t cols, const float* x, const float* gamma,
                           const float* rstd, const float* dy, float* dx, float* dgamma);

  // ---- pixel norm: x, y [rows, cols]; rstd [rows] = 1/sqrt(mean(x^2) + eps).
  int (*pixel_norm_forward)(int64_t rows, int64_t cols, float eps, const float* x, float* y, float* rstd);
  // rstd nullable.
  int (*pixel_norm_dual)(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, float* y,
                         float* ty, float* rstd);
  int (*pixel_norm_backward)(int64_t rows, int64_t cols, const float* x, const float* rstd, const float* dy,
                             float* dx);

  // ---- ADN modulation: x, y [batch, tokens, channels]; s, b [batch, channels];
  // mean, rstd [batch*tokens] (the layer norm of x); s_rstd, b_rstd [batch] (the pixel norms).
  int (*adn_forward)(int64_t batch, int64_t tokens, int64_t channels, float eps, float pnorm_eps,
                     const float* x, const float* s, const float* b, float* y, float* mean, float* rstd,
                     float* s_rstd, float* b_rstd);
  // tx [batch, tokens, channels]; ts, tb [batch, channels], each nullable (= zero tangent);
  // ty [batch, tokens, channels]. mean, rstd, s_rstd, b_rstd nullable (written when given).
  int (*adn_dual)(int64_t batch, int64_t tokens, int64_t channels, float eps, float pnorm_eps,
                  const float* x, const float* tx, const float* s, const float* ts, const float* b,
                  const float* tb, float* y, float* ty, float* mean, float* rstd, float* s_rstd,
                  float* b_rstd);
  // dy, dx [batch, tokens, channels]; ds, db [batch, channels]: all OVERWRITTEN (s and b are
  // per-sample inputs, not parameters); dx, ds, db each nullable (= not wanted).
  int (*adn_backward)(int64_t batch, int64_t tokens, int64_t channels, const float* x, const float* s,
                      const float* b, const float* mean, const float* rstd, const float* s_rstd,
                      const float* b_rstd, const float* dy, float* dx, float* ds, float* db);

  // ---- QK-norm: x, y [rows, head_dim] (q or k viewed as rows = batch*heads*tokens);
  // gamma [head_dim] required; rstd [rows].
  int (*qk_norm_forward)(int64_t rows, int64_t head_dim, float eps, const float* x, const float* gamma,
                         float* y, float* rstd);
  // rstd nullable.
  int (*qk_norm_dual)(int64_t rows, int64_t head_dim, float eps, const float* x, const float* tx,
                      const float* gamma, float* y, float* ty, float* rstd);
  // dx overwritten; dgamma [head_dim] accumulated, nullable.
  int (*qk_norm_backward)(int64_t rows, int64_t head_dim, const float* x, const float* gamma,
                          const float* rstd, const float* dy, float* dx, float* dgamma);
};
