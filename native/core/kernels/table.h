// The kernel table: every backend (CPU in the addon, CUDA in libscm_cuda.so) fills one.
// The CUDA library exports `extern "C" const ScmKernels* scm_cuda_kernels(char* reason, size_t n)`.
#pragma once
#include "common.h"
#include "memory.h"
#include "rng.h"
#include "gemm.h"
#include "norm.h"
#include "pointwise.h"
#include "attention.h"
#include "trigflow.h"
#include "optim.h"

// Bump when any family struct changes layout; the loader refuses a mismatching library.
#define SCM_KERNELS_ABI 3

struct ScmKernels {
  uint32_t abi;        // SCM_KERNELS_ABI
  uint32_t size;       // sizeof(ScmKernels)
  const char* (*last_error)(void);  // message of the last failure on this thread
  ScmMemoryKernels memory;
  ScmRngKernels rng;
  ScmGemmKernels gemm;
  ScmNormKernels norm;
  ScmPointwiseKernels pointwise;
  ScmAttentionKernels attention;
  ScmTrigflowKernels trigflow;
  ScmOptimKernels optim;
};

// Each family provides a fill function per backend, defined next to its kernels:
//   native/cpu/<family>...cpp:  void scm_cpu_fill_<family>(Scm<Family>Kernels*);
//   native/cuda/<family>...cu:  void scm_cuda_fill_<family>(Scm<Family>Kernels*);
void scm_cpu_fill_memory(ScmMemoryKernels*);
void scm_cpu_fill_rng(ScmRngKernels*);
void scm_cpu_fill_gemm(ScmGemmKernels*);
void scm_cpu_fill_norm(ScmNormKernels*);
void scm_cpu_fill_pointwise(ScmPointwiseKernels*);
void scm_cpu_fill_attention(ScmAttentionKernels*);
void scm_cpu_fill_trigflow(ScmTrigflowKernels*);
void scm_cpu_fill_optim(ScmOptimKernels*);

void scm_cuda_fill_memory(ScmMemoryKernels*);
void scm_cuda_fill_rng(ScmRngKernels*);
void scm_cuda_fill_gemm(ScmGemmKernels*);
void scm_cuda_fill_norm(ScmNormKernels*);
void scm_cuda_fill_pointwise(ScmPointwiseKernels*);
void scm_cuda_fill_attention(ScmAttentionKernels*);
void scm_cuda_fill_trigflow(ScmTrigflowKernels*);
void scm_cuda_fill_optim(ScmOptimKernels*);
