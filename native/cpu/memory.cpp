// The CPU backend's memory family: plain host memory (64-byte aligned).
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unistd.h>
#include "../core/kernels/table.h"
#include "../core/error.h"
#include "../core/parallel.h"

namespace {

int alloc(void** out, size_t bytes) {
  *out = nullptr;
  if (bytes == 0) return SCM_OK;
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) {
    scm::set_last_error("cannot allocate " + std::to_string(bytes) + " bytes of host memory");
    return SCM_E_OUT_OF_MEMORY;
  }
  *out = p;
  return SCM_OK;
}

int release(void* p) {
  std::free(p);
  return SCM_OK;
}

int copy(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
  return SCM_OK;
}

int fill(void* dst, int value, size_t bytes) {
  if (bytes) std::memset(dst, value, bytes);
  return SCM_OK;
}

int synchronize() { return SCM_OK; }

int properties(ScmDeviceProperties* out) {
  std::memset(out, 0, sizeof(*out));
  std::strncpy(out->name, "CPU", sizeof(out->name) - 1);
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  out->memory_bytes = (pages > 0 && page > 0) ? static_cast<uint64_t>(pages) * page : 0;
  out->multiprocessors = scm::cpu_thread_count();
  return SCM_OK;
}

}  // namespace

void scm_cpu_fill_memory(ScmMemoryKernels* k) {
  k->alloc = alloc;
  k->free = release;
  k->copy_to_device = copy;
  k->copy_to_host = copy;
  k->copy_on_device = copy;
  k->fill_bytes = fill;
  k->synchronize = synchronize;
  k->properties = properties;
}
