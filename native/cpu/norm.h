// CPU reference kernels of the norm family (templated so the tests run them in double).
// Semantics, shapes and formulas: native/core/kernels/norm.h. Statistics and reductions are
// accumulated in double (a row's forward statistics in 8 interleaved partial sums, row_sum);
// rows run in parallel, parameter-gradient reductions run in parallel over column chunks
// (deterministic: each column is summed over rows in order).
//
// Derivatives used (per row, xhat the normalised row, r = rstd, mean over the row):
//   dual:     txhat = r * (txc - xhat * mean(xhat * txc)),  txc = tx - mean(tx) (layer norm)
//                                                          or tx (RMS / pixel norm)
//   backward: g = dy * gamma,  dx = r * (g - mean(g) - xhat * mean(g * xhat))   (layer norm;
//             RMS drops the mean(g) term),  dgamma += sum_rows dy * xhat, dbeta += sum_rows dy
//   pnorm(a) = a * ra: the same with a single "row" of C channels per sample.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include "../core/error.h"
#include "../core/kernels/norm.h"
#include "../core/parallel.h"

namespace scm::cpu {

// ---------------------------------------------------------------- argument checks
// Shared with the CUDA entries (native/cuda/norm.cu).
inline void validate_norm(const char* op, int64_t rows, int64_t cols, double eps) {
  require(rows >= 0, SCM_E_ARGUMENT, op, ": rows=", rows, " < 0");
  require(cols >= 1, SCM_E_ARGUMENT, op, ": cols=", cols, " < 1");
  require(cols < (1ll << 31), SCM_E_ARGUMENT, op, ": cols=", cols, " is 2^31 or larger");
  require(rows <= INT64_MAX / cols, SCM_E_ARGUMENT, op, ": rows*cols overflows");
  require(eps >= 0 && std::isfinite(eps), SCM_E_ARGUMENT, op, ": eps=", eps, " must be finite and >= 0");
}
inline void validate_adn(const char* op, int64_t batch, int64_t tokens, int64_t channels, double eps,
                         double pnorm_eps) {
  require(batch >= 0, SCM_E_ARGUMENT, op, ": batch=", batch, " < 0");
  require(tokens >= 1, SCM_E_ARGUMENT, op, ": tokens=", tokens, " < 1");
  require(batch <= INT64_MAX / tokens, SCM_E_ARGUMENT, op, ": batch*tokens overflows");
  validate_norm(op, batch * tokens, channels, eps);
  require(pnorm_eps >= 0 && std::isfinite(pnorm_eps), SCM_E_ARGUMENT, op, ": pnorm_eps=", pnorm_eps,
          " must be finite and >= 0");
}
inline void require_ptr(const void* p, const char* op, const char* name) {
  require(p != nullptr, SCM_E_ARGUMENT, op, ": ", name, " is null");
}

// Per-entry checks (sizes, required pointers), shared by the CPU and CUDA table entries.
// Each returns false when there is nothing to compute (no rows / no samples).
namespace norm_checks {
inline bool layer_norm_forward(int64_t rows, int64_t cols, double eps, const void* x, const void* y,
                               const void* mean, const void* rstd) {
  const char* op = "layer_norm_forward";
  validate_norm(op, rows, cols, eps);
  if (rows == 0) return false;
  require_ptr(x, op, "x"), require_ptr(y, op, "y"), require_ptr(mean, op, "mean"), require_ptr(rstd, op, "rstd");
  return true;
}
// Also for rms_norm_dual, pixel_norm_dual and qk_norm_dual (op names the entry).
inline bool dual(const char* op, int64_t rows, int64_t cols, double eps, const void* x, const void* tx,
                 const void* y, const void* ty) {
  validate_norm(op, rows, cols, eps);
  if (rows == 0) return false;
  require_ptr(x, op, "x"), require_ptr(tx, op, "tx"), require_ptr(y, op, "y"), require_ptr(ty, op, "ty");
  return true;
}
// rms_norm_forward, pixel_norm_forward, qk_norm_forward.
inline bool rms_forward(const char* op, int64_t rows, int64_t cols, double eps, const void* x, const void* y,
                        const void* rstd) {
  validate_norm(op, rows, cols, eps);
  if (rows == 0) return false;
  require_ptr(x, op, "x"), require_ptr(y, op, "y"), require_ptr(rstd, op, "rstd");
  return true;
}
// Every rowwise backward (mean only for layer norm: pass center = false otherwise).
inline bool backward(const char* op, bool center, int64_t rows, int64_t cols, const void* x, const void* mean,
                     const void* rstd, const void* dy) {
  validate_norm(op, rows, cols, 0.0);
  if (rows == 0) return false;
  require_ptr(x, op, "x"), require_ptr(rstd, op, "rstd"), require_ptr(dy, op, "dy");
  if (center) require_ptr(mean, op, "mean");
  return true;
}
inline bool adn_forward(int64_t batch, int64_t tokens, int64_t C, double eps, double pnorm_eps, const void* x,
                        const void* s, const void* b, const void* y, const void* mean, const void* rstd,
                        const void* s_rstd, const void* b_rstd) {
  const char* op = "adn_forward";
  validate_adn(op, batch, tokens, C, eps, pnorm_eps);
  if (batch == 0) return false;
  require_ptr(x, op, "x"), require_ptr(s, op, "s"), require_ptr(b, op, "b"), require_ptr(y, op, "y");
  require_ptr(mean, op, "mean"), require_ptr(rstd, op, "rstd"), require_ptr(s_rstd, op, "s_rstd"),
      require_ptr(b_rstd, op, "b_rstd");
  return true;
}
inline bool adn_dual(int64_t batch, int64_t tokens, int64_t C, double eps, double pnorm_eps, const void* x,
                     const void* tx, const void* s, const void* b, const void* y, const void* ty) {
  const char* op = "adn_dual";
  validate_adn(op, batch, tokens, C, eps, pnorm_eps);
  if (batch == 0) return false;
  require_ptr(x, op, "x"), require_ptr(tx, op, "tx"), require_ptr(s, op, "s"), require_ptr(b, op, "b");
  require_ptr(y, op, "y"), require_ptr(ty, op, "ty");
  return true;
}
inline bool adn_backward(int64_t batch, int64_t tokens, int64_t C, const void* x, const void* s, const void* b,
                         const void* mean, const void* rstd, const void* s_rstd, const void* b_rstd,
                         const void* dy) {
  const char* op = "adn_backward";
  validate_adn(op, batch, tokens, C, 0.0, 0.0);
  if (batch == 0) return false;
  require_ptr(x, op, "x"), require_ptr(s, op, "s"), require_ptr(b, op, "b"), require_ptr(dy, op, "dy");
  require_ptr(mean, op, "mean"), require_ptr(rstd, op, "rstd"), require_ptr(s_rstd, op, "s_rstd"),
      require_ptr(b_rstd, op, "b_rstd");
  return true;
}
}  // namespace norm_checks

namespace norm_detail {

// Rows per thread chunk: ~2048 elements (the pool hands a chunk over in ~1 us, a row of 128
// costs ~0.4 us here), so a batch-1 DiT's 49 rows of 128 use both threads. Rows are
// independent: the chunking never changes a result.
inline size_t row_grain(int64_t cols) { return static_cast<size_t>(std::max<int64_t>(1, 2048 / cols)); }

// sum_{c < n} f(c) in double, element c added to partial sum c mod 8 and the 8 partials added
// pairwise at the end: a fixed order (the same result on every thread count and ISA), 8
// independent add chains instead of one (a single chain waits on each add's latency; these
// the compiler vectorises), and rounding error growing with n / 8 rather than n.
template <class F>
inline double row_sum(int64_t n, F&& f) {
  double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t c = 0;
  for (; c + 8 <= n; c += 8)
    for (int j = 0; j < 8; ++j) p[j] += f(c + j);
  for (int j = 0; c + j < n; ++j) p[j] += f(c + j);
  return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

// One row of layer norm (center) or RMS norm (!center), forward and optionally its JVP.
template <class T>
void row_forward(bool center, int64_t n, double eps, const T* x, const T* tx, const T* gamma, const T* beta, T* y,
                 T* ty, T* mean_out, T* rstd_out) {
  const double mu = center ? row_sum(n, [&](int64_t c) { return static_cast<double>(x[c]); }) / n : 0.0;
  const double var = row_sum(n, [&](int64_t c) {
    const double d = x[c] - mu;
    return d * d;
  });
  const double r = 1.0 / std::sqrt(var / n + eps);
  double tmu = 0, m2 = 0;
  if (tx) {
    if (center) tmu = row_sum(n, [&](int64_t c) { return static_cast<double>(tx[c]); }) / n;
    m2 = row_sum(n, [&](int64_t c) { return (x[c] - mu) * r * (tx[c] - tmu); }) / n;
  }
  for (int64_t c = 0; c < n; ++c) {
    const double xh = (x[c] - mu) * r;
    const double g = gamma ? static_cast<double>(gamma[c]) : 1.0;
    y[c] = static_cast<T>(xh * g + (beta ? static_cast<double>(beta[c]) : 0.0));
    if (tx) ty[c] = static_cast<T>(r * ((tx[c] - tmu) - xh * m2) * g);
  }
  if (mean_out) *mean_out = static_cast<T>(mu);
  if (rstd_out) *rstd_out = static_cast<T>(r);
}

// One row of the layer/RMS norm backward: dx = r * (g - mean(g) - xhat * mean(g * xhat)).
template <class T>
void row_backward(bool center, int64_t n, const T* x, const T* gamma, double mu, double r, const T* dy, T* dx) {
  double a = 0, m = 0;
  for (int64_t c = 0; c < n; ++c) {
    const double g = gamma ? static_cast<double>(dy[c]) * gamma[c] : static_cast<double>(dy[c]);
    a += g;
    m += g * (x[c] - mu) * r;
  }
  a = center ? a / n : 0.0;
  m /= n;
  for (int64_t c = 0; c < n; ++c) {
    const double g = gamma ? static_cast<double>(dy[c]) * gamma[c] : static_cast<double>(dy[c]);
    dx[c] = static_cast<T>(r * (g - a - (x[c] - mu) * r * m));
  }
}

// dgamma[c] += sum_r dy[r,c] * xhat[r,c], dbeta[c] += sum_r dy[r,c] (each nullable); mean nullable (RMS).
// Work items are (block of kRowBlock rows) x (chunk of kChunk columns); the row blocks' partial
// sums are added in order afterwards, so the result does not depend on the thread count.
template <class T>
void param_grads(int64_t rows, int64_t cols, const T* x, const T* mean, const T* rstd, const T* dy, T* dgamma,
                 T* dbeta) {
  if (!dgamma && !dbeta) return;
  constexpr int64_t kChunk = 64, kRowBlock = 512;
  const int64_t chunks = (cols + kChunk - 1) / kChunk, blocks = (rows + kRowBlock - 1) / kRowBlock;
  std::vector<double> pg(static_cast<size_t>(blocks * cols)), pb(static_cast<size_t>(blocks * cols));
  parallel_for(static_cast<size_t>(blocks * chunks), 1, [&](size_t begin, size_t end) {
    for (size_t item = begin; item < end; ++item) {
      const int64_t blk = static_cast<int64_t>(item) / chunks, ch = static_cast<int64_t>(item) % chunks;
      const int64_t c0 = ch * kChunk, w = std::min(kChunk, cols - c0);
      const int64_t r0 = blk * kRowBlock, r1 = std::min(rows, r0 + kRowBlock);
      double ag[kChunk] = {}, ab[kChunk] = {};
      for (int64_t r = r0; r < r1; ++r) {
        const double mu = mean ? static_cast<double>(mean[r]) : 0.0, rs = rstd[r];
        const T* xr = x + r * cols + c0;
        const T* dr = dy + r * cols + c0;
        for (int64_t j = 0; j < w; ++j) {
          ag[j] += static_cast<double>(dr[j]) * (xr[j] - mu) * rs;
          ab[j] += dr[j];
        }
      }
      std::copy(ag, ag + w, pg.begin() + blk * cols + c0);
      std::copy(ab, ab + w, pb.begin() + blk * cols + c0);
    }
  });
  for (int64_t c = 0; c < cols; ++c) {
    double g = 0, b = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      g += pg[blk * cols + c];
      b += pb[blk * cols + c];
    }
    if (dgamma) dgamma[c] = static_cast<T>(dgamma[c] + g);
    if (dbeta) dbeta[c] = static_cast<T>(dbeta[c] + b);
  }
}

template <class T>
void rows_forward(bool center, int64_t rows, int64_t cols, double eps, const T* x, const T* tx, const T* gamma,
                  const T* beta, T* y, T* ty, T* mean, T* rstd) {
  parallel_for(static_cast<size_t>(rows), row_grain(cols), [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      const int64_t off = static_cast<int64_t>(r) * cols;
      row_forward<T>(center, cols, eps, x + off, tx ? tx + off : nullptr, gamma, beta, y + off,
                     ty ? ty + off : nullptr, mean ? mean + r : nullptr, rstd ? rstd + r : nullptr);
    }
  });
}

template <class T>
void rows_backward(bool center, int64_t rows, int64_t cols, const T* x, const T* gamma, const T* mean,
                   const T* rstd, const T* dy, T* dx) {
  parallel_for(static_cast<size_t>(rows), row_grain(cols), [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      const int64_t off = static_cast<int64_t>(r) * cols;
      row_backward<T>(center, cols, x + off, gamma, center ? static_cast<double>(mean[r]) : 0.0,
                      static_cast<double>(rstd[r]), dy + off, dx + off);
    }
  });
}

}  // namespace norm_detail

// ---------------------------------------------------------------- layer norm
template <class T>
void layer_norm_forward(int64_t rows, int64_t cols, double eps, const T* x, const T* gamma, const T* beta, T* y,
                        T* mean, T* rstd) {
  norm_detail::rows_forward<T>(true, rows, cols, eps, x, nullptr, gamma, beta, y, nullptr, mean, rstd);
}
template <class T>
void layer_norm_dual(int64_t rows, int64_t cols, double eps, const T* x, const T* tx, const T* gamma,
                     const T* beta, T* y, T* ty, T* mean, T* rstd) {
  norm_detail::rows_forward<T>(true, rows, cols, eps, x, tx, gamma, beta, y, ty, mean, rstd);
}
template <class T>
void layer_norm_backward(int64_t rows, int64_t cols, const T* x, const T* gamma, const T* mean, const T* rstd,
                         const T* dy, T* dx, T* dgamma, T* dbeta) {
  if (dx) norm_detail::rows_backward<T>(true, rows, cols, x, gamma, mean, rstd, dy, dx);
  norm_detail::param_grads<T>(rows, cols, x, mean, rstd, dy, gamma ? dgamma : nullptr, dbeta);
}

// ---------------------------------------------------------------- RMS norm (and QK-norm)
template <class T>
void rms_norm_forward(int64_t rows, int64_t cols, double eps, const T* x, const T* gamma, T* y, T* rstd) {
  norm_detail::rows_forward<T>(false, rows, cols, eps, x, nullptr, gamma, nullptr, y, nullptr, nullptr, rstd);
}
template <class T>
void rms_norm_dual(int64_t rows, int64_t cols, double eps, const T* x, const T* tx, const T* gamma, T* y, T* ty,
                   T* rstd) {
  norm_detail::rows_forward<T>(false, rows, cols, eps, x, tx, gamma, nullptr, y, ty, nullptr, rstd);
}
template <class T>
void rms_norm_backward(int64_t rows, int64_t cols, const T* x, const T* gamma, const T* rstd, const T* dy, T* dx,
                       T* dgamma) {
  if (dx) norm_detail::rows_backward<T>(false, rows, cols, x, gamma, nullptr, rstd, dy, dx);
  if (gamma) norm_detail::param_grads<T>(rows, cols, x, nullptr, rstd, dy, dgamma, nullptr);
}

// ---------------------------------------------------------------- pixel norm (RMS norm, no gamma)
template <class T>
void pixel_norm_forward(int64_t rows, int64_t cols, double eps, const T* x, T* y, T* rstd) {
  rms_norm_forward<T>(rows, cols, eps, x, nullptr, y, rstd);
}
template <class T>
void pixel_norm_dual(int64_t rows, int64_t cols, double eps, const T* x, const T* tx, T* y, T* ty, T* rstd) {
  rms_norm_dual<T>(rows, cols, eps, x, tx, nullptr, y, ty, rstd);
}
template <class T>
void pixel_norm_backward(int64_t rows, int64_t cols, const T* x, const T* rstd, const T* dy, T* dx) {
  rms_norm_backward<T>(rows, cols, x, nullptr, rstd, dy, dx, nullptr);
}

// ---------------------------------------------------------------- ADN modulation
// y = layer_norm(x) * s * rs + b * rb per sample, rs = 1/sqrt(mean_C(s^2) + pnorm_eps) (rb likewise).
template <class T>
void adn_dual(int64_t batch, int64_t tokens, int64_t C, double eps, double pnorm_eps, const T* x, const T* tx,
              const T* s, const T* ts, const T* b, const T* tb, T* y, T* ty, T* mean, T* rstd, T* s_rstd,
              T* b_rstd) {
  // Per sample: rs, rb and (for the JVP) mean(ps * ts), mean(pb * tb).
  std::vector<double> rs(batch), rb(batch), ms(batch, 0.0), mb(batch, 0.0);
  for (int64_t i = 0; i < batch; ++i) {
    const T* si = s + i * C;
    const T* bi = b + i * C;
    double qs = 0, qb = 0;
    for (int64_t c = 0; c < C; ++c) {
      qs += static_cast<double>(si[c]) * si[c];
      qb += static_cast<double>(bi[c]) * bi[c];
    }
    rs[i] = 1.0 / std::sqrt(qs / C + pnorm_eps);
    rb[i] = 1.0 / std::sqrt(qb / C + pnorm_eps);
    if (ty) {
      for (int64_t c = 0; c < C; ++c) {
        if (ts) ms[i] += si[c] * rs[i] * ts[i * C + c];
        if (tb) mb[i] += bi[c] * rb[i] * tb[i * C + c];
      }
      ms[i] /= C;
      mb[i] /= C;
    }
    if (s_rstd) s_rstd[i] = static_cast<T>(rs[i]);
    if (b_rstd) b_rstd[i] = static_cast<T>(rb[i]);
  }
  const int64_t rows = batch * tokens;
  parallel_for(static_cast<size_t>(rows), norm_detail::row_grain(C), [&](size_t begin, size_t end) {
    // Sample i's modulation ps = s rs, pb = b rb and (JVP) their tangents tps, tpb: the same for
    // all its tokens, so computed once per sample a chunk meets (the row loop then has no
    // branch and no per-token recomputation; the values are the same expressions).
    thread_local std::vector<double> mod;
    mod.resize(static_cast<size_t>(4 * C));
    double *ps = mod.data(), *pb = ps + C, *tps = pb + C, *tpb = tps + C;
    int64_t cached = -1;
    for (size_t r = begin; r < end; ++r) {
      const int64_t i = static_cast<int64_t>(r) / tokens, off = static_cast<int64_t>(r) * C;
      const T* xr = x + off;
      if (i != cached) {
        const T* si = s + i * C;
        const T* bi = b + i * C;
        for (int64_t c = 0; c < C; ++c) {
          ps[c] = si[c] * rs[i];
          pb[c] = bi[c] * rb[i];
          if (ty) {
            tps[c] = ts ? rs[i] * (ts[i * C + c] - ps[c] * ms[i]) : -rs[i] * ps[c] * ms[i];
            tpb[c] = tb ? rb[i] * (tb[i * C + c] - pb[c] * mb[i]) : -rb[i] * pb[c] * mb[i];
          }
        }
        cached = i;
      }
      const double mu = norm_detail::row_sum(C, [&](int64_t c) { return static_cast<double>(xr[c]); }) / C;
      const double var = norm_detail::row_sum(C, [&](int64_t c) { return (xr[c] - mu) * (xr[c] - mu); });
      const double rr = 1.0 / std::sqrt(var / C + eps);
      double tmu = 0, m2 = 0;
      if (ty) {
        tmu = norm_detail::row_sum(C, [&](int64_t c) { return static_cast<double>(tx[off + c]); }) / C;
        m2 = norm_detail::row_sum(C, [&](int64_t c) { return (xr[c] - mu) * rr * (tx[off + c] - tmu); }) / C;
      }
      if (ty) {
        for (int64_t c = 0; c < C; ++c) {
          const double xh = (xr[c] - mu) * rr, txh = rr * ((tx[off + c] - tmu) - xh * m2);
          y[off + c] = static_cast<T>(xh * ps[c] + pb[c]);
          ty[off + c] = static_cast<T>(txh * ps[c] + xh * tps[c] + tpb[c]);
        }
      } else {
        for (int64_t c = 0; c < C; ++c) y[off + c] = static_cast<T>((xr[c] - mu) * rr * ps[c] + pb[c]);
      }
      if (mean) mean[r] = static_cast<T>(mu);
      if (rstd) rstd[r] = static_cast<T>(rr);
    }
  });
}

template <class T>
void adn_forward(int64_t batch, int64_t tokens, int64_t C, double eps, double pnorm_eps, const T* x, const T* s,
                 const T* b, T* y, T* mean, T* rstd, T* s_rstd, T* b_rstd) {
  adn_dual<T>(batch, tokens, C, eps, pnorm_eps, x, nullptr, s, nullptr, b, nullptr, y, nullptr, mean, rstd, s_rstd,
              b_rstd);
}

template <class T>
void adn_backward(int64_t batch, int64_t tokens, int64_t C, const T* x, const T* s, const T* b, const T* mean,
                  const T* rstd, const T* s_rstd, const T* b_rstd, const T* dy, T* dx, T* ds, T* db) {
  if (dx) {
    parallel_for(static_cast<size_t>(batch * tokens), norm_detail::row_grain(C), [&](size_t begin, size_t end) {
      std::vector<T> ps(C);
      int64_t cached = -1;
      for (size_t r = begin; r < end; ++r) {
        const int64_t i = static_cast<int64_t>(r) / tokens, off = static_cast<int64_t>(r) * C;
        if (i != cached) {
          for (int64_t c = 0; c < C; ++c) ps[c] = static_cast<T>(s[i * C + c] * static_cast<double>(s_rstd[i]));
          cached = i;
        }
        norm_detail::row_backward<T>(true, C, x + off, ps.data(), static_cast<double>(mean[r]),
                                     static_cast<double>(rstd[r]), dy + off, dx + off);
      }
    });
  }
  if (!ds && !db) return;
  // Per sample: gs = sum_tokens dy * xhat, gb = sum_tokens dy, then the pixel-norm backward
  // d a = ra * (g - pa * mean(g * pa)).
  parallel_for(static_cast<size_t>(batch), 1, [&](size_t begin, size_t end) {
    std::vector<double> gs(C), gb(C);
    for (size_t i = begin; i < end; ++i) {
      std::fill(gs.begin(), gs.end(), 0.0);
      std::fill(gb.begin(), gb.end(), 0.0);
      for (int64_t t = 0; t < tokens; ++t) {
        const int64_t r = static_cast<int64_t>(i) * tokens + t, off = r * C;
        const double mu = mean[r], rr = rstd[r];
        for (int64_t c = 0; c < C; ++c) {
          gs[c] += static_cast<double>(dy[off + c]) * (x[off + c] - mu) * rr;
          gb[c] += dy[off + c];
        }
      }
      const double rs = s_rstd[i], rb = b_rstd[i];
      double ms = 0, mb = 0;
      for (int64_t c = 0; c < C; ++c) {
        ms += gs[c] * s[i * C + c] * rs;
        mb += gb[c] * b[i * C + c] * rb;
      }
      ms /= C;
      mb /= C;
      for (int64_t c = 0; c < C; ++c) {
        if (ds) ds[i * C + c] = static_cast<T>(rs * (gs[c] - s[i * C + c] * rs * ms));
        if (db) db[i * C + c] = static_cast<T>(rb * (gb[c] - b[i * C + c] * rb * mb));
      }
    }
  });
}

// ---------------------------------------------------------------- QK-norm (RMS norm with gamma)
template <class T>
void qk_norm_forward(int64_t rows, int64_t head_dim, double eps, const T* x, const T* gamma, T* y, T* rstd) {
  rms_norm_forward<T>(rows, head_dim, eps, x, gamma, y, rstd);
}
template <class T>
void qk_norm_dual(int64_t rows, int64_t head_dim, double eps, const T* x, const T* tx, const T* gamma, T* y, T* ty,
                  T* rstd) {
  rms_norm_dual<T>(rows, head_dim, eps, x, tx, gamma, y, ty, rstd);
}
template <class T>
void qk_norm_backward(int64_t rows, int64_t head_dim, const T* x, const T* gamma, const T* rstd, const T* dy, T* dx,
                      T* dgamma) {
  rms_norm_backward<T>(rows, head_dim, x, gamma, rstd, dy, dx, dgamma);
}

}  // namespace scm::cpu
