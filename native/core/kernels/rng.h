// Kernel family: counter-based random numbers (Philox4x32-10, see native/core/philox.h).
// Element j of a stream (seed, offset) depends only on (seed, offset + j): any split of a
// stream into calls, on any backend, gives the same numbers bit for bit.
#pragma once
#include "common.h"

struct ScmRngKernels {
  // out[i] = uniform in (0, 1) for stream element offset + i.
  int (*uniform)(float* out, size_t count, uint64_t seed, uint64_t offset);
  // out[i] = standard normal for stream element offset + i (Box-Muller, see philox.h).
  int (*normal)(float* out, size_t count, uint64_t seed, uint64_t offset);
};
