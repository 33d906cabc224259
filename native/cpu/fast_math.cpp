// Run-time choice of the fast kernels' instruction set (fast_math.h).
#include "fast_math.h"

#include <cstdlib>
#include <cstring>

namespace scm::cpu::fast {

bool isa_available(Isa isa) {
  switch (isa) {
    case Isa::Baseline: return true;
    case Isa::Avx2:
#if SCM_FAST_X86
      // libgcc / compiler-rt check cpuid and that the OS saves the YMM state (xgetbv).
      return __builtin_cpu_supports("avx2");
#else
      return false;
#endif
    case Isa::Avx512:
#if SCM_FAST_X86
      // The same checks for the ZMM and opmask state; the four subsets SCM_FAST_TARGET_AVX512 uses.
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
#else
      return false;
#endif
  }
  return false;
}

Isa best_isa() {
  static const Isa best = [] {
    const char* env = std::getenv("SCM_CPU_ISA");
    const bool baseline = env && std::strcmp(env, "baseline") == 0, avx2 = env && std::strcmp(env, "avx2") == 0;
    if (baseline) return Isa::Baseline;
    if (!avx2 && isa_available(Isa::Avx512)) return Isa::Avx512;
    return isa_available(Isa::Avx2) ? Isa::Avx2 : Isa::Baseline;
  }();
  return best;
}

const char* isa_name(Isa isa) { return isa == Isa::Avx512 ? "avx512" : isa == Isa::Avx2 ? "avx2" : "baseline"; }

}  // namespace scm::cpu::fast
