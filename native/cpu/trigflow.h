// CPU reference kernels of the trigflow family (templated so the tests run them in double).
// Semantics, shapes and formulas: native/core/kernels/trigflow.h. Per-sample coefficients
// (cos, sin of the times) and the tangent norms are computed in double; samples run in
// parallel (elementwise entries split large samples too).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include "../core/error.h"
#include "../core/kernels/trigflow.h"
#include "../core/parallel.h"
#include "../core/philox.h"

namespace scm::cpu {

// ---------------------------------------------------------------- argument checks
// Shared with the CUDA entries (native/cuda/trigflow.cu).
inline void validate_trigflow(const char* op, int64_t batch, int64_t per_sample) {
  require(batch >= 0, SCM_E_ARGUMENT, op, ": batch=", batch, " < 0");
  require(per_sample >= 1, SCM_E_ARGUMENT, op, ": per_sample=", per_sample, " < 1");
  require(batch <= INT64_MAX / per_sample, SCM_E_ARGUMENT, op, ": batch*per_sample overflows");
}
inline void validate_sd(const char* op, double sd) {
  require(std::isfinite(sd) && sd > 0, SCM_E_ARGUMENT, op, ": sd=", sd, " must be finite and > 0");
}
inline void require_trigflow_ptr(bool ok, const char* op, const char* name) {
  require(ok, SCM_E_ARGUMENT, op, ": ", name, " is null");
}
inline void validate_tangent_normalize(int64_t batch, int64_t per_sample, int mode, double c, const void* g,
                                       const void* out) {
  const char* op = "tangent_normalize";
  validate_trigflow(op, batch, per_sample);
  require(mode == SCM_TANGENT_NORMALIZE || mode == SCM_TANGENT_CLIP, SCM_E_ARGUMENT, op, ": unknown mode ", mode);
  require(mode == SCM_TANGENT_CLIP || (std::isfinite(c) && c >= 0), SCM_E_ARGUMENT, op, ": c=", c,
          " must be finite and >= 0");
  if (batch > 0) {
    require_trigflow_ptr(g != nullptr, op, "g");
    require_trigflow_ptr(out != nullptr, op, "out");
  }
}
inline void validate_consistency_step(int64_t batch, int64_t per_sample, double sd, const void* t, const void* x,
                                      const void* F, const void* x0, const void* t_next, const void* x_next) {
  const char* op = "consistency_step";
  validate_trigflow(op, batch, per_sample);
  validate_sd(op, sd);
  require((t_next == nullptr) == (x_next == nullptr), SCM_E_ARGUMENT, op,
          ": t_next and x_next must be given together (re-noising) or both be null");
  require(x0 != nullptr || x_next != nullptr, SCM_E_ARGUMENT, op, ": neither x0 nor x_next is wanted");
  if (batch > 0) {
    require_trigflow_ptr(t != nullptr, op, "t");
    require_trigflow_ptr(x != nullptr, op, "x");
    require_trigflow_ptr(F != nullptr, op, "F");
  }
}
inline void validate_euler(const char* op, int64_t batch, int64_t per_sample, double sd, const void* s,
                           const void* t, const void* x_s, const void* F_s, const void* F_t, bool need_F_t,
                           const void* x_t) {
  validate_trigflow(op, batch, per_sample);
  validate_sd(op, sd);
  if (batch > 0) {
    require_trigflow_ptr(s != nullptr, op, "s");
    require_trigflow_ptr(t != nullptr, op, "t");
    require_trigflow_ptr(x_s != nullptr, op, "x_s");
    require_trigflow_ptr(F_s != nullptr, op, "F_s");
    if (need_F_t) require_trigflow_ptr(F_t != nullptr, op, "F_t");
    require_trigflow_ptr(x_t != nullptr, op, "x_t");
  }
}

namespace trigflow_detail {

// Runs fn(b, begin, end) over element ranges [begin, end) of sample b, in parallel over
// (sample, chunk) pairs so that a small batch of large samples still uses every thread.
template <class Fn>
void for_each_sample_chunk(int64_t batch, int64_t per_sample, Fn&& fn) {
  constexpr int64_t kChunk = 16384;
  const int64_t chunks = (per_sample + kChunk - 1) / kChunk;
  parallel_for(static_cast<size_t>(batch * chunks),
               static_cast<size_t>(std::max<int64_t>(1, kChunk / per_sample)), [&](size_t begin, size_t end) {
    for (size_t w = begin; w < end; ++w) {
      const int64_t b = static_cast<int64_t>(w) / chunks, ch = static_cast<int64_t>(w) % chunks;
      const int64_t lo = ch * kChunk, hi = std::min(per_sample, lo + kChunk);
      fn(b, lo, hi);
    }
  });
}

}  // namespace trigflow_detail

// ---------------------------------------------------------------- tangent normalization
template <class T>
void tangent_normalize(int64_t batch, int64_t per_sample, int mode, double c, const T* g, T* out, T* norms) {
  validate_tangent_normalize(batch, per_sample, mode, c, g, out);
  parallel_for(static_cast<size_t>(batch), static_cast<size_t>(std::max<int64_t>(1, 16384 / per_sample)),
               [&](size_t begin, size_t end) {
    for (size_t b = begin; b < end; ++b) {
      const T* gb = g + static_cast<int64_t>(b) * per_sample;
      T* ob = out + static_cast<int64_t>(b) * per_sample;
      double ss = 0;
      if (mode == SCM_TANGENT_NORMALIZE || norms) {
        for (int64_t i = 0; i < per_sample; ++i) ss += static_cast<double>(gb[i]) * gb[i];
      }
      const double norm = std::sqrt(ss);
      if (norms) norms[b] = static_cast<T>(norm);
      if (mode == SCM_TANGENT_NORMALIZE) {
        const double scale = 1.0 / (norm + c);
        for (int64_t i = 0; i < per_sample; ++i) ob[i] = static_cast<T>(gb[i] * scale);
      } else {
        // NaN stays NaN (std::min/max would turn it into a bound and hide a non-finite tangent).
        for (int64_t i = 0; i < per_sample; ++i) ob[i] = gb[i] > T(1) ? T(1) : (gb[i] < T(-1) ? T(-1) : gb[i]);
      }
    }
  });
}

// ---------------------------------------------------------------- consistency function (+ re-noise)
template <class T>
void consistency_step(int64_t batch, int64_t per_sample, double sd, const T* t, const T* x, const T* F, T* x0,
                      const T* t_next, uint64_t seed, uint64_t offset, T* x_next) {
  validate_consistency_step(batch, per_sample, sd, t, x, F, x0, t_next, x_next);
  trigflow_detail::for_each_sample_chunk(batch, per_sample, [&](int64_t b, int64_t lo, int64_t hi) {
    const double tb = t[b], ct = std::cos(tb), sts = std::sin(tb) * sd;
    double cn = 0, sns = 0;
    if (t_next) {
      const double tn = t_next[b];
      cn = std::cos(tn);
      sns = std::sin(tn) * sd;
    }
    const int64_t base = b * per_sample;
    for (int64_t i = base + lo; i < base + hi; ++i) {
      const double d = ct * static_cast<double>(x[i]) - sts * static_cast<double>(F[i]);
      if (x0) x0[i] = static_cast<T>(d);
      if (x_next) {
        const double z = philox::normal_at(seed, offset + static_cast<uint64_t>(i));
        x_next[i] = static_cast<T>(cn * d + sns * z);
      }
    }
  });
}

// ---------------------------------------------------------------- DDIM / Heun steps
template <class T>
void euler_step(int64_t batch, int64_t per_sample, double sd, const T* s, const T* t, const T* x_s, const T* F_s,
                T* x_t) {
  validate_euler("euler_step", batch, per_sample, sd, s, t, x_s, F_s, nullptr, false, x_t);
  trigflow_detail::for_each_sample_chunk(batch, per_sample, [&](int64_t b, int64_t lo, int64_t hi) {
    const double h = static_cast<double>(s[b]) - static_cast<double>(t[b]);
    const double ch = std::cos(h), shs = std::sin(h) * sd;
    const int64_t base = b * per_sample;
    for (int64_t i = base + lo; i < base + hi; ++i)
      x_t[i] = static_cast<T>(ch * static_cast<double>(x_s[i]) - shs * static_cast<double>(F_s[i]));
  });
}

// EDM's Heun in TrigFlow form (formula and arguments: core/kernels/trigflow.h).
template <class T>
void heun_correct(int64_t batch, int64_t per_sample, double sd, const T* s, const T* t, const T* x_s, const T* F_s,
                  const T* x_eul, const T* F_t, T* x_t) {
  validate_euler("heun_correct", batch, per_sample, sd, s, t, x_s, F_s, F_t, true, x_t);
  if (batch > 0) require_trigflow_ptr(x_eul != nullptr, "heun_correct", "x_eul");
  trigflow_detail::for_each_sample_chunk(batch, per_sample, [&](int64_t b, int64_t lo, int64_t hi) {
    const double sb = s[b], tb = t[b];
    const double cs = std::cos(sb), ss = std::sin(sb), ct = std::cos(tb), st = std::sin(tb);
    const double a = ct / cs, k = 0.5 * std::sin(sb - tb) / cs;
    const int64_t base = b * per_sample;
    for (int64_t i = base + lo; i < base + hi; ++i) {
      const double zs = ss * static_cast<double>(x_s[i]) + cs * sd * static_cast<double>(F_s[i]);
      const double zt = st * static_cast<double>(x_eul[i]) + ct * sd * static_cast<double>(F_t[i]);
      x_t[i] = static_cast<T>(a * static_cast<double>(x_s[i]) - k * (zs + zt));
    }
  });
}

}  // namespace scm::cpu
