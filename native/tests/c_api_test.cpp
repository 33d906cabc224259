// The C API, driven from C (c_api_check.c).
#include "framework.h"

extern "C" int scm_c_api_smoke(char* err, size_t n);

SCM_TEST(c_api_from_c) {
  char err[512] = {0};
  int rc = scm_c_api_smoke(err, sizeof err);
  SCM_CHECK(rc == 0, err);
}
