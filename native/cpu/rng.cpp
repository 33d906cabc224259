// The CPU backend's rng family: the Philox streams of native/core/philox.h.
#include "../core/kernels/table.h"
#include "../core/parallel.h"
#include "../core/philox.h"

namespace {

int uniform(float* out, size_t count, uint64_t seed, uint64_t offset) {
  scm::parallel_for(count, 1 << 14, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) out[i] = scm::philox::uniform_at(seed, offset + i);
  });
  return SCM_OK;
}

int normal(float* out, size_t count, uint64_t seed, uint64_t offset) {
  scm::parallel_for(count, 1 << 13, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) out[i] = scm::philox::normal_at(seed, offset + i);
  });
  return SCM_OK;
}

}  // namespace

void scm_cpu_fill_rng(ScmRngKernels* k) {
  k->uniform = uniform;
  k->normal = normal;
}
