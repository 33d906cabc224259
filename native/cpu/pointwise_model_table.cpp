// The CPU backend's pointwise entries for the models (items 7-9 of core/kernels/pointwise.h):
// head split/merge, per-sample modulation and row scaling. Float instantiations of
// native/cpu/heads.h, modulate.h and scale_rows.h behind the argument checks shared with the CUDA
// entries (pointwise_checks) and scm::guarded; scm_cpu_fill_pointwise (pointwise_table.cpp) calls
// scm_cpu_fill_pointwise_model.
#include "heads.h"
#include "modulate.h"
#include "scale_rows.h"
#include "../core/kernels/table.h"

namespace {

namespace chk = scm::cpu::pointwise_checks;
namespace K = scm::cpu;

int split_heads(int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts, const float* x, float* out0, float* out1,
                float* out2) {
  return scm::guarded([&] {
    if (chk::heads("split_heads", true, B, T, H, hd, parts, x, {out0, out1, out2}))
      K::split_heads<float>(B, T, H, hd, parts, x, out0, out1, out2);
  });
}
int merge_heads(int64_t B, int64_t T, int64_t H, int64_t hd, int64_t parts, const float* in0, const float* in1,
                const float* in2, float* x) {
  return scm::guarded([&] {
    if (chk::heads("merge_heads", false, B, T, H, hd, parts, x, {in0, in1, in2}))
      K::merge_heads<float>(B, T, H, hd, parts, in0, in1, in2, x);
  });
}

int modulate_forward(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* s,
                     const float* b, float* y) {
  return scm::guarded([&] {
    if (chk::modulate("modulate_forward", batch, tokens, C, offset, x, s, b, y, false, nullptr, nullptr))
      K::modulate_forward<float>(batch, tokens, C, offset, x, s, b, y);
  });
}
int modulate_dual(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* tx,
                  const float* s, const float* ts, const float* b, const float* tb, float* y, float* ty) {
  return scm::guarded([&] {
    if (chk::modulate("modulate_dual", batch, tokens, C, offset, x, s, b, y, true, tx, ty))
      K::modulate_dual<float>(batch, tokens, C, offset, x, tx, s, ts, b, tb, y, ty);
  });
}
int modulate_backward(int64_t batch, int64_t tokens, int64_t C, float offset, const float* x, const float* s,
                      const float* dy, float* dx, float* ds, float* db) {
  return scm::guarded([&] {
    if (chk::modulate_backward(batch, tokens, C, offset, x, s, dy))
      K::modulate_backward<float>(batch, tokens, C, offset, x, s, dy, dx, ds, db);
  });
}

int scale_rows(int64_t batch, int64_t per_sample, const float* alpha, const float* x, float* y) {
  return scm::guarded([&] {
    if (chk::scale_rows("scale_rows", batch, per_sample, alpha, x, y)) K::scale_rows<float>(batch, per_sample, alpha, x, y);
  });
}

}  // namespace

void scm_cpu_fill_pointwise_model(ScmPointwiseKernels* k) {
  k->split_heads = split_heads;
  k->merge_heads = merge_heads;
  k->modulate_forward = modulate_forward;
  k->modulate_dual = modulate_dual;
  k->modulate_backward = modulate_backward;
  k->scale_rows = scale_rows;
}
