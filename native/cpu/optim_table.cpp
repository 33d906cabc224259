// The CPU backend's optim family entries (filled in by the family's implementation).
#include "../core/kernels/table.h"

void scm_cpu_fill_optim(ScmOptimKernels*) {}
