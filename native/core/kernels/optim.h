// Kernel family: optim (owned by its implementer; see common.h for conventions).
#pragma once
#include "common.h"

struct ScmOptimKernels {
  int reserved_;  // replaced by the family's entries
};
