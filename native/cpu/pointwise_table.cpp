// The CPU backend's pointwise family entries: float instantiations of native/cpu/pointwise.h
// behind the argument checks shared with the CUDA entries (pointwise_checks) and scm::guarded.
// bias + activation runs the vectorised float fast path (pointwise_fast.h) on the best ISA of
// this CPU; the double templates in pointwise.h stay its reference.
#include "pointwise.h"
#include "pointwise_fast.h"
#include "../core/kernels/table.h"

namespace {

namespace chk = scm::cpu::pointwise_checks;
namespace K = scm::cpu;
namespace F = scm::cpu::fast;

int bias_act_forward(int64_t rows, int64_t cols, int act, const float* x, const float* bias, float* y) {
  return scm::guarded([&] {
    if (chk::bias_act("bias_act_forward", rows, cols, act, x, nullptr, nullptr, y, "y"))
      F::bias_act_forward(F::best_isa(), rows, cols, act, x, bias, y);
  });
}
int bias_act_dual(int64_t rows, int64_t cols, int act, const float* x, const float* tx, const float* bias, float* y,
                  float* ty) {
  return scm::guarded([&] {
    if (chk::bias_act("bias_act_dual", rows, cols, act, x, tx, "tx", y, "y")) {
      chk::ptr(ty, "bias_act_dual", "ty");
      F::bias_act_dual(F::best_isa(), rows, cols, act, x, tx, bias, y, ty);
    }
  });
}
int bias_act_backward(int64_t rows, int64_t cols, int act, const float* x, const float* bias, const float* dy,
                      float* dx, float* dbias) {
  return scm::guarded([&] {
    if (chk::bias_act("bias_act_backward", rows, cols, act, x, dy, "dy", dx, "dx"))
      F::bias_act_backward(F::best_isa(), rows, cols, act, x, bias, dy, dx, dbias);
  });
}

int add_forward(int64_t n, const float* a, const float* b, float* y) {
  return scm::guarded([&] {
    if (chk::elementwise("add_forward", n, {{a, "a"}, {b, "b"}, {y, "y"}})) K::add_forward<float>(n, a, b, y);
  });
}
int add_dual(int64_t n, const float* a, const float* ta, const float* b, const float* tb, float* y, float* ty) {
  return scm::guarded([&] {
    if (chk::elementwise("add_dual", n, {{a, "a"}, {b, "b"}, {y, "y"}, {ty, "ty"}}))
      K::add_dual<float>(n, a, ta, b, tb, y, ty);
  });
}
int add_backward(int64_t n, const float* dy, float* da, float* db) {
  return scm::guarded([&] {
    if (chk::elementwise("add_backward", n, {{dy, "dy"}})) K::add_backward<float>(n, dy, da, db);
  });
}

int time_embed_forward(int64_t batch, int64_t dim, const float* t, float* emb) {
  return scm::guarded([&] {
    if (chk::time_embed("time_embed_forward", batch, dim)) {
      chk::ptr(t, "time_embed_forward", "t"), chk::ptr(emb, "time_embed_forward", "emb");
      K::time_embed_forward<float>(batch, dim, t, emb);
    }
  });
}
int time_embed_dual(int64_t batch, int64_t dim, const float* t, const float* tt, float* emb, float* temb) {
  return scm::guarded([&] {
    if (chk::time_embed("time_embed_dual", batch, dim)) {
      chk::ptr(t, "time_embed_dual", "t"), chk::ptr(tt, "time_embed_dual", "tt");
      chk::ptr(temb, "time_embed_dual", "temb");
      K::time_embed_dual<float>(batch, dim, t, tt, emb, temb);
    }
  });
}
int time_embed_backward(int64_t batch, int64_t dim, const float* t, const float* demb, float* dt) {
  return scm::guarded([&] {
    if (chk::time_embed("time_embed_backward", batch, dim)) {
      chk::ptr(t, "time_embed_backward", "t"), chk::ptr(demb, "time_embed_backward", "demb");
      chk::ptr(dt, "time_embed_backward", "dt");
      K::time_embed_backward<float>(batch, dim, t, demb, dt);
    }
  });
}

int patchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const float* images, float* tokens) {
  return scm::guarded([&] {
    if (chk::patch("patchify", B, C, H, W, p, images, tokens)) K::patchify<float>(B, C, H, W, p, images, tokens);
  });
}
int unpatchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const float* tokens, float* images) {
  return scm::guarded([&] {
    if (chk::patch("unpatchify", B, C, H, W, p, tokens, images)) K::unpatchify<float>(B, C, H, W, p, tokens, images);
  });
}

int mse_forward(int64_t n, const float* a, const float* b, float* out) {
  return scm::guarded([&] {
    chk::mse("mse_forward", n);
    chk::ptr(a, "mse_forward", "a"), chk::ptr(out, "mse_forward", "out");
    K::mse_forward<float>(n, a, b, out);
  });
}
int mse_dual(int64_t n, const float* a, const float* ta, const float* b, const float* tb, float* out, float* tout) {
  return scm::guarded([&] {
    chk::mse("mse_dual", n);
    chk::ptr(a, "mse_dual", "a"), chk::ptr(tout, "mse_dual", "tout");
    K::mse_dual<float>(n, a, ta, b, tb, out, tout);
  });
}
int mse_backward(int64_t n, const float* a, const float* b, float dout, float* da, float* db) {
  return scm::guarded([&] {
    chk::mse("mse_backward", n);
    chk::ptr(a, "mse_backward", "a");
    K::mse_backward<float>(n, a, b, dout, da, db);
  });
}
int sumsq_forward(int64_t batch, int64_t dim, const float* x, float* out) {
  return scm::guarded([&] {
    if (chk::sumsq("sumsq_forward", batch, dim)) {
      chk::ptr(out, "sumsq_forward", "out");
      if (dim > 0) chk::ptr(x, "sumsq_forward", "x");
      K::sumsq_forward<float>(batch, dim, x, out);
    }
  });
}
int sumsq_dual(int64_t batch, int64_t dim, const float* x, const float* tx, float* out, float* tout) {
  return scm::guarded([&] {
    if (chk::sumsq("sumsq_dual", batch, dim)) {
      chk::ptr(tout, "sumsq_dual", "tout");
      if (dim > 0) chk::ptr(x, "sumsq_dual", "x"), chk::ptr(tx, "sumsq_dual", "tx");
      K::sumsq_dual<float>(batch, dim, x, tx, out, tout);
    }
  });
}
int sumsq_backward(int64_t batch, int64_t dim, const float* x, const float* dout, float* dx) {
  return scm::guarded([&] {
    if (chk::sumsq("sumsq_backward", batch, dim) && dim > 0) {
      chk::ptr(x, "sumsq_backward", "x"), chk::ptr(dout, "sumsq_backward", "dout"), chk::ptr(dx, "sumsq_backward", "dx");
      K::sumsq_backward<float>(batch, dim, x, dout, dx);
    }
  });
}

int dropout_forward(int64_t n, float p, uint64_t seed, uint64_t offset, const float* x, float* y) {
  return scm::guarded([&] {
    if (chk::dropout("dropout_forward", n, p)) {
      chk::ptr(x, "dropout_forward", "x"), chk::ptr(y, "dropout_forward", "y");
      K::dropout_forward<float>(n, p, seed, offset, x, y);
    }
  });
}
int dropout_dual(int64_t n, float p, uint64_t seed, uint64_t offset, const float* x, const float* tx, float* y,
                 float* ty) {
  return scm::guarded([&] {
    if (chk::dropout("dropout_dual", n, p)) {
      chk::ptr(x, "dropout_dual", "x"), chk::ptr(tx, "dropout_dual", "tx");
      chk::ptr(y, "dropout_dual", "y"), chk::ptr(ty, "dropout_dual", "ty");
      K::dropout_dual<float>(n, p, seed, offset, x, tx, y, ty);
    }
  });
}
int dropout_backward(int64_t n, float p, uint64_t seed, uint64_t offset, const float* dy, float* dx) {
  return scm::guarded([&] {
    if (chk::dropout("dropout_backward", n, p)) {
      chk::ptr(dy, "dropout_backward", "dy"), chk::ptr(dx, "dropout_backward", "dx");
      K::dropout_backward<float>(n, p, seed, offset, dy, dx);
    }
  });
}

}  // namespace

void scm_cpu_fill_pointwise_model(ScmPointwiseKernels* k);  // pointwise_model_table.cpp: items 7-9

void scm_cpu_fill_pointwise(ScmPointwiseKernels* k) {
  k->bias_act_forward = bias_act_forward;
  k->bias_act_dual = bias_act_dual;
  k->bias_act_backward = bias_act_backward;
  k->add_forward = add_forward;
  k->add_dual = add_dual;
  k->add_backward = add_backward;
  k->time_embed_forward = time_embed_forward;
  k->time_embed_dual = time_embed_dual;
  k->time_embed_backward = time_embed_backward;
  k->patchify = patchify;
  k->unpatchify = unpatchify;
  k->mse_forward = mse_forward;
  k->mse_dual = mse_dual;
  k->mse_backward = mse_backward;
  k->sumsq_forward = sumsq_forward;
  k->sumsq_dual = sumsq_dual;
  k->sumsq_backward = sumsq_backward;
  k->dropout_forward = dropout_forward;
  k->dropout_dual = dropout_dual;
  k->dropout_backward = dropout_backward;
  scm_cpu_fill_pointwise_model(k);
}
