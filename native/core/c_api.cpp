// The C API (native/include/scm.h) over the core: opaque buffers on a backend, status codes,
// the thread's last error, the log callback.
#include <atomic>
#include <cstring>
#include <mutex>

#include "../include/scm.h"
#include "backend.h"
#include "device_buffer.h"
#include "log.h"

struct scm_buffer {
  scm::BackendKind backend;
  scm::DeviceBuffer memory;
};

namespace scm {
namespace {
std::mutex g_log_mutex;
ScmLogFn g_log_fn = nullptr;
void* g_log_user = nullptr;

BackendKind to_kind(ScmBackend b) {
  switch (b) {
    case SCM_BACKEND_AUTO: return BackendKind::Auto;
    case SCM_BACKEND_CPU: return BackendKind::Cpu;
    case SCM_BACKEND_CUDA: return BackendKind::Cuda;
  }
  fail(SCM_E_ARGUMENT, "unknown backend value ", static_cast<int>(b), " (expected 0 auto, 1 cpu, 2 cuda)");
}

ScmStatus status(int rc) { return static_cast<ScmStatus>(rc); }

const scm_buffer& need(const scm_buffer* b, const char* name) {
  require(b != nullptr, SCM_E_ARGUMENT, name, " is NULL");
  return *b;
}
}  // namespace

void log(LogLevel level, const std::string& message) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_log_fn) g_log_fn(static_cast<int>(level), message.c_str(), g_log_user);
}

}  // namespace scm

using namespace scm;

extern "C" {

SCM_API const char* scm_version(void) { return "0.1.0"; }
SCM_API const char* scm_status_name(ScmStatus s) { return status_name(s); }
SCM_API const char* scm_last_error(void) { return last_error(); }

SCM_API void scm_set_log_callback(ScmLogFn fn, void* user) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log_fn = fn;
  g_log_user = user;
}

SCM_API ScmStatus scm_backend_query(ScmBackend backend, ScmBackendInfo* out) {
  return status(guarded([&] {
    require(out != nullptr, SCM_E_ARGUMENT, "scm_backend_query: out is NULL");
    std::memset(out, 0, sizeof(*out));
    BackendKind kind = to_kind(backend);
    if (kind == BackendKind::Auto) kind = resolve_backend(kind);
    const ScmKernels* k = &cpu_kernels();
    if (kind == BackendKind::Cuda) {
      std::string reason;
      k = cuda_kernels(&reason);
      if (!k) {
        std::snprintf(out->reason, sizeof(out->reason), "%s", reason.c_str());
        return;
      }
    }
    ScmDeviceProperties p{};
    check(*k, k->memory.properties(&p), "device properties");
    out->available = 1;
    std::snprintf(out->device_name, sizeof(out->device_name), "%s", p.name);
    out->memory_bytes = p.memory_bytes;
    out->compute_capability_major = p.compute_capability_major;
    out->compute_capability_minor = p.compute_capability_minor;
    out->multiprocessors = p.multiprocessors;
  }));
}

SCM_API ScmStatus scm_backend_select(ScmBackend backend) {
  return status(guarded([&] {
    BackendKind kind = to_kind(backend);
    if (kind == BackendKind::Cuda) resolve_backend(kind);
    set_default_backend(kind);
  }));
}

SCM_API ScmStatus scm_backend_active(ScmBackend* out) {
  return status(guarded([&] {
    require(out != nullptr, SCM_E_ARGUMENT, "scm_backend_active: out is NULL");
    *out = resolve_backend(BackendKind::Auto) == BackendKind::Cuda ? SCM_BACKEND_CUDA : SCM_BACKEND_CPU;
  }));
}

SCM_API ScmStatus scm_buffer_create(ScmBackend backend, size_t bytes, scm_buffer** out) {
  return status(guarded([&] {
    require(out != nullptr, SCM_E_ARGUMENT, "scm_buffer_create: out is NULL");
    *out = nullptr;
    BackendKind kind = resolve_backend(to_kind(backend));
    auto* b = new scm_buffer{kind, DeviceBuffer(kernels_for(kind), bytes)};
    *out = b;
  }));
}

SCM_API void scm_buffer_destroy(scm_buffer* buffer) { delete buffer; }

SCM_API size_t scm_buffer_size(const scm_buffer* buffer) { return buffer ? buffer->memory.bytes() : 0; }

SCM_API ScmStatus scm_buffer_upload(scm_buffer* buffer, const void* host, size_t bytes) {
  return status(guarded([&] {
    const scm_buffer& b = need(buffer, "buffer");
    require(bytes <= b.memory.bytes(), SCM_E_SHAPE, "upload of ", bytes, " bytes into a buffer of ", b.memory.bytes());
    require(host != nullptr || bytes == 0, SCM_E_ARGUMENT, "host pointer is NULL");
    buffer->memory.upload(static_cast<const uint8_t*>(host), bytes);
  }));
}

SCM_API ScmStatus scm_buffer_download(const scm_buffer* buffer, void* host, size_t bytes) {
  return status(guarded([&] {
    const scm_buffer& b = need(buffer, "buffer");
    require(bytes <= b.memory.bytes(), SCM_E_SHAPE, "download of ", bytes, " bytes from a buffer of ", b.memory.bytes());
    require(host != nullptr || bytes == 0, SCM_E_ARGUMENT, "host pointer is NULL");
    b.memory.download(static_cast<uint8_t*>(host), bytes);
  }));
}

static ScmStatus random_fill(scm_buffer* out, size_t count, uint64_t seed, uint64_t offset, bool normal) {
  return status(guarded([&] {
    const scm_buffer& b = need(out, "out");
    require(count * sizeof(float) <= b.memory.bytes(), SCM_E_SHAPE, count, " floats do not fit a buffer of ", b.memory.bytes(), " bytes");
    const ScmKernels& k = kernels_for(b.backend);
    check(k, (normal ? k.rng.normal : k.rng.uniform)(b.memory.as(), count, seed, offset), "random");
  }));
}

SCM_API ScmStatus scm_random_normal(scm_buffer* out, size_t count, uint64_t seed, uint64_t offset) {
  return random_fill(out, count, seed, offset, true);
}
SCM_API ScmStatus scm_random_uniform(scm_buffer* out, size_t count, uint64_t seed, uint64_t offset) {
  return random_fill(out, count, seed, offset, false);
}

SCM_API ScmStatus scm_gemm(const ScmGemmDesc* d, const scm_buffer* a, const scm_buffer* b, scm_buffer* c) {
  return status(guarded([&] {
    require(d != nullptr, SCM_E_ARGUMENT, "scm_gemm: desc is NULL");
    const scm_buffer &A = need(a, "a"), &B = need(b, "b"), &C = need(c, "c");
    require(A.backend == B.backend && B.backend == C.backend, SCM_E_ARGUMENT, "scm_gemm: buffers live on different backends");
    auto extent = [](int64_t batch, int64_t stride, int64_t rows, int64_t ld, int64_t cols) -> int64_t {
      if (rows == 0 || cols == 0 || batch == 0) return 0;
      return (batch - 1) * stride + (rows - 1) * ld + cols;
    };
    int64_t need_a = extent(d->batch, d->stride_a, d->trans_a ? d->k : d->m, d->lda, d->trans_a ? d->m : d->k);
    int64_t need_b = extent(d->batch, d->stride_b, d->trans_b ? d->n : d->k, d->ldb, d->trans_b ? d->k : d->n);
    int64_t need_c = extent(d->batch, d->stride_c, d->m, d->ldc, d->n);
    const int64_t size_a = d->a_type == SCM_DTYPE_BF16 ? 2 : 4, size_b = d->b_type == SCM_DTYPE_BF16 ? 2 : 4;
    require(need_a * size_a <= static_cast<int64_t>(A.memory.bytes()), SCM_E_SHAPE, "scm_gemm: a needs ", need_a, size_a == 2 ? " bf16 values" : " floats", ", buffer holds ", A.memory.bytes() / size_a);
    require(need_b * size_b <= static_cast<int64_t>(B.memory.bytes()), SCM_E_SHAPE, "scm_gemm: b needs ", need_b, size_b == 2 ? " bf16 values" : " floats", ", buffer holds ", B.memory.bytes() / size_b);
    require(need_c * 4 <= static_cast<int64_t>(C.memory.bytes()), SCM_E_SHAPE, "scm_gemm: c needs ", need_c, " floats, buffer holds ", C.memory.bytes() / 4);
    const ScmKernels& k = kernels_for(A.backend);
    check(k, k.gemm.gemm(d, A.memory.as(), B.memory.as(), C.memory.as()), "gemm");
  }));
}

}  // extern "C"
