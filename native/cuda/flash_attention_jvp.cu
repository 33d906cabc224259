// Flash attention forward + JVP in one pass over the key blocks (tensor cores, bf16 / fp16
// operands, fp32 accumulation and softmax), no len_q x len_k buffer. SCM.md §3:
//   Sdot = scale (Qdot K^T + Q Kdot^T)
//   per query row, rescaled by e^{m_old - m_new} like l and A whenever the running max grows:
//     l = sum e^{S-m},  A = sum e^{S-m} V,  mu = sum e^{S-m} Sdot,
//     BC = sum (e^{S-m} Sdot) V + sum e^{S-m} Vdot    (B and C share one accumulator)
//   O = A / l,  Odot = BC / l - (mu / l) O,  lse = m + log l.
// Rows with no valid key: O = Odot = 0, lse = -inf.
#include "attention_common.cuh"

namespace scm::cuda {
namespace {

using namespace attn;

struct JvpParams {
  const float *q, *k, *v, *tq, *tk, *tv;
  float *o, *to, *lse;
  const int32_t* key_lengths;
  int heads, len_q, len_k, q_blocks;
  float scale, scale_log2;
  bool vec;
};

template <int D, int BC>
struct JvpSmem {
  static constexpr int BR = 64;
  static constexpr int LDQ = D + kPad, LDK = D + kPad, LDV = BC + kPad;
  static constexpr int Q = 0, TQ = Q + BR * LDQ, K = TQ + BR * LDQ, TK = K + BC * LDK, VT = TK + BC * LDK,
                       TVT = VT + D * LDV, END = TVT + D * LDV;
  static constexpr size_t bytes(size_t elem) { return END * elem; }
};

template <class T, int D, int BC>
__global__ void __launch_bounds__(kThreads) flash_jvp_kernel(JvpParams p) {
  using L = JvpSmem<D, BC>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  T* sQ = smem + L::Q;
  T* sTQ = smem + L::TQ;
  T* sK = smem + L::K;
  T* sTK = smem + L::TK;
  T* sVt = smem + L::VT;
  T* sTVt = smem + L::TVT;

  const int qb = blockIdx.x % p.q_blocks;
  const int64_t bh = blockIdx.x / p.q_blocks;
  const int64_t b = bh / p.heads;
  const int q0 = qb * L::BR;
  const int nq = min(L::BR, p.len_q - q0);
  const int kv = valid_keys(p.key_lengths, b, p.len_k);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;

  const int64_t qoff = (bh * p.len_q + q0) * D, koff = bh * p.len_k * D;
  load_rows<T, L::BR, D>(sQ, L::LDQ, p.q + qoff, nq, p.vec);
  load_rows<T, L::BR, D>(sTQ, L::LDQ, p.tq + qoff, nq, p.vec);

  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f}, mu[2] = {0.f, 0.f};
  float acc[D / 8][4], dacc[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] = dacc[n][e] = 0.f;

  const T* qw = sQ + warp * kWarpRows * L::LDQ;
  const T* tqw = sTQ + warp * kWarpRows * L::LDQ;
  for (int k0 = 0; k0 < kv; k0 += BC) {
    const int nk = min(BC, kv - k0);
    const int64_t ko = koff + static_cast<int64_t>(k0) * D;
    __syncthreads();
    load_rows<T, BC, D>(sK, L::LDK, p.k + ko, nk, p.vec);
    load_rows<T, BC, D>(sTK, L::LDK, p.tk + ko, nk, p.vec);
    load_cols<T, BC, D>(sVt, L::LDV, p.v + ko, nk, p.vec);
    load_cols<T, BC, D>(sTVt, L::LDV, p.tv + ko, nk, p.vec);
    __syncthreads();

    float s[BC / 8][4], ds[BC / 8][4];
#pragma unroll
    for (int n = 0; n < BC / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[n][e] = ds[n][e] = 0.f;
    mm_nt<T, BC / 8, D>(qw, L::LDQ, sK, L::LDK, s);
    mm_nt<T, BC / 8, D>(tqw, L::LDQ, sK, L::LDK, ds);
    mm_nt<T, BC / 8, D>(qw, L::LDQ, sTK, L::LDK, ds);

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
      base[r] = m_new == -INFINITY ? 0.f : m_new;
      alpha[r] = exp2f(m[r] - base[r]);
      m[r] = m_new;
      l[r] *= alpha[r];
      mu[r] *= alpha[r];
    }
#pragma unroll
    for (int n = 0; n < BC / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float pe = exp2f(s[n][e] - base[e >> 1]);  // 0 for masked keys
        const float pd = pe * ds[n][e] * p.scale;        // e^{S-m} Sdot
        s[n][e] = pe;
        ds[n][e] = pd;
        l[e >> 1] += pe;   // thread-partial sums, reduced over the quad at the end
        mu[e >> 1] += pd;
      }
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      acc[n][0] *= alpha[0]; acc[n][1] *= alpha[0];
      acc[n][2] *= alpha[1]; acc[n][3] *= alpha[1];
      dacc[n][0] *= alpha[0]; dacc[n][1] *= alpha[0];
      dacc[n][2] *= alpha[1]; dacc[n][3] *= alpha[1];
    }
    mm_pv<T, BC / 8, D>(s, sVt, L::LDV, acc);
    mm_pv<T, BC / 8, D>(ds, sVt, L::LDV, dacc);
    mm_pv<T, BC / 8, D>(s, sTVt, L::LDV, dacc);
  }

  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] = quad_sum(l[r]);
    mu[r] = quad_sum(mu[r]);
    inv[r] = l[r] > 0.f ? 1.f / l[r] : 0.f;
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = warp * kWarpRows + g + 8 * r;
    if (row >= nq) continue;
    const int64_t off = (bh * p.len_q + q0 + row) * D;
    const float mul = mu[r] * inv[r];
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int c = n * 8 + 2 * t + e;
        const float o = acc[n][2 * r + e] * inv[r];
        p.o[off + c] = o;
        p.to[off + c] = dacc[n][2 * r + e] * inv[r] - mul * o;
      }
    if (p.lse && t == 0)
      p.lse[bh * p.len_q + q0 + row] = l[r] > 0.f ? (m[r] + log2f(l[r])) * kLn2 : -INFINITY;
  }
}

template <class T, int D>
int launch_jvp(const ScmAttentionShape* s, const float* q, const float* k, const float* v, const float* tq,
               const float* tk, const float* tv, float* o, float* to, float* lse) {
  constexpr int BC = D >= 128 ? 32 : 64;  // register budget: two D-wide accumulators per row
  using L = JvpSmem<D, BC>;
  JvpParams p{};
  p.q = q; p.k = k; p.v = v; p.tq = tq; p.tk = tk; p.tv = tv;
  p.o = o; p.to = to; p.lse = lse;
  p.key_lengths = s->key_lengths;
  p.heads = static_cast<int>(s->heads);
  p.len_q = static_cast<int>(s->len_q);
  p.len_k = static_cast<int>(s->len_k);
  p.q_blocks = static_cast<int>((s->len_q + L::BR - 1) / L::BR);
  p.scale = s->scale;
  p.scale_log2 = s->scale * kLog2e;
  p.vec = aligned16(q) && aligned16(k) && aligned16(v) && aligned16(tq) && aligned16(tk) && aligned16(tv);
  const int64_t blocks = int64_t(p.q_blocks) * s->batch * s->heads;
  if (blocks >= (int64_t(1) << 31)) {
    set_error("attention jvp: too many blocks");
    return SCM_E_ARGUMENT;
  }
  const size_t smem = L::bytes(sizeof(T));
  auto kernel = flash_jvp_kernel<T, D, BC>;
  if (int rc = prepare_smem(kernel, smem)) return rc;
  kernel<<<static_cast<unsigned>(blocks), kThreads, smem, stream()>>>(p);
  SCM_CUDA_LAUNCHED("flash attention jvp");
  return SCM_OK;
}

}  // namespace

int attention_flash_jvp(const ScmAttentionShape* s, const float* q, const float* k, const float* v, const float* tq,
                        const float* tk, const float* tv, float* o, float* to, float* lse) {
  const char* what = "attention jvp (CUDA flash)";
  if (int rc = attn::check_shape(s, what)) return rc;
  const int64_t nq = s->batch * s->heads * s->len_q * s->head_dim, nk = s->batch * s->heads * s->len_k * s->head_dim;
  if (nq == 0) return SCM_OK;
  if (int rc = attn::need_jvp(what, nq, nk, q, k, v, tq, tk, tv, o, to)) return rc;
  return attn::dispatch<attn::Pass::kJvp>(s, [&](auto tag, auto dim) -> int {
    return launch_jvp<decltype(tag), decltype(dim)::value>(s, q, k, v, tq, tk, tv, o, to, lse);
  });
}

}  // namespace scm::cuda
