// CPU GEMM library: OpenBLAS (cblas_sgemm), fp32 only. See gemm_library.h.
//
// OpenBLAS is set to one thread once, before its first GEMM: the dispatcher splits the work
// across the engine's pool, so OpenBLAS's own pthreads stay asleep. OpenBLAS 0.3.21 has no
// bf16 GEMM in Debian's build; bf16 operands are widened to fp32 by the dispatcher.
#include <cblas.h>

#include <mutex>
#include <string>

#include "gemm_library.h"

namespace scm::cpu::library {
namespace {

void single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

}  // namespace

const char* name() {
  // OPENBLAS_VERSION is " OpenBLAS 0.3.21 " (openblas_config.h).
  static const std::string n = [] {
    std::string v = OPENBLAS_VERSION;
    const size_t at = v.find_first_of("0123456789");
    v = at == std::string::npos ? "" : v.substr(at);
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return "openblas " + v;
  }();
  return n.c_str();
}

bool native_bf16() { return false; }

void gemm(const ScmGemmDesc& d, const void* a, const void* b, float* c) {
  single_threaded();
  const float* A = static_cast<const float*>(a);
  const float* B = static_cast<const float*>(b);
  for (int64_t i = 0; i < d.batch; ++i) {
    cblas_sgemm(CblasRowMajor, d.trans_a ? CblasTrans : CblasNoTrans, d.trans_b ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(d.m), static_cast<blasint>(d.n), static_cast<blasint>(d.k), d.alpha,
                A + i * d.stride_a, static_cast<blasint>(d.lda), B + i * d.stride_b, static_cast<blasint>(d.ldb),
                d.beta, c + i * d.stride_c, static_cast<blasint>(d.ldc));
  }
}

}  // namespace scm::cpu::library
