// CPU reference kernels of the pointwise family (templated so the tests run them in double).
// Semantics, shapes and formulas: native/core/kernels/pointwise.h. Elementwise work runs in
// parallel chunks; reductions accumulate in double, in a fixed order (deterministic): dbias
// per column chunk over rows in order, mse in fixed blocks whose partials are added in order.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include "../core/error.h"
#include "../core/kernels/pointwise.h"
#include "../core/parallel.h"
#include "../core/philox.h"

namespace scm::cpu {

// ---------------------------------------------------------------- argument checks
// Shared with the CUDA entries (native/cuda/pointwise.cu). Each returns false when there is
// nothing to compute.
namespace pointwise_checks {

inline void ptr(const void* p, const char* op, const char* name) {
  require(p != nullptr, SCM_E_ARGUMENT, op, ": ", name, " is null");
}
inline void count(const char* op, const char* name, int64_t v) {
  require(v >= 0, SCM_E_ARGUMENT, op, ": ", name, "=", v, " < 0");
}
inline void product(const char* op, int64_t a, int64_t b) {
  require(b == 0 || a <= INT64_MAX / b, SCM_E_ARGUMENT, op, ": size product overflows");
}

inline bool bias_act(const char* op, int64_t rows, int64_t cols, int act, const void* x, const void* second,
                     const char* second_name, const void* out, const char* out_name) {
  count(op, "rows", rows), count(op, "cols", cols), product(op, rows, cols);
  require(act == SCM_ACT_IDENTITY || act == SCM_ACT_SILU || act == SCM_ACT_GELU_TANH, SCM_E_ARGUMENT, op,
          ": unknown activation ", act);
  if (rows == 0 || cols == 0) return false;
  ptr(x, op, "x"), ptr(out, op, out_name);
  if (second_name) ptr(second, op, second_name);
  return true;
}
inline bool elementwise(const char* op, int64_t n, std::initializer_list<std::pair<const void*, const char*>> ps) {
  count(op, "n", n);
  if (n == 0) return false;
  for (auto& p : ps) ptr(p.first, op, p.second);
  return true;
}
inline bool time_embed(const char* op, int64_t batch, int64_t dim) {
  count(op, "batch", batch);
  require(dim >= 2 && dim % 2 == 0, SCM_E_ARGUMENT, op, ": dim=", dim, " must be even and >= 2");
  product(op, batch, dim);
  return batch > 0;
}
inline bool patch(const char* op, int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const void* in,
                  const void* out) {
  count(op, "B", B), count(op, "C", C), count(op, "H", H), count(op, "W", W);
  require(p >= 1, SCM_E_ARGUMENT, op, ": patch size ", p, " < 1");
  require(H % p == 0 && W % p == 0, SCM_E_SHAPE, op, ": H=", H, " and W=", W, " must be multiples of p=", p);
  product(op, B, C), product(op, B * C, H), product(op, B * C * H, W);
  if (B * C * H * W == 0) return false;
  ptr(in, op, "input"), ptr(out, op, "output");
  require(in != out, SCM_E_ARGUMENT, op, ": output aliases input");
  return true;
}
inline bool mse(const char* op, int64_t n) {
  require(n >= 1, SCM_E_ARGUMENT, op, ": n=", n, " < 1");
  return true;
}
inline bool sumsq(const char* op, int64_t batch, int64_t dim) {
  count(op, "batch", batch), count(op, "dim", dim), product(op, batch, dim);
  return batch > 0;
}
inline bool dropout(const char* op, int64_t n, double p) {
  count(op, "n", n);
  require(p >= 0 && p < 1, SCM_E_ARGUMENT, op, ": p=", p, " must be in [0, 1)");
  return n > 0;
}

}  // namespace pointwise_checks

namespace pointwise_detail {

constexpr size_t kGrain = 16384;

inline void for_chunks(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  parallel_for(static_cast<size_t>(n), kGrain, [&](size_t b, size_t e) { fn(int64_t(b), int64_t(e)); });
}

// act(z) and act'(z) in double.
inline double act_value(int act, double z) {
  switch (act) {
    case SCM_ACT_SILU: return z / (1.0 + std::exp(-z));
    case SCM_ACT_GELU_TANH: {
      const double k = 0.7978845608028654;  // sqrt(2/pi)
      return 0.5 * z * (1.0 + std::tanh(k * (z + 0.044715 * z * z * z)));
    }
    default: return z;
  }
}
inline double act_deriv(int act, double z) {
  switch (act) {
    case SCM_ACT_SILU: {
      const double s = 1.0 / (1.0 + std::exp(-z));
      return s * (1.0 + z * (1.0 - s));
    }
    case SCM_ACT_GELU_TANH: {
      const double k = 0.7978845608028654;
      const double th = std::tanh(k * (z + 0.044715 * z * z * z));
      return 0.5 * (1.0 + th) + 0.5 * z * (1.0 - th * th) * k * (1.0 + 3.0 * 0.044715 * z * z);
    }
    default: return 1.0;
  }
}

// Frequency i of the time embedding with `half` frequencies (header: 1 down to 1e-4 inclusive).
inline double time_freq(int64_t i, int64_t half) {
  return half <= 1 ? 1.0 : std::exp(-std::log(10000.0) * static_cast<double>(i) / static_cast<double>(half - 1));
}

// Flat index mapping of patchify: calls fn(image_index, token_index) for every element of
// batch b (both indices absolute).
template <class Fn>
void patch_map(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, Fn&& fn) {
  const int64_t gw = W / p, T = (H / p) * gw, P = C * p * p;
  parallel_for(static_cast<size_t>(B * C * H), std::max<size_t>(1, kGrain / std::max<int64_t>(1, W)),
               [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {  // r = (b*C + c)*H + y: one image row
      const int64_t y = int64_t(r) % H, bc = int64_t(r) / H, c = bc % C, b = bc / C;
      const int64_t gy = y / p, i = y % p;
      for (int64_t x = 0; x < W; ++x) {
        const int64_t gx = x / p, j = x % p;
        fn(int64_t(r) * W + x, (b * T + gy * gw + gx) * P + (c * p + i) * p + j);
      }
    }
  });
}

// dbias[c] += sum_r dx[r, c], in double, per column chunk over the rows in order
// (deterministic; shared by the reference and the float fast path, pointwise_fast.cpp).
template <class T>
void bias_column_sums(int64_t rows, int64_t cols, const T* dx, T* dbias) {
  constexpr int64_t kChunk = 64;
  const int64_t chunks = (cols + kChunk - 1) / kChunk;
  parallel_for(static_cast<size_t>(chunks), std::max<size_t>(1, 16384 / std::max<int64_t>(1, rows * kChunk)),
               [&](size_t begin, size_t end) {
    for (size_t ch = begin; ch < end; ++ch) {
      const int64_t c0 = int64_t(ch) * kChunk, w = std::min(kChunk, cols - c0);
      double acc[kChunk] = {};
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < w; ++j) acc[j] += static_cast<double>(dx[r * cols + c0 + j]);
      for (int64_t j = 0; j < w; ++j) dbias[c0 + j] = static_cast<T>(dbias[c0 + j] + acc[j]);
    }
  });
}

inline float dropout_scale(float p) { return 1.0f / (1.0f - p); }
// f(k, keep) for k in [s, e), in order, keep = philox::uniform_at(seed, offset + k) >= p, with
// one Philox block per 4 consecutive indices (uniform_at computes the whole block for each of
// its 4 elements).
template <class F>
inline void for_each_keep(uint64_t seed, uint64_t offset, int64_t s, int64_t e, float p, F&& f) {
  for (int64_t k = s; k < e;) {
    const uint64_t index = offset + static_cast<uint64_t>(k);
    const philox::Block b = philox::block_at(seed, index >> 2);
    for (unsigned w = static_cast<unsigned>(index & 3u); w < 4u && k < e; ++w, ++k) f(k, philox::to_uniform(b.v[w]) >= p);
  }
}

}  // namespace pointwise_detail

// ---------------------------------------------------------------- 1. bias + activation
template <class T>
void bias_act_forward(int64_t rows, int64_t cols, int act, const T* x, const T* bias, T* y) {
  pointwise_detail::for_chunks(rows * cols, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const double z = static_cast<double>(x[k]) + (bias ? static_cast<double>(bias[k % cols]) : 0.0);
      y[k] = static_cast<T>(pointwise_detail::act_value(act, z));
    }
  });
}

template <class T>
void bias_act_dual(int64_t rows, int64_t cols, int act, const T* x, const T* tx, const T* bias, T* y, T* ty) {
  pointwise_detail::for_chunks(rows * cols, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const double z = static_cast<double>(x[k]) + (bias ? static_cast<double>(bias[k % cols]) : 0.0);
      const double t = tx[k];
      y[k] = static_cast<T>(pointwise_detail::act_value(act, z));
      ty[k] = static_cast<T>(pointwise_detail::act_deriv(act, z) * t);
    }
  });
}

// dx = act'(z) dy; then dbias[c] += sum_r dx[r, c] (read back from dx, so dx may alias dy).
template <class T>
void bias_act_backward(int64_t rows, int64_t cols, int act, const T* x, const T* bias, const T* dy, T* dx,
                       T* dbias) {
  pointwise_detail::for_chunks(rows * cols, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const double z = static_cast<double>(x[k]) + (bias ? static_cast<double>(bias[k % cols]) : 0.0);
      dx[k] = static_cast<T>(pointwise_detail::act_deriv(act, z) * static_cast<double>(dy[k]));
    }
  });
  if (dbias) pointwise_detail::bias_column_sums<T>(rows, cols, dx, dbias);
}

// ---------------------------------------------------------------- 2. residual add
template <class T>
void add_forward(int64_t n, const T* a, const T* b, T* y) {
  pointwise_detail::for_chunks(n, [&](int64_t s, int64_t e) {
    for (int64_t k = s; k < e; ++k) y[k] = a[k] + b[k];
  });
}
template <class T>
void add_dual(int64_t n, const T* a, const T* ta, const T* b, const T* tb, T* y, T* ty) {
  pointwise_detail::for_chunks(n, [&](int64_t s, int64_t e) {
    for (int64_t k = s; k < e; ++k) {
      y[k] = a[k] + b[k];
      ty[k] = (ta ? ta[k] : T(0)) + (tb ? tb[k] : T(0));
    }
  });
}
template <class T>
void add_backward(int64_t n, const T* dy, T* da, T* db) {
  pointwise_detail::for_chunks(n, [&](int64_t s, int64_t e) {
    for (int64_t k = s; k < e; ++k) {
      const T g = dy[k];
      if (da) da[k] = g;
      if (db) db[k] = g;
    }
  });
}

// ---------------------------------------------------------------- 3. time embedding
// emb and temb nullable (each written when given).
template <class T>
void time_embed_dual(int64_t batch, int64_t dim, const T* t, const T* tt, T* emb, T* temb) {
  const int64_t half = dim / 2;
  parallel_for(static_cast<size_t>(batch), std::max<size_t>(1, 4096 / dim), [&](size_t begin, size_t end) {
    for (size_t b = begin; b < end; ++b) {
      const double tb = t[b], tdot = tt ? static_cast<double>(tt[b]) : 0.0;
      for (int64_t i = 0; i < half; ++i) {
        const double f = pointwise_detail::time_freq(i, half), c = std::cos(tb * f), s = std::sin(tb * f);
        if (emb) {
          emb[b * dim + i] = static_cast<T>(c);
          emb[b * dim + half + i] = static_cast<T>(s);
        }
        if (temb) {
          temb[b * dim + i] = static_cast<T>(-s * f * tdot);
          temb[b * dim + half + i] = static_cast<T>(c * f * tdot);
        }
      }
    }
  });
}
template <class T>
void time_embed_forward(int64_t batch, int64_t dim, const T* t, T* emb) {
  time_embed_dual<T>(batch, dim, t, nullptr, emb, nullptr);
}
template <class T>
void time_embed_backward(int64_t batch, int64_t dim, const T* t, const T* demb, T* dt) {
  const int64_t half = dim / 2;
  parallel_for(static_cast<size_t>(batch), std::max<size_t>(1, 4096 / dim), [&](size_t begin, size_t end) {
    for (size_t b = begin; b < end; ++b) {
      const double tb = t[b];
      double acc = 0;
      for (int64_t i = 0; i < half; ++i) {
        const double f = pointwise_detail::time_freq(i, half);
        acc += f * (static_cast<double>(demb[b * dim + half + i]) * std::cos(tb * f) -
                    static_cast<double>(demb[b * dim + i]) * std::sin(tb * f));
      }
      dt[b] = static_cast<T>(acc);
    }
  });
}

// ---------------------------------------------------------------- 4. patchify / unpatchify
template <class T>
void patchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const T* images, T* tokens) {
  pointwise_detail::patch_map(B, C, H, W, p, [&](int64_t im, int64_t tok) { tokens[tok] = images[im]; });
}
template <class T>
void unpatchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const T* tokens, T* images) {
  pointwise_detail::patch_map(B, C, H, W, p, [&](int64_t im, int64_t tok) { images[im] = tokens[tok]; });
}

// ---------------------------------------------------------------- 5. reductions
// Sum over i < n of fn(i) in double: fixed blocks of kGrain summed in parallel, partials added
// in order (the result does not depend on the thread count).
template <class Fn>
double ordered_sum(int64_t n, Fn&& fn) {
  const int64_t blocks = (n + int64_t(pointwise_detail::kGrain) - 1) / int64_t(pointwise_detail::kGrain);
  std::vector<double> part(static_cast<size_t>(blocks), 0.0);
  parallel_for(static_cast<size_t>(blocks), 1, [&](size_t begin, size_t end) {
    for (size_t blk = begin; blk < end; ++blk) {
      const int64_t s = int64_t(blk) * int64_t(pointwise_detail::kGrain);
      const int64_t e = std::min<int64_t>(n, s + int64_t(pointwise_detail::kGrain));
      double acc = 0;
      for (int64_t k = s; k < e; ++k) acc += fn(k);
      part[blk] = acc;
    }
  });
  double total = 0;
  for (double v : part) total += v;
  return total;
}

template <class T>
void mse_forward(int64_t n, const T* a, const T* b, T* out) {
  const double s = ordered_sum(n, [&](int64_t k) {
    const double d = static_cast<double>(a[k]) - (b ? static_cast<double>(b[k]) : 0.0);
    return d * d;
  });
  out[0] = static_cast<T>(s / static_cast<double>(n));
}
template <class T>
void mse_dual(int64_t n, const T* a, const T* ta, const T* b, const T* tb, T* out, T* tout) {
  if (out) mse_forward<T>(n, a, b, out);
  const double s = ordered_sum(n, [&](int64_t k) {
    const double d = static_cast<double>(a[k]) - (b ? static_cast<double>(b[k]) : 0.0);
    const double td = (ta ? static_cast<double>(ta[k]) : 0.0) - (tb ? static_cast<double>(tb[k]) : 0.0);
    return d * td;
  });
  tout[0] = static_cast<T>(2.0 * s / static_cast<double>(n));
}
template <class T>
void mse_backward(int64_t n, const T* a, const T* b, double dout, T* da, T* db) {
  const double scale = 2.0 * dout / static_cast<double>(n);
  pointwise_detail::for_chunks(n, [&](int64_t s, int64_t e) {
    for (int64_t k = s; k < e; ++k) {
      const double g = scale * (static_cast<double>(a[k]) - (b ? static_cast<double>(b[k]) : 0.0));
      if (da) da[k] = static_cast<T>(g);
      if (db) db[k] = static_cast<T>(-g);
    }
  });
}

// out, tout nullable (each written when given).
template <class T>
void sumsq_dual(int64_t batch, int64_t dim, const T* x, const T* tx, T* out, T* tout) {
  parallel_for(static_cast<size_t>(batch), std::max<size_t>(1, pointwise_detail::kGrain / std::max<int64_t>(1, dim)),
               [&](size_t begin, size_t end) {
    for (size_t b = begin; b < end; ++b) {
      const T* xr = x + b * dim;
      double s = 0, ts = 0;
      for (int64_t j = 0; j < dim; ++j) {
        s += static_cast<double>(xr[j]) * xr[j];
        if (tx) ts += static_cast<double>(xr[j]) * tx[b * dim + j];
      }
      if (out) out[b] = static_cast<T>(s);
      if (tout) tout[b] = static_cast<T>(2.0 * ts);
    }
  });
}
template <class T>
void sumsq_forward(int64_t batch, int64_t dim, const T* x, T* out) {
  sumsq_dual<T>(batch, dim, x, nullptr, out, nullptr);
}
template <class T>
void sumsq_backward(int64_t batch, int64_t dim, const T* x, const T* dout, T* dx) {
  pointwise_detail::for_chunks(batch * dim, [&](int64_t s, int64_t e) {
    for (int64_t k = s; k < e; ++k) dx[k] = static_cast<T>(2.0 * static_cast<double>(dout[k / dim]) * x[k]);
  });
}

// ---------------------------------------------------------------- 6. dropout
// y = x * m / (1 - p) with the mask of the stream (seed, offset); the float scale (header).
template <class T>
void dropout_apply(int64_t n, float p, uint64_t seed, uint64_t offset, const T* x, T* y) {
  const T scale = static_cast<T>(pointwise_detail::dropout_scale(p));
  pointwise_detail::for_chunks(n, [&](int64_t s, int64_t e) {
    pointwise_detail::for_each_keep(seed, offset, s, e, p, [&](int64_t k, bool keep) { y[k] = keep ? x[k] * scale : T(0); });
  });
}
template <class T>
void dropout_forward(int64_t n, float p, uint64_t seed, uint64_t offset, const T* x, T* y) {
  dropout_apply<T>(n, p, seed, offset, x, y);
}
template <class T>
void dropout_dual(int64_t n, float p, uint64_t seed, uint64_t offset, const T* x, const T* tx, T* y, T* ty) {
  const T scale = static_cast<T>(pointwise_detail::dropout_scale(p));
  pointwise_detail::for_chunks(n, [&](int64_t s, int64_t e) {
    pointwise_detail::for_each_keep(seed, offset, s, e, p, [&](int64_t k, bool keep) {
      const T xv = x[k], tv = tx[k];
      y[k] = keep ? xv * scale : T(0);
      ty[k] = keep ? tv * scale : T(0);
    });
  });
}
template <class T>
void dropout_backward(int64_t n, float p, uint64_t seed, uint64_t offset, const T* dy, T* dx) {
  dropout_apply<T>(n, p, seed, offset, dy, dx);
}

}  // namespace scm::cpu
