// The CUDA backend's pointwise family entries (filled in by the family's implementation).
#include "../core/kernels/table.h"

void scm_cuda_fill_pointwise(ScmPointwiseKernels*) {}
