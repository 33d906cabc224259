/* Compiled as C: proves native/include/scm.h is a C header, and drives the C API end to end
 * on the CPU backend. Returns 0 on success, else writes what failed into err. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "../include/scm.h"
#include "../core/kernels/gemm.h"

static int log_calls = 0;
static void on_log(int level, const char* message, void* user) {
  (void)level; (void)message;
  ++*(int*)user;
}

int scm_c_api_smoke(char* err, size_t n) {
  ScmBackendInfo info;
  scm_buffer *a = NULL, *b = NULL, *c = NULL;
  float ha[6] = {1, 2, 3, 4, 5, 6}, hb[6] = {0.5f, -1, 2, 0.25f, 3, -2}, hc[4] = {0, 0, 0, 0};
  struct ScmGemmDesc d;
  ScmStatus s;
  scm_set_log_callback(on_log, &log_calls);
  if (scm_backend_query(SCM_BACKEND_CPU, &info) != SCM_OK || !info.available) { snprintf(err, n, "cpu query: %s", scm_last_error()); return 1; }
  if (strcmp(info.device_name, "CPU") != 0 || info.memory_bytes == 0) { snprintf(err, n, "cpu info %s", info.device_name); return 1; }
  if (scm_backend_query(SCM_BACKEND_CUDA, &info) != SCM_OK) { snprintf(err, n, "cuda query failed"); return 1; }
  if (!info.available && strlen(info.reason) < 5) { snprintf(err, n, "no reason for missing CUDA"); return 1; }
  if (scm_backend_query((ScmBackend)7, &info) != SCM_E_ARGUMENT || !strstr(scm_last_error(), "unknown backend value 7")) {
    snprintf(err, n, "bad backend value not refused: %s", scm_last_error()); return 1;
  }
  if (strcmp(scm_status_name(SCM_E_SHAPE), "E_SHAPE") != 0) { snprintf(err, n, "status name"); return 1; }
  if (scm_buffer_create(SCM_BACKEND_CPU, sizeof ha, &a) || scm_buffer_create(SCM_BACKEND_CPU, sizeof hb, &b) ||
      scm_buffer_create(SCM_BACKEND_CPU, sizeof hc, &c)) { snprintf(err, n, "create: %s", scm_last_error()); return 1; }
  scm_buffer_upload(a, ha, sizeof ha);
  scm_buffer_upload(b, hb, sizeof hb);
  memset(&d, 0, sizeof d);
  d.m = 2; d.n = 2; d.k = 3; d.lda = 3; d.ldb = 2; d.ldc = 2; d.batch = 1; d.alpha = 1; d.beta = 0;
  if ((s = scm_gemm(&d, a, b, c)) != SCM_OK) { snprintf(err, n, "gemm: %s", scm_last_error()); return 1; }
  scm_buffer_download(c, hc, sizeof hc);
  /* [1 2 3; 4 5 6] x [0.5 -1; 2 0.25; 3 -2] = [13.5 -6.5; 30 -14.75] */
  if (fabsf(hc[0] - 13.5f) > 1e-6f || fabsf(hc[1] + 6.5f) > 1e-6f || fabsf(hc[2] - 30.f) > 1e-6f || fabsf(hc[3] + 14.75f) > 1e-6f) {
    snprintf(err, n, "gemm result %g %g %g %g", hc[0], hc[1], hc[2], hc[3]); return 1;
  }
  d.k = 4; /* a now too small */
  if (scm_gemm(&d, a, b, c) != SCM_E_SHAPE) { snprintf(err, n, "oversized gemm not refused"); return 1; }
  if (scm_buffer_upload(a, ha, 1000) != SCM_E_SHAPE) { snprintf(err, n, "oversized upload not refused"); return 1; }
  if (scm_random_normal(c, 4, 1, 0) != SCM_OK || scm_random_normal(c, 5, 1, 0) != SCM_E_SHAPE) { snprintf(err, n, "random"); return 1; }
  scm_buffer_destroy(a);
  scm_buffer_destroy(b);
  scm_buffer_destroy(c);
  scm_set_log_callback(NULL, NULL);
  return 0;
}
