// The CUDA backend's norm family (semantics: native/core/kernels/norm.h; CPU reference and
// the derivative formulas: native/cpu/norm.h). fp32 throughout, fp32 accumulation.
//
// Row kernels: one warp per row (8 rows per 256-thread block, grid-stride over rows), warp
// shuffles for the row reductions, any cols. Rows of up to 1024 columns are held in registers
// (VPT values per lane), so x (and tx / dy) are read from memory once and y (ty / dx) written
// once; longer rows re-read their values from L1/L2 for the second pass.
//
// Reductions over rows (dgamma/dbeta, and ADN's per-sample sums over tokens) are deterministic:
// a column-tiled kernel writes per-split partial sums into a stream-ordered workspace and a
// second kernel adds the splits in a fixed order.
#include <algorithm>
#include "cuda_common.cuh"
#include "reduce.cuh"
#include "../cpu/norm.h"

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kRowThreads = 32 * kWarpsPerBlock;

using scm::cuda::block_sum;
using scm::cuda::warp_sum;

// Row values cached in registers (VPT > 0: lane holds columns lane + 32k, k < VPT) or re-read
// from memory (VPT == 0).
template <int VPT>
struct Row {
  float v[VPT > 0 ? VPT : 1];
  __device__ __forceinline__ void load(const float* p, int cols, int lane) {
    if constexpr (VPT > 0) {
#pragma unroll
      for (int k = 0; k < VPT; ++k) {
        const int c = lane + 32 * k;
        v[k] = c < cols ? p[c] : 0.f;
      }
    }
  }
  __device__ __forceinline__ float at(const float* p, int k, int c) const {
    if constexpr (VPT > 0) return v[k];
    else return p[c];
  }
};

// Loop over the columns of a row owned by this lane: k the register slot, c the column.
#define SCM_ROW_LOOP(k, c) \
  _Pragma("unroll") for (int k = 0, c = lane; VPT > 0 ? k < VPT : c < cols; ++k, c += 32) if (c < cols)

// Statistics of one row of a layer norm (CENTER) or RMS norm, and for the dual pass of its
// tangent: mu = mean x (0 for RMS), rs = 1 / sqrt(mean (x - mu)^2 + eps), tmu = mean tx
// (CENTER only, else 0) and m2 = mean((x - mu) rs (tx - tmu)) (DUAL only, else 0).
struct RowStats {
  float mu, rs, tmu, m2;
};

template <int VPT, bool CENTER, bool DUAL>
__device__ __forceinline__ RowStats row_stats(const Row<VPT>& xv, const float* xr, const Row<VPT>& tv, const float* tr,
                                              int cols, int lane, float inv_n, float eps) {
  RowStats st{0.f, 0.f, 0.f, 0.f};
  if constexpr (CENTER) {
    float s = 0.f;
    SCM_ROW_LOOP(k, c) s += xv.at(xr, k, c);
    st.mu = warp_sum(s) * inv_n;
  }
  float q = 0.f;
  SCM_ROW_LOOP(k, c) {
    const float d = xv.at(xr, k, c) - st.mu;
    q += d * d;
  }
  st.rs = rsqrtf(warp_sum(q) * inv_n + eps);
  if constexpr (DUAL) {
    if constexpr (CENTER) {
      float s = 0.f;
      SCM_ROW_LOOP(k, c) s += tv.at(tr, k, c);
      st.tmu = warp_sum(s) * inv_n;
    }
    float s = 0.f;
    SCM_ROW_LOOP(k, c) s += (xv.at(xr, k, c) - st.mu) * st.rs * (tv.at(tr, k, c) - st.tmu);
    st.m2 = warp_sum(s) * inv_n;
  }
  return st;
}

// Calls body with a compile-time VPT suited to cols.
#define SCM_NORM_DISPATCH(cols, ...)                  \
  do {                                                \
    if ((cols) <= 128) {                              \
      constexpr int VPT = 4;                          \
      __VA_ARGS__;                                    \
    } else if ((cols) <= 256) {                       \
      constexpr int VPT = 8;                          \
      __VA_ARGS__;                                    \
    } else if ((cols) <= 1024) {                      \
      constexpr int VPT = 32;                         \
      __VA_ARGS__;                                    \
    } else {                                          \
      constexpr int VPT = 0;                          \
      __VA_ARGS__;                                    \
    }                                                 \
  } while (0)

unsigned row_blocks(int64_t rows) {
  const int64_t b = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(b, 1), 65535ll * 32));
}

// ---------------------------------------------------------------- layer / RMS norm rows
// CENTER: layer norm (else RMS). DUAL: also ty. gamma, beta, mean, rstd nullable.
template <int VPT, bool CENTER, bool DUAL>
__global__ void __launch_bounds__(kRowThreads) rows_forward_kernel(
    int64_t rows, int cols, float eps, const float* __restrict__ x, const float* __restrict__ tx,
    const float* __restrict__ gamma, const float* __restrict__ beta, float* __restrict__ y, float* __restrict__ ty,
    float* __restrict__ mean, float* __restrict__ rstd) {
  const int lane = threadIdx.x & 31;
  const int64_t first = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5;
  const int64_t stride = (int64_t(gridDim.x) * blockDim.x) >> 5;
  const float inv_n = 1.f / cols;
  for (int64_t r = first; r < rows; r += stride) {
    const float* xr = x + r * cols;
    const float* tr = DUAL ? tx + r * cols : nullptr;
    Row<VPT> xv, tv;
    xv.load(xr, cols, lane);
    if constexpr (DUAL) tv.load(tr, cols, lane);
    const RowStats st = row_stats<VPT, CENTER, DUAL>(xv, xr, tv, tr, cols, lane, inv_n, eps);
    const float mu = st.mu, rs = st.rs, tmu = st.tmu, m2 = st.m2;
    float* yr = y + r * cols;
    SCM_ROW_LOOP(k, c) {
      const float xh = (xv.at(xr, k, c) - mu) * rs;
      const float g = gamma ? gamma[c] : 1.f;
      yr[c] = xh * g + (beta ? beta[c] : 0.f);
      if constexpr (DUAL) ty[r * cols + c] = rs * ((tv.at(tr, k, c) - tmu) - xh * m2) * g;
    }
    if (lane == 0) {
      if (mean) mean[r] = mu;
      if (rstd) rstd[r] = rs;
    }
  }
}

// dx = r * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma_row * scale (RMS: no mean(g)).
// The gamma row of row r is gamma + (r / group_rows) * gamma_stride, scaled by
// gamma_scale[r / group_rows] when given (ADN: gamma = s * s_rstd per sample); gamma nullable.
template <int VPT, bool CENTER>
__global__ void __launch_bounds__(kRowThreads) rows_backward_kernel(
    int64_t rows, int cols, const float* __restrict__ x, const float* __restrict__ gamma, int64_t gamma_stride,
    int64_t group_rows, const float* __restrict__ gamma_scale, const float* __restrict__ mean,
    const float* __restrict__ rstd, const float* __restrict__ dy, float* __restrict__ dx) {
  const int lane = threadIdx.x & 31;
  const int64_t first = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5;
  const int64_t stride = (int64_t(gridDim.x) * blockDim.x) >> 5;
  const float inv_n = 1.f / cols;
  for (int64_t r = first; r < rows; r += stride) {
    const float* xr = x + r * cols;
    const float* dr = dy + r * cols;
    const int64_t group = r / group_rows;
    const float* gr = gamma ? gamma + group * gamma_stride : nullptr;
    const float scale = gamma_scale ? gamma_scale[group] : 1.f;
    const float mu = CENTER ? mean[r] : 0.f, rs = rstd[r];
    Row<VPT> xv, gv;
    xv.load(xr, cols, lane);
    if constexpr (VPT > 0) {
#pragma unroll
      for (int k = 0; k < VPT; ++k) {
        const int c = lane + 32 * k;
        gv.v[k] = c < cols ? dr[c] * (gr ? gr[c] * scale : 1.f) : 0.f;
      }
    }
    auto g_at = [&](int k, int c) -> float {
      if constexpr (VPT > 0) return gv.v[k];
      else return dr[c] * (gr ? gr[c] * scale : 1.f);
    };
    float a = 0.f, m = 0.f;
    SCM_ROW_LOOP(k, c) {
      const float g = g_at(k, c);
      a += g;
      m += g * (xv.at(xr, k, c) - mu) * rs;
    }
    a = CENTER ? warp_sum(a) * inv_n : 0.f;
    m = warp_sum(m) * inv_n;
    float* out = dx + r * cols;
    SCM_ROW_LOOP(k, c) out[c] = rs * (g_at(k, c) - a - (xv.at(xr, k, c) - mu) * rs * m);
  }
}

// ---------------------------------------------------------------- ADN rows
// y = xhat * s_i * rs_i + b_i * rb_i for row r of sample i = r / tokens. Each row's warp also
// computes rs_i, rb_i (s and b are small and cached); the sample's first row saves them.
template <int VPT, bool DUAL>
__global__ void __launch_bounds__(kRowThreads) adn_forward_kernel(
    int64_t rows, int64_t tokens, int cols, float eps, float pnorm_eps, const float* __restrict__ x,
    const float* __restrict__ tx, const float* __restrict__ s, const float* __restrict__ ts,
    const float* __restrict__ b, const float* __restrict__ tb, float* __restrict__ y, float* __restrict__ ty,
    float* __restrict__ mean, float* __restrict__ rstd, float* __restrict__ s_rstd, float* __restrict__ b_rstd) {
  const int lane = threadIdx.x & 31;
  const int64_t first = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5;
  const int64_t stride = (int64_t(gridDim.x) * blockDim.x) >> 5;
  const float inv_n = 1.f / cols;
  for (int64_t r = first; r < rows; r += stride) {
    const int64_t i = r / tokens;
    const float* si = s + i * cols;
    const float* bi = b + i * cols;
    float qs = 0.f, qb = 0.f;
    for (int c = lane; c < cols; c += 32) {
      qs += si[c] * si[c];
      qb += bi[c] * bi[c];
    }
    const float rsi = rsqrtf(warp_sum(qs) * inv_n + pnorm_eps), rbi = rsqrtf(warp_sum(qb) * inv_n + pnorm_eps);
    float ms = 0.f, mb = 0.f;  // mean(ps * ts), mean(pb * tb)
    if constexpr (DUAL) {
      for (int c = lane; c < cols; c += 32) {
        if (ts) ms += si[c] * rsi * ts[i * cols + c];
        if (tb) mb += bi[c] * rbi * tb[i * cols + c];
      }
      ms = warp_sum(ms) * inv_n;
      mb = warp_sum(mb) * inv_n;
    }
    const float* xr = x + r * cols;
    const float* tr = DUAL ? tx + r * cols : nullptr;
    Row<VPT> xv, tv;
    xv.load(xr, cols, lane);
    if constexpr (DUAL) tv.load(tr, cols, lane);
    const RowStats st = row_stats<VPT, true, DUAL>(xv, xr, tv, tr, cols, lane, inv_n, eps);
    const float mu = st.mu, rr = st.rs, tmu = st.tmu, m2 = st.m2;
    SCM_ROW_LOOP(k, c) {
      const float xh = (xv.at(xr, k, c) - mu) * rr, ps = si[c] * rsi, pb = bi[c] * rbi;
      y[r * cols + c] = xh * ps + pb;
      if constexpr (DUAL) {
        const float txh = rr * ((tv.at(tr, k, c) - tmu) - xh * m2);
        const float tps = rsi * ((ts ? ts[i * cols + c] : 0.f) - ps * ms);
        const float tpb = rbi * ((tb ? tb[i * cols + c] : 0.f) - pb * mb);
        ty[r * cols + c] = txh * ps + xh * tps + tpb;
      }
    }
    if (lane == 0) {
      if (mean) mean[r] = mu;
      if (rstd) rstd[r] = rr;
      if (r % tokens == 0) {
        if (s_rstd) s_rstd[i] = rsi;
        if (b_rstd) b_rstd[i] = rbi;
      }
    }
  }
}

// ---------------------------------------------------------------- column reductions
// Block (blockIdx.x = g * col_blocks + column block, blockIdx.y = split sp) sums the rows
// [sp*chunk, (sp+1)*chunk) of group g's R rows: part_a[(g*splits + sp)*C + c] = sum dy * xhat,
// part_b[...] = sum dy (nullable); xhat = (x - mean) * rstd (mean nullable: RMS).
// Block 32 x 8: 32 consecutive columns (coalesced) x 8 rows at a time.
__global__ void __launch_bounds__(256) colsum_kernel(int64_t R, int C, int64_t chunk, const float* __restrict__ x,
                                                     const float* __restrict__ mean, const float* __restrict__ rstd,
                                                     const float* __restrict__ dy, float* __restrict__ part_a,
                                                     float* __restrict__ part_b) {
  __shared__ float sa[8][33], sb[8][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int col_blocks = (C + 31) / 32;
  const int c = (blockIdx.x % col_blocks) * 32 + tx;
  const int64_t g = blockIdx.x / col_blocks, sp = blockIdx.y, splits = gridDim.y;
  const int64_t r0 = sp * chunk, r1 = std::min<int64_t>(R, r0 + chunk);
  float a = 0.f, bsum = 0.f;
  if (c < C) {
    for (int64_t r = r0 + ty; r < r1; r += 8) {
      const int64_t row = g * R + r;
      const float d = dy[row * C + c];
      a += d * (x[row * C + c] - (mean ? mean[row] : 0.f)) * rstd[row];
      bsum += d;
    }
  }
  sa[ty][tx] = a;
  sb[ty][tx] = bsum;
  __syncthreads();
  if (ty == 0 && c < C) {
    float ta = 0.f, tb = 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      ta += sa[j][tx];
      tb += sb[j][tx];
    }
    part_a[(g * splits + sp) * C + c] = ta;
    if (part_b) part_b[(g * splits + sp) * C + c] = tb;
  }
}

// dgamma[c] += sum_sp part_a[sp*C + c], dbeta[c] += sum_sp part_b[sp*C + c] (each nullable).
__global__ void param_finish_kernel(int C, int splits, const float* __restrict__ part_a,
                                    const float* __restrict__ part_b, float* __restrict__ dgamma,
                                    float* __restrict__ dbeta) {
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
    float a = 0.f, b = 0.f;
    for (int sp = 0; sp < splits; ++sp) {
      a += part_a[int64_t(sp) * C + c];
      if (part_b) b += part_b[int64_t(sp) * C + c];
    }
    if (dgamma) dgamma[c] += a;
    if (dbeta) dbeta[c] += b;
  }
}

// One block per sample i: gs, gb = sums of the splits; d a = ra * (g - pa * mean(g * pa)).
__global__ void adn_finish_kernel(int C, int splits, const float* __restrict__ part_a,
                                  const float* __restrict__ part_b, const float* __restrict__ s,
                                  const float* __restrict__ b, const float* __restrict__ s_rstd,
                                  const float* __restrict__ b_rstd, float* __restrict__ ds, float* __restrict__ db) {
  __shared__ float red[32];
  const int64_t i = blockIdx.x;
  const float rs = s_rstd[i], rb = b_rstd[i];
  const float* pa = part_a + i * splits * int64_t(C);
  const float* pb = part_b + i * splits * int64_t(C);
  auto sums = [&](int c, float* gs, float* gb) {
    float a = 0.f, bb = 0.f;
    for (int sp = 0; sp < splits; ++sp) {
      a += pa[int64_t(sp) * C + c];
      bb += pb[int64_t(sp) * C + c];
    }
    *gs = a;
    *gb = bb;
  };
  float ms = 0.f, mb = 0.f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float gs, gb;
    sums(c, &gs, &gb);
    ms += gs * s[i * C + c] * rs;
    mb += gb * b[i * C + c] * rb;
  }
  ms = block_sum(ms, red) / C;
  mb = block_sum(mb, red) / C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float gs, gb;
    sums(c, &gs, &gb);
    if (ds) ds[i * C + c] = rs * (gs - s[i * C + c] * rs * ms);
    if (db) db[i * C + c] = rb * (gb - b[i * C + c] * rb * mb);
  }
}

// ---------------------------------------------------------------- host helpers
// Runs fn (argument checks shared with the CPU entries) and reports its error like CUDA errors.
template <class Fn>
int checked(Fn&& fn, bool* work) {
  int rc = scm::guarded([&] { *work = fn(); });
  if (rc) scm::cuda::set_error(scm::last_error());
  return rc;
}

// Splits of the R rows of each group so that the column reduction has enough blocks.
void plan_splits(int64_t groups, int64_t R, int C, int* splits, int64_t* chunk) {
  const int64_t col_blocks = (C + 31) / 32;
  int64_t want = std::max<int64_t>(1, 1024 / std::max<int64_t>(1, col_blocks * groups));
  want = std::min<int64_t>({want, std::max<int64_t>(1, (R + 31) / 32), 65535});
  *chunk = std::max<int64_t>(1, (R + want - 1) / want);
  *splits = static_cast<int>(std::max<int64_t>(1, (R + *chunk - 1) / *chunk));
}

// Workspace of `count` floats on the stream (freed with cudaFreeAsync after the kernels).
int workspace(float** p, size_t count) {
  SCM_CUDA_TRY(cudaMallocAsync(reinterpret_cast<void**>(p), std::max<size_t>(count, 1) * sizeof(float),
                               scm::cuda::stream()));
  return SCM_OK;
}

// dgamma += sum_rows dy * xhat, dbeta += sum_rows dy (each nullable; mean nullable for RMS).
int param_grads(int64_t rows, int cols, const float* x, const float* mean, const float* rstd, const float* dy,
                float* dgamma, float* dbeta) {
  if (!dgamma && !dbeta) return SCM_OK;
  int splits;
  int64_t chunk;
  plan_splits(1, rows, cols, &splits, &chunk);
  float* ws = nullptr;
  const size_t part = static_cast<size_t>(splits) * cols;
  int rc = workspace(&ws, 2 * part);
  if (rc) return rc;
  const dim3 grid((cols + 31) / 32, splits), block(32, 8);
  colsum_kernel<<<grid, block, 0, scm::cuda::stream()>>>(rows, cols, chunk, x, mean, rstd, dy, ws,
                                                           dbeta ? ws + part : nullptr);
  param_finish_kernel<<<std::min((cols + 255) / 256, 4096), 256, 0, scm::cuda::stream()>>>(
      cols, splits, ws, dbeta ? ws + part : nullptr, dgamma, dbeta);
  return scm::cuda::launched_then_free(ws, "norm parameter gradients");
}

template <bool CENTER, bool DUAL>
int launch_forward(int64_t rows, int cols, float eps, const float* x, const float* tx, const float* gamma,
                   const float* beta, float* y, float* ty, float* mean, float* rstd) {
  SCM_NORM_DISPATCH(cols, rows_forward_kernel<VPT, CENTER, DUAL><<<row_blocks(rows), kRowThreads, 0,
                                                                  scm::cuda::stream()>>>(
                              rows, cols, eps, x, tx, gamma, beta, y, ty, mean, rstd));
  SCM_CUDA_LAUNCHED("norm forward");
  return SCM_OK;
}

template <bool CENTER>
int launch_backward(int64_t rows, int cols, const float* x, const float* gamma, int64_t gamma_stride,
                    int64_t group_rows, const float* gamma_scale, const float* mean, const float* rstd,
                    const float* dy, float* dx) {
  SCM_NORM_DISPATCH(cols, rows_backward_kernel<VPT, CENTER><<<row_blocks(rows), kRowThreads, 0,
                                                             scm::cuda::stream()>>>(
                              rows, cols, x, gamma, gamma_stride, group_rows, gamma_scale, mean, rstd, dy, dx));
  SCM_CUDA_LAUNCHED("norm backward");
  return SCM_OK;
}

namespace chk = scm::cpu::norm_checks;

// ---------------------------------------------------------------- entries
int ln_forward(int64_t rows, int64_t cols, float eps, const float* x, const float* gamma, const float* beta, float* y,
               float* mean, float* rstd) {
  bool work;
  if (int rc = checked([&] { return chk::layer_norm_forward(rows, cols, eps, x, y, mean, rstd); }, &work)) return rc;
  if (!work) return SCM_OK;
  return launch_forward<true, false>(rows, int(cols), eps, x, nullptr, gamma, beta, y, nullptr, mean, rstd);
}
int ln_dual(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, const float* gamma,
            const float* beta, float* y, float* ty, float* mean, float* rstd) {
  bool work;
  if (int rc = checked([&] { return chk::dual("layer_norm_dual", rows, cols, eps, x, tx, y, ty); }, &work)) return rc;
  if (!work) return SCM_OK;
  return launch_forward<true, true>(rows, int(cols), eps, x, tx, gamma, beta, y, ty, mean, rstd);
}
int ln_backward(int64_t rows, int64_t cols, const float* x, const float* gamma, const float* mean, const float* rstd,
                const float* dy, float* dx, float* dgamma, float* dbeta) {
  bool work;
  if (int rc = checked([&] { return chk::backward("layer_norm_backward", true, rows, cols, x, mean, rstd, dy); },
                       &work))
    return rc;
  if (!work) return SCM_OK;
  if (dx) {
    if (int rc = launch_backward<true>(rows, int(cols), x, gamma, 0, 1, nullptr, mean, rstd, dy, dx)) return rc;
  }
  return param_grads(rows, int(cols), x, mean, rstd, dy, gamma ? dgamma : nullptr, dbeta);
}

int rms_forward(int64_t rows, int64_t cols, float eps, const float* x, const float* gamma, float* y, float* rstd) {
  bool work;
  if (int rc = checked([&] { return chk::rms_forward("rms_norm_forward", rows, cols, eps, x, y, rstd); }, &work))
    return rc;
  if (!work) return SCM_OK;
  return launch_forward<false, false>(rows, int(cols), eps, x, nullptr, gamma, nullptr, y, nullptr, nullptr, rstd);
}
int rms_dual(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, const float* gamma, float* y,
             float* ty, float* rstd) {
  bool work;
  if (int rc = checked([&] { return chk::dual("rms_norm_dual", rows, cols, eps, x, tx, y, ty); }, &work)) return rc;
  if (!work) return SCM_OK;
  return launch_forward<false, true>(rows, int(cols), eps, x, tx, gamma, nullptr, y, ty, nullptr, rstd);
}
int rms_backward_impl(int64_t rows, int64_t cols, const float* x, const float* gamma, const float* rstd,
                      const float* dy, float* dx, float* dgamma) {
  if (dx) {
    if (int rc = launch_backward<false>(rows, int(cols), x, gamma, 0, 1, nullptr, nullptr, rstd, dy, dx)) return rc;
  }
  if (!gamma) return SCM_OK;
  return param_grads(rows, int(cols), x, nullptr, rstd, dy, dgamma, nullptr);
}
int rms_backward(int64_t rows, int64_t cols, const float* x, const float* gamma, const float* rstd, const float* dy,
                 float* dx, float* dgamma) {
  bool work;
  if (int rc = checked([&] { return chk::backward("rms_norm_backward", false, rows, cols, x, nullptr, rstd, dy); },
                       &work))
    return rc;
  if (!work) return SCM_OK;
  return rms_backward_impl(rows, cols, x, gamma, rstd, dy, dx, dgamma);
}

int pixel_forward(int64_t rows, int64_t cols, float eps, const float* x, float* y, float* rstd) {
  bool work;
  if (int rc = checked([&] { return chk::rms_forward("pixel_norm_forward", rows, cols, eps, x, y, rstd); }, &work))
    return rc;
  if (!work) return SCM_OK;
  return launch_forward<false, false>(rows, int(cols), eps, x, nullptr, nullptr, nullptr, y, nullptr, nullptr, rstd);
}
int pixel_dual(int64_t rows, int64_t cols, float eps, const float* x, const float* tx, float* y, float* ty,
               float* rstd) {
  bool work;
  if (int rc = checked([&] { return chk::dual("pixel_norm_dual", rows, cols, eps, x, tx, y, ty); }, &work)) return rc;
  if (!work) return SCM_OK;
  return launch_forward<false, true>(rows, int(cols), eps, x, tx, nullptr, nullptr, y, ty, nullptr, rstd);
}
int pixel_backward(int64_t rows, int64_t cols, const float* x, const float* rstd, const float* dy, float* dx) {
  bool work;
  if (int rc = checked([&] { return chk::backward("pixel_norm_backward", false, rows, cols, x, nullptr, rstd, dy); },
                       &work))
    return rc;
  if (!work) return SCM_OK;
  return rms_backward_impl(rows, cols, x, nullptr, rstd, dy, dx, nullptr);
}

int adn_launch(int64_t batch, int64_t tokens, int64_t C, float eps, float pnorm_eps, const float* x, const float* tx,
               const float* s, const float* ts, const float* b, const float* tb, float* y, float* ty, float* mean,
               float* rstd, float* s_rstd, float* b_rstd) {
  const int64_t rows = batch * tokens;
  const int cols = int(C);
  if (tx) {
    SCM_NORM_DISPATCH(cols, adn_forward_kernel<VPT, true><<<row_blocks(rows), kRowThreads, 0, scm::cuda::stream()>>>(
                                rows, tokens, cols, eps, pnorm_eps, x, tx, s, ts, b, tb, y, ty, mean, rstd, s_rstd,
                                b_rstd));
  } else {
    SCM_NORM_DISPATCH(cols, adn_forward_kernel<VPT, false><<<row_blocks(rows), kRowThreads, 0, scm::cuda::stream()>>>(
                                rows, tokens, cols, eps, pnorm_eps, x, nullptr, s, nullptr, b, nullptr, y, nullptr,
                                mean, rstd, s_rstd, b_rstd));
  }
  SCM_CUDA_LAUNCHED("adn forward");
  return SCM_OK;
}
int adn_forward(int64_t batch, int64_t tokens, int64_t C, float eps, float pnorm_eps, const float* x, const float* s,
                const float* b, float* y, float* mean, float* rstd, float* s_rstd, float* b_rstd) {
  bool work;
  if (int rc = checked([&] {
        return chk::adn_forward(batch, tokens, C, eps, pnorm_eps, x, s, b, y, mean, rstd, s_rstd, b_rstd);
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  return adn_launch(batch, tokens, C, eps, pnorm_eps, x, nullptr, s, nullptr, b, nullptr, y, nullptr, mean, rstd,
                    s_rstd, b_rstd);
}
int adn_dual(int64_t batch, int64_t tokens, int64_t C, float eps, float pnorm_eps, const float* x, const float* tx,
             const float* s, const float* ts, const float* b, const float* tb, float* y, float* ty, float* mean,
             float* rstd, float* s_rstd, float* b_rstd) {
  bool work;
  if (int rc = checked([&] { return chk::adn_dual(batch, tokens, C, eps, pnorm_eps, x, tx, s, b, y, ty); }, &work))
    return rc;
  if (!work) return SCM_OK;
  return adn_launch(batch, tokens, C, eps, pnorm_eps, x, tx, s, ts, b, tb, y, ty, mean, rstd, s_rstd, b_rstd);
}
int adn_backward(int64_t batch, int64_t tokens, int64_t C, const float* x, const float* s, const float* b,
                 const float* mean, const float* rstd, const float* s_rstd, const float* b_rstd, const float* dy,
                 float* dx, float* ds, float* db) {
  bool work;
  if (int rc = checked([&] {
        return chk::adn_backward(batch, tokens, C, x, s, b, mean, rstd, s_rstd, b_rstd, dy);
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  const int cols = int(C);
  if (dx) {
    // Layer norm backward with the per-sample gamma = s_i * s_rstd_i.
    if (int rc = launch_backward<true>(batch * tokens, cols, x, s, C, tokens, s_rstd, mean, rstd, dy, dx)) return rc;
  }
  if (!ds && !db) return SCM_OK;
  int splits;
  int64_t chunk;
  plan_splits(batch, tokens, cols, &splits, &chunk);
  const size_t part = static_cast<size_t>(batch) * splits * C;
  float* ws = nullptr;
  if (int rc = workspace(&ws, 2 * part)) return rc;
  const int64_t col_blocks = (cols + 31) / 32;
  if (col_blocks * batch >= (1ll << 31)) {
    scm::cuda::free_scratch_quietly(ws);
    scm::cuda::set_error("adn_backward: batch * ceil(channels / 32) must be below 2^31");
    return SCM_E_ARGUMENT;
  }
  const dim3 grid(static_cast<unsigned>(col_blocks * batch), splits), block(32, 8);
  colsum_kernel<<<grid, block, 0, scm::cuda::stream()>>>(tokens, cols, chunk, x, mean, rstd, dy, ws, ws + part);
  adn_finish_kernel<<<static_cast<unsigned>(batch), 256, 0, scm::cuda::stream()>>>(cols, splits, ws, ws + part, s, b,
                                                                                   s_rstd, b_rstd, ds, db);
  return scm::cuda::launched_then_free(ws, "adn backward");
}

int qk_forward(int64_t rows, int64_t d, float eps, const float* x, const float* gamma, float* y, float* rstd) {
  bool work;
  if (int rc = checked([&] {
        if (rows != 0) scm::cpu::require_ptr(gamma, "qk_norm_forward", "gamma");
        return chk::rms_forward("qk_norm_forward", rows, d, eps, x, y, rstd);
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  return launch_forward<false, false>(rows, int(d), eps, x, nullptr, gamma, nullptr, y, nullptr, nullptr, rstd);
}
int qk_dual(int64_t rows, int64_t d, float eps, const float* x, const float* tx, const float* gamma, float* y,
            float* ty, float* rstd) {
  bool work;
  if (int rc = checked([&] {
        if (rows != 0) scm::cpu::require_ptr(gamma, "qk_norm_dual", "gamma");
        return chk::dual("qk_norm_dual", rows, d, eps, x, tx, y, ty);
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  return launch_forward<false, true>(rows, int(d), eps, x, tx, gamma, nullptr, y, ty, nullptr, rstd);
}
int qk_backward(int64_t rows, int64_t d, const float* x, const float* gamma, const float* rstd, const float* dy,
                float* dx, float* dgamma) {
  bool work;
  if (int rc = checked([&] {
        if (rows != 0) scm::cpu::require_ptr(gamma, "qk_norm_backward", "gamma");
        return chk::backward("qk_norm_backward", false, rows, d, x, nullptr, rstd, dy);
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  return rms_backward_impl(rows, d, x, gamma, rstd, dy, dx, dgamma);
}

}  // namespace

void scm_cuda_fill_norm(ScmNormKernels* k) {
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
