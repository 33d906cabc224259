// Kernel family: trigflow (owned by its implementer; see common.h for conventions).
#pragma once
#include "common.h"

struct ScmTrigflowKernels {
  int reserved_;  // replaced by the family's entries
};
