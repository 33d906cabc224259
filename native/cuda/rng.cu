// The CUDA backend's rng family: the same Philox streams as native/cpu/rng.cpp, bit for bit
// (shared code in native/core/philox.h).
#include "cuda_common.cuh"
#include "../core/philox.h"

namespace {

__global__ void uniform_kernel(float* out, size_t count, uint64_t seed, uint64_t offset) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count; i += size_t(gridDim.x) * blockDim.x)
    out[i] = scm::philox::uniform_at(seed, offset + i);
}

__global__ void normal_kernel(float* out, size_t count, uint64_t seed, uint64_t offset) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count; i += size_t(gridDim.x) * blockDim.x)
    out[i] = scm::philox::normal_at(seed, offset + i);
}

int uniform(float* out, size_t count, uint64_t seed, uint64_t offset) {
  if (!count) return SCM_OK;
  uniform_kernel<<<scm::cuda::blocks_for(count, 256), 256, 0, scm::cuda::stream()>>>(out, count, seed, offset);
  SCM_CUDA_LAUNCHED("philox uniform");
  return SCM_OK;
}

int normal(float* out, size_t count, uint64_t seed, uint64_t offset) {
  if (!count) return SCM_OK;
  normal_kernel<<<scm::cuda::blocks_for(count, 256), 256, 0, scm::cuda::stream()>>>(out, count, seed, offset);
  SCM_CUDA_LAUNCHED("philox normal");
  return SCM_OK;
}

}  // namespace

void scm_cuda_fill_rng(ScmRngKernels* k) {
  k->uniform = uniform;
  k->normal = normal;
}
