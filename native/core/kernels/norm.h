// Kernel family: norm (owned by its implementer; see common.h for conventions).
#pragma once
#include "common.h"

struct ScmNormKernels {
  int reserved_;  // replaced by the family's entries
};
