// The CPU backend's gemm family entry.
#include "gemm.h"
#include "check_args.h"

namespace {

int gemm_entry(const ScmGemmDesc* d, const float* a, const float* b, float* c) {
  return scm::guarded([&] {
    scm::cpu::validate_gemm(*d);
    scm::cpu::gemm<float>(*d, a, b, c);
  });
}

}  // namespace

void scm_cpu_fill_gemm(ScmGemmKernels* k) { k->gemm = gemm_entry; }
