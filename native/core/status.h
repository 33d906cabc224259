// Status codes shared by the C API (scm.h), the kernel table and the core.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ScmStatus {
  SCM_OK = 0,
  SCM_E_ARGUMENT = 1,            // an argument is invalid (non-integer size, unknown option...)
  SCM_E_SHAPE = 2,               // tensor sizes disagree
  SCM_E_BACKEND_UNAVAILABLE = 3, // the requested backend cannot be used here
  SCM_E_ABORTED = 4,             // the caller aborted the operation
  SCM_E_IO = 5,                  // file system error
  SCM_E_BAD_CHECKPOINT = 6,      // a checkpoint file is corrupt, truncated or hostile
  SCM_E_OUT_OF_MEMORY = 7,       // allocation failed (host or device)
  SCM_E_CUDA = 8,                // a CUDA / cuBLAS call failed
  SCM_E_NONFINITE = 9,           // NaN or infinity where a finite number is required
  SCM_E_INTERNAL = 10            // a bug: an invariant of the engine does not hold
} ScmStatus;

#ifdef __cplusplus
}
#endif
