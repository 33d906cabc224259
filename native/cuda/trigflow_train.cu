// The CUDA backend's trigflow training steps (semantics: native/core/kernels/trigflow.h; the CPU
// reference is native/cpu/trigflow_train.h, whose argument checks these entries share):
// noisy_sample, tangent_target, cfg_combine. scm_cuda_fill_trigflow (trigflow.cu) calls
// scm_cuda_fill_trigflow_train.
//
// One launch shape for all three: blockIdx.y strides over the samples, blockIdx.x and the threads
// over the elements of a sample. Every thread computes its sample's coefficients itself (cos / sin
// of t in double: no shared memory, no barrier) and then handles about kPerThread elements of the
// sample, so the double sincos is amortised. The elementwise arithmetic is in double as on the CPU
// (a handful of double operations per element), rounded once to float; each element's inputs are
// read before its outputs are written, so the outputs may alias the inputs as the header allows.
#include <algorithm>
#include "checked_launch.cuh"
#include "../cpu/trigflow_train.h"

namespace {

using scm::cuda::check_then_launch;

constexpr int kThreads = 256;
constexpr int kPerThread = 4;

// Op: struct Coef; __device__ Coef coef(int64_t b) const; __device__ void apply(int64_t i, const Coef&) const.
template <class Op>
__global__ void __launch_bounds__(kThreads) per_sample_kernel(Op op, int64_t batch, int64_t D) {
  const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (first >= D) return;  // no element of any sample: skip the coefficients too
  for (int64_t b = blockIdx.y; b < batch; b += gridDim.y) {
    const typename Op::Coef c = op.coef(b);
    const int64_t base = b * D;
    for (int64_t i = first; i < D; i += int64_t(gridDim.x) * blockDim.x) op.apply(base + i, c);
  }
}

template <class Op>
int launch_per_sample(const Op& op, int64_t batch, int64_t D, const char* what) {
  const int64_t threads = std::min<int64_t>(kThreads, (D + 31) / 32 * 32);
  const int64_t xb = std::min<int64_t>((D + threads * kPerThread - 1) / (threads * kPerThread), 65535);
  const int64_t yb = std::min<int64_t>(batch, 65535);
  per_sample_kernel<Op><<<dim3(unsigned(xb), unsigned(yb)), unsigned(threads), 0, scm::cuda::stream()>>>(op, batch, D);
  return scm::cuda::check_launched(what);
}

struct CosSin {
  double c, s;
};
__device__ __forceinline__ CosSin cos_sin(float t) {
  CosSin r;
  sincos(double(t), &r.s, &r.c);
  return r;
}

// x_t = cos t * x0 + sin t * z, v_t = cos t * z - sin t * x0 (nullable), z = sd * eps.
struct NoisyOp {
  using Coef = CosSin;
  double sd;
  const float *t, *x0, *eps;
  float *x_t, *v_t;
  __device__ Coef coef(int64_t b) const { return cos_sin(t[b]); }
  __device__ void apply(int64_t i, const Coef& k) const {
    const double a = x0[i], z = sd * double(eps[i]);
    x_t[i] = float(k.c * a + k.s * z);
    if (v_t) v_t[i] = float(k.c * z - k.s * a);
  }
};

// g = -cos^2 t (sd F - dxdt) - r (cos t sin t x_t + sd J).
struct TangentOp {
  struct Coef {
    double c2, cs;
  };
  double sd, r;
  const float *t, *F, *dxdt, *x_t, *J;
  float* g;
  __device__ Coef coef(int64_t b) const {
    const CosSin k = cos_sin(t[b]);
    return {k.c * k.c, k.c * k.s};
  }
  __device__ void apply(int64_t i, const Coef& k) const {
    const double f = F[i], v = dxdt[i], x = x_t[i], j = J[i];
    g[i] = float(-k.c2 * (sd * f - v) - r * (k.cs * x + sd * j));
  }
};

// out = F_u + w (F_c - F_u).
struct CfgOp {
  struct Coef {
    double w;
  };
  const float *w, *F_uncond, *F_cond;
  float* out;
  __device__ Coef coef(int64_t b) const { return {double(w[b])}; }
  __device__ void apply(int64_t i, const Coef& k) const {
    const double u = F_uncond[i], c = F_cond[i];
    out[i] = float(u + k.w * (c - u));
  }
};

int noisy_sample(int64_t batch, int64_t per_sample, float sd, const float* t, const float* x0, const float* eps,
                 float* x_t, float* v_t) {
  return check_then_launch(
      [&] { return scm::cpu::validate_noisy_sample(batch, per_sample, sd, t, x0, eps, x_t, v_t); },
      [&] { return launch_per_sample(NoisyOp{double(sd), t, x0, eps, x_t, v_t}, batch, per_sample, "noisy_sample"); });
}

int tangent_target(int64_t batch, int64_t per_sample, float sd, float r, const float* t, const float* F,
                   const float* dxdt, const float* x_t, const float* J, float* g) {
  return check_then_launch(
      [&] { return scm::cpu::validate_tangent_target(batch, per_sample, sd, r, t, F, dxdt, x_t, J, g); },
      [&] {
        return launch_per_sample(TangentOp{double(sd), double(r), t, F, dxdt, x_t, J, g}, batch, per_sample,
                                 "tangent_target");
      });
}

int cfg_combine(int64_t batch, int64_t per_sample, const float* w, const float* F_uncond, const float* F_cond,
                float* out) {
  return check_then_launch(
      [&] { return scm::cpu::validate_cfg_combine(batch, per_sample, w, F_uncond, F_cond, out); },
      [&] { return launch_per_sample(CfgOp{w, F_uncond, F_cond, out}, batch, per_sample, "cfg_combine"); });
}

}  // namespace

void scm_cuda_fill_trigflow_train(ScmTrigflowKernels* k) {
  k->noisy_sample = noisy_sample;
  k->tangent_target = tangent_target;
  k->cfg_combine = cfg_combine;
}
