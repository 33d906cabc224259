// The CUDA backend's trigflow family (semantics: native/core/kernels/trigflow.h; the CPU
// reference is native/cpu/trigflow.h, whose argument checks these entries share).
//
// Per-sample scalars (cos / sin of the times, the tangent norm) are computed in double, once
// per block where the launch is two-dimensional (blockIdx.y = sample, blockIdx.x = chunk), or
// per element for tiny samples (a flat launch keeps the threads busy).
//
// tangent_normalize:
//   per_sample <= kCacheFloats: one block per sample reads the sample once into shared memory,
//     reduces the sum of squares (double) in the block and writes the scaled sample: one read
//     and one write per element.
//   larger samples: two phases over (chunk, sample) blocks: partial sums of squares (double)
//     into a stream-ordered workspace, then every block reduces its sample's partials in a
//     fixed order (deterministic) and scales its chunk.
//   clip mode without norms is a flat elementwise kernel.
#include <algorithm>
#include "cuda_common.cuh"
#include "../core/philox.h"
#include "../cpu/trigflow.h"

namespace {

// Samples up to 16384 floats (64 KiB of dynamic shared memory, opted in; every sm_80+ GPU has at
// least 99 KiB per block) take the one-pass path: 3x64x64 images and 4x64x64 latents fit.
constexpr int kCacheFloats = 16384;
constexpr int kChunkThreads = 256;
constexpr int kChunkPerThread = 16;
constexpr int64_t kChunk = int64_t(kChunkThreads) * kChunkPerThread;  // elements per block, large path

// Runs fn (argument checks shared with the CPU entries, then launches) and reports errors of
// the checks like CUDA errors.
template <class Fn>
int checked(Fn&& fn) {
  int launched = SCM_OK;
  int rc = scm::guarded([&] { launched = fn(); });
  if (rc) {
    scm::cuda::set_error(scm::last_error());
    return rc;
  }
  return launched;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the sum.
__device__ double block_sum(double v, double* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double r = lane < int(blockDim.x >> 5) ? red[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) r += __shfl_down_sync(0xffffffffu, r, o);
    if (lane == 0) red[32] = r;
  }
  __syncthreads();
  const double total = red[32];
  __syncthreads();  // red may be reused right after
  return total;
}

// Clamp to [-1, 1] that keeps NaN (fminf/fmaxf would turn it into a bound).
__device__ __forceinline__ float clip1(float g) { return g > 1.0f ? 1.0f : (g < -1.0f ? -1.0f : g); }

// ---------------------------------------------------------------- tangent normalization
// One block per sample (grid-stride over samples); the sample is cached in shared memory.
__global__ void tangent_cached_kernel(int64_t batch, int D, int mode, double c, const float* g, float* out,
                                      float* norms) {
  extern __shared__ float cache[];
  __shared__ double red[33];
  for (int64_t b = blockIdx.x; b < batch; b += gridDim.x) {
    const float* gb = g + b * D;
    float* ob = out + b * D;
    double ss = 0;
    for (int i = threadIdx.x; i < D; i += blockDim.x) {
      const float v = gb[i];
      cache[i] = v;
      ss += double(v) * v;
    }
    const double norm = sqrt(block_sum(ss, red));  // also a barrier: the cache is complete
    if (threadIdx.x == 0 && norms) norms[b] = float(norm);
    if (mode == SCM_TANGENT_NORMALIZE) {
      const double scale = 1.0 / (norm + c);
      for (int i = threadIdx.x; i < D; i += blockDim.x) ob[i] = float(cache[i] * scale);
    } else {
      for (int i = threadIdx.x; i < D; i += blockDim.x) ob[i] = clip1(cache[i]);
    }
    __syncthreads();  // the cache is rewritten for the next sample
  }
}

// Large samples, phase 1: partial[b * chunks + chunk] = sum of squares of the chunk.
__global__ void tangent_partial_kernel(int64_t batch, int64_t D, int64_t chunks, const float* g, double* partial) {
  __shared__ double red[33];
  for (int64_t b = blockIdx.y; b < batch; b += gridDim.y) {
    for (int64_t ch = blockIdx.x; ch < chunks; ch += gridDim.x) {
      const int64_t lo = ch * kChunk, hi = min(D, lo + kChunk);
      const float* gb = g + b * D;
      double ss = 0;
      for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) ss += double(gb[i]) * gb[i];
      ss = block_sum(ss, red);
      if (threadIdx.x == 0) partial[b * chunks + ch] = ss;
    }
  }
}

// Large samples, phase 2: the norm from the partials (fixed order), then scale / clip the chunk.
__global__ void tangent_apply_kernel(int64_t batch, int64_t D, int64_t chunks, int mode, double c,
                                     const double* partial, const float* g, float* out, float* norms) {
  __shared__ double red[33];
  for (int64_t b = blockIdx.y; b < batch; b += gridDim.y) {
    double ss = 0;
    for (int64_t k = threadIdx.x; k < chunks; k += blockDim.x) ss += partial[b * chunks + k];
    const double norm = sqrt(block_sum(ss, red));
    const double scale = 1.0 / (norm + c);
    for (int64_t ch = blockIdx.x; ch < chunks; ch += gridDim.x) {
      if (ch == 0 && threadIdx.x == 0 && norms) norms[b] = float(norm);
      const int64_t lo = ch * kChunk, hi = min(D, lo + kChunk);
      const float* gb = g + b * D;
      float* ob = out + b * D;
      if (mode == SCM_TANGENT_NORMALIZE) {
        for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) ob[i] = float(gb[i] * scale);
      } else {
        for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) ob[i] = clip1(gb[i]);
      }
    }
  }
}

__global__ void clip_kernel(size_t n, const float* g, float* out) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = clip1(g[i]);
}

int tangent_normalize(int64_t batch, int64_t per_sample, int mode, float c, const float* g, float* out,
                      float* norms) {
  return checked([&]() -> int {
    scm::cpu::validate_tangent_normalize(batch, per_sample, mode, c, g, out);
    if (batch == 0) return SCM_OK;
    const int64_t D = per_sample;
    cudaStream_t st = scm::cuda::stream();
    if (mode == SCM_TANGENT_CLIP && !norms) {
      const size_t n = size_t(batch * D);
      clip_kernel<<<scm::cuda::blocks_for(n, 256), 256, 0, st>>>(n, g, out);
      SCM_CUDA_LAUNCHED("tangent clip");
      return SCM_OK;
    }
    if (D <= kCacheFloats) {
      const int threads = int(std::min<int64_t>(512, std::max<int64_t>(32, (D + 31) / 32 * 32)));
      const unsigned blocks = unsigned(std::min<int64_t>(batch, 1 << 20));
      const size_t smem = size_t(D) * sizeof(float);
      if (smem > 32 * 1024)
        SCM_CUDA_TRY(cudaFuncSetAttribute(tangent_cached_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          int(kCacheFloats * sizeof(float))));
      tangent_cached_kernel<<<blocks, threads, smem, st>>>(batch, int(D), mode, c, g, out,
                                                                               norms);
      SCM_CUDA_LAUNCHED("tangent_normalize (cached)");
      return SCM_OK;
    }
    const int64_t chunks = (D + kChunk - 1) / kChunk;
    double* partial = nullptr;
    SCM_CUDA_TRY(cudaMallocAsync(reinterpret_cast<void**>(&partial), size_t(batch * chunks) * sizeof(double), st));
    const dim3 grid(unsigned(std::min<int64_t>(chunks, 1 << 20)), unsigned(std::min<int64_t>(batch, 65535)));
    tangent_partial_kernel<<<grid, kChunkThreads, 0, st>>>(batch, D, chunks, g, partial);
    if (cudaPeekAtLastError() == cudaSuccess)  // the second phase only after a good first launch
      tangent_apply_kernel<<<grid, kChunkThreads, 0, st>>>(batch, D, chunks, mode, c, partial, g, out, norms);
    return scm::cuda::launched_then_free(partial, "tangent_normalize (two-phase)");
  });
}

// ---------------------------------------------------------------- per-sample elementwise ops
// Op provides: struct Coef; __device__ Coef coef(int64_t b) const; __device__ void apply(int64_t i, const Coef&) const.

template <class Op>
__global__ void per_sample_2d_kernel(Op op, int64_t batch, int64_t D) {
  __shared__ typename Op::Coef coef;
  for (int64_t b = blockIdx.y; b < batch; b += gridDim.y) {
    if (threadIdx.x == 0) coef = op.coef(b);
    __syncthreads();
    const int64_t base = b * D;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < D; i += int64_t(gridDim.x) * blockDim.x)
      op.apply(base + i, coef);
    __syncthreads();
  }
}

template <class Op>
__global__ void per_sample_flat_kernel(Op op, int64_t n, int64_t D) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const typename Op::Coef c = op.coef(i / D);
    op.apply(i, c);
  }
}

template <class Op>
int launch_per_sample(const Op& op, int64_t batch, int64_t D, const char* what) {
  if (batch == 0) return SCM_OK;
  cudaStream_t st = scm::cuda::stream();
  if (D >= 256) {
    const int64_t xb = std::min<int64_t>((D + 255) / 256, 4096);
    const int64_t yb = std::min<int64_t>(batch, 65535);
    per_sample_2d_kernel<Op><<<dim3(unsigned(xb), unsigned(yb)), 256, 0, st>>>(op, batch, D);
  } else {
    const size_t n = size_t(batch * D);
    per_sample_flat_kernel<Op><<<scm::cuda::blocks_for(n, 256), 256, 0, st>>>(op, int64_t(n), D);
  }
  SCM_CUDA_LAUNCHED(what);
  return SCM_OK;
}

struct ConsistencyOp {
  struct Coef { float ct, sts, cn, sns; };
  double sd;
  const float *t, *x, *F, *t_next;
  float *x0, *x_next;
  uint64_t seed, offset;
  __device__ Coef coef(int64_t b) const {
    Coef c;
    const double tb = t[b];
    c.ct = float(cos(tb));
    c.sts = float(sin(tb) * sd);
    c.cn = 0.0f;
    c.sns = 0.0f;
    if (t_next) {
      const double tn = t_next[b];
      c.cn = float(cos(tn));
      c.sns = float(sin(tn) * sd);
    }
    return c;
  }
  __device__ void apply(int64_t i, const Coef& c) const {
    const float d = c.ct * x[i] - c.sts * F[i];
    if (x0) x0[i] = d;
    if (x_next) x_next[i] = c.cn * d + c.sns * scm::philox::normal_at(seed, offset + uint64_t(i));
  }
};

struct EulerOp {
  struct Coef { float ch, shs; };
  double sd;
  const float *s, *t, *x_s, *F_s;
  float* x_t;
  __device__ Coef coef(int64_t b) const {
    const double h = double(s[b]) - double(t[b]);
    return Coef{float(cos(h)), float(sin(h) * sd)};
  }
  __device__ void apply(int64_t i, const Coef& c) const { x_t[i] = c.ch * x_s[i] - c.shs * F_s[i]; }
};

// Heun's correction cancels terms of size 1/cos(s) (up to ~160 at EDM's t_max): double per element.
struct HeunOp {
  struct Coef { double a, k, ss, cs_sd, st, ct_sd; };
  double sd;
  const float *s, *t, *x_s, *F_s, *x_eul, *F_t;
  float* x_t;
  __device__ Coef coef(int64_t b) const {
    const double sb = s[b], tb = t[b];
    const double cs = cos(sb), ct = cos(tb);
    return Coef{ct / cs, 0.5 * sin(sb - tb) / cs, sin(sb), cs * sd, sin(tb), ct * sd};
  }
  __device__ void apply(int64_t i, const Coef& c) const {
    const double xs = x_s[i];
    const double zs = c.ss * xs + c.cs_sd * double(F_s[i]);
    const double zt = c.st * double(x_eul[i]) + c.ct_sd * double(F_t[i]);
    x_t[i] = float(c.a * xs - c.k * (zs + zt));
  }
};

int consistency_step(int64_t batch, int64_t per_sample, float sd, const float* t, const float* x, const float* F,
                     float* x0, const float* t_next, uint64_t seed, uint64_t offset, float* x_next) {
  return checked([&]() -> int {
    scm::cpu::validate_consistency_step(batch, per_sample, sd, t, x, F, x0, t_next, x_next);
    ConsistencyOp op{double(sd), t, x, F, t_next, x0, x_next, seed, offset};
    return launch_per_sample(op, batch, per_sample, "consistency_step");
  });
}

int euler_step(int64_t batch, int64_t per_sample, float sd, const float* s, const float* t, const float* x_s,
               const float* F_s, float* x_t) {
  return checked([&]() -> int {
    scm::cpu::validate_euler("euler_step", batch, per_sample, sd, s, t, x_s, F_s, nullptr, false, x_t);
    EulerOp op{double(sd), s, t, x_s, F_s, x_t};
    return launch_per_sample(op, batch, per_sample, "euler_step");
  });
}

int heun_correct(int64_t batch, int64_t per_sample, float sd, const float* s, const float* t, const float* x_s,
                 const float* F_s, const float* x_eul, const float* F_t, float* x_t) {
  return checked([&]() -> int {
    scm::cpu::validate_euler("heun_correct", batch, per_sample, sd, s, t, x_s, F_s, F_t, true, x_t);
    if (batch > 0) scm::cpu::require_trigflow_ptr(x_eul != nullptr, "heun_correct", "x_eul");
    HeunOp op{double(sd), s, t, x_s, F_s, x_eul, F_t, x_t};
    return launch_per_sample(op, batch, per_sample, "heun_correct");
  });
}

}  // namespace

void scm_cuda_fill_trigflow_train(ScmTrigflowKernels* k);  // trigflow_train.cu

void scm_cuda_fill_trigflow(ScmTrigflowKernels* k) {
  k->tangent_normalize = tangent_normalize;
  k->consistency_step = consistency_step;
  k->euler_step = euler_step;
  k->heun_correct = heun_correct;
  scm_cuda_fill_trigflow_train(k);
}
