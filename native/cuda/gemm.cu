// The CUDA backend's gemm family: cuBLAS (strided batched), fp32, TF32 or bf16 operands with
// fp32 accumulation, and the to_bf16 conversion. CPU reference: native/cpu/gemm.h; operand
// rule (ScmGemmDesc): a bf16 operand is used exactly, an fp32 one is rounded to bf16 under
// SCM_GEMM_BF16.
//
// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so cuBLAS gets the
// operands swapped and (n, m) for (m, n).
//
// Operands that are not in the type the product runs on (fp32 under SCM_GEMM_BF16, or one
// bf16 operand beside an fp32 one under fp32 / TF32) are converted into stream-ordered
// scratch, packed densely: only the valid elements (batch items x rows x cols) are read, never
// the gaps of ld > cols nor past the last row, which the API does not promise to be there.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <string>
#include "cuda_common.cuh"
#include "../cpu/check_args.h"

namespace {

const char* cublas_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_ERROR";
  }
}

int fail_cublas(cublasStatus_t s, const char* what) {
  scm::cuda::set_error(std::string(what) + ": " + cublas_name(s));
  return s == CUBLAS_STATUS_ALLOC_FAILED ? SCM_E_OUT_OF_MEMORY : SCM_E_CUDA;
}

#define SCM_CUBLAS_TRY(call)                                          \
  do {                                                                \
    cublasStatus_t s_ = (call);                                       \
    if (s_ != CUBLAS_STATUS_SUCCESS) return fail_cublas(s_, #call);   \
  } while (0)

struct Handle {
  cublasHandle_t h = nullptr;
  ~Handle() {
    if (h) cublasDestroy(h);
  }
};

// The calling thread's handle, bound to its stream. A handle is kept only once it is bound:
// one whose cublasSetStream failed is destroyed (the next call retries) rather than left
// computing on the legacy default stream.
int handle(cublasHandle_t* out) {
  thread_local Handle t;
  if (!t.h) {
    cublasHandle_t h = nullptr;
    SCM_CUBLAS_TRY(cublasCreate(&h));
    const cublasStatus_t s = cublasSetStream(h, scm::cuda::stream());
    if (s != CUBLAS_STATUS_SUCCESS) {
      cublasDestroy(h);
      return fail_cublas(s, "cublasSetStream");
    }
    t.h = h;
  }
  *out = t.h;
  return SCM_OK;
}

// Stream-ordered scratch, freed when it goes out of scope (after the work that uses it is
// queued). A failing free on the way out is consumed, so it cannot pass for a later error.
struct Scratch {
  void* p = nullptr;
  ~Scratch() {
    if (p && cudaFreeAsync(p, scm::cuda::stream()) != cudaSuccess) (void)cudaGetLastError();
  }
};

__device__ __forceinline__ float convert(__nv_bfloat16 x, float*) { return __bfloat162float(x); }
__device__ __forceinline__ __nv_bfloat16 convert(float x, __nv_bfloat16*) { return __float2bfloat16_rn(x); }

// out[(item * rows + r) * cols + c] = convert(in[item * stride + r * ld + c]).
template <class In, class Out>
__global__ void pack_kernel(const In* in, Out* out, int64_t rows, int64_t cols, int64_t ld, int64_t stride, size_t total) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total; i += size_t(gridDim.x) * blockDim.x) {
    const size_t c = i % cols, rest = i / cols;
    const size_t r = rest % rows, item = rest / rows;
    out[i] = convert(in[item * stride + r * ld + c], static_cast<Out*>(nullptr));
  }
}

__global__ void to_bf16_kernel(const float* in, __nv_bfloat16* out, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16_rn(in[i]);
}

struct Operand {
  const void* p;
  int type;  // ScmDtype
  int64_t ld, stride;
};

// Brings one operand (rows x cols per item, row stride ld) to the type `want`.
int prepare(Operand& o, int64_t rows, int64_t cols, int64_t batch, int want, Scratch& scratch) {
  if (o.type == want) return SCM_OK;
  const int64_t items = (batch > 1 && o.stride != 0) ? batch : 1;
  const size_t total = static_cast<size_t>(items * rows * cols);
  if (total == 0) {  // k == 0: nothing is read
    o.type = want;
    return SCM_OK;
  }
  const size_t size = want == SCM_DTYPE_BF16 ? sizeof(__nv_bfloat16) : sizeof(float);
  SCM_CUDA_TRY(cudaMallocAsync(&scratch.p, total * size, scm::cuda::stream()));
  const unsigned blocks = scm::cuda::blocks_for(total, 256);
  if (want == SCM_DTYPE_BF16)
    pack_kernel<<<blocks, 256, 0, scm::cuda::stream()>>>(static_cast<const float*>(o.p),
        static_cast<__nv_bfloat16*>(scratch.p), rows, cols, o.ld, o.stride, total);
  else
    pack_kernel<<<blocks, 256, 0, scm::cuda::stream()>>>(static_cast<const __nv_bfloat16*>(o.p),
        static_cast<float*>(scratch.p), rows, cols, o.ld, o.stride, total);
  SCM_CUDA_LAUNCHED("gemm operand conversion");
  o = Operand{scratch.p, want, cols, items > 1 ? rows * cols : 0};
  return SCM_OK;
}

cudaDataType cuda_type(int t) { return t == SCM_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F; }

int gemm(const ScmGemmDesc* d, const void* a, const void* b, float* c) {
  int rc = scm::guarded([&] {
    scm::require(d != nullptr, SCM_E_ARGUMENT, "gemm: desc is NULL");
    scm::cpu::validate_gemm(*d);
  });
  if (rc) {
    scm::cuda::set_error(scm::last_error());
    return rc;
  }
  if (d->m == 0 || d->n == 0 || d->batch == 0) return SCM_OK;
  cublasHandle_t h;
  if ((rc = handle(&h))) return rc;
  // Both operands bf16 (given, or rounded by SCM_GEMM_BF16): bf16 tensor cores. Else fp32
  // (a bf16 operand widened exactly), on TF32 tensor cores under SCM_GEMM_TF32.
  const bool a16 = d->a_type == SCM_DTYPE_BF16 || d->precision == SCM_GEMM_BF16;
  const bool b16 = d->b_type == SCM_DTYPE_BF16 || d->precision == SCM_GEMM_BF16;
  const int want = a16 && b16 ? SCM_DTYPE_BF16 : SCM_DTYPE_F32;
  Operand oa{a, d->a_type, d->lda, d->stride_a}, ob{b, d->b_type, d->ldb, d->stride_b};
  Scratch sa, sb;
  if ((rc = prepare(oa, d->trans_a ? d->k : d->m, d->trans_a ? d->m : d->k, d->batch, want, sa))) return rc;
  if ((rc = prepare(ob, d->trans_b ? d->n : d->k, d->trans_b ? d->k : d->n, d->batch, want, sb))) return rc;
  const cublasComputeType_t compute =
      want == SCM_DTYPE_F32 && d->precision == SCM_GEMM_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const int n = static_cast<int>(d->n), m = static_cast<int>(d->m), k = static_cast<int>(d->k);
  SCM_CUBLAS_TRY(cublasGemmStridedBatchedEx(
      h, d->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, d->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &d->alpha,
      ob.p, cuda_type(want), static_cast<int>(ob.ld), ob.stride, oa.p, cuda_type(want), static_cast<int>(oa.ld),
      oa.stride, &d->beta, c, CUDA_R_32F, static_cast<int>(d->ldc), d->stride_c, static_cast<int>(d->batch), compute,
      CUBLAS_GEMM_DEFAULT));
  return SCM_OK;
}

int to_bf16(int64_t n, const float* src, uint16_t* dst) {
  if (n < 0) {
    scm::cuda::set_error("to_bf16: negative count " + std::to_string(n));
    return SCM_E_ARGUMENT;
  }
  if (n == 0) return SCM_OK;
  to_bf16_kernel<<<scm::cuda::blocks_for(static_cast<size_t>(n), 256), 256, 0, scm::cuda::stream()>>>(
      src, reinterpret_cast<__nv_bfloat16*>(dst), static_cast<size_t>(n));
  SCM_CUDA_LAUNCHED("to_bf16");
  return SCM_OK;
}

}  // namespace

void scm_cuda_fill_gemm(ScmGemmKernels* k) {
  k->gemm = gemm;
  k->to_bf16 = to_bf16;
}
