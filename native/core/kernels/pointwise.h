// Kernel family: pointwise (owned by its implementer; see common.h for conventions).
#pragma once
#include "common.h"

struct ScmPointwiseKernels {
  int reserved_;  // replaced by the family's entries
};
