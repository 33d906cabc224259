// Warp and block reductions shared by the CUDA kernels (fp32, deterministic order).
#pragma once
#include <cuda_runtime.h>

namespace scm::cuda {

// Sum over the 32 lanes of a warp (every lane gets the result).
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum over the block (every thread gets the result); blockDim.x a multiple of 32, <= 1024.
__device__ __forceinline__ float block_sum(float v, float* shared /* [32] */) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // shared may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : 0.f;
  return warp_sum(v);
}

}  // namespace scm::cuda
