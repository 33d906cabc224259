// The CUDA backend's pointwise entries for the models (items 7-9 of core/kernels/pointwise.h:
// head split/merge, per-sample modulation, row scaling). The CPU references are
// native/cpu/heads.h, modulate.h and scale_rows.h, whose argument checks these entries share;
// scm_cuda_fill_pointwise (pointwise.cu) calls scm_cuda_fill_pointwise_model.
//
// Elementwise work: grid-stride kernels of 256 threads on scm::cuda::stream(), one thread per
// element, int64 loop indices; the index arithmetic (divisions) in uint32 when the tensor has
// fewer than 2^32 elements (64-bit division is slow on the GPU).
// modulate_backward's ds, db: deterministic fp32 column sums. Work items are (sample, tile of 32
// channels); a block (32 channels x 8 row lanes) sums a split of the item's tokens, lane by lane
// in token order, then adds the 8 lanes in order. With one split (many items) it writes ds, db
// directly; otherwise the splits go to a stream-ordered workspace and a second kernel adds them in
// split order. The sums are complete before the dx kernel runs (stream order), so dx may alias dy.
#include <algorithm>
#include "checked_launch.cuh"
#include "../cpu/heads.h"
#include "../cpu/modulate.h"
#include "../cpu/scale_rows.h"

namespace {

namespace chk = scm::cpu::pointwise_checks;
using scm::cuda::check_then_launch;
using scm::cuda::flat_blocks;
using scm::cuda::kFlatThreads;
using scm::cuda::check_launched;
using scm::cuda::stream;
using scm::cuda::with_index_type;

// ---------------------------------------------------------------- 7. head layouts
// Element k of x [B, T, parts, H, hd] is element `offset` of head tensor `part` [B, H, T, hd].
template <class I>
struct HeadIndex {
  I part, offset;
};
template <class I>
__device__ __forceinline__ HeadIndex<I> head_index(I k, I T, I H, I hd, I parts) {
  const I e = k % hd, r1 = k / hd, h = r1 % H, r2 = r1 / H, p = r2 % parts, bt = r2 / parts;
  const I t = bt % T, b = bt / T;
  return {p, ((b * H + h) * T + t) * hd + e};
}

template <class I>
__global__ void split_heads_kernel(int64_t n, int64_t T, int64_t H, int64_t hd, int64_t parts,
                                   const float* __restrict__ x, float* __restrict__ out0, float* __restrict__ out1,
                                   float* __restrict__ out2) {
  SCM_FOR_EACH_INDEX(k, n) {
    const HeadIndex<I> at = head_index<I>(static_cast<I>(k), I(T), I(H), I(hd), I(parts));
    float* out = at.part == 0 ? out0 : (at.part == 1 ? out1 : out2);
    out[at.offset] = x[k];
  }
}
template <class I>
__global__ void merge_heads_kernel(int64_t n, int64_t T, int64_t H, int64_t hd, int64_t parts,
                                   const float* __restrict__ in0, const float* __restrict__ in1,
                                   const float* __restrict__ in2, float* __restrict__ x) {
  SCM_FOR_EACH_INDEX(k, n) {
    const HeadIndex<I> at = head_index<I>(static_cast<I>(k), I(T), I(H), I(hd), I(parts));
    const float* in = at.part == 0 ? in0 : (at.part == 1 ? in1 : in2);
    x[k] = in[at.offset];
  }
}

int split_heads(int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts, const float* x, float* out0, float* out1,
                float* out2) {
  return check_then_launch(
      [&] { return chk::heads("split_heads", true, B, T, H, hd, parts, x, {out0, out1, out2}); },
      [&] {
        const int64_t n = B * T * parts * H * hd;
        with_index_type(n, [&](auto index) {
          split_heads_kernel<decltype(index)>
              <<<flat_blocks(n), kFlatThreads, 0, stream()>>>(n, T, H, hd, parts, x, out0, out1, out2);
        });
        return check_launched("split_heads");
      });
}
int merge_heads(int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts, const float* in0, const float* in1,
                const float* in2, float* x) {
  return check_then_launch(
      [&] { return chk::heads("merge_heads", false, B, T, H, hd, parts, x, {in0, in1, in2}); },
      [&] {
        const int64_t n = B * T * parts * H * hd;
        with_index_type(n, [&](auto index) {
          merge_heads_kernel<decltype(index)>
              <<<flat_blocks(n), kFlatThreads, 0, stream()>>>(n, T, H, hd, parts, in0, in1, in2, x);
        });
        return check_launched("merge_heads");
      });
}

// ---------------------------------------------------------------- 8. modulation
enum ModMode { kModForward = 0, kModDual = 1, kModGradX = 2 };

// One thread per element k of [batch, tokens, C]; sc = i*C + c indexes s, b of its sample i.
// kModForward: y = x*(offset + s) + b. kModDual: also ty = tx*(offset + s) + x*ts + tb (ts, tb
// nullable). kModGradX: y = x*(offset + s) with x = dy and y = dx. Inputs are read before the
// outputs are written (y may alias x, ty may alias tx): no __restrict__ on them.
template <int MODE, class I>
__global__ void modulate_kernel(int64_t n, int64_t tokens, int64_t C, float offset, const float* x, const float* tx,
                                const float* __restrict__ s, const float* __restrict__ ts,
                                const float* __restrict__ b, const float* __restrict__ tb, float* y, float* ty) {
  const I per_sample = static_cast<I>(tokens * C), cols = static_cast<I>(C);
  SCM_FOR_EACH_INDEX(k, n) {
    const I idx = static_cast<I>(k);
    const I sc = (idx / per_sample) * cols + idx % cols;
    const float xv = x[k], scale = offset + s[sc];
    if constexpr (MODE == kModGradX) {
      y[k] = xv * scale;
    } else {
      if constexpr (MODE == kModDual) {
        float t = tx[k] * scale;
        if (ts) t = fmaf(xv, ts[sc], t);
        if (tb) t += tb[sc];
        ty[k] = t;
      }
      y[k] = fmaf(xv, scale, b[sc]);
    }
  }
}

template <int MODE>
int launch_modulate(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* tx,
                    const float* s, const float* ts, const float* b, const float* tb, float* y, float* ty,
                    const char* what) {
  const int64_t n = batch * tokens * C;
  with_index_type(n, [&](auto index) {
    modulate_kernel<MODE, decltype(index)>
        <<<flat_blocks(n), kFlatThreads, 0, stream()>>>(n, tokens, C, offset, x, tx, s, ts, b, tb, y, ty);
  });
  return check_launched(what);
}

constexpr int kTile = 32;      // channels per work item (one warp: coalesced rows)
constexpr int kRowLanes = 8;   // row lanes per block

// Work item `item` = i * tiles + tile. Block (kTile, kRowLanes), blockIdx.y = split sp: sums the
// tokens [sp*chunk, min(tokens, (sp+1)*chunk)) of sample i for the tile's channels into
// sum_s[sp*M + i*C + c] = sum dy*x and sum_b[...] = sum dy (M = batch*C; each nullable).
__global__ void __launch_bounds__(kTile* kRowLanes)
    modulate_sums_kernel(int64_t batch, int64_t tokens, int64_t C, int64_t chunk, const float* __restrict__ x,
                         const float* __restrict__ dy, float* __restrict__ sum_s, float* __restrict__ sum_b) {
  __shared__ float lane_s[kRowLanes][kTile + 1], lane_b[kRowLanes][kTile + 1];
  const int64_t tiles = (C + kTile - 1) / kTile, M = batch * C, sp = blockIdx.y;
  const int64_t t0 = sp * chunk, t1 = t0 + chunk < tokens ? t0 + chunk : tokens;
  for (int64_t item = blockIdx.x; item < batch * tiles; item += gridDim.x) {
    const int64_t i = item / tiles, c = (item % tiles) * kTile + threadIdx.x;
    float as = 0.f, ab = 0.f;
    if (c < C)
      for (int64_t t = t0 + threadIdx.y; t < t1; t += kRowLanes) {
        const int64_t k = (i * tokens + t) * C + c;
        const float g = dy[k];
        as = fmaf(g, x[k], as);
        ab += g;
      }
    lane_s[threadIdx.y][threadIdx.x] = as;
    lane_b[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
      float ts = 0.f, tb = 0.f;
#pragma unroll
      for (int j = 0; j < kRowLanes; ++j) {
        ts += lane_s[j][threadIdx.x];
        tb += lane_b[j][threadIdx.x];
      }
      if (sum_s) sum_s[sp * M + i * C + c] = ts;
      if (sum_b) sum_b[sp * M + i * C + c] = tb;
    }
    __syncthreads();  // the lane tiles are rewritten for the next item
  }
}

// ds[k] = sum over sp (in order) of part_s[sp*M + k], db likewise (each nullable).
__global__ void modulate_sums_finish_kernel(int64_t M, int splits, const float* __restrict__ part_s,
                                            const float* __restrict__ part_b, float* __restrict__ ds,
                                            float* __restrict__ db) {
  SCM_FOR_EACH_INDEX(k, M) {
    float a = 0.f, b = 0.f;
    for (int sp = 0; sp < splits; ++sp) {
      a += part_s[sp * M + k];
      b += part_b[sp * M + k];
    }
    if (ds) ds[k] = a;
    if (db) db[k] = b;
  }
}

// ds, db (overwritten, each nullable, not both null) for tokens >= 1.
int modulate_param_sums(int64_t batch, int64_t tokens, int64_t C, const float* x, const float* dy, float* ds,
                        float* db) {
  const int64_t items = batch * ((C + kTile - 1) / kTile);
  // Splits of the tokens so that there are about 2048 blocks, each summing >= 64 tokens.
  int64_t splits = std::max<int64_t>(1, 2048 / items);
  splits = std::min<int64_t>({splits, std::max<int64_t>(1, tokens / 64), 65535});
  const int64_t chunk = (tokens + splits - 1) / splits;
  splits = (tokens + chunk - 1) / chunk;
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>(items, 65535ll * 32)), static_cast<unsigned>(splits));
  const dim3 block(kTile, kRowLanes);
  if (splits == 1) {
    modulate_sums_kernel<<<grid, block, 0, stream()>>>(batch, tokens, C, chunk, x, dy, ds, db);
    return check_launched("modulate_backward ds/db");
  }
  const int64_t M = batch * C;
  float* part = nullptr;
  SCM_CUDA_TRY(cudaMallocAsync(reinterpret_cast<void**>(&part), size_t(2 * splits * M) * sizeof(float), stream()));
  modulate_sums_kernel<<<grid, block, 0, stream()>>>(batch, tokens, C, chunk, x, dy, part, part + splits * M);
  modulate_sums_finish_kernel<<<flat_blocks(M), kFlatThreads, 0, stream()>>>(M, static_cast<int>(splits), part,
                                                                             part + splits * M, ds, db);
  return scm::cuda::launched_then_free(part, "modulate_backward ds/db");
}

int modulate_forward(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* s,
                     const float* b, float* y) {
  return check_then_launch(
      [&] { return chk::modulate("modulate_forward", batch, tokens, C, offset, x, s, b, y, false, nullptr, nullptr); },
      [&] {
        return launch_modulate<kModForward>(batch, tokens, C, offset, x, nullptr, s, nullptr, b, nullptr, y, nullptr,
                                            "modulate_forward");
      });
}
int modulate_dual(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* tx,
                  const float* s, const float* ts, const float* b, const float* tb, float* y, float* ty) {
  return check_then_launch(
      [&] { return chk::modulate("modulate_dual", batch, tokens, C, offset, x, s, b, y, true, tx, ty); },
      [&] { return launch_modulate<kModDual>(batch, tokens, C, offset, x, tx, s, ts, b, tb, y, ty, "modulate_dual"); });
}
int modulate_backward(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* s,
                      const float* dy, float* dx, float* ds, float* db) {
  return check_then_launch(
      [&] { return chk::modulate_backward(batch, tokens, C, offset, x, s, dy); },
      [&]() -> int {
        if (tokens == 0) {  // sums over no tokens
          if (ds) SCM_CUDA_TRY(cudaMemsetAsync(ds, 0, size_t(batch * C) * sizeof(float), stream()));
          if (db) SCM_CUDA_TRY(cudaMemsetAsync(db, 0, size_t(batch * C) * sizeof(float), stream()));
          return SCM_OK;
        }
        if (ds || db)
          if (int rc = modulate_param_sums(batch, tokens, C, x, dy, ds, db)) return rc;
        if (!dx) return SCM_OK;
        return launch_modulate<kModGradX>(batch, tokens, C, offset, dy, nullptr, s, nullptr, nullptr, nullptr, dx,
                                          nullptr, "modulate_backward dx");
      });
}

// ---------------------------------------------------------------- 9. row scaling
// y = alpha[row] * x, and +0 where alpha[row] == 0 (x unused there).
template <class I>
__global__ void scale_rows_kernel(int64_t n, int64_t per_sample, const float* __restrict__ alpha, const float* x,
                                  float* y) {
  SCM_FOR_EACH_INDEX(k, n) {
    const float a = alpha[static_cast<I>(k) / static_cast<I>(per_sample)];
    y[k] = a == 0.f ? 0.f : a * x[k];
  }
}

int scale_rows(int64_t batch, int64_t per_sample, const float* alpha, const float* x, float* y) {
  return check_then_launch(
      [&] { return chk::scale_rows("scale_rows", batch, per_sample, alpha, x, y); },
      [&] {
        const int64_t n = batch * per_sample;
        with_index_type(n, [&](auto index) {
          scale_rows_kernel<decltype(index)><<<flat_blocks(n), kFlatThreads, 0, stream()>>>(n, per_sample, alpha, x, y);
        });
        return check_launched("scale_rows");
      });
}

}  // namespace

void scm_cuda_fill_pointwise_model(ScmPointwiseKernels* k) {
  k->split_heads = split_heads;
  k->merge_heads = merge_heads;
  k->modulate_forward = modulate_forward;
  k->modulate_dual = modulate_dual;
  k->modulate_backward = modulate_backward;
  k->scale_rows = scale_rows;
}
