/* scm-native: the plain C API over the engine.
 *
 * Everything the TypeScript binding does goes through the same core; this header lets a C
 * program, a benchmark or Python's ctypes drive it too. Conventions:
 *  - every call returns an ScmStatus (0 = SCM_OK); on failure scm_last_error() holds a
 *    message for the calling thread naming the problem and the offending value;
 *  - memory lives in opaque scm_buffer handles on one backend (host memory for the CPU,
 *    device memory for CUDA); ops take buffers of the same backend;
 *  - the engine never prints and never exits: messages go to the log callback.
 */
#ifndef SCM_NATIVE_SCM_H
#define SCM_NATIVE_SCM_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define SCM_API __declspec(dllexport)
#else
#define SCM_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ScmStatus {
  SCM_OK = 0,
  SCM_E_ARGUMENT = 1,            /* an argument is invalid (non-integer size, unknown option...) */
  SCM_E_SHAPE = 2,               /* tensor sizes disagree */
  SCM_E_BACKEND_UNAVAILABLE = 3, /* the requested backend cannot be used here */
  SCM_E_ABORTED = 4,             /* the caller aborted the operation */
  SCM_E_IO = 5,                  /* file system error */
  SCM_E_BAD_CHECKPOINT = 6,      /* a checkpoint file is corrupt, truncated or hostile */
  SCM_E_OUT_OF_MEMORY = 7,       /* allocation failed (host or device) */
  SCM_E_CUDA = 8,                /* a CUDA / cuBLAS call failed */
  SCM_E_NONFINITE = 9,           /* NaN or infinity where a finite number is required */
  SCM_E_INTERNAL = 10            /* a bug: an invariant of the engine does not hold */
} ScmStatus;

typedef enum ScmBackend {
  SCM_BACKEND_AUTO = 0, /* the selected default: CUDA when usable, else CPU */
  SCM_BACKEND_CPU = 1,
  SCM_BACKEND_CUDA = 2
} ScmBackend;

/* Version string of the engine, e.g. "0.1.0". */
SCM_API const char* scm_version(void);
/* Stable name of a status, e.g. "E_SHAPE". */
SCM_API const char* scm_status_name(ScmStatus status);
/* Message of the last failure on the calling thread ("" if none). */
SCM_API const char* scm_last_error(void);

/* Log messages (level 0 = debug, 1 = info, 2 = warning) go to this callback; NULL silences. */
typedef void (*ScmLogFn)(int level, const char* message, void* user);
SCM_API void scm_set_log_callback(ScmLogFn fn, void* user);

/* What a backend is and whether it can be used here. */
typedef struct ScmBackendInfo {
  int available;             /* 1 when usable */
  char reason[512];          /* when not available: why, in plain words */
  char device_name[256];
  uint64_t memory_bytes;
  int compute_capability_major, compute_capability_minor; /* 0.0 for the CPU */
  int multiprocessors;       /* GPU SMs, or CPU worker threads */
} ScmBackendInfo;

SCM_API ScmStatus scm_backend_query(ScmBackend backend, ScmBackendInfo* out);
/* Sets what SCM_BACKEND_AUTO means from now on (AUTO, CPU or CUDA). */
SCM_API ScmStatus scm_backend_select(ScmBackend backend);
/* The backend SCM_BACKEND_AUTO resolves to now. */
SCM_API ScmStatus scm_backend_active(ScmBackend* out);

/* Memory on one backend. */
typedef struct scm_buffer scm_buffer;
SCM_API ScmStatus scm_buffer_create(ScmBackend backend, size_t bytes, scm_buffer** out);
SCM_API void scm_buffer_destroy(scm_buffer* buffer);
SCM_API size_t scm_buffer_size(const scm_buffer* buffer);
SCM_API ScmStatus scm_buffer_upload(scm_buffer* buffer, const void* host, size_t bytes);
SCM_API ScmStatus scm_buffer_download(const scm_buffer* buffer, void* host, size_t bytes);

/* Philox4x32-10 streams (identical on every backend): count floats from element `offset`. */
SCM_API ScmStatus scm_random_normal(scm_buffer* out, size_t count, uint64_t seed, uint64_t offset);
SCM_API ScmStatus scm_random_uniform(scm_buffer* out, size_t count, uint64_t seed, uint64_t offset);

/* Row-major strided-batched GEMM, C = alpha op(A) op(B) + beta C. The descriptor is
 * struct ScmGemmDesc of native/core/kernels/gemm.h (m, n, k, trans_a, trans_b, lda, ldb,
 * ldc, batch, stride_a/b/c, alpha, beta, precision, a_type, b_type). a and b hold floats, or
 * bf16 values (uint16_t) where a_type / b_type is SCM_DTYPE_BF16; c holds floats.
 * precision SCM_GEMM_BF16 rounds fp32 operands to bf16 and accumulates in fp32, on the CPU
 * and on CUDA. A zero-initialised desc (then filled in) keeps fp32 operands. */
struct ScmGemmDesc;
SCM_API ScmStatus scm_gemm(const struct ScmGemmDesc* desc, const scm_buffer* a, const scm_buffer* b, scm_buffer* c);

#ifdef __cplusplus
}
#endif

#endif /* SCM_NATIVE_SCM_H */
