// The CUDA backend's memory family.
#include <cstring>
#include "cuda_common.cuh"

namespace {

int alloc(void** out, size_t bytes) {
  *out = nullptr;
  if (bytes == 0) return SCM_OK;
  SCM_CUDA_TRY(cudaMalloc(out, bytes));
  return SCM_OK;
}

int release(void* p) {
  if (p) SCM_CUDA_TRY(cudaFree(p));
  return SCM_OK;
}

int copy_to_device(void* dst, const void* src, size_t bytes) {
  if (!bytes) return SCM_OK;
  SCM_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, scm::cuda::stream()));
  SCM_CUDA_TRY(cudaStreamSynchronize(scm::cuda::stream()));
  return SCM_OK;
}

int copy_to_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return SCM_OK;
  SCM_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, scm::cuda::stream()));
  SCM_CUDA_TRY(cudaStreamSynchronize(scm::cuda::stream()));
  return SCM_OK;
}

int copy_on_device(void* dst, const void* src, size_t bytes) {
  if (!bytes) return SCM_OK;
  SCM_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, scm::cuda::stream()));
  return SCM_OK;
}

int fill(void* dst, int value, size_t bytes) {
  if (!bytes) return SCM_OK;
  SCM_CUDA_TRY(cudaMemsetAsync(dst, value, bytes, scm::cuda::stream()));
  return SCM_OK;
}

int synchronize() {
  SCM_CUDA_TRY(cudaStreamSynchronize(scm::cuda::stream()));
  return SCM_OK;
}

int properties(ScmDeviceProperties* out) {
  std::memset(out, 0, sizeof(*out));
  int device = 0;
  SCM_CUDA_TRY(cudaGetDevice(&device));
  cudaDeviceProp p{};
  SCM_CUDA_TRY(cudaGetDeviceProperties(&p, device));
  std::strncpy(out->name, p.name, sizeof(out->name) - 1);
  out->memory_bytes = p.totalGlobalMem;
  out->compute_capability_major = p.major;
  out->compute_capability_minor = p.minor;
  out->multiprocessors = p.multiProcessorCount;
  return SCM_OK;
}

}  // namespace

void scm_cuda_fill_memory(ScmMemoryKernels* k) {
  k->alloc = alloc;
  k->free = release;
  k->copy_to_device = copy_to_device;
  k->copy_to_host = copy_to_host;
  k->copy_on_device = copy_on_device;
  k->fill_bytes = fill;
  k->synchronize = synchronize;
  k->properties = properties;
}
