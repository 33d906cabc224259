/* Build facts of the node-gyp build (binding.gyp puts this folder on the include path; the
 * CMake build generates its own from native/config/scm_build_info.h.in). node-gyp builds the
 * CPU backend only, with the engine's own GEMM. */
#ifndef SCM_BUILD_INFO_H
#define SCM_BUILD_INFO_H

#define SCM_CUDA_BUILT 0
#define SCM_CUDA_NOT_BUILT_REASON \
  "built with node-gyp, which builds the CPU backend only (install CMake and run npm run rebuild for CUDA)"

#endif
