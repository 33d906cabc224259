// Entry scaffolding of the CUDA files pointwise_model.cu and trigflow_train.cu: the shared CPU
// argument checks run first (their failure is reported like a CUDA error), then the launch.
#pragma once
#include <cstdint>
#include "cuda_common.cuh"
#include "../core/error.h"

namespace scm::cuda {

// check(): the shared argument checks (they throw scm::Error), returning false when there is
// nothing to compute; launch(): queues the work, returning SCM_OK or the error's status.
template <class Check, class Launch>
int check_then_launch(Check&& check, Launch&& launch) {
  bool work = false;
  if (int rc = scm::guarded([&] { work = check(); })) {
    set_error(scm::last_error());
    return rc;
  }
  return work ? launch() : SCM_OK;
}

// Calls launch(I{}) with I = uint32_t when a tensor of n elements can be indexed in 32 bits (64-bit
// division is slow on the GPU), else with I = int64_t.
template <class Launch>
void with_index_type(int64_t n, Launch&& launch) {
  if (n <= int64_t(UINT32_MAX)) launch(uint32_t{});
  else launch(int64_t{});
}

constexpr int kFlatThreads = 256;

// Blocks of kFlatThreads for a grid-stride loop over n elements.
inline unsigned flat_blocks(int64_t n) { return blocks_for(static_cast<size_t>(n), kFlatThreads); }

}  // namespace scm::cuda

// for (int64_t k = global thread index; k < n; k += grid size)
#define SCM_FOR_EACH_INDEX(k, n) \
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < (n); k += int64_t(gridDim.x) * blockDim.x)
