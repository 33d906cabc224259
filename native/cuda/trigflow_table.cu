// The CUDA backend's trigflow family entries (filled in by the family's implementation).
#include "../core/kernels/table.h"

void scm_cuda_fill_trigflow(ScmTrigflowKernels*) {}
