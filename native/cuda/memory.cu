// The CUDA backend's memory family. Ordering semantics (the contract is in
// core/kernels/memory.h): everything runs on the calling host thread's per-thread default
// stream (scm::cuda::stream()), so the work one thread queues executes in order;
// copy_on_device and fill_bytes are queued like kernels and may return before they ran;
// copy_to_device, copy_to_host, synchronize and free return only once the calling thread's
// queued work (and the copy) is complete. Work queued by other threads is not waited for.
#include <cstring>
#include <string>
#include "cuda_common.cuh"

namespace {

using scm::cuda::fail_cuda;
using scm::cuda::stream;

int alloc(void** out, size_t bytes) {
  *out = nullptr;
  if (bytes == 0) return SCM_OK;
  const cudaError_t err = cudaMalloc(out, bytes);
  if (err != cudaSuccess) {
    *out = nullptr;
    return fail_cuda(err, ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str());
  }
  return SCM_OK;
}

// cudaFree must not release memory that work queued by this thread still uses, so it first
// waits for that work (cudaFree's own implicit synchronisation is not part of its contract).
int release(void* p) {
  if (!p) return SCM_OK;
  const cudaError_t synced = cudaStreamSynchronize(stream());
  const cudaError_t freed = cudaFree(p);
  if (synced != cudaSuccess) return fail_cuda(synced, "free: waiting for this thread's queued work");
  if (freed != cudaSuccess) return fail_cuda(freed, "cudaFree");
  return SCM_OK;
}

// Returns when the copy is complete (host_src may be reused), after this thread's earlier work.
int copy_to_device(void* dst, const void* src, size_t bytes) {
  if (!bytes) return SCM_OK;
  SCM_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
  SCM_CUDA_TRY(cudaStreamSynchronize(stream()));
  return SCM_OK;
}

// Returns when the bytes are in host memory: after this thread's queued kernels that wrote them.
int copy_to_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return SCM_OK;
  SCM_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  SCM_CUDA_TRY(cudaStreamSynchronize(stream()));
  return SCM_OK;
}

// Stream-ordered, like a kernel: may return before the copy ran.
int copy_on_device(void* dst, const void* src, size_t bytes) {
  if (!bytes) return SCM_OK;
  SCM_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
  return SCM_OK;
}

// Stream-ordered, like a kernel: may return before the fill ran.
int fill(void* dst, int value, size_t bytes) {
  if (!bytes) return SCM_OK;
  SCM_CUDA_TRY(cudaMemsetAsync(dst, value, bytes, stream()));
  return SCM_OK;
}

// Waits for all work queued by the calling thread (kernels, cuBLAS, copies, fills, stream-
// ordered frees); reports an asynchronous failure of that work.
int synchronize() {
  SCM_CUDA_TRY(cudaStreamSynchronize(stream()));
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
