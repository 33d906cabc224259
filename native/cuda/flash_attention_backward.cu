// Flash attention backward through the primal path (tensor cores, bf16 / fp16 operands, fp32
// accumulation). P is recomputed from Q, K and the stored log-sum-exp: P = e^{scale S - lse}.
//   D_i = rowsum(dO ⊙ O),  dP = dO V^T,  dS = P ⊙ (dP - D),
//   dV = P^T dO,  dK = scale dS^T Q,  dQ = scale dS K.
// Three kernels, no atomics (deterministic): row dot D_i; dq (a block owns 64 query rows and
// walks the key blocks); dk/dv (a block owns 64 keys and walks the query blocks). Keys beyond
// key_lengths[b] and rows with lse = -inf (no valid key) get P = 0, hence zero gradients.
#include "attention_common.cuh"

namespace scm::cuda {
namespace {

using namespace attn;

struct BwdParams {
  const float *q, *k, *v, *lse, *dout, *dsum;
  float *dq, *dk, *dv;
  const int32_t* key_lengths;
  int heads, len_q, len_k, blocks_per_bh;
  float scale, scale_log2;
  bool vec;
};

// ---------------------------------------------------------------- dq
template <int D, int BC>
struct DqSmem {
  static constexpr int BR = 64;
  static constexpr int LD = D + kPad, LDT = BC + kPad;
  static constexpr int Q = 0, DO = Q + BR * LD, K = DO + BR * LD, V = K + BC * LD, KT = V + BC * LD,
                       END = KT + D * LDT;
  static constexpr size_t bytes(size_t elem) { return END * elem; }
};

template <class T, int D, int BC>
__global__ void __launch_bounds__(kThreads) flash_bwd_dq_kernel(BwdParams p) {
  using L = DqSmem<D, BC>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  T* sQ = smem + L::Q;
  T* sDO = smem + L::DO;
  T* sK = smem + L::K;
  T* sV = smem + L::V;
  T* sKt = smem + L::KT;

  const int qb = blockIdx.x % p.blocks_per_bh;
  const int64_t bh = blockIdx.x / p.blocks_per_bh;
  const int64_t b = bh / p.heads;
  const int q0 = qb * L::BR;
  const int nq = min(L::BR, p.len_q - q0);
  const int kv = valid_keys(p.key_lengths, b, p.len_k);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;

  const int64_t qoff = (bh * p.len_q + q0) * D, koff = bh * p.len_k * D;
  load_rows<T, L::BR, D>(sQ, L::LD, p.q + qoff, nq, p.vec);
  load_rows<T, L::BR, D>(sDO, L::LD, p.dout + qoff, nq, p.vec);

  float lse2[2], di[2];
  bool live[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = warp * kWarpRows + g + 8 * r;
    const int64_t idx = bh * p.len_q + q0 + row;
    const float x = row < nq ? p.lse[idx] : -INFINITY;
    live[r] = x != -INFINITY;
    lse2[r] = live[r] ? x * kLog2e : 0.f;
    di[r] = row < nq ? p.dsum[idx] : 0.f;
  }

  float acc[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;

  const T* qw = sQ + warp * kWarpRows * L::LD;
  const T* dow = sDO + warp * kWarpRows * L::LD;
  for (int k0 = 0; k0 < kv; k0 += BC) {
    const int nk = min(BC, kv - k0);
    const int64_t ko = koff + static_cast<int64_t>(k0) * D;
    __syncthreads();
    load_rows<T, BC, D>(sK, L::LD, p.k + ko, nk, p.vec);
    load_rows<T, BC, D>(sV, L::LD, p.v + ko, nk, p.vec);
    load_cols<T, BC, D>(sKt, L::LDT, p.k + ko, nk, p.vec);
    __syncthreads();

    float s[BC / 8][4], dp[BC / 8][4];
#pragma unroll
    for (int n = 0; n < BC / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[n][e] = dp[n][e] = 0.f;
    mm_nt<T, BC / 8, D>(qw, L::LD, sK, L::LD, s);
    mm_nt<T, BC / 8, D>(dow, L::LD, sV, L::LD, dp);
#pragma unroll
    for (int n = 0; n < BC / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1;
        const int key = n * 8 + 2 * t + (e & 1);
        const float pe = (key < nk && live[r]) ? exp2f(s[n][e] * p.scale_log2 - lse2[r]) : 0.f;
        s[n][e] = pe * (dp[n][e] - di[r]);  // dS (without the scale)
      }
    mm_pv<T, BC / 8, D>(s, sKt, L::LDT, acc);
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = warp * kWarpRows + g + 8 * r;
    if (row >= nq) continue;
    float* out = p.dq + qoff + static_cast<int64_t>(row) * D;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      const int c = n * 8 + 2 * t;
      out[c] = acc[n][2 * r] * p.scale;
      out[c + 1] = acc[n][2 * r + 1] * p.scale;
    }
  }
}

// ---------------------------------------------------------------- dk, dv
template <int D, int BQ>
struct DkvSmem {
  static constexpr int BK = 64;
  static constexpr int LD = D + kPad, LDT = BQ + kPad;
  static constexpr int K = 0, V = K + BK * LD, Q = V + BK * LD, DO = Q + BQ * LD, QT = DO + BQ * LD,
                       DOT = QT + D * LDT, END = DOT + D * LDT;
  // plus two fp32 vectors of BQ (lse in base 2, D_i) after the tiles
  static constexpr size_t bytes(size_t elem) { return END * elem + 2 * BQ * sizeof(float); }
};

template <class T, int D, int BQ>
__global__ void __launch_bounds__(kThreads) flash_bwd_dkdv_kernel(BwdParams p) {
  using L = DkvSmem<D, BQ>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  T* sK = smem + L::K;
  T* sV = smem + L::V;
  T* sQ = smem + L::Q;
  T* sDO = smem + L::DO;
  T* sQt = smem + L::QT;
  T* sDOt = smem + L::DOT;
  float* sLse = reinterpret_cast<float*>(smem + L::END);
  float* sD = sLse + BQ;

  const int kb = blockIdx.x % p.blocks_per_bh;
  const int64_t bh = blockIdx.x / p.blocks_per_bh;
  const int64_t b = bh / p.heads;
  const int k0 = kb * L::BK;
  const int nk_all = min(L::BK, p.len_k - k0);  // rows written
  const int kv = valid_keys(p.key_lengths, b, p.len_k);
  const int nk = max(0, min(L::BK, kv - k0));   // rows that take part
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;

  const int64_t koff = (bh * p.len_k + k0) * D, qoff = bh * p.len_q * D;

  float dk[D / 8][4], dv[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) dk[n][e] = dv[n][e] = 0.f;

  if (nk > 0) {
    load_rows<T, L::BK, D>(sK, L::LD, p.k + koff, nk, p.vec);
    load_rows<T, L::BK, D>(sV, L::LD, p.v + koff, nk, p.vec);
    bool key_ok[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) key_ok[r] = warp * kWarpRows + g + 8 * r < nk;
    const T* kw = sK + warp * kWarpRows * L::LD;
    const T* vw = sV + warp * kWarpRows * L::LD;

    for (int q0 = 0; q0 < p.len_q; q0 += BQ) {
      const int nq = min(BQ, p.len_q - q0);
      const int64_t qo = qoff + static_cast<int64_t>(q0) * D;
      __syncthreads();
      load_rows<T, BQ, D>(sQ, L::LD, p.q + qo, nq, p.vec);
      load_rows<T, BQ, D>(sDO, L::LD, p.dout + qo, nq, p.vec);
      load_cols<T, BQ, D>(sQt, L::LDT, p.q + qo, nq, p.vec);
      load_cols<T, BQ, D>(sDOt, L::LDT, p.dout + qo, nq, p.vec);
      for (int i = threadIdx.x; i < BQ; i += kThreads) {
        const int64_t idx = bh * p.len_q + q0 + i;
        sLse[i] = i < nq ? p.lse[idx] * kLog2e : -INFINITY;  // -inf: row without keys, or padding
        sD[i] = i < nq ? p.dsum[idx] : 0.f;
      }
      __syncthreads();

      float st[BQ / 8][4], dpt[BQ / 8][4];  // S^T and dP^T: 16 keys x BQ queries per warp
#pragma unroll
      for (int n = 0; n < BQ / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) st[n][e] = dpt[n][e] = 0.f;
      mm_nt<T, BQ / 8, D>(kw, L::LD, sQ, L::LD, st);
      mm_nt<T, BQ / 8, D>(vw, L::LD, sDO, L::LD, dpt);
#pragma unroll
      for (int n = 0; n < BQ / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int col = n * 8 + 2 * t + (e & 1);
          const float l2 = sLse[col];
          const float pe = (key_ok[e >> 1] && l2 != -INFINITY) ? exp2f(st[n][e] * p.scale_log2 - l2) : 0.f;
          st[n][e] = pe;
          dpt[n][e] = pe * (dpt[n][e] - sD[col]);  // dS^T (without the scale)
        }
      mm_pv<T, BQ / 8, D>(st, sDOt, L::LDT, dv);
      mm_pv<T, BQ / 8, D>(dpt, sQt, L::LDT, dk);
    }
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = warp * kWarpRows + g + 8 * r;
    if (row >= nk_all) continue;
    const int64_t off = koff + static_cast<int64_t>(row) * D;
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int c = n * 8 + 2 * t + e;
        p.dk[off + c] = dk[n][2 * r + e] * p.scale;
        p.dv[off + c] = dv[n][2 * r + e];
      }
  }
}

template <class T, int D>
int launch_backward(const ScmAttentionShape* s, BwdParams p) {
  constexpr int BCQ = D >= 128 ? 32 : 64;   // dq kernel: keys per step (registers)
  constexpr int BQ = D >= 128 ? 32 : 64;    // dk/dv kernel: queries per step (shared memory)
  using LQ = DqSmem<D, BCQ>;
  using LK = DkvSmem<D, BQ>;
  const int64_t bh = s->batch * s->heads;
  if (s->len_q > 0) {
    p.blocks_per_bh = static_cast<int>((s->len_q + LQ::BR - 1) / LQ::BR);
    const int64_t blocks = bh * p.blocks_per_bh;
    if (blocks >= (int64_t(1) << 31)) {
      set_error("attention backward: too many blocks");
      return SCM_E_ARGUMENT;
    }
    const size_t smem = LQ::bytes(sizeof(T));
    auto kernel = flash_bwd_dq_kernel<T, D, BCQ>;
    if (int rc = prepare_smem(kernel, smem)) return rc;
    kernel<<<static_cast<unsigned>(blocks), kThreads, smem, stream()>>>(p);
    SCM_CUDA_LAUNCHED("flash attention backward (dq)");
  }
  if (s->len_k > 0) {
    p.blocks_per_bh = static_cast<int>((s->len_k + LK::BK - 1) / LK::BK);
    const int64_t blocks = bh * p.blocks_per_bh;
    if (blocks >= (int64_t(1) << 31)) {
      set_error("attention backward: too many blocks");
      return SCM_E_ARGUMENT;
    }
    const size_t smem = LK::bytes(sizeof(T));
    auto kernel = flash_bwd_dkdv_kernel<T, D, BQ>;
    if (int rc = prepare_smem(kernel, smem)) return rc;
    kernel<<<static_cast<unsigned>(blocks), kThreads, smem, stream()>>>(p);
    SCM_CUDA_LAUNCHED("flash attention backward (dk, dv)");
  }
  return SCM_OK;
}

}  // namespace

int attention_flash_backward(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                             const float* o, const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  const char* what = "attention backward (CUDA flash)";
  if (int rc = attn::check_shape(s, what)) return rc;
  const int64_t bh = s->batch * s->heads;
  const int64_t nq = bh * s->len_q * s->head_dim, nk = bh * s->len_k * s->head_dim;
  if (nq == 0 && nk == 0) return SCM_OK;
  if (int rc = attn::need_backward(what, nq, nk, q, k, v, o, dout, dq, dk, dv)) return rc;
  SCM_ATTN_NEED(lse, nq, what);  // the flash backward recomputes P from it

  float* dsum = nullptr;
  const int64_t rows = bh * s->len_q;
  if (rows > 0) {
    SCM_CUDA_TRY(cudaMallocAsync(&dsum, rows * sizeof(float), stream()));
    if (int rc = attn::row_dot(dout, o, dsum, rows, static_cast<int>(s->head_dim))) {
      free_scratch_quietly(dsum);
      return rc;
    }
  }
  BwdParams p{};
  p.q = q; p.k = k; p.v = v; p.lse = lse; p.dout = dout; p.dsum = dsum;
  p.dq = dq; p.dk = dk; p.dv = dv;
  p.key_lengths = s->key_lengths;
  p.heads = static_cast<int>(s->heads);
  p.len_q = static_cast<int>(s->len_q);
  p.len_k = static_cast<int>(s->len_k);
  p.scale = s->scale;
  p.scale_log2 = s->scale * attn::kLog2e;
  p.vec = attn::aligned16(q) && attn::aligned16(k) && attn::aligned16(v) && attn::aligned16(dout);
  const int rc = attn::dispatch<attn::Pass::kBackward>(s, [&](auto tag, auto dim) -> int {
    return launch_backward<decltype(tag), decltype(dim)::value>(s, p);
  });
  if (rc) {
    free_scratch_quietly(dsum);
    return rc;
  }
  if (dsum) SCM_CUDA_TRY(cudaFreeAsync(dsum, stream()));
  return SCM_OK;
}

}  // namespace scm::cuda
