// Flash attention forward on tensor cores (mma.sync m16n8k16, bf16 / fp16 operands, fp32
// accumulation and softmax). One block = 64 query rows of one (batch, head); each of its 4
// warps owns 16 rows and walks over all key blocks once, keeping per row the running max m,
// the normaliser l and the numerator A = sum e^{S-m} V, rescaled by e^{m_old - m_new}
// whenever m grows. At the end O = A / l and lse = m + log l. SCM.md §3.
#include "attention_common.cuh"

namespace scm::cuda {
namespace {

using namespace attn;

struct FwdParams {
  const float *q, *k, *v;
  float *o, *lse;
  const int32_t* key_lengths;
  int heads, len_q, len_k, q_blocks;
  float scale_log2;  // scale * log2(e): the softmax runs in base 2
  bool vec;
};

template <int D, int BC>
struct FwdSmem {
  static constexpr int BR = 64;
  static constexpr int LDQ = D + kPad, LDK = D + kPad, LDV = BC + kPad;
  static constexpr int Q = 0, K = Q + BR * LDQ, VT = K + BC * LDK, END = VT + D * LDV;
  static constexpr size_t bytes(size_t elem) { return END * elem; }
};

template <class T, int D, int BC>
__global__ void __launch_bounds__(kThreads) flash_fwd_kernel(FwdParams p) {
  using L = FwdSmem<D, BC>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  T* sQ = smem + L::Q;
  T* sK = smem + L::K;
  T* sVt = smem + L::VT;

  const int qb = blockIdx.x % p.q_blocks;
  const int64_t bh = blockIdx.x / p.q_blocks;
  const int64_t b = bh / p.heads;
  const int q0 = qb * L::BR;
  const int nq = min(L::BR, p.len_q - q0);
  const int kv = valid_keys(p.key_lengths, b, p.len_k);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;

  const float* qg = p.q + (bh * p.len_q + q0) * D;
  const float* kg = p.k + bh * p.len_k * D;
  const float* vg = p.v + bh * p.len_k * D;

  load_rows<T, L::BR, D>(sQ, L::LDQ, qg, nq, p.vec);

  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
  float acc[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;

  for (int k0 = 0; k0 < kv; k0 += BC) {
    const int nk = min(BC, kv - k0);
    __syncthreads();  // previous tiles fully consumed (and sQ written, first time)
    load_rows<T, BC, D>(sK, L::LDK, kg + static_cast<int64_t>(k0) * D, nk, p.vec);
    load_cols<T, BC, D>(sVt, L::LDV, vg + static_cast<int64_t>(k0) * D, nk, p.vec);
    __syncthreads();

    float s[BC / 8][4];
#pragma unroll
    for (int n = 0; n < BC / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
    mm_nt<T, BC / 8, D>(sQ + warp * kWarpRows * L::LDQ, L::LDQ, sK, L::LDK, s);

    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < BC / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = n * 8 + 2 * t + (e & 1);
        s[n][e] = key < nk ? s[n][e] * p.scale_log2 : -INFINITY;
        mx[e >> 1] = fmaxf(mx[e >> 1], s[n][e]);
      }
    float base[2], alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float m_new = fmaxf(m[r], quad_max(mx[r]));
      base[r] = m_new == -INFINITY ? 0.f : m_new;  // no (-inf) - (-inf)
      alpha[r] = exp2f(m[r] - base[r]);
      m[r] = m_new;
      l[r] *= alpha[r];
    }
#pragma unroll
    for (int n = 0; n < BC / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[n][e] = exp2f(s[n][e] - base[e >> 1]);
        l[e >> 1] += s[n][e];  // thread-partial; the 4 lanes of a row are summed at the end
      }
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      acc[n][0] *= alpha[0]; acc[n][1] *= alpha[0];
      acc[n][2] *= alpha[1]; acc[n][3] *= alpha[1];
    }
    mm_pv<T, BC / 8, D>(s, sVt, L::LDV, acc);
  }

  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] = quad_sum(l[r]);
    inv[r] = l[r] > 0.f ? 1.f / l[r] : 0.f;
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = warp * kWarpRows + g + 8 * r;
    if (row >= nq) continue;
    float* og = p.o + (bh * p.len_q + q0 + row) * D;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      const int c = n * 8 + 2 * t;
      og[c] = acc[n][2 * r] * inv[r];
      og[c + 1] = acc[n][2 * r + 1] * inv[r];
    }
    if (p.lse && t == 0)
      p.lse[bh * p.len_q + q0 + row] = l[r] > 0.f ? (m[r] + log2f(l[r])) * kLn2 : -INFINITY;
  }
}

template <class T, int D>
int launch_forward(const ScmAttentionShape* s, const float* q, const float* k, const float* v, float* o, float* lse) {
  constexpr int BC = 64;
  using L = FwdSmem<D, BC>;
  FwdParams p{};
  p.q = q; p.k = k; p.v = v; p.o = o; p.lse = lse;
  p.key_lengths = s->key_lengths;
  p.heads = static_cast<int>(s->heads);
  p.len_q = static_cast<int>(s->len_q);
  p.len_k = static_cast<int>(s->len_k);
  p.q_blocks = static_cast<int>((s->len_q + L::BR - 1) / L::BR);
  p.scale_log2 = s->scale * kLog2e;
  p.vec = aligned16(q) && aligned16(k) && aligned16(v);
  const int64_t blocks = int64_t(p.q_blocks) * s->batch * s->heads;
  if (blocks >= (int64_t(1) << 31)) {
    set_error("attention forward: too many blocks");
    return SCM_E_ARGUMENT;
  }
  const size_t smem = L::bytes(sizeof(T));
  auto kernel = flash_fwd_kernel<T, D, BC>;
  if (int rc = prepare_smem(kernel, smem)) return rc;
  kernel<<<static_cast<unsigned>(blocks), kThreads, smem, stream()>>>(p);
  SCM_CUDA_LAUNCHED("flash attention forward");
  return SCM_OK;
}

}  // namespace

int attention_flash_forward(const ScmAttentionShape* s, const float* q, const float* k, const float* v, float* o,
                            float* lse) {
  const char* what = "attention forward (CUDA flash)";
  if (int rc = attn::check_shape(s, what)) return rc;
  const int64_t nq = s->batch * s->heads * s->len_q * s->head_dim, nk = s->batch * s->heads * s->len_k * s->head_dim;
  if (nq == 0) return SCM_OK;
  if (int rc = attn::need_forward(what, nq, nk, q, k, v, o)) return rc;
  return attn::dispatch<attn::Pass::kForward>(s, [&](auto tag, auto dim) -> int {
    return launch_forward<decltype(tag), decltype(dim)::value>(s, q, k, v, o, lse);
  });
}

}  // namespace scm::cuda
