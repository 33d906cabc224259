// Naive (materialised) attention on the GPU: the reference path and the baseline of the
// attention benchmark. S and P (len_q x len_k per head) live in device memory; the products
// are strided-batched cuBLAS calls through the gemm family (gemm.cu), the softmax and the
// elementwise steps are small fp32 kernels. SCM.md §3.
//
// Operand precision of the products: SCM_ATTN_FP32 -> fp32, SCM_ATTN_BF16 -> bf16 operands,
// SCM_ATTN_FP16 -> TF32 (the gemm family has no fp16 operands; TF32 has fp16's 10-bit
// mantissa). Accumulation, softmax, lse and the JVP / backward elementwise terms are fp32.
#include "attention_common.cuh"

namespace scm::cuda {
namespace {

using namespace attn;

const ScmGemmKernels& gemm_table() {
  static const ScmGemmKernels g = [] {
    ScmGemmKernels x{};
    scm_cuda_fill_gemm(&x);
    return x;
  }();
  return g;
}

int gemm_precision(int p) {
  return p == SCM_ATTN_BF16 ? SCM_GEMM_BF16 : (p == SCM_ATTN_FP16 ? SCM_GEMM_TF32 : SCM_GEMM_FP32);
}

// C[b] = alpha op(A[b]) op(B[b]) + beta C[b], row-major, batch = batch * heads.
int bgemm(const ScmAttentionShape* s, int64_t m, int64_t n, int64_t k, bool ta, bool tb, const float* a,
          int64_t lda, int64_t sa, const float* b, int64_t ldb, int64_t sb, float* c, int64_t ldc, int64_t sc,
          float alpha, float beta) {
  ScmGemmDesc d{};
  d.m = m; d.n = n; d.k = k;
  d.trans_a = ta; d.trans_b = tb;
  d.lda = lda; d.ldb = ldb; d.ldc = ldc;
  d.batch = s->batch * s->heads;
  d.stride_a = sa; d.stride_b = sb; d.stride_c = sc;
  d.alpha = alpha; d.beta = beta;
  d.precision = gemm_precision(s->precision);
  return gemm_table().gemm(&d, a, b, c);
}

// Device scratch freed (stream-ordered) when it goes out of scope.
struct Scratch {
  float* p = nullptr;
  ~Scratch() { free_scratch_quietly(p); }  // a failed free is consumed, never left pending
  int alloc(size_t count) {
    if (count == 0) return SCM_OK;
    SCM_CUDA_TRY(cudaMallocAsync(&p, count * sizeof(float), stream()));
    return SCM_OK;
  }
};

unsigned warp_blocks(int64_t rows) { return static_cast<unsigned>((rows + 7) / 8); }  // 8 warps per block

// In place: row of S (already scaled) -> row of P = softmax over the valid keys, 0 elsewhere;
// lse = max + log(sum). A row without valid keys gives P = 0, lse = -inf. One warp per row.
__global__ void __launch_bounds__(256) naive_softmax_kernel(float* __restrict__ s, float* __restrict__ lse,
                                                            const int32_t* __restrict__ key_lengths, int64_t rows,
                                                            int heads, int len_q, int len_k) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const int64_t b = row / len_q / heads;
  const int kv = valid_keys(key_lengths, b, len_k);
  float* sr = s + row * len_k;
  float mx = -INFINITY;
  for (int j = lane; j < kv; j += 32) mx = fmaxf(mx, sr[j]);
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
  float sum = 0.f;
  for (int j = lane; j < kv; j += 32) sum += expf(sr[j] - mx);
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  const float inv = sum > 0.f ? 1.f / sum : 0.f;
  for (int j = lane; j < len_k; j += 32) sr[j] = j < kv ? expf(sr[j] - mx) * inv : 0.f;
  if (lse && lane == 0) lse[row] = sum > 0.f ? mx + logf(sum) : -INFINITY;
}

// In place: sd <- P ⊙ Sdot; mu[row] = rowsum(P ⊙ Sdot). One warp per row.
__global__ void __launch_bounds__(256) naive_jvp_scores_kernel(const float* __restrict__ p, float* __restrict__ sd,
                                                               float* __restrict__ mu, int64_t rows, int len_k) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const float* pr = p + row * len_k;
  float* dr = sd + row * len_k;
  float sum = 0.f;
  for (int j = lane; j < len_k; j += 32) {
    const float x = pr[j] * dr[j];
    dr[j] = x;
    sum += x;
  }
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (lane == 0) mu[row] = sum;
}

// to[row][c] -= mu[row] * o[row][c]
__global__ void naive_jvp_finish_kernel(float* __restrict__ to, const float* __restrict__ o,
                                        const float* __restrict__ mu, int64_t n, int d) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    to[i] -= mu[i / d] * o[i];
}

// Backward, in place: dp <- dS = P ⊙ (dP - D_row) (P is zero on masked keys and empty rows).
__global__ void naive_bwd_scores_kernel(const float* __restrict__ p, float* __restrict__ dp,
                                        const float* __restrict__ dsum, int64_t n, int len_k) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dp[i] = p[i] * (dp[i] - dsum[i / len_k]);
}

__global__ void naive_fill_kernel(float* __restrict__ x, float value, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] = value;
}

int fill(float* x, float value, int64_t n) {
  if (n <= 0 || !x) return SCM_OK;
  naive_fill_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(x, value, n);
  SCM_CUDA_LAUNCHED("attention fill");
  return SCM_OK;
}

// S = scale Q K^T into sbuf, then softmax in place (P), lse if wanted.
int scores_softmax(const ScmAttentionShape* s, const float* q, const float* k, float* sbuf, float* lse) {
  const int64_t lq = s->len_q, lk = s->len_k, d = s->head_dim, rows = s->batch * s->heads * lq;
  if (int rc = bgemm(s, lq, lk, d, false, true, q, d, lq * d, k, d, lk * d, sbuf, lk, lq * lk, s->scale, 0.f)) return rc;
  naive_softmax_kernel<<<warp_blocks(rows), 256, 0, stream()>>>(sbuf, lse, s->key_lengths, rows,
                                                                static_cast<int>(s->heads), static_cast<int>(lq),
                                                                static_cast<int>(lk));
  SCM_CUDA_LAUNCHED("naive attention softmax");
  return SCM_OK;
}

}  // namespace

int attention_naive_forward(const ScmAttentionShape* s, const float* q, const float* k, const float* v, float* o,
                            float* lse) {
  const char* what = "attention forward (CUDA naive)";
  if (int rc = attn::check_shape(s, what, true)) return rc;
  const int64_t bh = s->batch * s->heads, lq = s->len_q, lk = s->len_k, d = s->head_dim;
  const int64_t nq = bh * lq * d, nk = bh * lk * d;
  if (nq == 0) return SCM_OK;
  if (int rc = attn::need_forward(what, nq, nk, q, k, v, o)) return rc;
  if (lk == 0) {
    if (int rc = fill(o, 0.f, nq)) return rc;
    return fill(lse, -INFINITY, bh * lq);
  }
  Scratch sbuf;
  if (int rc = sbuf.alloc(bh * lq * lk)) return rc;
  if (int rc = scores_softmax(s, q, k, sbuf.p, lse)) return rc;
  return bgemm(s, lq, d, lk, false, false, sbuf.p, lk, lq * lk, v, d, lk * d, o, d, lq * d, 1.f, 0.f);
}

int attention_naive_jvp(const ScmAttentionShape* s, const float* q, const float* k, const float* v, const float* tq,
                        const float* tk, const float* tv, float* o, float* to, float* lse) {
  const char* what = "attention jvp (CUDA naive)";
  if (int rc = attn::check_shape(s, what, true)) return rc;
  const int64_t bh = s->batch * s->heads, lq = s->len_q, lk = s->len_k, d = s->head_dim;
  const int64_t nq = bh * lq * d, nk = bh * lk * d, rows = bh * lq;
  if (nq == 0) return SCM_OK;
  if (int rc = attn::need_jvp(what, nq, nk, q, k, v, tq, tk, tv, o, to)) return rc;
  if (lk == 0) {
    if (int rc = fill(o, 0.f, nq)) return rc;
    if (int rc = fill(to, 0.f, nq)) return rc;
    return fill(lse, -INFINITY, rows);
  }
  Scratch pbuf, sdbuf, mu;
  if (int rc = pbuf.alloc(rows * lk)) return rc;
  if (int rc = sdbuf.alloc(rows * lk)) return rc;
  if (int rc = mu.alloc(rows)) return rc;
  if (int rc = scores_softmax(s, q, k, pbuf.p, lse)) return rc;
  // Sdot = scale (Qdot K^T + Q Kdot^T)
  if (int rc = bgemm(s, lq, lk, d, false, true, tq, d, lq * d, k, d, lk * d, sdbuf.p, lk, lq * lk, s->scale, 0.f)) return rc;
  if (int rc = bgemm(s, lq, lk, d, false, true, q, d, lq * d, tk, d, lk * d, sdbuf.p, lk, lq * lk, s->scale, 1.f)) return rc;
  naive_jvp_scores_kernel<<<warp_blocks(rows), 256, 0, stream()>>>(pbuf.p, sdbuf.p, mu.p, rows, static_cast<int>(lk));
  SCM_CUDA_LAUNCHED("naive attention jvp scores");
  // O = P V;  Odot = (P ⊙ Sdot) V + P Vdot - mu O
  if (int rc = bgemm(s, lq, d, lk, false, false, pbuf.p, lk, lq * lk, v, d, lk * d, o, d, lq * d, 1.f, 0.f)) return rc;
  if (int rc = bgemm(s, lq, d, lk, false, false, sdbuf.p, lk, lq * lk, v, d, lk * d, to, d, lq * d, 1.f, 0.f)) return rc;
  if (int rc = bgemm(s, lq, d, lk, false, false, pbuf.p, lk, lq * lk, tv, d, lk * d, to, d, lq * d, 1.f, 1.f)) return rc;
  naive_jvp_finish_kernel<<<blocks_for(nq, 256), 256, 0, stream()>>>(to, o, mu.p, nq, static_cast<int>(d));
  SCM_CUDA_LAUNCHED("naive attention jvp finish");
  return SCM_OK;
}

int attention_naive_backward(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                             const float* o, const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  const char* what = "attention backward (CUDA naive)";
  if (int rc = attn::check_shape(s, what, true)) return rc;
  const int64_t bh = s->batch * s->heads, lq = s->len_q, lk = s->len_k, d = s->head_dim;
  const int64_t nq = bh * lq * d, nk = bh * lk * d, rows = bh * lq;
  if (nq == 0 && nk == 0) return SCM_OK;
  if (int rc = attn::need_backward(what, nq, nk, q, k, v, o, dout, dq, dk, dv)) return rc;
  (void)lse;
  if (lq == 0 || lk == 0) {  // nothing attends: every gradient is zero
    if (int rc = fill(dq, 0.f, nq)) return rc;
    if (int rc = fill(dk, 0.f, nk)) return rc;
    return fill(dv, 0.f, nk);
  }
  Scratch sbuf, dpbuf, dsum;
  if (int rc = sbuf.alloc(rows * lk)) return rc;
  if (int rc = dpbuf.alloc(rows * lk)) return rc;
  if (int rc = dsum.alloc(rows)) return rc;
  // The naive path recomputes P from Q and K (like the CPU reference): lse is not read.
  if (int rc = scores_softmax(s, q, k, sbuf.p, nullptr)) return rc;
  if (int rc = bgemm(s, lq, lk, d, false, true, dout, d, lq * d, v, d, lk * d, dpbuf.p, lk, lq * lk, 1.f, 0.f)) return rc;
  if (int rc = attn::row_dot(dout, o, dsum.p, rows, static_cast<int>(d))) return rc;
  const int64_t n = rows * lk;
  naive_bwd_scores_kernel<<<blocks_for(n, 256), 256, 0, stream()>>>(sbuf.p, dpbuf.p, dsum.p, n, static_cast<int>(lk));
  SCM_CUDA_LAUNCHED("naive attention backward scores");
  // dV = P^T dO, dK = scale dS^T Q, dQ = scale dS K
  if (int rc = bgemm(s, lk, d, lq, true, false, sbuf.p, lk, lq * lk, dout, d, lq * d, dv, d, lk * d, 1.f, 0.f)) return rc;
  if (int rc = bgemm(s, lk, d, lq, true, false, dpbuf.p, lk, lq * lk, q, d, lq * d, dk, d, lk * d, s->scale, 0.f)) return rc;
  return bgemm(s, lq, d, lk, false, false, dpbuf.p, lk, lq * lk, k, d, lk * d, dq, d, lq * d, s->scale, 0.f);
}

}  // namespace scm::cuda
