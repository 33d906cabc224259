// The CUDA backend's pointwise family (semantics: native/core/kernels/pointwise.h; the CPU
// reference is native/cpu/pointwise.h, whose argument checks these entries share).
//
// Elementwise ops are grid-stride kernels (256 threads, int64 indices) on scm::cuda::stream().
// Activations use full-precision expf / tanhf. Reductions accumulate in fp32 and are
// deterministic (the result depends only on the sizes, never on scheduling):
//  - dbias: a column-tiled kernel writes per-split partial column sums of dx into a stream-
//    ordered workspace, a second kernel adds the splits in order into dbias;
//  - mse: a fixed grid (a function of n) writes one partial per block, one block adds them;
//  - sumsq and the time-embedding backward: one block per sample, a block tree reduction.
// Dropout evaluates the same scm::philox::uniform_at as the CPU, so the masks are identical.
#include <algorithm>
#include "cuda_common.cuh"
#include "reduce.cuh"
#include "../core/philox.h"
#include "../cpu/pointwise.h"

namespace {

namespace chk = scm::cpu::pointwise_checks;
using scm::cuda::stream;

constexpr int kThreads = 256;

// Runs the shared argument checks; reports their failure like a CUDA error. *work = false:
// nothing to compute.
template <class Fn>
int checked(Fn&& fn, bool* work) {
  int rc = scm::guarded([&] { *work = fn(); });
  if (rc) scm::cuda::set_error(scm::last_error());
  return rc;
}

unsigned grid_for(int64_t n) { return scm::cuda::blocks_for(static_cast<size_t>(n), kThreads); }

#define SCM_GRID_STRIDE(k, n) \
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < (n); k += int64_t(gridDim.x) * blockDim.x)

using scm::cuda::block_sum;
using scm::cuda::warp_sum;

// Stream-ordered workspace of `count` floats.
int workspace(float** p, size_t count) {
  SCM_CUDA_TRY(cudaMallocAsync(reinterpret_cast<void**>(p), std::max<size_t>(count, 1) * sizeof(float), stream()));
  return SCM_OK;
}

// ---------------------------------------------------------------- 1. bias + activation
template <int ACT>
__device__ __forceinline__ float act_value(float z) {
  if constexpr (ACT == SCM_ACT_SILU) {
    return z / (1.f + expf(-z));
  } else if constexpr (ACT == SCM_ACT_GELU_TANH) {
    const float k = 0.7978845608028654f;
    return 0.5f * z * (1.f + tanhf(k * (z + 0.044715f * z * z * z)));
  } else {
    return z;
  }
}
template <int ACT>
__device__ __forceinline__ float act_deriv(float z) {
  if constexpr (ACT == SCM_ACT_SILU) {
    const float s = 1.f / (1.f + expf(-z));
    return s * (1.f + z * (1.f - s));
  } else if constexpr (ACT == SCM_ACT_GELU_TANH) {
    const float k = 0.7978845608028654f;
    const float th = tanhf(k * (z + 0.044715f * z * z * z));
    return 0.5f * (1.f + th) + 0.5f * z * (1.f - th * th) * k * (1.f + 3.f * 0.044715f * z * z);
  } else {
    return 1.f;
  }
}

// MODE 0: y = act(z); 1: y = act(z), ty = act'(z) tx; 2: y = act'(z) * g (backward, g = dy).
// I: the index type of the column computation (uint32_t when n < 2^32: 64-bit division is slow).
template <int ACT, int MODE, class I>
__global__ void bias_act_kernel(int64_t n, int64_t cols, const float* __restrict__ x, const float* __restrict__ bias,
                                const float* tx_or_g, float* y, float* __restrict__ ty) {
  SCM_GRID_STRIDE(k, n) {
    const float z = x[k] + (bias ? bias[static_cast<I>(k) % static_cast<I>(cols)] : 0.f);
    if constexpr (MODE == 0) {
      y[k] = act_value<ACT>(z);
    } else if constexpr (MODE == 1) {
      const float t = tx_or_g[k];
      y[k] = act_value<ACT>(z);
      ty[k] = act_deriv<ACT>(z) * t;
    } else {
      y[k] = act_deriv<ACT>(z) * tx_or_g[k];  // y is dx here (may alias dy: read before write)
    }
  }
}

template <int MODE, class I>
void launch_bias_act_typed(int act, int64_t n, int64_t cols, const float* x, const float* bias, const float* tx_or_g,
                           float* y, float* ty) {
  const unsigned grid = grid_for(n);
  switch (act) {
    case SCM_ACT_SILU:
      bias_act_kernel<SCM_ACT_SILU, MODE, I><<<grid, kThreads, 0, stream()>>>(n, cols, x, bias, tx_or_g, y, ty);
      break;
    case SCM_ACT_GELU_TANH:
      bias_act_kernel<SCM_ACT_GELU_TANH, MODE, I><<<grid, kThreads, 0, stream()>>>(n, cols, x, bias, tx_or_g, y, ty);
      break;
    default:
      bias_act_kernel<SCM_ACT_IDENTITY, MODE, I><<<grid, kThreads, 0, stream()>>>(n, cols, x, bias, tx_or_g, y, ty);
      break;
  }
}
template <int MODE>
int launch_bias_act(int act, int64_t rows, int64_t cols, const float* x, const float* bias, const float* tx_or_g,
                    float* y, float* ty) {
  const int64_t n = rows * cols;
  if (n <= int64_t(UINT32_MAX)) launch_bias_act_typed<MODE, uint32_t>(act, n, cols, x, bias, tx_or_g, y, ty);
  else launch_bias_act_typed<MODE, int64_t>(act, n, cols, x, bias, tx_or_g, y, ty);
  SCM_CUDA_LAUNCHED("bias_act");
  return SCM_OK;
}

// partial[split, c] = sum over rows [split*chunk, min(rows, (split+1)*chunk)) of g[r, c].
// Block (32, 8): threadIdx.x a column of the 32-column tile, threadIdx.y strides the rows.
__global__ void colsum_partial_kernel(int64_t rows, int64_t cols, int64_t chunk, const float* __restrict__ g,
                                      float* __restrict__ partial) {
  __shared__ float s[8][33];
  const int64_t c = blockIdx.x * 32ll + threadIdx.x;
  const int64_t r0 = blockIdx.y * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
  float acc = 0.f;
  if (c < cols)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) acc += g[r * cols + c];
  s[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float t = 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j) t += s[j][threadIdx.x];
    partial[blockIdx.y * cols + c] = t;
  }
}
__global__ void colsum_finish_kernel(int64_t cols, int splits, const float* __restrict__ partial,
                                     float* __restrict__ out) {
  SCM_GRID_STRIDE(c, cols) {
    float t = 0.f;
    for (int s = 0; s < splits; ++s) t += partial[s * cols + c];
    out[c] += t;
  }
}

// out[c] += sum_r g[r, c], deterministic.
int colsum_accumulate(int64_t rows, int64_t cols, const float* g, float* out) {
  const int64_t col_blocks = (cols + 31) / 32;
  int64_t splits = std::max<int64_t>(1, 1024 / col_blocks);
  splits = std::min<int64_t>({splits, std::max<int64_t>(1, (rows + 63) / 64), 65535});
  const int64_t chunk = (rows + splits - 1) / splits;
  splits = (rows + chunk - 1) / chunk;
  float* ws = nullptr;
  if (int rc = workspace(&ws, static_cast<size_t>(splits * cols))) return rc;
  colsum_partial_kernel<<<dim3(static_cast<unsigned>(col_blocks), static_cast<unsigned>(splits)), dim3(32, 8), 0,
                          stream()>>>(rows, cols, chunk, g, ws);
  colsum_finish_kernel<<<grid_for(cols), kThreads, 0, stream()>>>(cols, static_cast<int>(splits), ws, out);
  return scm::cuda::launched_then_free(ws, "bias_act_backward dbias");
}

// ---------------------------------------------------------------- 2. residual add
__global__ void add_kernel(int64_t n, const float* a, const float* b, float* y) {
  SCM_GRID_STRIDE(k, n) y[k] = a[k] + b[k];
}
__global__ void add_dual_kernel(int64_t n, const float* a, const float* ta, const float* b, const float* tb, float* y,
                                float* ty) {
  SCM_GRID_STRIDE(k, n) {
    const float av = a[k], bv = b[k];
    const float t = (ta ? ta[k] : 0.f) + (tb ? tb[k] : 0.f);
    y[k] = av + bv;
    ty[k] = t;
  }
}
__global__ void add_backward_kernel(int64_t n, const float* dy, float* da, float* db) {
  SCM_GRID_STRIDE(k, n) {
    const float g = dy[k];
    if (da) da[k] = g;
    if (db) db[k] = g;
  }
}

// ---------------------------------------------------------------- 3. time embedding
// Frequency i of `half` (header): computed in double, rounded to float.
__device__ __forceinline__ float time_freq(int64_t i, int64_t half) {
  return half <= 1 ? 1.f : static_cast<float>(exp(-9.210340371976184 * static_cast<double>(i) / double(half - 1)));
}

// One thread per (sample, frequency): emb and temb nullable; tt required when temb is given.
__global__ void time_embed_kernel(int64_t batch, int64_t half, const float* __restrict__ t,
                                  const float* __restrict__ tt, float* __restrict__ emb, float* __restrict__ temb) {
  SCM_GRID_STRIDE(k, batch * half) {
    const int64_t b = k / half, i = k % half;
    const float f = time_freq(i, half);
    float s, c;
    sincosf(t[b] * f, &s, &c);
    const int64_t base = b * 2 * half;
    if (emb) {
      emb[base + i] = c;
      emb[base + half + i] = s;
    }
    if (temb) {
      const float w = f * tt[b];
      temb[base + i] = -s * w;
      temb[base + half + i] = c * w;
    }
  }
}

// One block per sample (grid-stride over samples).
__global__ void time_embed_backward_kernel(int64_t batch, int64_t half, const float* __restrict__ t,
                                           const float* __restrict__ demb, float* __restrict__ dt) {
  __shared__ float shared[32];
  for (int64_t b = blockIdx.x; b < batch; b += gridDim.x) {
    const float tb = t[b];
    const float* g = demb + b * 2 * half;
    float acc = 0.f;
    for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
      const float f = time_freq(i, half);
      float s, c;
      sincosf(tb * f, &s, &c);
      acc += f * (g[half + i] * c - g[i] * s);
    }
    acc = block_sum(acc, shared);
    if (threadIdx.x == 0) dt[b] = acc;
  }
}

// ---------------------------------------------------------------- 4. patchify
// One thread per image element (flat index im); FORWARD: tokens[tok] = images[im], else images[im] = tokens[tok].
// I: the index type (uint32_t when n < 2^32: 64-bit division is slow on the GPU).
template <bool FORWARD, class I>
__global__ void patch_kernel(int64_t n, int64_t C_, int64_t H_, int64_t W_, int64_t p_, const float* __restrict__ in,
                             float* __restrict__ out) {
  const I C = static_cast<I>(C_), H = static_cast<I>(H_), W = static_cast<I>(W_), p = static_cast<I>(p_);
  const I gw = W / p, T = (H / p) * gw, P = C * p * p;
  SCM_GRID_STRIDE(k, n) {
    const I im = static_cast<I>(k);
    const I x = im % W, r = im / W, y = r % H, bc = r / H, c = bc % C, b = bc / C;
    const I tok = (b * T + (y / p) * gw + x / p) * P + (c * p + y % p) * p + x % p;
    if constexpr (FORWARD) out[tok] = in[im];
    else out[im] = in[tok];
  }
}
template <bool FORWARD>
int launch_patch(int64_t n, int64_t C, int64_t H, int64_t W, int64_t p, const float* in, float* out) {
  if (n <= int64_t(UINT32_MAX))
    patch_kernel<FORWARD, uint32_t><<<grid_for(n), kThreads, 0, stream()>>>(n, C, H, W, p, in, out);
  else
    patch_kernel<FORWARD, int64_t><<<grid_for(n), kThreads, 0, stream()>>>(n, C, H, W, p, in, out);
  SCM_CUDA_LAUNCHED(FORWARD ? "patchify" : "unpatchify");
  return SCM_OK;
}

// ---------------------------------------------------------------- 5. reductions
constexpr int kReduceBlocksMax = 1024;
unsigned reduce_blocks(int64_t n) {
  return static_cast<unsigned>(std::min<int64_t>(kReduceBlocksMax, std::max<int64_t>(1, (n + 4 * kThreads - 1) / (4 * kThreads))));
}

// partial[blk] = sum (a-b)^2, partial_t[blk] = sum (a-b)(ta-tb) over this block's grid-stride elements.
template <bool VALUE, bool TANGENT>
__global__ void mse_partial_kernel(int64_t n, const float* __restrict__ a, const float* __restrict__ b,
                                   const float* __restrict__ ta, const float* __restrict__ tb,
                                   float* __restrict__ partial, float* __restrict__ partial_t) {
  __shared__ float shared[32];
  float s = 0.f, st = 0.f;
  SCM_GRID_STRIDE(k, n) {
    const float d = a[k] - (b ? b[k] : 0.f);
    if constexpr (VALUE) s += d * d;
    if constexpr (TANGENT) st += d * ((ta ? ta[k] : 0.f) - (tb ? tb[k] : 0.f));
  }
  if constexpr (VALUE) {
    s = block_sum(s, shared);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
  }
  if constexpr (TANGENT) {
    st = block_sum(st, shared);
    if (threadIdx.x == 0) partial_t[blockIdx.x] = st;
  }
}
// One block: out[0] = scale * sum of the `count` partials (nullable pair).
__global__ void finish_sum_kernel(int count, const float* __restrict__ partial, float scale, float* __restrict__ out,
                                  const float* __restrict__ partial_t, float scale_t, float* __restrict__ out_t) {
  __shared__ float shared[32];
  float s = 0.f, st = 0.f;
  for (int i = threadIdx.x; i < count; i += blockDim.x) {
    if (out) s += partial[i];
    if (out_t) st += partial_t[i];
  }
  if (out) {
    s = block_sum(s, shared);
    if (threadIdx.x == 0) out[0] = s * scale;
  }
  if (out_t) {
    st = block_sum(st, shared);
    if (threadIdx.x == 0) out_t[0] = st * scale_t;
  }
}

int mse_impl(int64_t n, const float* a, const float* ta, const float* b, const float* tb, float* out, float* tout) {
  const unsigned blocks = reduce_blocks(n);
  float* ws = nullptr;
  if (int rc = workspace(&ws, 2 * size_t(blocks))) return rc;
  float* pv = ws;
  float* pt = ws + blocks;
  if (out && tout)
    mse_partial_kernel<true, true><<<blocks, kThreads, 0, stream()>>>(n, a, b, ta, tb, pv, pt);
  else if (out)
    mse_partial_kernel<true, false><<<blocks, kThreads, 0, stream()>>>(n, a, b, ta, tb, pv, pt);
  else
    mse_partial_kernel<false, true><<<blocks, kThreads, 0, stream()>>>(n, a, b, ta, tb, pv, pt);
  const float inv_n = static_cast<float>(1.0 / static_cast<double>(n));
  finish_sum_kernel<<<1, kThreads, 0, stream()>>>(static_cast<int>(blocks), pv, inv_n, out, pt, 2.f * inv_n, tout);
  return scm::cuda::launched_then_free(ws, "mse");
}

__global__ void mse_backward_kernel(int64_t n, const float* a, const float* b, float scale, float* da, float* db) {
  SCM_GRID_STRIDE(k, n) {
    const float g = scale * (a[k] - (b ? b[k] : 0.f));
    if (da) da[k] = g;
    if (db) db[k] = -g;
  }
}

// One block per sample (grid-stride over samples): out[b] = sum x^2, tout[b] = 2 sum x tx (each nullable).
__global__ void sumsq_kernel(int64_t batch, int64_t dim, const float* __restrict__ x, const float* __restrict__ tx,
                             float* __restrict__ out, float* __restrict__ tout) {
  __shared__ float shared[32];
  for (int64_t b = blockIdx.x; b < batch; b += gridDim.x) {
    float s = 0.f, st = 0.f;
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) {
      const float v = x[b * dim + j];
      s += v * v;
      if (tout) st += v * tx[b * dim + j];
    }
    if (out) {
      s = block_sum(s, shared);
      if (threadIdx.x == 0) out[b] = s;
    }
    if (tout) {
      st = block_sum(st, shared);
      if (threadIdx.x == 0) tout[b] = 2.f * st;
    }
  }
}
unsigned sample_blocks(int64_t batch) { return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(batch, 1), 65535)); }

__global__ void sumsq_backward_kernel(int64_t n, int64_t dim, const float* x, const float* dout, float* dx) {
  SCM_GRID_STRIDE(k, n) dx[k] = 2.f * dout[k / dim] * x[k];
}

// ---------------------------------------------------------------- 6. dropout
// y = keep ? x * scale : 0 (and ty from tx when DUAL), the mask from philox::uniform_at.
template <bool DUAL>
__global__ void dropout_kernel(int64_t n, float p, float scale, uint64_t seed, uint64_t offset, const float* x,
                               const float* tx, float* y, float* ty) {
  SCM_GRID_STRIDE(k, n) {
    const bool keep = scm::philox::uniform_at(seed, offset + static_cast<uint64_t>(k)) >= p;
    const float xv = x[k];
    float tv = 0.f;
    if constexpr (DUAL) tv = tx[k];
    y[k] = keep ? __fmul_rn(xv, scale) : 0.f;
    if constexpr (DUAL) ty[k] = keep ? __fmul_rn(tv, scale) : 0.f;
  }
}

// ---------------------------------------------------------------- entries
int bias_act_forward(int64_t rows, int64_t cols, int act, const float* x, const float* bias, float* y) {
  bool work;
  if (int rc = checked([&] { return chk::bias_act("bias_act_forward", rows, cols, act, x, nullptr, nullptr, y, "y"); },
                       &work))
    return rc;
  if (!work) return SCM_OK;
  return launch_bias_act<0>(act, rows, cols, x, bias, nullptr, y, nullptr);
}
int bias_act_dual(int64_t rows, int64_t cols, int act, const float* x, const float* tx, const float* bias, float* y,
                  float* ty) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::bias_act("bias_act_dual", rows, cols, act, x, tx, "tx", y, "y");
        if (w) chk::ptr(ty, "bias_act_dual", "ty");
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  return launch_bias_act<1>(act, rows, cols, x, bias, tx, y, ty);
}
int bias_act_backward(int64_t rows, int64_t cols, int act, const float* x, const float* bias, const float* dy,
                      float* dx, float* dbias) {
  bool work;
  if (int rc = checked([&] { return chk::bias_act("bias_act_backward", rows, cols, act, x, dy, "dy", dx, "dx"); },
                       &work))
    return rc;
  if (!work) return SCM_OK;
  if (int rc = launch_bias_act<2>(act, rows, cols, x, bias, dy, dx, nullptr)) return rc;
  return dbias ? colsum_accumulate(rows, cols, dx, dbias) : SCM_OK;
}

int add_forward(int64_t n, const float* a, const float* b, float* y) {
  bool work;
  if (int rc = checked([&] { return chk::elementwise("add_forward", n, {{a, "a"}, {b, "b"}, {y, "y"}}); }, &work))
    return rc;
  if (!work) return SCM_OK;
  add_kernel<<<grid_for(n), kThreads, 0, stream()>>>(n, a, b, y);
  SCM_CUDA_LAUNCHED("add_forward");
  return SCM_OK;
}
int add_dual(int64_t n, const float* a, const float* ta, const float* b, const float* tb, float* y, float* ty) {
  bool work;
  if (int rc = checked([&] { return chk::elementwise("add_dual", n, {{a, "a"}, {b, "b"}, {y, "y"}, {ty, "ty"}}); },
                       &work))
    return rc;
  if (!work) return SCM_OK;
  add_dual_kernel<<<grid_for(n), kThreads, 0, stream()>>>(n, a, ta, b, tb, y, ty);
  SCM_CUDA_LAUNCHED("add_dual");
  return SCM_OK;
}
int add_backward(int64_t n, const float* dy, float* da, float* db) {
  bool work;
  if (int rc = checked([&] { return chk::elementwise("add_backward", n, {{dy, "dy"}}); }, &work)) return rc;
  if (!work || (!da && !db)) return SCM_OK;
  add_backward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(n, dy, da, db);
  SCM_CUDA_LAUNCHED("add_backward");
  return SCM_OK;
}

int time_embed_forward(int64_t batch, int64_t dim, const float* t, float* emb) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::time_embed("time_embed_forward", batch, dim);
        if (w) chk::ptr(t, "time_embed_forward", "t"), chk::ptr(emb, "time_embed_forward", "emb");
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  time_embed_kernel<<<grid_for(batch * (dim / 2)), kThreads, 0, stream()>>>(batch, dim / 2, t, nullptr, emb, nullptr);
  SCM_CUDA_LAUNCHED("time_embed_forward");
  return SCM_OK;
}
int time_embed_dual(int64_t batch, int64_t dim, const float* t, const float* tt, float* emb, float* temb) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::time_embed("time_embed_dual", batch, dim);
        if (w) {
          chk::ptr(t, "time_embed_dual", "t"), chk::ptr(tt, "time_embed_dual", "tt");
          chk::ptr(temb, "time_embed_dual", "temb");
        }
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  time_embed_kernel<<<grid_for(batch * (dim / 2)), kThreads, 0, stream()>>>(batch, dim / 2, t, tt, emb, temb);
  SCM_CUDA_LAUNCHED("time_embed_dual");
  return SCM_OK;
}
int time_embed_backward(int64_t batch, int64_t dim, const float* t, const float* demb, float* dt) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::time_embed("time_embed_backward", batch, dim);
        if (w) {
          chk::ptr(t, "time_embed_backward", "t"), chk::ptr(demb, "time_embed_backward", "demb");
          chk::ptr(dt, "time_embed_backward", "dt");
        }
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  time_embed_backward_kernel<<<sample_blocks(batch), 128, 0, stream()>>>(batch, dim / 2, t, demb, dt);
  SCM_CUDA_LAUNCHED("time_embed_backward");
  return SCM_OK;
}

int patchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const float* images, float* tokens) {
  bool work;
  if (int rc = checked([&] { return chk::patch("patchify", B, C, H, W, p, images, tokens); }, &work)) return rc;
  if (!work) return SCM_OK;
  const int64_t n = B * C * H * W;
  return launch_patch<true>(n, C, H, W, p, images, tokens);
}
int unpatchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const float* tokens, float* images) {
  bool work;
  if (int rc = checked([&] { return chk::patch("unpatchify", B, C, H, W, p, tokens, images); }, &work)) return rc;
  if (!work) return SCM_OK;
  const int64_t n = B * C * H * W;
  return launch_patch<false>(n, C, H, W, p, tokens, images);
}

int mse_forward(int64_t n, const float* a, const float* b, float* out) {
  bool work;
  if (int rc = checked([&] {
        chk::mse("mse_forward", n);
        chk::ptr(a, "mse_forward", "a"), chk::ptr(out, "mse_forward", "out");
        return true;
      }, &work))
    return rc;
  return mse_impl(n, a, nullptr, b, nullptr, out, nullptr);
}
int mse_dual(int64_t n, const float* a, const float* ta, const float* b, const float* tb, float* out, float* tout) {
  bool work;
  if (int rc = checked([&] {
        chk::mse("mse_dual", n);
        chk::ptr(a, "mse_dual", "a"), chk::ptr(tout, "mse_dual", "tout");
        return true;
      }, &work))
    return rc;
  return mse_impl(n, a, ta, b, tb, out, tout);
}
int mse_backward(int64_t n, const float* a, const float* b, float dout, float* da, float* db) {
  bool work;
  if (int rc = checked([&] {
        chk::mse("mse_backward", n);
        chk::ptr(a, "mse_backward", "a");
        return true;
      }, &work))
    return rc;
  if (!da && !db) return SCM_OK;
  const float scale = static_cast<float>(2.0 * static_cast<double>(dout) / static_cast<double>(n));
  mse_backward_kernel<<<grid_for(n), kThreads, 0, stream()>>>(n, a, b, scale, da, db);
  SCM_CUDA_LAUNCHED("mse_backward");
  return SCM_OK;
}

int sumsq_forward(int64_t batch, int64_t dim, const float* x, float* out) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::sumsq("sumsq_forward", batch, dim);
        if (w) {
          chk::ptr(out, "sumsq_forward", "out");
          if (dim > 0) chk::ptr(x, "sumsq_forward", "x");
        }
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  sumsq_kernel<<<sample_blocks(batch), kThreads, 0, stream()>>>(batch, dim, x, nullptr, out, nullptr);
  SCM_CUDA_LAUNCHED("sumsq_forward");
  return SCM_OK;
}
int sumsq_dual(int64_t batch, int64_t dim, const float* x, const float* tx, float* out, float* tout) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::sumsq("sumsq_dual", batch, dim);
        if (w) {
          chk::ptr(tout, "sumsq_dual", "tout");
          if (dim > 0) chk::ptr(x, "sumsq_dual", "x"), chk::ptr(tx, "sumsq_dual", "tx");
        }
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  sumsq_kernel<<<sample_blocks(batch), kThreads, 0, stream()>>>(batch, dim, x, tx, out, tout);
  SCM_CUDA_LAUNCHED("sumsq_dual");
  return SCM_OK;
}
int sumsq_backward(int64_t batch, int64_t dim, const float* x, const float* dout, float* dx) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::sumsq("sumsq_backward", batch, dim) && dim > 0;
        if (w) {
          chk::ptr(x, "sumsq_backward", "x"), chk::ptr(dout, "sumsq_backward", "dout");
          chk::ptr(dx, "sumsq_backward", "dx");
        }
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  sumsq_backward_kernel<<<grid_for(batch * dim), kThreads, 0, stream()>>>(batch * dim, dim, x, dout, dx);
  SCM_CUDA_LAUNCHED("sumsq_backward");
  return SCM_OK;
}

int dropout_forward(int64_t n, float p, uint64_t seed, uint64_t offset, const float* x, float* y) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::dropout("dropout_forward", n, p);
        if (w) chk::ptr(x, "dropout_forward", "x"), chk::ptr(y, "dropout_forward", "y");
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  dropout_kernel<false><<<grid_for(n), kThreads, 0, stream()>>>(n, p, scm::cpu::pointwise_detail::dropout_scale(p),
                                                                 seed, offset, x, nullptr, y, nullptr);
  SCM_CUDA_LAUNCHED("dropout_forward");
  return SCM_OK;
}
int dropout_dual(int64_t n, float p, uint64_t seed, uint64_t offset, const float* x, const float* tx, float* y,
                 float* ty) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::dropout("dropout_dual", n, p);
        if (w) {
          chk::ptr(x, "dropout_dual", "x"), chk::ptr(tx, "dropout_dual", "tx");
          chk::ptr(y, "dropout_dual", "y"), chk::ptr(ty, "dropout_dual", "ty");
        }
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  dropout_kernel<true><<<grid_for(n), kThreads, 0, stream()>>>(n, p, scm::cpu::pointwise_detail::dropout_scale(p),
                                                                seed, offset, x, tx, y, ty);
  SCM_CUDA_LAUNCHED("dropout_dual");
  return SCM_OK;
}
int dropout_backward(int64_t n, float p, uint64_t seed, uint64_t offset, const float* dy, float* dx) {
  bool work;
  if (int rc = checked([&] {
        bool w = chk::dropout("dropout_backward", n, p);
        if (w) chk::ptr(dy, "dropout_backward", "dy"), chk::ptr(dx, "dropout_backward", "dx");
        return w;
      }, &work))
    return rc;
  if (!work) return SCM_OK;
  dropout_kernel<false><<<grid_for(n), kThreads, 0, stream()>>>(n, p, scm::cpu::pointwise_detail::dropout_scale(p),
                                                                 seed, offset, dy, nullptr, dx, nullptr);
  SCM_CUDA_LAUNCHED("dropout_backward");
  return SCM_OK;
}

}  // namespace

void scm_cuda_fill_pointwise_model(ScmPointwiseKernels* k);  // pointwise_model.cu: items 7-9

void scm_cuda_fill_pointwise(ScmPointwiseKernels* k) {
  k->bias_act_forward = bias_act_forward;
  k->bias_act_dual = bias_act_dual;
  k->bias_act_backward = bias_act_backward;
  k->add_forward = add_forward;
  k->add_dual = add_dual;
  k->add_backward = add_backward;
  k->time_embed_forward = time_embed_forward;
  k->time_embed_dual = time_embed_dual;
  k->time_embed_backward = time_embed_backward;
  k->patchify = patchify;
  k->unpatchify = unpatchify;
  k->mse_forward = mse_forward;
  k->mse_dual = mse_dual;
  k->mse_backward = mse_backward;
  k->sumsq_forward = sumsq_forward;
  k->sumsq_dual = sumsq_dual;
  k->sumsq_backward = sumsq_backward;
  k->dropout_forward = dropout_forward;
  k->dropout_dual = dropout_dual;
  k->dropout_backward = dropout_backward;
  scm_cuda_fill_pointwise_model(k);
}
