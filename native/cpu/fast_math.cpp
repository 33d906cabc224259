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
  }
  return false;
}

Isa best_isa() {
  static const Isa best = [] {
    const char* env = std::getenv("SCM_CPU_ISA");
    if (env && std::strcmp(env, "baseline") == 0) return Isa::Baseline;
    return isa_available(Isa::Avx2) ? Isa::Avx2 : Isa::Baseline;
  }();
  return best;
}

const char* isa_name(Isa isa) { return isa == Isa::Avx2 ? "avx2" : "baseline"; }

}  // namespace scm::cpu::fast
