#include "error.h"

namespace scm {

const char* status_name(ScmStatus status) {
  switch (status) {
    case SCM_OK: return "OK";
    case SCM_E_ARGUMENT: return "E_ARGUMENT";
    case SCM_E_SHAPE: return "E_SHAPE";
    case SCM_E_BACKEND_UNAVAILABLE: return "E_BACKEND_UNAVAILABLE";
    case SCM_E_ABORTED: return "E_ABORTED";
    case SCM_E_IO: return "E_IO";
    case SCM_E_BAD_CHECKPOINT: return "E_BAD_CHECKPOINT";
    case SCM_E_OUT_OF_MEMORY: return "E_OUT_OF_MEMORY";
    case SCM_E_CUDA: return "E_CUDA";
    case SCM_E_NONFINITE: return "E_NONFINITE";
    case SCM_E_INTERNAL: return "E_INTERNAL";
  }
  return "E_INTERNAL";
}

namespace {
thread_local std::string g_last_error;
}

void set_last_error(const std::string& message) { g_last_error = message; }
const char* last_error() { return g_last_error.c_str(); }

}  // namespace scm
