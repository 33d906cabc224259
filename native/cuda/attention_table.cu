// The CUDA backend's attention family (interface: core/kernels/attention.h, formulas:
// shared SCM.md §3).
//
//   forward / jvp / backward           flash kernels on tensor cores (mma.sync m16n8k16):
//                                      flash_attention.cu, flash_attention_jvp.cu,
//                                      flash_attention_backward.cu; head_dim 16, 32, 64, 128.
//                                      Operands bf16 (SCM_ATTN_BF16 and SCM_ATTN_FP32) or fp16
//                                      (SCM_ATTN_FP16, forward only: the JVP and backward run
//                                      SCM_ATTN_FP16 with bf16 operands, since their tangent,
//                                      e^{S-m} Sdot, dout and dS operands are unbounded and
//                                      overflow fp16 past 65504); accumulation, softmax, lse in
//                                      fp32. SCM_ATTN_FP32 therefore runs with bf16 operands
//                                      here: the fp32 reference on the GPU is the naive path.
//   naive_forward / _jvp / _backward   materialised S and P with cuBLAS products
//                                      (attention_naive.cu): fp32 for SCM_ATTN_FP32, bf16
//                                      operands for SCM_ATTN_BF16, TF32 for SCM_ATTN_FP16;
//                                      any head_dim.
#include "attention_common.cuh"

void scm_cuda_fill_attention(ScmAttentionKernels* k) {
  k->forward = scm::cuda::attention_flash_forward;
  k->jvp = scm::cuda::attention_flash_jvp;
  k->backward = scm::cuda::attention_flash_backward;
  k->naive_forward = scm::cuda::attention_naive_forward;
  k->naive_jvp = scm::cuda::attention_naive_jvp;
  k->naive_backward = scm::cuda::attention_naive_backward;
}
