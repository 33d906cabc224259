// Shared pieces of the CUDA attention kernels (flash forward / JVP / backward, naive).
// Formulas: shared SCM.md §3; interface: core/kernels/attention.h.
//
// Tensor-core path: mma.sync.m16n8k16 (inline PTX) with bf16 or fp16 operands, fp32
// accumulation, fp32 softmax statistics. Inputs are fp32 in global memory; every tile is
// converted to the operand type while it is copied into shared memory. SCM_ATTN_FP32 runs the
// same flash kernels with bf16 operands, and SCM_ATTN_FP16 uses fp16 operands in the forward
// pass only (JVP and backward: bf16, see fp16_operands; documented in attention_table.cu).
//
// Fragment layouts of m16n8k16 (lane = 32 * warp + 4 * g + t, g = lane / 4, t = lane % 4):
//   A (16x16, row major):  reg0 (row g,   k 2t..2t+1)   reg1 (row g+8, k 2t..2t+1)
//                          reg2 (row g,   k 2t+8..+9)   reg3 (row g+8, k 2t+8..+9)
//   B (16x8,  "col"):      reg0 (k 2t..2t+1, col g)     reg1 (k 2t+8..+9, col g)
//   C (16x8, fp32):        c0, c1 (row g, col 2t, 2t+1) c2, c3 (row g+8, col 2t, 2t+1)
// So a 16 x N accumulator held as float acc[N/8][4] is, two n-tiles at a time, exactly the
// A operand of the next product (P V): the flash-attention register reuse.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include "attention_tile_map.h"
#include "cuda_common.cuh"

namespace scm::cuda::attn {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr int kThreads = 128;  // 4 warps per block
constexpr int kWarpRows = 16;  // rows of one mma tile owned by a warp

// ----------------------------------------------------------------- host-side argument checks

inline bool head_dim_supported(int64_t d) { return d == 16 || d == 32 || d == 64 || d == 128; }

// Validates the shape; on failure sets the library's last error and returns the status.
// any_head_dim: the naive path takes every head_dim >= 1; the flash kernels only 16/32/64/128.
inline int check_shape(const ScmAttentionShape* s, const char* what, bool any_head_dim = false) {
  auto bad = [&](const std::string& msg) {
    set_error(std::string(what) + ": " + msg);
    return SCM_E_ARGUMENT;
  };
  if (!s) return bad("shape is null");
  if (s->batch < 0 || s->heads < 0 || s->len_q < 0 || s->len_k < 0)
    return bad("negative size (batch=" + std::to_string(s->batch) + ", heads=" + std::to_string(s->heads) +
               ", len_q=" + std::to_string(s->len_q) + ", len_k=" + std::to_string(s->len_k) + ")");
  if (any_head_dim ? s->head_dim < 1 : !head_dim_supported(s->head_dim))
    return bad("head_dim " + std::to_string(s->head_dim) +
               (any_head_dim ? " must be at least 1" : " is not supported by the CUDA flash kernels (16, 32, 64 or 128)"));
  if (!std::isfinite(s->scale)) return bad("scale is not finite");
  if (s->precision != SCM_ATTN_FP32 && s->precision != SCM_ATTN_BF16 && s->precision != SCM_ATTN_FP16)
    return bad("unknown precision " + std::to_string(s->precision));
  if (s->len_q >= (int64_t(1) << 31) || s->len_k >= (int64_t(1) << 31) || s->batch * s->heads >= (int64_t(1) << 31))
    return bad("a dimension is 2^31 or larger");
  return SCM_OK;
}

inline int null_pointer(const char* what, const char* name) {
  set_error(std::string(what) + ": pointer '" + name + "' is null");
  return SCM_E_ARGUMENT;
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// The passes of the flash kernels, for the operand type.
enum class Pass { kForward, kJvp, kBackward };

// fp16 operands only in the forward pass. Its operands are the caller's q, k, v and P <= 1; the
// JVP and backward also feed the tensor cores with tangents, e^{S-m} * Sdot, dout and
// dS = P (dP - D), which nothing bounds: past fp16's 65504 they become inf, then NaN. So
// SCM_ATTN_FP16 runs the JVP and backward with bf16 operands (fp32's range, 8 significant
// bits against fp16's 11), as documented in core/kernels/attention.h.
constexpr bool fp16_operands(int precision, Pass pass) { return precision == SCM_ATTN_FP16 && pass == Pass::kForward; }

// Calls f(T{}, std::integral_constant<int, D>{}) with T the operand type for the precision and
// pass: __half where fp16_operands, else __nv_bfloat16 (the JVP and backward kernels are not
// even instantiated for __half).
template <Pass P, class F>
int dispatch(const ScmAttentionShape* s, F&& f) {
  auto by_dim = [&](auto tag) -> int {
    switch (s->head_dim) {
      case 16: return f(tag, std::integral_constant<int, 16>{});
      case 32: return f(tag, std::integral_constant<int, 32>{});
      case 64: return f(tag, std::integral_constant<int, 64>{});
      case 128: return f(tag, std::integral_constant<int, 128>{});
      default: set_error("attention: unsupported head_dim"); return SCM_E_ARGUMENT;
    }
  };
  if constexpr (P == Pass::kForward) {
    if (fp16_operands(s->precision, P)) return by_dim(__half{});
  }
  return by_dim(__nv_bfloat16{});
}

// Sets the dynamic shared memory limit of a kernel (needed above 48 KB).
template <class K>
int prepare_smem(K kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    SCM_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  return SCM_OK;
}

// ----------------------------------------------------------------- device helpers

// Number of valid keys of batch item b: min(len_k, key_lengths[b]) (clamped at 0).
__device__ __forceinline__ int valid_keys(const int32_t* key_lengths, int64_t b, int len_k) {
  if (!key_lengths) return len_k;
  int n = key_lengths[b];
  return n < 0 ? 0 : (n < len_k ? n : len_k);
}

template <class T> __device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <> __device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}
template <> __device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi) {
  __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

// c += a * b (m16n8k16, fp32 accumulation).
template <class T> __device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], const uint32_t b[2]);
template <> __device__ __forceinline__ void mma16816<__nv_bfloat16>(float c[4], const uint32_t a[4], const uint32_t b[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
template <> __device__ __forceinline__ void mma16816<__half>(float c[4], const uint32_t a[4], const uint32_t b[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <class T>
__device__ __forceinline__ uint32_t ld32(const T* p) { return *reinterpret_cast<const uint32_t*>(p); }

// acc (16 x 8NT) += X (16 x D, row major, stride ldx) * Y^T, Y (8NT x D, row major, stride ldy).
template <class T, int NT, int D>
__device__ __forceinline__ void mm_nt(const T* x, int ldx, const T* y, int ldy, float (&acc)[NT][4]) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    uint32_t a[4];
    const T* xa = x + kk * 16 + 2 * t;
    a[0] = ld32(xa + g * ldx);
    a[1] = ld32(xa + (g + 8) * ldx);
    a[2] = ld32(xa + g * ldx + 8);
    a[3] = ld32(xa + (g + 8) * ldx + 8);
#pragma unroll
    for (int n = 0; n < NT; ++n) {
      uint32_t b[2];
      const T* yb = y + (n * 8 + g) * ldy + kk * 16 + 2 * t;
      b[0] = ld32(yb);
      b[1] = ld32(yb + 8);
      mma16816<T>(acc[n], a, b);
    }
  }
}

// acc (16 x D) += P (16 x 8KN, in C-fragment layout, rounded to T) * Z, where Z (8KN x D) is
// given transposed in shared memory: zt[c * ldz + j] = Z[j][c].
template <class T, int KN, int D>
__device__ __forceinline__ void mm_pv(const float (&p)[KN][4], const T* zt, int ldz, float (&acc)[D / 8][4]) {
  static_assert(KN % 2 == 0, "key tile must be a multiple of 16");
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int kk = 0; kk < KN / 2; ++kk) {
    uint32_t a[4];
    a[0] = pack2<T>(p[2 * kk][0], p[2 * kk][1]);
    a[1] = pack2<T>(p[2 * kk][2], p[2 * kk][3]);
    a[2] = pack2<T>(p[2 * kk + 1][0], p[2 * kk + 1][1]);
    a[3] = pack2<T>(p[2 * kk + 1][2], p[2 * kk + 1][3]);
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      uint32_t b[2];
      const T* zb = zt + (n * 8 + g) * ldz + kk * 16 + 2 * t;
      b[0] = ld32(zb);
      b[1] = ld32(zb + 8);
      mma16816<T>(acc[n], a, b);
    }
  }
}

template <class T> __device__ __forceinline__ T to_op(float x);
template <> __device__ __forceinline__ __nv_bfloat16 to_op<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <> __device__ __forceinline__ __half to_op<__half>(float x) { return __float2half_rn(x); }

// Elements [c, c + 4) of row r of a fp32 tile (row stride D); zeros for rows r >= valid.
// vec: src is 16-byte aligned, so one float4 load.
template <int D>
__device__ __forceinline__ float4 load_tile_float4(const float* src, int r, int c, int valid, bool vec) {
  if (r >= valid) return make_float4(0.f, 0.f, 0.f, 0.f);
  const float* p = src + static_cast<int64_t>(r) * D + c;
  return vec ? *reinterpret_cast<const float4*>(p) : make_float4(p[0], p[1], p[2], p[3]);
}

// Copies rows [0, valid) of a fp32 tile (ROWS x D, row stride D) into shared memory as T,
// row major with stride ld; rows [valid, ROWS) become zeros. vec: src is 16-byte aligned.
template <class T, int ROWS, int D>
__device__ __forceinline__ void load_rows(T* dst, int ld, const float* src, int valid, bool vec) {
  constexpr int C4 = D / 4;
  for (int idx = threadIdx.x; idx < ROWS * C4; idx += kThreads) {
    const int r = idx / C4, c = (idx % C4) * 4;
    const float4 v = load_tile_float4<D>(src, r, c, valid, vec);
    uint2 packed = make_uint2(pack2<T>(v.x, v.y), pack2<T>(v.z, v.w));
    *reinterpret_cast<uint2*>(dst + r * ld + c) = packed;
  }
}

// Same, stored transposed: dst[c * ld + r] = src[r][c]. Threads map to elements as in
// attention_tile_map.h (16 rows x 2 column groups per warp): conflict-free 2-byte stores for
// ld = ROWS + kPad.
template <class T, int ROWS, int D>
__device__ __forceinline__ void load_cols(T* dst, int ld, const float* src, int valid, bool vec) {
  static_assert(kThreads % 32 == 0, "the mapping takes lane = idx % 32");
  for (int idx = threadIdx.x; idx < ROWS * (D / 4); idx += kThreads) {
    const TileCoord at = transposed_tile_coord<ROWS, D>(idx);
    const int r = at.r, c = at.c;
    const float4 v = load_tile_float4<D>(src, r, c, valid, vec);
    dst[(c + 0) * ld + r] = to_op<T>(v.x);
    dst[(c + 1) * ld + r] = to_op<T>(v.y);
    dst[(c + 2) * ld + r] = to_op<T>(v.z);
    dst[(c + 3) * ld + r] = to_op<T>(v.w);
  }
}

// Sum / max over the 4 lanes (t = 0..3) that share one row of a C fragment.
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  x += __shfl_xor_sync(0xffffffffu, x, 2);
  return x;
}
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
  return x;
}

// Requires p != nullptr whenever the tensor has elements.
#define SCM_ATTN_NEED(ptr, count, what)                                          \
  do {                                                                           \
    if ((count) > 0 && !(ptr)) return ::scm::cuda::attn::null_pointer(what, #ptr); \
  } while (0)

// The pointers each pass needs, shared by the flash and naive entries (nq / nk: elements of
// a [batch, heads, len_q | len_k, head_dim] tensor). lse is optional in every pass here; the
// flash backward, which reads it, checks it itself.
inline int need_forward(const char* what, int64_t nq, int64_t nk, const float* q, const float* k, const float* v,
                        const float* o) {
  SCM_ATTN_NEED(q, nq, what);
  SCM_ATTN_NEED(o, nq, what);
  SCM_ATTN_NEED(k, nk, what);
  SCM_ATTN_NEED(v, nk, what);
  return SCM_OK;
}

inline int need_jvp(const char* what, int64_t nq, int64_t nk, const float* q, const float* k, const float* v,
                    const float* tq, const float* tk, const float* tv, const float* o, const float* to) {
  SCM_ATTN_NEED(q, nq, what);
  SCM_ATTN_NEED(tq, nq, what);
  SCM_ATTN_NEED(o, nq, what);
  SCM_ATTN_NEED(to, nq, what);
  SCM_ATTN_NEED(k, nk, what);
  SCM_ATTN_NEED(v, nk, what);
  SCM_ATTN_NEED(tk, nk, what);
  SCM_ATTN_NEED(tv, nk, what);
  return SCM_OK;
}

inline int need_backward(const char* what, int64_t nq, int64_t nk, const float* q, const float* k, const float* v,
                         const float* o, const float* dout, const float* dq, const float* dk, const float* dv) {
  SCM_ATTN_NEED(q, nq, what);
  SCM_ATTN_NEED(o, nq, what);
  SCM_ATTN_NEED(dout, nq, what);
  SCM_ATTN_NEED(dq, nq, what);
  SCM_ATTN_NEED(k, nk, what);
  SCM_ATTN_NEED(v, nk, what);
  SCM_ATTN_NEED(dk, nk, what);
  SCM_ATTN_NEED(dv, nk, what);
  return SCM_OK;
}

// Row padding of shared tiles: 8 elements (16 bytes) keeps fragment loads bank-conflict free.
constexpr int kPad = 8;

namespace {
// dsum[r] = sum_c dout[r][c] * o[r][c] (fp32): the D_i of the backward pass. One warp per row.
__global__ void __launch_bounds__(256) attn_row_dot_kernel(const float* __restrict__ dout, const float* __restrict__ o,
                                                          float* __restrict__ dsum, int64_t rows, int d) {
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= rows) return;
  const float* a = dout + warp * d;
  const float* b = o + warp * d;
  float s = 0.f;
  for (int c = lane; c < d; c += 32) s += a[c] * b[c];
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
  if (lane == 0) dsum[warp] = s;
}

inline int row_dot(const float* dout, const float* o, float* dsum, int64_t rows, int d) {
  if (rows == 0) return SCM_OK;
  const int64_t blocks = (rows + 7) / 8;
  attn_row_dot_kernel<<<static_cast<unsigned>(blocks), 256, 0, stream()>>>(dout, o, dsum, rows, d);
  SCM_CUDA_LAUNCHED("attention row dot");
  return SCM_OK;
}
}  // namespace

}  // namespace scm::cuda::attn

// Entry points (defined in flash_attention*.cu and attention_naive.cu).
namespace scm::cuda {
int attention_flash_forward(const ScmAttentionShape* s, const float* q, const float* k, const float* v, float* o,
                            float* lse);
int attention_flash_jvp(const ScmAttentionShape* s, const float* q, const float* k, const float* v, const float* tq,
                        const float* tk, const float* tv, float* o, float* to, float* lse);
int attention_flash_backward(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                             const float* o, const float* lse, const float* dout, float* dq, float* dk, float* dv);
int attention_naive_forward(const ScmAttentionShape* s, const float* q, const float* k, const float* v, float* o,
                            float* lse);
int attention_naive_jvp(const ScmAttentionShape* s, const float* q, const float* k, const float* v, const float* tq,
                        const float* tk, const float* tv, float* o, float* to, float* lse);
int attention_naive_backward(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                             const float* o, const float* lse, const float* dout, float* dq, float* dk, float* dv);
}  // namespace scm::cuda
