// The CPU backend's attention family entries (filled in by the family's implementation).
#include "../core/kernels/table.h"

void scm_cpu_fill_attention(ScmAttentionKernels*) {}
