// The engine's ops as seen by the models, training steps and samplers, in two interchangeable
// flavours with identical method names:
//
//   TableOps      float, through a kernel table (the CPU backend or the CUDA library): what the
//                 product runs. Pointers are that backend's memory.
//   ReferenceOps  double, calling the CPU reference templates (native/cpu/*.h) directly, on host
//                 memory: what the whole-network tests run, against finite differences.
//
// The models (model_mlp.cpp, model_dit.cpp), the training steps and the samplers are templates
// over an Ops type, so the code that ships is the code tested in double. Each method is one op
// of a kernel family (semantics: native/core/kernels/<family>.h); errors are thrown as
// scm::Error (TableOps turns a table status into one with the table's message).
#pragma once
#include <cstring>
#include <string>
#include <vector>

#include "backend.h"
#include "device_buffer.h"
#include "../cpu/attention_flash.h"
#include "../cpu/gemm.h"
#include "../cpu/heads.h"
#include "../cpu/modulate.h"
#include "../cpu/norm.h"
#include "../cpu/optim.h"
#include "../cpu/pointwise.h"
#include "../cpu/scale_rows.h"
#include "../cpu/trigflow.h"
#include "../cpu/trigflow_train.h"
#include "philox.h"

namespace scm {

// ---------------------------------------------------------------- TableOps (float, any backend)
class TableOps {
 public:
  using T = float;

  // An owning array of n floats in the backend's memory.
  class Buffer {
   public:
    Buffer() = default;
    Buffer(const ScmKernels& k, size_t n) : mem_(k, n * sizeof(float)), n_(n) {}
    float* data() const { return mem_.as<float>(); }
    size_t size() const { return n_; }

   private:
    DeviceBuffer mem_;
    size_t n_ = 0;
  };

  explicit TableOps(const ScmKernels& k, int gemm_precision = SCM_GEMM_FP32, bool host = true)
      : k_(k), precision_(gemm_precision), host_(host) {}
  const ScmKernels& kernels() const { return k_; }
  // True when backend memory is host memory (the CPU backend).
  bool host_memory() const { return host_; }
  int gemm_precision() const { return precision_; }
  // The attention kernels' precision: bf16 operands when the GEMMs run in bf16.
  int attention_precision() const { return precision_ == SCM_GEMM_BF16 ? SCM_ATTN_BF16 : SCM_ATTN_FP32; }

  // ---- memory
  Buffer alloc(size_t n) const { return Buffer(k_, n); }
  void zero(T* p, size_t n) const {
    if (n) run(k_.memory.fill_bytes(p, 0, n * sizeof(T)), "zero fill");
  }
  void copy(T* dst, const T* src, size_t n) const {
    if (n && dst != src) run(k_.memory.copy_on_device(dst, src, n * sizeof(T)), "device copy");
  }
  void upload(T* dst, const float* host, size_t n) const {
    if (n) run(k_.memory.copy_to_device(dst, host, n * sizeof(T)), "copy to device");
  }
  void upload(T* dst, const std::vector<double>& host) const {
    std::vector<float> f(host.begin(), host.end());
    upload(dst, f.data(), f.size());
  }
  void download(float* host, const T* src, size_t n) const {
    if (n) run(k_.memory.copy_to_host(host, src, n * sizeof(T)), "copy to host");
  }
  std::vector<double> download(const T* src, size_t n) const {
    std::vector<float> f(n);
    download(f.data(), src, n);
    return std::vector<double>(f.begin(), f.end());
  }
  void synchronize() const { run(k_.memory.synchronize(), "synchronize"); }

  // ---- rng
  void normal(T* out, size_t n, uint64_t seed, uint64_t offset) const {
    if (n) run(k_.rng.normal(out, n, seed, offset), "rng normal");
  }

  // ---- gemm (desc.precision is set from this object's precision)
  void gemm(ScmGemmDesc d, const T* a, const T* b, T* c) const {
    d.precision = precision_;
    run(k_.gemm.gemm(&d, a, b, c), "gemm");
  }

  // ---- pointwise
  void bias_act_forward(int64_t rows, int64_t cols, int act, const T* x, const T* bias, T* y) const {
    run(k_.pointwise.bias_act_forward(rows, cols, act, x, bias, y), "bias_act_forward");
  }
  void bias_act_dual(int64_t rows, int64_t cols, int act, const T* x, const T* tx, const T* bias, T* y, T* ty) const {
    run(k_.pointwise.bias_act_dual(rows, cols, act, x, tx, bias, y, ty), "bias_act_dual");
  }
  void bias_act_backward(int64_t rows, int64_t cols, int act, const T* x, const T* bias, const T* dy, T* dx,
                         T* dbias) const {
    run(k_.pointwise.bias_act_backward(rows, cols, act, x, bias, dy, dx, dbias), "bias_act_backward");
  }
  void add(int64_t n, const T* a, const T* b, T* y) const { run(k_.pointwise.add_forward(n, a, b, y), "add"); }
  void time_embed_forward(int64_t batch, int64_t dim, const T* t, T* emb) const {
    run(k_.pointwise.time_embed_forward(batch, dim, t, emb), "time_embed_forward");
  }
  void time_embed_dual(int64_t batch, int64_t dim, const T* t, const T* tt, T* emb, T* temb) const {
    run(k_.pointwise.time_embed_dual(batch, dim, t, tt, emb, temb), "time_embed_dual");
  }
  void patchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const T* images, T* tokens) const {
    run(k_.pointwise.patchify(B, C, H, W, p, images, tokens), "patchify");
  }
  void unpatchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const T* tokens, T* images) const {
    run(k_.pointwise.unpatchify(B, C, H, W, p, tokens, images), "unpatchify");
  }
  void sumsq(int64_t batch, int64_t dim, const T* x, T* out) const {
    run(k_.pointwise.sumsq_forward(batch, dim, x, out), "sumsq");
  }
  // da = scale * (a - b) over n elements (the mse backward with dout = scale * n / 2).
  void scaled_difference(int64_t n, double scale, const T* a, const T* b, T* da) const {
    run(k_.pointwise.mse_backward(n, a, b, static_cast<float>(scale * static_cast<double>(n) / 2.0), da, nullptr),
        "scaled difference");
  }
  void dropout_forward(int64_t n, float p, uint64_t seed, uint64_t offset, const T* x, T* y) const {
    run(k_.pointwise.dropout_forward(n, p, seed, offset, x, y), "dropout_forward");
  }
  void dropout_dual(int64_t n, float p, uint64_t seed, uint64_t offset, const T* x, const T* tx, T* y, T* ty) const {
    run(k_.pointwise.dropout_dual(n, p, seed, offset, x, tx, y, ty), "dropout_dual");
  }
  void dropout_backward(int64_t n, float p, uint64_t seed, uint64_t offset, const T* dy, T* dx) const {
    run(k_.pointwise.dropout_backward(n, p, seed, offset, dy, dx), "dropout_backward");
  }
  void split_heads(int64_t B, int64_t Tk, int64_t H, int64_t hd, int64_t parts, const T* x, T* o0, T* o1,
                   T* o2) const {
    run(k_.pointwise.split_heads(B, Tk, H, hd, parts, x, o0, o1, o2), "split_heads");
  }
  void merge_heads(int64_t B, int64_t Tk, int64_t H, int64_t hd, int64_t parts, const T* i0, const T* i1,
                   const T* i2, T* x) const {
    run(k_.pointwise.merge_heads(B, Tk, H, hd, parts, i0, i1, i2, x), "merge_heads");
  }
  void modulate_forward(int64_t batch, int64_t tokens, int64_t C, float offset, const T* x, const T* s, const T* b,
                        T* y) const {
    run(k_.pointwise.modulate_forward(batch, tokens, C, offset, x, s, b, y), "modulate_forward");
  }
  void modulate_dual(int64_t batch, int64_t tokens, int64_t C, float offset, const T* x, const T* tx, const T* s,
                     const T* ts, const T* b, const T* tb, T* y, T* ty) const {
    run(k_.pointwise.modulate_dual(batch, tokens, C, offset, x, tx, s, ts, b, tb, y, ty), "modulate_dual");
  }
  void modulate_backward(int64_t batch, int64_t tokens, int64_t C, float offset, const T* x, const T* s, const T* dy,
                         T* dx, T* ds, T* db) const {
    run(k_.pointwise.modulate_backward(batch, tokens, C, offset, x, s, dy, dx, ds, db), "modulate_backward");
  }
  void scale_rows(int64_t batch, int64_t per_sample, const T* alpha, const T* x, T* y) const {
    run(k_.pointwise.scale_rows(batch, per_sample, alpha, x, y), "scale_rows");
  }

  // ---- norm
  void layer_norm_forward(int64_t rows, int64_t cols, double eps, const T* x, T* y, T* mean, T* rstd) const {
    run(k_.norm.layer_norm_forward(rows, cols, float(eps), x, nullptr, nullptr, y, mean, rstd), "layer_norm_forward");
  }
  void layer_norm_dual(int64_t rows, int64_t cols, double eps, const T* x, const T* tx, T* y, T* ty, T* mean,
                       T* rstd) const {
    run(k_.norm.layer_norm_dual(rows, cols, float(eps), x, tx, nullptr, nullptr, y, ty, mean, rstd),
        "layer_norm_dual");
  }
  void layer_norm_backward(int64_t rows, int64_t cols, const T* x, const T* mean, const T* rstd, const T* dy,
                           T* dx) const {
    run(k_.norm.layer_norm_backward(rows, cols, x, nullptr, mean, rstd, dy, dx, nullptr, nullptr),
        "layer_norm_backward");
  }
  void adn_forward(int64_t batch, int64_t tokens, int64_t C, double eps, double peps, const T* x, const T* s,
                   const T* b, T* y, T* mean, T* rstd, T* srs, T* brs) const {
    run(k_.norm.adn_forward(batch, tokens, C, float(eps), float(peps), x, s, b, y, mean, rstd, srs, brs),
        "adn_forward");
  }
  void adn_dual(int64_t batch, int64_t tokens, int64_t C, double eps, double peps, const T* x, const T* tx,
                const T* s, const T* ts, const T* b, const T* tb, T* y, T* ty, T* mean, T* rstd, T* srs,
                T* brs) const {
    run(k_.norm.adn_dual(batch, tokens, C, float(eps), float(peps), x, tx, s, ts, b, tb, y, ty, mean, rstd, srs, brs),
        "adn_dual");
  }
  void adn_backward(int64_t batch, int64_t tokens, int64_t C, const T* x, const T* s, const T* b, const T* mean,
                    const T* rstd, const T* srs, const T* brs, const T* dy, T* dx, T* ds, T* db) const {
    run(k_.norm.adn_backward(batch, tokens, C, x, s, b, mean, rstd, srs, brs, dy, dx, ds, db), "adn_backward");
  }
  void qk_norm_forward(int64_t rows, int64_t hd, double eps, const T* x, const T* gamma, T* y, T* rstd) const {
    run(k_.norm.qk_norm_forward(rows, hd, float(eps), x, gamma, y, rstd), "qk_norm_forward");
  }
  void qk_norm_dual(int64_t rows, int64_t hd, double eps, const T* x, const T* tx, const T* gamma, T* y, T* ty,
                    T* rstd) const {
    run(k_.norm.qk_norm_dual(rows, hd, float(eps), x, tx, gamma, y, ty, rstd), "qk_norm_dual");
  }
  void qk_norm_backward(int64_t rows, int64_t hd, const T* x, const T* gamma, const T* rstd, const T* dy, T* dx,
                        T* dgamma) const {
    run(k_.norm.qk_norm_backward(rows, hd, x, gamma, rstd, dy, dx, dgamma), "qk_norm_backward");
  }

  // ---- attention (flash)
  void attention_forward(const ScmAttentionShape& s, const T* q, const T* k, const T* v, T* o, T* lse) const {
    run(k_.attention.forward(&s, q, k, v, o, lse), "attention forward");
  }
  void attention_jvp(const ScmAttentionShape& s, const T* q, const T* k, const T* v, const T* tq, const T* tk,
                     const T* tv, T* o, T* to, T* lse) const {
    run(k_.attention.jvp(&s, q, k, v, tq, tk, tv, o, to, lse), "attention jvp");
  }
  void attention_backward(const ScmAttentionShape& s, const T* q, const T* k, const T* v, const T* o, const T* lse,
                          const T* dout, T* dq, T* dk, T* dv) const {
    run(k_.attention.backward(&s, q, k, v, o, lse, dout, dq, dk, dv), "attention backward");
  }

  // ---- trigflow
  void noisy_sample(int64_t batch, int64_t D, double sd, const T* t, const T* x0, const T* eps, T* x_t, T* v_t) const {
    run(k_.trigflow.noisy_sample(batch, D, float(sd), t, x0, eps, x_t, v_t), "noisy_sample");
  }
  void tangent_target(int64_t batch, int64_t D, double sd, double r, const T* t, const T* F, const T* dxdt,
                      const T* x_t, const T* J, T* g) const {
    run(k_.trigflow.tangent_target(batch, D, float(sd), float(r), t, F, dxdt, x_t, J, g), "tangent_target");
  }
  void cfg_combine(int64_t batch, int64_t D, const T* w, const T* Fu, const T* Fc, T* out) const {
    run(k_.trigflow.cfg_combine(batch, D, w, Fu, Fc, out), "cfg_combine");
  }
  void tangent_normalize(int64_t batch, int64_t D, int mode, double c, const T* g, T* out, T* norms) const {
    run(k_.trigflow.tangent_normalize(batch, D, mode, float(c), g, out, norms), "tangent_normalize");
  }
  void consistency_step(int64_t batch, int64_t D, double sd, const T* t, const T* x, const T* F, T* x0,
                        const T* t_next, uint64_t seed, uint64_t offset, T* x_next) const {
    run(k_.trigflow.consistency_step(batch, D, float(sd), t, x, F, x0, t_next, seed, offset, x_next),
        "consistency_step");
  }
  void euler_step(int64_t batch, int64_t D, double sd, const T* s, const T* t, const T* x_s, const T* F_s,
                  T* x_t) const {
    run(k_.trigflow.euler_step(batch, D, float(sd), s, t, x_s, F_s, x_t), "euler_step");
  }
  void heun_correct(int64_t batch, int64_t D, double sd, const T* s, const T* t, const T* x_s, const T* F_s,
                    const T* x_eul, const T* F_t, T* x_t) const {
    run(k_.trigflow.heun_correct(batch, D, float(sd), s, t, x_s, F_s, x_eul, F_t, x_t), "heun_correct");
  }

  // ---- optim
  void optim_step(const ScmOptimParams& p, int64_t n, T* param, const T* grad, T* m, T* v, T* ema) const {
    run(k_.optim.step(&p, n, param, grad, m, v, ema), "optimizer step");
  }

 private:
  void run(int rc, const char* what) const { check(k_, rc, what); }
  const ScmKernels& k_;
  int precision_;
  bool host_;
};

// ---------------------------------------------------------------- ReferenceOps (double, host)
class ReferenceOps {
 public:
  using T = double;

  class Buffer {
   public:
    Buffer() = default;
    explicit Buffer(size_t n) : v_(n) {}
    double* data() const { return const_cast<double*>(v_.data()); }
    size_t size() const { return v_.size(); }

   private:
    std::vector<double> v_;
  };

  bool host_memory() const { return true; }
  int attention_precision() const { return SCM_ATTN_FP32; }

  Buffer alloc(size_t n) const { return Buffer(n); }
  void zero(T* p, size_t n) const {
    if (n) std::memset(p, 0, n * sizeof(T));
  }
  void copy(T* dst, const T* src, size_t n) const {
    if (n && dst != src) std::memmove(dst, src, n * sizeof(T));
  }
  void upload(T* dst, const float* host, size_t n) const {
    for (size_t i = 0; i < n; ++i) dst[i] = host[i];
  }
  void upload(T* dst, const std::vector<double>& host) const { copy(dst, host.data(), host.size()); }
  void download(float* host, const T* src, size_t n) const {
    for (size_t i = 0; i < n; ++i) host[i] = static_cast<float>(src[i]);
  }
  std::vector<double> download(const T* src, size_t n) const { return std::vector<double>(src, src + n); }
  void synchronize() const {}

  void normal(T* out, size_t n, uint64_t seed, uint64_t offset) const {
    for (size_t i = 0; i < n; ++i) out[i] = philox::normal_at(seed, offset + i);
  }

  void gemm(const ScmGemmDesc& d, const T* a, const T* b, T* c) const { cpu::gemm<double>(d, a, b, c); }

  void bias_act_forward(int64_t rows, int64_t cols, int act, const T* x, const T* bias, T* y) const {
    cpu::bias_act_forward<T>(rows, cols, act, x, bias, y);
  }
  void bias_act_dual(int64_t rows, int64_t cols, int act, const T* x, const T* tx, const T* bias, T* y, T* ty) const {
    cpu::bias_act_dual<T>(rows, cols, act, x, tx, bias, y, ty);
  }
  void bias_act_backward(int64_t rows, int64_t cols, int act, const T* x, const T* bias, const T* dy, T* dx,
                         T* dbias) const {
    cpu::bias_act_backward<T>(rows, cols, act, x, bias, dy, dx, dbias);
  }
  void add(int64_t n, const T* a, const T* b, T* y) const { cpu::add_forward<T>(n, a, b, y); }
  void time_embed_forward(int64_t batch, int64_t dim, const T* t, T* emb) const {
    cpu::time_embed_forward<T>(batch, dim, t, emb);
  }
  void time_embed_dual(int64_t batch, int64_t dim, const T* t, const T* tt, T* emb, T* temb) const {
    cpu::time_embed_dual<T>(batch, dim, t, tt, emb, temb);
  }
  void patchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const T* images, T* tokens) const {
    cpu::patchify<T>(B, C, H, W, p, images, tokens);
  }
  void unpatchify(int64_t B, int64_t C, int64_t H, int64_t W, int64_t p, const T* tokens, T* images) const {
    cpu::unpatchify<T>(B, C, H, W, p, tokens, images);
  }
  void sumsq(int64_t batch, int64_t dim, const T* x, T* out) const { cpu::sumsq_forward<T>(batch, dim, x, out); }
  void scaled_difference(int64_t n, double scale, const T* a, const T* b, T* da) const {
    for (int64_t i = 0; i < n; ++i) da[i] = scale * (a[i] - b[i]);
  }
  void dropout_forward(int64_t n, float p, uint64_t seed, uint64_t offset, const T* x, T* y) const {
    cpu::dropout_forward<T>(n, p, seed, offset, x, y);
  }
  void dropout_dual(int64_t n, float p, uint64_t seed, uint64_t offset, const T* x, const T* tx, T* y, T* ty) const {
    cpu::dropout_dual<T>(n, p, seed, offset, x, tx, y, ty);
  }
  void dropout_backward(int64_t n, float p, uint64_t seed, uint64_t offset, const T* dy, T* dx) const {
    cpu::dropout_backward<T>(n, p, seed, offset, dy, dx);
  }
  void split_heads(int64_t B, int64_t Tk, int64_t H, int64_t hd, int64_t parts, const T* x, T* o0, T* o1,
                   T* o2) const {
    cpu::split_heads<T>(B, Tk, H, hd, parts, x, o0, o1, o2);
  }
  void merge_heads(int64_t B, int64_t Tk, int64_t H, int64_t hd, int64_t parts, const T* i0, const T* i1,
                   const T* i2, T* x) const {
    cpu::merge_heads<T>(B, Tk, H, hd, parts, i0, i1, i2, x);
  }
  void modulate_forward(int64_t batch, int64_t tokens, int64_t C, float offset, const T* x, const T* s, const T* b,
                        T* y) const {
    cpu::modulate_forward<T>(batch, tokens, C, offset, x, s, b, y);
  }
  void modulate_dual(int64_t batch, int64_t tokens, int64_t C, float offset, const T* x, const T* tx, const T* s,
                     const T* ts, const T* b, const T* tb, T* y, T* ty) const {
    cpu::modulate_dual<T>(batch, tokens, C, offset, x, tx, s, ts, b, tb, y, ty);
  }
  void modulate_backward(int64_t batch, int64_t tokens, int64_t C, float offset, const T* x, const T* s, const T* dy,
                         T* dx, T* ds, T* db) const {
    cpu::modulate_backward<T>(batch, tokens, C, offset, x, s, dy, dx, ds, db);
  }
  void scale_rows(int64_t batch, int64_t per_sample, const T* alpha, const T* x, T* y) const {
    cpu::scale_rows<T>(batch, per_sample, alpha, x, y);
  }

  void layer_norm_forward(int64_t rows, int64_t cols, double eps, const T* x, T* y, T* mean, T* rstd) const {
    cpu::layer_norm_forward<T>(rows, cols, eps, x, nullptr, nullptr, y, mean, rstd);
  }
  void layer_norm_dual(int64_t rows, int64_t cols, double eps, const T* x, const T* tx, T* y, T* ty, T* mean,
                       T* rstd) const {
    cpu::layer_norm_dual<T>(rows, cols, eps, x, tx, nullptr, nullptr, y, ty, mean, rstd);
  }
  void layer_norm_backward(int64_t rows, int64_t cols, const T* x, const T* mean, const T* rstd, const T* dy,
                           T* dx) const {
    cpu::layer_norm_backward<T>(rows, cols, x, nullptr, mean, rstd, dy, dx, nullptr, nullptr);
  }
  void adn_forward(int64_t batch, int64_t tokens, int64_t C, double eps, double peps, const T* x, const T* s,
                   const T* b, T* y, T* mean, T* rstd, T* srs, T* brs) const {
    cpu::adn_forward<T>(batch, tokens, C, eps, peps, x, s, b, y, mean, rstd, srs, brs);
  }
  void adn_dual(int64_t batch, int64_t tokens, int64_t C, double eps, double peps, const T* x, const T* tx,
                const T* s, const T* ts, const T* b, const T* tb, T* y, T* ty, T* mean, T* rstd, T* srs,
                T* brs) const {
    cpu::adn_dual<T>(batch, tokens, C, eps, peps, x, tx, s, ts, b, tb, y, ty, mean, rstd, srs, brs);
  }
  void adn_backward(int64_t batch, int64_t tokens, int64_t C, const T* x, const T* s, const T* b, const T* mean,
                    const T* rstd, const T* srs, const T* brs, const T* dy, T* dx, T* ds, T* db) const {
    cpu::adn_backward<T>(batch, tokens, C, x, s, b, mean, rstd, srs, brs, dy, dx, ds, db);
  }
  void qk_norm_forward(int64_t rows, int64_t hd, double eps, const T* x, const T* gamma, T* y, T* rstd) const {
    cpu::qk_norm_forward<T>(rows, hd, eps, x, gamma, y, rstd);
  }
  void qk_norm_dual(int64_t rows, int64_t hd, double eps, const T* x, const T* tx, const T* gamma, T* y, T* ty,
                    T* rstd) const {
    cpu::qk_norm_dual<T>(rows, hd, eps, x, tx, gamma, y, ty, rstd);
  }
  void qk_norm_backward(int64_t rows, int64_t hd, const T* x, const T* gamma, const T* rstd, const T* dy, T* dx,
                        T* dgamma) const {
    cpu::qk_norm_backward<T>(rows, hd, x, gamma, rstd, dy, dx, dgamma);
  }

  void attention_forward(const ScmAttentionShape& s, const T* q, const T* k, const T* v, T* o, T* lse) const {
    cpu::attention_flash_forward<T>(s, q, k, v, o, lse);
  }
  void attention_jvp(const ScmAttentionShape& s, const T* q, const T* k, const T* v, const T* tq, const T* tk,
                     const T* tv, T* o, T* to, T* lse) const {
    cpu::attention_flash_jvp<T>(s, q, k, v, tq, tk, tv, o, to, lse);
  }
  void attention_backward(const ScmAttentionShape& s, const T* q, const T* k, const T* v, const T* o, const T* lse,
                          const T* dout, T* dq, T* dk, T* dv) const {
    cpu::attention_flash_backward<T>(s, q, k, v, o, lse, dout, dq, dk, dv);
  }

  void noisy_sample(int64_t batch, int64_t D, double sd, const T* t, const T* x0, const T* eps, T* x_t, T* v_t) const {
    cpu::noisy_sample<T>(batch, D, sd, t, x0, eps, x_t, v_t);
  }
  void tangent_target(int64_t batch, int64_t D, double sd, double r, const T* t, const T* F, const T* dxdt,
                      const T* x_t, const T* J, T* g) const {
    cpu::tangent_target<T>(batch, D, sd, r, t, F, dxdt, x_t, J, g);
  }
  void cfg_combine(int64_t batch, int64_t D, const T* w, const T* Fu, const T* Fc, T* out) const {
    cpu::cfg_combine<T>(batch, D, w, Fu, Fc, out);
  }
  void tangent_normalize(int64_t batch, int64_t D, int mode, double c, const T* g, T* out, T* norms) const {
    cpu::tangent_normalize<T>(batch, D, mode, c, g, out, norms);
  }
  void consistency_step(int64_t batch, int64_t D, double sd, const T* t, const T* x, const T* F, T* x0,
                        const T* t_next, uint64_t seed, uint64_t offset, T* x_next) const {
    cpu::consistency_step<T>(batch, D, sd, t, x, F, x0, t_next, seed, offset, x_next);
  }
  void euler_step(int64_t batch, int64_t D, double sd, const T* s, const T* t, const T* x_s, const T* F_s,
                  T* x_t) const {
    cpu::euler_step<T>(batch, D, sd, s, t, x_s, F_s, x_t);
  }
  void heun_correct(int64_t batch, int64_t D, double sd, const T* s, const T* t, const T* x_s, const T* F_s,
                    const T* x_eul, const T* F_t, T* x_t) const {
    cpu::heun_correct<T>(batch, D, sd, s, t, x_s, F_s, x_eul, F_t, x_t);
  }

  void optim_step(const ScmOptimParams& p, int64_t n, T* param, const T* grad, T* m, T* v, T* ema) const {
    cpu::optim_step<T>(&p, n, param, grad, m, v, ema);
  }
};

}  // namespace scm
