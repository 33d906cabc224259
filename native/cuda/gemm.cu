// The CUDA backend's gemm family: cuBLAS (strided batched), fp32, TF32 or bf16 operands with
// fp32 accumulation. CPU reference: native/cpu/gemm.h.
//
// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so cuBLAS gets the
// operands swapped and (n, m) for (m, n).
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

int handle(cublasHandle_t* out) {
  thread_local Handle t;
  if (!t.h) {
    SCM_CUBLAS_TRY(cublasCreate(&t.h));
    SCM_CUBLAS_TRY(cublasSetStream(t.h, scm::cuda::stream()));
  }
  *out = t.h;
  return SCM_OK;
}

__global__ void to_bf16_kernel(const float* in, __nv_bfloat16* out, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16_rn(in[i]);
}

// Elements spanned by a strided batch of row-major matrices.
size_t extent(int64_t batch, int64_t stride, int64_t rows, int64_t ld) {
  return static_cast<size_t>((batch > 1 ? (batch - 1) * stride : 0) + rows * ld);
}

int gemm(const ScmGemmDesc* d, const float* a, const float* b, float* c) {
  int rc = scm::guarded([&] { scm::cpu::validate_gemm(*d); });
  if (rc) {
    scm::cuda::set_error(scm::last_error());
    return rc;
  }
  if (d->m == 0 || d->n == 0 || d->batch == 0) return SCM_OK;
  cublasHandle_t h;
  if ((rc = handle(&h))) return rc;
  const cublasOperation_t op_a = d->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = d->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int n = static_cast<int>(d->n), m = static_cast<int>(d->m), k = static_cast<int>(d->k);
  if (d->precision == SCM_GEMM_BF16) {
    size_t na = extent(d->batch, d->stride_a, d->trans_a ? d->k : d->m, d->lda);
    size_t nb = extent(d->batch, d->stride_b, d->trans_b ? d->n : d->k, d->ldb);
    __nv_bfloat16 *a16 = nullptr, *b16 = nullptr;
    SCM_CUDA_TRY(cudaMallocAsync(&a16, na * sizeof(__nv_bfloat16), scm::cuda::stream()));
    cudaError_t e = cudaMallocAsync(&b16, nb * sizeof(__nv_bfloat16), scm::cuda::stream());
    if (e != cudaSuccess) {
      cudaFreeAsync(a16, scm::cuda::stream());
      return scm::cuda::fail_cuda(e, "cudaMallocAsync (bf16 gemm operand)");
    }
    to_bf16_kernel<<<scm::cuda::blocks_for(na, 256), 256, 0, scm::cuda::stream()>>>(a, a16, na);
    to_bf16_kernel<<<scm::cuda::blocks_for(nb, 256), 256, 0, scm::cuda::stream()>>>(b, b16, nb);
    cublasStatus_t s = cublasGemmStridedBatchedEx(
        h, op_b, op_a, n, m, k, &d->alpha, b16, CUDA_R_16BF, static_cast<int>(d->ldb), d->stride_b, a16,
        CUDA_R_16BF, static_cast<int>(d->lda), d->stride_a, &d->beta, c, CUDA_R_32F, static_cast<int>(d->ldc),
        d->stride_c, static_cast<int>(d->batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    cudaFreeAsync(a16, scm::cuda::stream());
    cudaFreeAsync(b16, scm::cuda::stream());
    if (s != CUBLAS_STATUS_SUCCESS) return fail_cublas(s, "cublasGemmStridedBatchedEx (bf16)");
    SCM_CUDA_LAUNCHED("bf16 gemm");
    return SCM_OK;
  }
  const cublasComputeType_t compute = d->precision == SCM_GEMM_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  SCM_CUBLAS_TRY(cublasGemmStridedBatchedEx(
      h, op_b, op_a, n, m, k, &d->alpha, b, CUDA_R_32F, static_cast<int>(d->ldb), d->stride_b, a, CUDA_R_32F,
      static_cast<int>(d->lda), d->stride_a, &d->beta, c, CUDA_R_32F, static_cast<int>(d->ldc), d->stride_c,
      static_cast<int>(d->batch), compute, CUBLAS_GEMM_DEFAULT));
  return SCM_OK;
}

}  // namespace

void scm_cuda_fill_gemm(ScmGemmKernels* k) { k->gemm = gemm; }
