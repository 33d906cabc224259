// The pointwise family: bias + activation, residual add, time embedding, patchify, mse / sumsq
// reductions, Philox dropout.
//  - double CPU kernels: dual vs central finite differences and backward vs the finite-
//    difference gradient of L = <dy, f(inputs, params)> for every input and parameter, at
//    awkward sizes; forward values against independent formulas / hand-computed doubles;
//  - dropout mask determinism (seed, offset);
//  - the float table entries (CPU backend) vs the double kernels;
//  - the CUDA entries vs the CPU entries (poisoned outputs; skipped without a GPU).
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include "framework.h"
#include "../cpu/pointwise.h"

using namespace scm_test;
using V = std::vector<double>;
namespace K = scm::cpu;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kFdTol = 1e-6;

V seg(const V& v, size_t off, size_t n) { return V(v.begin() + off, v.begin() + off + n); }
V cat2(const V& a, const V& b) {
  V out(a);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}
V sub(const V& a, const V& b) {
  V out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] - b[i];
  return out;
}
const double* opt(bool on, const V& v) { return on ? v.data() : nullptr; }

const char* act_name(int act) { return act == SCM_ACT_SILU ? "silu" : act == SCM_ACT_GELU_TANH ? "gelu" : "identity"; }

// ------------------------------------------------------------------ double: bias + activation
void check_bias_act(int act, int64_t rows, int64_t cols, bool has_bias, uint64_t seed) {
  const size_t n = rows * cols;
  const V x = random_uniform(n, seed, -3, 3), tx = random_normal(n, seed + 1), dy = random_normal(n, seed + 2);
  const V bias = random_uniform(cols, seed + 3), db0 = random_normal(cols, seed + 4);
  const std::string tag = concat(act_name(act), " ", rows, "x", cols, has_bias ? " bias" : "");
  auto fwd = [&](const V& xx, const V& bb) {
    V y(n, kNaN);
    K::bias_act_forward<double>(rows, cols, act, xx.data(), opt(has_bias, bb), y.data());
    return y;
  };
  const V y = fwd(x, bias);
  // Forward against the formula written out here.
  V yref(n);
  for (size_t k = 0; k < n; ++k) {
    const double z = x[k] + (has_bias ? bias[k % cols] : 0.0);
    yref[k] = act == SCM_ACT_SILU ? z / (1 + std::exp(-z))
              : act == SCM_ACT_GELU_TANH
                  ? 0.5 * z * (1 + std::tanh(std::sqrt(2 / M_PI) * (z + 0.044715 * z * z * z)))
                  : z;
  }
  expect_close(tag + " forward", y, yref, 1e-14);

  V yd(n, kNaN), ty(n, kNaN);
  K::bias_act_dual<double>(rows, cols, act, x.data(), tx.data(), opt(has_bias, bias), yd.data(), ty.data());
  expect_close(tag + " dual y", yd, y, 0.0);
  expect_close(tag + " dual ty", ty, fd_directional([&](const V& xx) { return fwd(xx, bias); }, x, tx), kFdTol);

  V dx(n, kNaN), dbias = db0;
  K::bias_act_backward<double>(rows, cols, act, x.data(), opt(has_bias, bias), dy.data(), dx.data(),
                               opt(has_bias, dbias) ? dbias.data() : nullptr);
  expect_close(tag + " dx", dx, fd_gradient([&](const V& xx) { return dot(dy, fwd(xx, bias)); }, x), kFdTol);
  if (has_bias) {
    expect_close(tag + " dbias (accumulated)", sub(dbias, db0),
                 fd_gradient([&](const V& bb) { return dot(dy, fwd(x, bb)); }, bias), kFdTol);
    // dx may alias dy: the same results in place.
    V g = dy, dbias2 = db0;
    K::bias_act_backward<double>(rows, cols, act, x.data(), bias.data(), g.data(), g.data(), dbias2.data());
    expect_close(tag + " in-place dx", g, dx, 0.0);
    expect_close(tag + " in-place dbias", dbias2, dbias, 1e-15);
  }
}

// ------------------------------------------------------------------ float table / CUDA cases
using Outs = std::vector<std::pair<std::string, V>>;

// A backend buffer from host doubles (as float), or `count` poisoned floats (every one NaN).
struct Buf {
  scm::DeviceBuffer d;
  size_t n;
  Buf(const ScmKernels& k, const V& host) : n(host.size()) {
    std::vector<float> f = cast<float>(host);
    d = scm::DeviceBuffer::from_host(k, f.data(), std::max<size_t>(f.size(), 1));
  }
  Buf(const ScmKernels& k, size_t count) : d(k, std::max<size_t>(count, 1) * sizeof(float)), n(count) {
    d.fill_bytes(0xFF);
  }
  float* p() const { return d.as<float>(); }
  V get() const {
    std::vector<float> f(n);
    d.download(f.data(), n);
    return cast<double>(f);
  }
};

void compare(const std::string& tag, const Outs& got, const Outs& ref, double tol) {
  SCM_CHECK(got.size() == ref.size(), tag);
  for (size_t i = 0; i < got.size(); ++i) {
    SCM_CHECK(got[i].first == ref[i].first, tag);
    expect_close(tag + " " + got[i].first, got[i].second, ref[i].second, tol);
  }
}

struct BiasActCase {
  int act;
  int64_t rows, cols;
  bool has_bias;
  V x, tx, bias, dy, db0;
  BiasActCase(int act_, int64_t rows_, int64_t cols_, bool hb, uint64_t seed)
      : act(act_), rows(rows_), cols(cols_), has_bias(hb) {
    const size_t n = rows * cols;
    x = random_uniform(n, seed, -3, 3), tx = random_normal(n, seed + 1), dy = random_normal(n, seed + 2);
    bias = random_uniform(cols, seed + 3), db0 = random_normal(cols, seed + 4);
  }
};
Outs run_bias_act(const ScmKernels& k, const BiasActCase& c) {
  const size_t n = c.rows * c.cols;
  Buf x(k, c.x), tx(k, c.tx), bias(k, c.bias), dy(k, c.dy), dbias(k, c.db0);
  Buf y(k, n), yd(k, n), ty(k, n), dx(k, n);
  const float* b = c.has_bias ? bias.p() : nullptr;
  auto& P = k.pointwise;
  ok(k, P.bias_act_forward(c.rows, c.cols, c.act, x.p(), b, y.p()), "bias_act_forward");
  ok(k, P.bias_act_dual(c.rows, c.cols, c.act, x.p(), tx.p(), b, yd.p(), ty.p()), "bias_act_dual");
  ok(k, P.bias_act_backward(c.rows, c.cols, c.act, x.p(), b, dy.p(), dx.p(), c.has_bias ? dbias.p() : nullptr),
     "bias_act_backward");
  Outs o = {{"y", y.get()}, {"dual y", yd.get()}, {"dual ty", ty.get()}, {"dx", dx.get()}};
  if (c.has_bias) o.push_back({"dbias", dbias.get()});
  return o;
}
Outs ref_bias_act(const BiasActCase& c) {
  const size_t n = c.rows * c.cols;
  V y(n), yd(n), ty(n), dx(n), dbias = c.db0;
  const double* b = c.has_bias ? c.bias.data() : nullptr;
  K::bias_act_forward<double>(c.rows, c.cols, c.act, c.x.data(), b, y.data());
  K::bias_act_dual<double>(c.rows, c.cols, c.act, c.x.data(), c.tx.data(), b, yd.data(), ty.data());
  K::bias_act_backward<double>(c.rows, c.cols, c.act, c.x.data(), b, c.dy.data(), dx.data(),
                               c.has_bias ? dbias.data() : nullptr);
  Outs o = {{"y", y}, {"dual y", yd}, {"dual ty", ty}, {"dx", dx}};
  if (c.has_bias) o.push_back({"dbias", dbias});
  return o;
}

struct AddCase {
  int64_t n;
  V a, b, ta, tb, dy;
  AddCase(int64_t n_, uint64_t seed) : n(n_) {
    a = random_normal(n, seed), b = random_normal(n, seed + 1), ta = random_normal(n, seed + 2);
    tb = random_normal(n, seed + 3), dy = random_normal(n, seed + 4);
  }
};
Outs run_add(const ScmKernels& k, const AddCase& c) {
  Buf a(k, c.a), b(k, c.b), ta(k, c.ta), tb(k, c.tb), dy(k, c.dy);
  Buf y(k, c.n), yd(k, c.n), ty(k, c.n), ty1(k, c.n), ty0(k, c.n), da(k, c.n), db(k, c.n);
  auto& P = k.pointwise;
  ok(k, P.add_forward(c.n, a.p(), b.p(), y.p()), "add_forward");
  ok(k, P.add_dual(c.n, a.p(), ta.p(), b.p(), tb.p(), yd.p(), ty.p()), "add_dual");
  ok(k, P.add_dual(c.n, a.p(), nullptr, b.p(), tb.p(), yd.p(), ty1.p()), "add_dual (ta null)");
  ok(k, P.add_dual(c.n, a.p(), nullptr, b.p(), nullptr, yd.p(), ty0.p()), "add_dual (no tangents)");
  ok(k, P.add_backward(c.n, dy.p(), da.p(), db.p()), "add_backward");
  return {{"y", y.get()}, {"dual y", yd.get()}, {"dual ty", ty.get()}, {"dual ty (ta null)", ty1.get()},
          {"dual ty (none)", ty0.get()}, {"da", da.get()}, {"db", db.get()}};
}
Outs ref_add(const AddCase& c) {
  V y(c.n), yd(c.n), ty(c.n), ty1(c.n), ty0(c.n), da(c.n), db(c.n);
  K::add_forward<double>(c.n, c.a.data(), c.b.data(), y.data());
  K::add_dual<double>(c.n, c.a.data(), c.ta.data(), c.b.data(), c.tb.data(), yd.data(), ty.data());
  K::add_dual<double>(c.n, c.a.data(), nullptr, c.b.data(), c.tb.data(), yd.data(), ty1.data());
  K::add_dual<double>(c.n, c.a.data(), nullptr, c.b.data(), nullptr, yd.data(), ty0.data());
  K::add_backward<double>(c.n, c.dy.data(), da.data(), db.data());
  return {{"y", y}, {"dual y", yd}, {"dual ty", ty}, {"dual ty (ta null)", ty1}, {"dual ty (none)", ty0},
          {"da", da}, {"db", db}};
}

struct TimeCase {
  int64_t batch, dim;
  V t, tt, demb;
  TimeCase(int64_t b, int64_t d, uint64_t seed) : batch(b), dim(d) {
    t = random_uniform(b, seed, 0.0, 1.5707963), tt = random_normal(b, seed + 1), demb = random_normal(b * d, seed + 2);
  }
};
Outs run_time(const ScmKernels& k, const TimeCase& c) {
  const size_t n = c.batch * c.dim;
  Buf t(k, c.t), tt(k, c.tt), demb(k, c.demb), emb(k, n), embd(k, n), temb(k, n), temb2(k, n), dt(k, c.batch);
  auto& P = k.pointwise;
  ok(k, P.time_embed_forward(c.batch, c.dim, t.p(), emb.p()), "time_embed_forward");
  ok(k, P.time_embed_dual(c.batch, c.dim, t.p(), tt.p(), embd.p(), temb.p()), "time_embed_dual");
  ok(k, P.time_embed_dual(c.batch, c.dim, t.p(), tt.p(), nullptr, temb2.p()), "time_embed_dual (no emb)");
  ok(k, P.time_embed_backward(c.batch, c.dim, t.p(), demb.p(), dt.p()), "time_embed_backward");
  return {{"emb", emb.get()}, {"dual emb", embd.get()}, {"dual temb", temb.get()}, {"dual temb (no emb)", temb2.get()},
          {"dt", dt.get()}};
}
Outs ref_time(const TimeCase& c) {
  const size_t n = c.batch * c.dim;
  V emb(n), temb(n), dt(c.batch);
  K::time_embed_forward<double>(c.batch, c.dim, c.t.data(), emb.data());
  K::time_embed_dual<double>(c.batch, c.dim, c.t.data(), c.tt.data(), nullptr, temb.data());
  K::time_embed_backward<double>(c.batch, c.dim, c.t.data(), c.demb.data(), dt.data());
  return {{"emb", emb}, {"dual emb", emb}, {"dual temb", temb}, {"dual temb (no emb)", temb}, {"dt", dt}};
}

struct PatchCase {
  int64_t B, C, H, W, p;
  V images, tokens;
  PatchCase(int64_t B_, int64_t C_, int64_t H_, int64_t W_, int64_t p_, uint64_t seed)
      : B(B_), C(C_), H(H_), W(W_), p(p_) {
    images = random_normal(B * C * H * W, seed), tokens = random_normal(B * C * H * W, seed + 1);
  }
  size_t n() const { return B * C * H * W; }
};
Outs run_patch(const ScmKernels& k, const PatchCase& c) {
  Buf images(k, c.images), tokens(k, c.tokens), tok_out(k, c.n()), img_out(k, c.n());
  ok(k, k.pointwise.patchify(c.B, c.C, c.H, c.W, c.p, images.p(), tok_out.p()), "patchify");
  ok(k, k.pointwise.unpatchify(c.B, c.C, c.H, c.W, c.p, tokens.p(), img_out.p()), "unpatchify");
  return {{"patchify", tok_out.get()}, {"unpatchify", img_out.get()}};
}
Outs ref_patch(const PatchCase& c) {
  V tok(c.n()), img(c.n());
  K::patchify<double>(c.B, c.C, c.H, c.W, c.p, c.images.data(), tok.data());
  K::unpatchify<double>(c.B, c.C, c.H, c.W, c.p, c.tokens.data(), img.data());
  return {{"patchify", tok}, {"unpatchify", img}};
}

struct ReduceCase {
  int64_t n, batch, dim;
  bool has_b;
  float dout_mse;
  V a, b, ta, tb, x, tx, dout;
  ReduceCase(int64_t n_, int64_t batch_, int64_t dim_, bool hb, uint64_t seed)
      : n(n_), batch(batch_), dim(dim_), has_b(hb), dout_mse(0.75f) {
    a = random_normal(n, seed), b = random_normal(n, seed + 1), ta = random_normal(n, seed + 2);
    tb = random_normal(n, seed + 3), x = random_normal(batch * dim, seed + 4), tx = random_normal(batch * dim, seed + 5);
    dout = random_normal(batch, seed + 6);
  }
};
Outs run_reduce(const ScmKernels& k, const ReduceCase& c) {
  Buf a(k, c.a), b(k, c.b), ta(k, c.ta), tb(k, c.tb), x(k, c.x), tx(k, c.tx), dout(k, c.dout);
  Buf out(k, 1), outd(k, 1), tout(k, 1), tout1(k, 1), da(k, c.n), db(k, c.n);
  Buf s(k, c.batch), sd(k, c.batch), ts(k, c.batch), dx(k, c.batch * c.dim);
  const float* bp = c.has_b ? b.p() : nullptr;
  auto& P = k.pointwise;
  ok(k, P.mse_forward(c.n, a.p(), bp, out.p()), "mse_forward");
  ok(k, P.mse_dual(c.n, a.p(), ta.p(), bp, c.has_b ? tb.p() : nullptr, outd.p(), tout.p()), "mse_dual");
  ok(k, P.mse_dual(c.n, a.p(), nullptr, bp, c.has_b ? tb.p() : nullptr, nullptr, tout1.p()), "mse_dual (ta null)");
  ok(k, P.mse_backward(c.n, a.p(), bp, c.dout_mse, da.p(), c.has_b ? db.p() : nullptr), "mse_backward");
  ok(k, P.sumsq_forward(c.batch, c.dim, x.p(), s.p()), "sumsq_forward");
  ok(k, P.sumsq_dual(c.batch, c.dim, x.p(), tx.p(), sd.p(), ts.p()), "sumsq_dual");
  ok(k, P.sumsq_backward(c.batch, c.dim, x.p(), dout.p(), dx.p()), "sumsq_backward");
  Outs o = {{"mse", out.get()}, {"dual mse", outd.get()}, {"dual tmse", tout.get()}, {"dual tmse (ta null)", tout1.get()},
            {"da", da.get()}, {"sumsq", s.get()}, {"dual sumsq", sd.get()}, {"dual tsumsq", ts.get()},
            {"dx", dx.get()}};
  if (c.has_b) o.push_back({"db", db.get()});
  return o;
}
Outs ref_reduce(const ReduceCase& c) {
  V out(1), tout(1), tout1(1), da(c.n), db(c.n), s(c.batch), ts(c.batch), dx(c.batch * c.dim);
  const double* bp = c.has_b ? c.b.data() : nullptr;
  const double* tbp = c.has_b ? c.tb.data() : nullptr;
  K::mse_forward<double>(c.n, c.a.data(), bp, out.data());
  K::mse_dual<double>(c.n, c.a.data(), c.ta.data(), bp, tbp, nullptr, tout.data());
  K::mse_dual<double>(c.n, c.a.data(), nullptr, bp, tbp, nullptr, tout1.data());
  K::mse_backward<double>(c.n, c.a.data(), bp, c.dout_mse, da.data(), c.has_b ? db.data() : nullptr);
  K::sumsq_forward<double>(c.batch, c.dim, c.x.data(), s.data());
  K::sumsq_dual<double>(c.batch, c.dim, c.x.data(), c.tx.data(), nullptr, ts.data());
  K::sumsq_backward<double>(c.batch, c.dim, c.x.data(), c.dout.data(), dx.data());
  Outs o = {{"mse", out}, {"dual mse", out}, {"dual tmse", tout}, {"dual tmse (ta null)", tout1}, {"da", da},
            {"sumsq", s}, {"dual sumsq", s}, {"dual tsumsq", ts}, {"dx", dx}};
  if (c.has_b) o.push_back({"db", db});
  return o;
}

struct DropCase {
  int64_t n;
  float p;
  uint64_t seed, offset;
  V x, tx, dy;
  DropCase(int64_t n_, float p_, uint64_t seed_, uint64_t offset_) : n(n_), p(p_), seed(seed_), offset(offset_) {
    x = random_normal(n, seed), tx = random_normal(n, seed + 1), dy = random_normal(n, seed + 2);
  }
};
Outs run_drop(const ScmKernels& k, const DropCase& c) {
  Buf x(k, c.x), tx(k, c.tx), dy(k, c.dy), y(k, c.n), yd(k, c.n), ty(k, c.n), dx(k, c.n);
  auto& P = k.pointwise;
  ok(k, P.dropout_forward(c.n, c.p, c.seed, c.offset, x.p(), y.p()), "dropout_forward");
  ok(k, P.dropout_dual(c.n, c.p, c.seed, c.offset, x.p(), tx.p(), yd.p(), ty.p()), "dropout_dual");
  ok(k, P.dropout_backward(c.n, c.p, c.seed, c.offset, dy.p(), dx.p()), "dropout_backward");
  return {{"y", y.get()}, {"dual y", yd.get()}, {"dual ty", ty.get()}, {"dx", dx.get()}};
}
// Float reference: the double kernels see float-rounded inputs, so kept values agree exactly.
Outs ref_drop(const DropCase& c) {
  auto r = [](const V& v) { return cast<double>(cast<float>(v)); };
  const V x = r(c.x), tx = r(c.tx), dy = r(c.dy);
  V y(c.n), yd(c.n), ty(c.n), dx(c.n);
  K::dropout_forward<double>(c.n, c.p, c.seed, c.offset, x.data(), y.data());
  K::dropout_dual<double>(c.n, c.p, c.seed, c.offset, x.data(), tx.data(), yd.data(), ty.data());
  K::dropout_backward<double>(c.n, c.p, c.seed, c.offset, dy.data(), dx.data());
  return {{"y", y}, {"dual y", yd}, {"dual ty", ty}, {"dx", dx}};
}

// Exact (bit-level) comparison: every output element equal.
void compare_exact(const std::string& tag, const Outs& got, const Outs& ref) {
  SCM_CHECK(got.size() == ref.size(), tag);
  for (size_t i = 0; i < got.size(); ++i) {
    SCM_CHECK(got[i].second.size() == ref[i].second.size(), tag, " ", got[i].first);
    for (size_t j = 0; j < got[i].second.size(); ++j)
      SCM_CHECK(static_cast<float>(got[i].second[j]) == static_cast<float>(ref[i].second[j]), tag, " ", got[i].first,
                " element ", j, ": ", got[i].second[j], " vs ", ref[i].second[j]);
  }
}

const int64_t kCols[] = {1, 7, 33};
const int64_t kPatchShapes[][5] = {{2, 3, 6, 10, 2}, {1, 2, 9, 3, 3}, {3, 1, 5, 7, 1}, {2, 4, 32, 32, 4}};

}  // namespace

// ================================================================== double: FD checks
SCM_TEST(pointwise_bias_act_double_fd) {
  for (int act : {SCM_ACT_IDENTITY, SCM_ACT_SILU, SCM_ACT_GELU_TANH})
    for (int64_t cols : kCols)
      for (bool bias : {true, false}) check_bias_act(act, 3, cols, bias, 100 + act * 10 + cols);
}

// GELU (tanh form) and SiLU at a few points, against doubles computed by hand from
// 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) and z / (1 + e^-z).
SCM_TEST(pointwise_activation_values) {
  const V z = {1.0, -1.0, 2.0, 0.5, -3.0};
  const V gelu = {0.8411919906082768, -0.15880800939172324, 1.954597694087775, 0.34571400982514394,
                  -0.0036373920817729943};
  const V silu = {0.7310585786300049, -0.2689414213699951, 1.7615941559557646, 0.3112296656009273,
                  -0.14227761953270035};
  V y(z.size(), kNaN);
  K::bias_act_forward<double>(1, 5, SCM_ACT_GELU_TANH, z.data(), nullptr, y.data());
  for (size_t i = 0; i < z.size(); ++i)
    SCM_CHECK(std::fabs(y[i] - gelu[i]) <= 1e-15 * std::fabs(gelu[i]) + 1e-17, "gelu(", z[i], ") = ", y[i]);
  K::bias_act_forward<double>(1, 5, SCM_ACT_SILU, z.data(), nullptr, y.data());
  for (size_t i = 0; i < z.size(); ++i)
    SCM_CHECK(std::fabs(y[i] - silu[i]) <= 1e-15 * std::fabs(silu[i]) + 1e-17, "silu(", z[i], ") = ", y[i]);
  // The bias is added before the activation: gelu(0.25 + 0.75) = gelu(1).
  const V x = {0.25}, b = {0.75};
  K::bias_act_forward<double>(1, 1, SCM_ACT_GELU_TANH, x.data(), b.data(), y.data());
  SCM_CHECK(std::fabs(y[0] - gelu[0]) <= 1e-15, y[0]);
}

SCM_TEST(pointwise_add_double_fd) {
  for (int64_t n : {1, 7, 33}) {
    AddCase c(n, 200 + n);
    const Outs o = ref_add(c);
    auto f = [&](const V& ab) {
      V y(n);
      K::add_forward<double>(n, ab.data(), ab.data() + n, y.data());
      return y;
    };
    V ysum(n);
    for (int64_t i = 0; i < n; ++i) ysum[i] = c.a[i] + c.b[i];
    expect_close(concat("n=", n, " y"), o[0].second, ysum, 0.0);
    expect_close(concat("n=", n, " ty"), o[2].second, fd_directional(f, cat2(c.a, c.b), cat2(c.ta, c.tb)), kFdTol);
    expect_close(concat("n=", n, " ty (ta null)"), o[3].second, fd_directional(f, cat2(c.a, c.b), cat2(V(n, 0.0), c.tb)),
                 kFdTol);
    for (double v : o[4].second) SCM_CHECK(v == 0.0, "ty without tangents must be 0");
    const V g = fd_gradient([&](const V& ab) { return dot(c.dy, f(ab)); }, cat2(c.a, c.b));
    expect_close(concat("n=", n, " da"), o[5].second, seg(g, 0, n), kFdTol);
    expect_close(concat("n=", n, " db"), o[6].second, seg(g, n, n), kFdTol);
  }
}

SCM_TEST(pointwise_time_embed_double_fd) {
  for (int64_t dim : {2, 6, 34, 256}) {
    TimeCase c(3, dim, 300 + dim);
    const std::string tag = concat("dim=", dim);
    auto f = [&](const V& t) {
      V e(3 * dim, kNaN);
      K::time_embed_forward<double>(3, dim, t.data(), e.data());
      return e;
    };
    V temb(3 * dim, kNaN), emb(3 * dim, kNaN), dt(3, kNaN);
    K::time_embed_dual<double>(3, dim, c.t.data(), c.tt.data(), emb.data(), temb.data());
    expect_close(tag + " dual emb", emb, f(c.t), 0.0);
    expect_close(tag + " dual temb", temb, fd_directional(f, c.t, c.tt), kFdTol);
    K::time_embed_backward<double>(3, dim, c.t.data(), c.demb.data(), dt.data());
    expect_close(tag + " dt", dt, fd_gradient([&](const V& t) { return dot(c.demb, f(t)); }, c.t), kFdTol);
  }
}

// At t = 0 the embedding is [1 ... 1, 0 ... 0]; its time derivative there is [0 ... 0, f_0 ... f_{half-1}],
// which exposes the frequencies: 1 down to 1e-4, geometric.
SCM_TEST(pointwise_time_embed_values) {
  for (int64_t dim : {2, 8, 64}) {
    const int64_t half = dim / 2;
    const V t = {0.0, 0.0}, tt = {1.0, 2.0};
    V emb(2 * dim, kNaN), temb(2 * dim, kNaN);
    K::time_embed_dual<double>(2, dim, t.data(), tt.data(), emb.data(), temb.data());
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < half; ++i) {
        SCM_CHECK(emb[b * dim + i] == 1.0 && emb[b * dim + half + i] == 0.0, "t=0 embedding at ", i);
        SCM_CHECK(temb[b * dim + i] == 0.0, "d cos / dt at t=0 must be 0");
        const double f = temb[b * dim + half + i] / tt[b];
        const double want = half == 1 ? 1.0 : std::pow(1e-4, double(i) / double(half - 1));
        SCM_CHECK(std::fabs(f - want) <= 1e-14 * want, "dim=", dim, " f_", i, " = ", f, ", want ", want);
      }
    if (half > 1) {
      SCM_CHECK(std::fabs(temb[half] - 1.0) <= 1e-15, "f_0 must be 1");
      SCM_CHECK(std::fabs(temb[dim - 1] - 1e-4) <= 1e-17, "f_last must be 1e-4, got ", temb[dim - 1]);
    }
  }
  // A value away from 0: dim 4 (frequencies 1, 1e-4) at t = 0.7.
  const V t = {0.7};
  V emb(4);
  K::time_embed_forward<double>(1, 4, t.data(), emb.data());
  const V want = {std::cos(0.7), std::cos(0.7e-4), std::sin(0.7), std::sin(0.7e-4)};
  expect_close("dim=4 t=0.7", emb, want, 1e-15);
}

SCM_TEST(pointwise_patchify_double) {
  for (auto& s : kPatchShapes) {
    const int64_t B = s[0], C = s[1], H = s[2], W = s[3], p = s[4];
    PatchCase c(B, C, H, W, p, 400 + H * W);
    const size_t n = c.n();
    const std::string tag = concat(B, "x", C, "x", H, "x", W, " p=", p);
    auto pat = [&](const V& im) {
      V t(n, kNaN);
      K::patchify<double>(B, C, H, W, p, im.data(), t.data());
      return t;
    };
    auto unpat = [&](const V& t) {
      V im(n, kNaN);
      K::unpatchify<double>(B, C, H, W, p, t.data(), im.data());
      return im;
    };
    // The documented layout, element by element.
    const V tok = pat(c.images);
    const int64_t gw = W / p, T = (H / p) * gw, P = C * p * p;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t y = 0; y < H; ++y)
          for (int64_t x = 0; x < W; ++x) {
            const double v = c.images[((b * C + ch) * H + y) * W + x];
            const double got = tok[(b * T + (y / p) * gw + x / p) * P + (ch * p + y % p) * p + x % p];
            SCM_CHECK(got == v, tag, " element b=", b, " c=", ch, " y=", y, " x=", x);
          }
    expect_close(tag + " unpatchify(patchify)", unpat(tok), c.images, 0.0);
    expect_close(tag + " patchify(unpatchify)", pat(unpat(c.tokens)), c.tokens, 0.0);
    if (n > 400) continue;  // the finite-difference gradients below are O(n^2)
    // Dual = the same entry on the tangent; backward = the other entry on the gradient.
    const V tx = random_normal(n, 401), dy = random_normal(n, 402);
    expect_close(tag + " patchify dual", pat(tx), fd_directional(pat, c.images, tx), kFdTol);
    expect_close(tag + " unpatchify dual", unpat(tx), fd_directional(unpat, c.tokens, tx), kFdTol);
    expect_close(tag + " patchify backward", unpat(dy),
                 fd_gradient([&](const V& im) { return dot(dy, pat(im)); }, c.images), kFdTol);
    expect_close(tag + " unpatchify backward", pat(dy),
                 fd_gradient([&](const V& t) { return dot(dy, unpat(t)); }, c.tokens), kFdTol);
  }
}

SCM_TEST(pointwise_mse_double_fd) {
  for (int64_t n : {1, 7, 33, 40000})
    for (bool hb : {true, false}) {
      ReduceCase c(n, 1, 1, hb, 500 + n);
      const std::string tag = concat("n=", n, hb ? "" : " (b null)");
      auto f = [&](const V& ab) {
        V out(1, kNaN);
        K::mse_forward<double>(n, ab.data(), hb ? ab.data() + n : nullptr, out.data());
        return out;
      };
      const V ab = cat2(c.a, c.b);
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += (c.a[i] - (hb ? c.b[i] : 0.0)) * (c.a[i] - (hb ? c.b[i] : 0.0));
      expect_close(tag + " forward", f(ab), V{s / n}, 1e-13);
      if (n > 100) continue;  // FD below is O(n^2)
      V out(1, kNaN), tout(1, kNaN), da(n, kNaN), db(n, kNaN);
      K::mse_dual<double>(n, c.a.data(), c.ta.data(), hb ? c.b.data() : nullptr, hb ? c.tb.data() : nullptr,
                          out.data(), tout.data());
      expect_close(tag + " dual out", out, f(ab), 0.0);
      expect_close(tag + " dual tout", tout, fd_directional(f, ab, cat2(c.ta, hb ? c.tb : V(n, 0.0))), kFdTol);
      K::mse_backward<double>(n, c.a.data(), hb ? c.b.data() : nullptr, 0.75, da.data(), hb ? db.data() : nullptr);
      const V g = fd_gradient([&](const V& v) { return 0.75 * f(v)[0]; }, ab);
      expect_close(tag + " da", da, seg(g, 0, n), kFdTol);
      if (hb) expect_close(tag + " db", db, seg(g, n, n), kFdTol);
    }
}

SCM_TEST(pointwise_sumsq_double_fd) {
  for (int64_t dim : {1, 7, 33}) {
    ReduceCase c(1, 3, dim, false, 600 + dim);
    const std::string tag = concat("3x", dim);
    auto f = [&](const V& x) {
      V out(3, kNaN);
      K::sumsq_forward<double>(3, dim, x.data(), out.data());
      return out;
    };
    V want(3, 0.0);
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t j = 0; j < dim; ++j) want[b] += c.x[b * dim + j] * c.x[b * dim + j];
    expect_close(tag + " forward", f(c.x), want, 1e-15);
    V out(3, kNaN), tout(3, kNaN), dx(3 * dim, kNaN);
    K::sumsq_dual<double>(3, dim, c.x.data(), c.tx.data(), out.data(), tout.data());
    expect_close(tag + " dual out", out, want, 1e-15);
    expect_close(tag + " dual tout", tout, fd_directional(f, c.x, c.tx), kFdTol);
    K::sumsq_backward<double>(3, dim, c.x.data(), c.dout.data(), dx.data());
    expect_close(tag + " dx", dx, fd_gradient([&](const V& x) { return dot(c.dout, f(x)); }, c.x), kFdTol);
  }
}

SCM_TEST(pointwise_dropout_double_fd) {
  // offsets at every position in a Philox block of 4 (the kernels draw one block per 4 elements)
  for (int64_t n : {1, 7, 33, 1000})
    for (float p : {0.0f, 0.2f, 0.5f}) {
      const uint64_t offset = 12345 + static_cast<uint64_t>(n % 4 + (p == 0.2f ? 1 : 0));
      DropCase c(n, p, 77 + n, offset);
      const std::string tag = concat("n=", n, " p=", p, " offset=", offset);
      auto f = [&](const V& x) {
        V y(n, kNaN);
        K::dropout_forward<double>(n, p, c.seed, c.offset, x.data(), y.data());
        return y;
      };
      const V y = f(c.x);
      V yd(n, kNaN), ty(n, kNaN), dx(n, kNaN);
      K::dropout_dual<double>(n, p, c.seed, c.offset, c.x.data(), c.tx.data(), yd.data(), ty.data());
      expect_close(tag + " dual y", yd, y, 0.0);
      expect_close(tag + " dual ty", ty, fd_directional(f, c.x, c.tx), kFdTol);
      K::dropout_backward<double>(n, p, c.seed, c.offset, c.dy.data(), dx.data());
      if (n <= 100)
        expect_close(tag + " dx", dx, fd_gradient([&](const V& x) { return dot(c.dy, f(x)); }, c.x), kFdTol);
      // Values: kept elements are x / (1 - p) (the float scale), dropped ones 0; the same mask everywhere.
      const double scale = 1.0f / (1.0f - p);
      int64_t kept = 0;
      for (int64_t i = 0; i < n; ++i) {
        const bool keep = scm::philox::uniform_at(c.seed, c.offset + i) >= p;
        kept += keep;
        SCM_CHECK(y[i] == (keep ? c.x[i] * scale : 0.0), tag, " y[", i, "]");
        SCM_CHECK(ty[i] == (keep ? c.tx[i] * scale : 0.0), tag, " ty[", i, "]");
        SCM_CHECK(dx[i] == (keep ? c.dy[i] * scale : 0.0), tag, " dx[", i, "]");
      }
      if (p == 0.0f) SCM_CHECK(kept == n, "p = 0 must keep everything");
      if (n == 1000) SCM_CHECK(std::fabs(double(kept) / n - (1 - p)) < 0.06, tag, " keep rate ", double(kept) / n);
    }
}

// The mask through the float table: the same (seed, offset) reproduces it bit for bit; a
// different offset or seed gives another mask; offset shifts the stream (element i at offset
// o + s equals element i + s at offset o).
SCM_TEST(pointwise_dropout_mask_determinism) {
  const ScmKernels& k = cpu();
  const int64_t n = 4099;
  const float p = 0.3f;
  std::vector<float> x(n + 64, 1.0f);
  auto mask = [&](uint64_t seed, uint64_t offset, int64_t count) {
    std::vector<float> y(count, -1.0f);
    ok(k, k.pointwise.dropout_forward(count, p, seed, offset, x.data(), y.data()), "dropout_forward");
    std::vector<int> m(count);
    for (int64_t i = 0; i < count; ++i) {
      SCM_CHECK(y[i] == 0.0f || y[i] == 1.0f / (1.0f - p), "value ", y[i]);
      m[i] = y[i] != 0.0f;
    }
    return m;
  };
  const auto m0 = mask(9, 100, n), m1 = mask(9, 100, n), m2 = mask(9, 101, n), m3 = mask(10, 100, n);
  SCM_CHECK(m0 == m1, "same seed and offset must give the same mask");
  SCM_CHECK(m0 != m2, "a different offset must give a different mask");
  SCM_CHECK(m0 != m3, "a different seed must give a different mask");
  const auto shifted = mask(9, 100 + 37, n - 37);
  for (int64_t i = 0; i < n - 37; ++i) SCM_CHECK(shifted[i] == m0[i + 37], "offset shift at ", i);
  int64_t kept = 0, diff = 0;
  for (int64_t i = 0; i < n; ++i) kept += m0[i], diff += m0[i] != m2[i];
  SCM_CHECK(std::fabs(double(kept) / n - 0.7) < 0.03, "keep rate ", double(kept) / n);
  SCM_CHECK(diff > n / 5, "masks at adjacent offsets should be nearly independent, differ in ", diff);
  // The dual and backward passes reproduce the forward mask.
  std::vector<float> xs = cast<float>(random_normal(n, 3)), ts = cast<float>(random_normal(n, 4));
  std::vector<float> y(n), yd(n), ty(n), dx(n);
  ok(k, k.pointwise.dropout_forward(n, p, 9, 100, xs.data(), y.data()), "dropout_forward");
  ok(k, k.pointwise.dropout_dual(n, p, 9, 100, xs.data(), ts.data(), yd.data(), ty.data()), "dropout_dual");
  ok(k, k.pointwise.dropout_backward(n, p, 9, 100, ts.data(), dx.data()), "dropout_backward");
  SCM_CHECK(std::memcmp(y.data(), yd.data(), n * sizeof(float)) == 0, "dual y differs from forward");
  SCM_CHECK(std::memcmp(ty.data(), dx.data(), n * sizeof(float)) == 0, "backward mask differs from dual mask");
  for (int64_t i = 0; i < n; ++i) SCM_CHECK((y[i] != 0) == (m0[i] != 0), "mask at ", i);
  // The mask is rng.uniform(seed, offset) >= p (the rng family's stream).
  std::vector<float> u(n);
  ok(k, k.rng.uniform(u.data(), n, 9, 100), "rng.uniform");
  for (int64_t i = 0; i < n; ++i) SCM_CHECK((u[i] >= p) == (m0[i] != 0), "mask vs rng.uniform at ", i);
}

// ================================================================== float table vs double
SCM_TEST(pointwise_float_vs_double) {
  for (int act : {SCM_ACT_IDENTITY, SCM_ACT_SILU, SCM_ACT_GELU_TANH})
    for (int64_t cols : {1, 33, 300})
      for (bool hb : {true, false}) {
        BiasActCase c(act, 37, cols, hb, 700 + act + cols);
        compare(concat("bias_act ", act_name(act), " 37x", cols, hb ? " bias" : ""), run_bias_act(cpu(), c),
                ref_bias_act(c), 1e-5);
      }
  for (int64_t n : {1, 1000, 70001}) {
    AddCase c(n, 800 + n);
    compare(concat("add n=", n), run_add(cpu(), c), ref_add(c), 1e-6);
  }
  for (int64_t dim : {2, 34, 256}) {
    TimeCase c(5, dim, 900 + dim);
    compare(concat("time_embed dim=", dim), run_time(cpu(), c), ref_time(c), 1e-5);
  }
  for (auto& s : kPatchShapes) {
    PatchCase c(s[0], s[1], s[2], s[3], s[4], 1000 + s[2]);
    compare(concat("patch ", s[0], "x", s[1], "x", s[2], "x", s[3], " p=", s[4]), run_patch(cpu(), c), ref_patch(c),
            1e-7);
  }
  for (int64_t n : {1, 33, 100003})
    for (bool hb : {true, false}) {
      ReduceCase c(n, 3, n == 1 ? 1 : 1025, hb, 1100 + n);
      compare(concat("reduce n=", n, hb ? "" : " (b null)"), run_reduce(cpu(), c), ref_reduce(c), 1e-5);
    }
  for (int64_t n : {1, 33, 10007}) {
    DropCase c(n, 0.25f, 1200 + n, 1ull << 33);
    compare_exact(concat("dropout n=", n), run_drop(cpu(), c), ref_drop(c));
  }
}

// ================================================================== CUDA vs CPU (skipped without a GPU)
SCM_TEST(pointwise_bias_act_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  for (int act : {SCM_ACT_IDENTITY, SCM_ACT_SILU, SCM_ACT_GELU_TANH})
    for (int64_t rows : {3, 37, 1000})
      for (int64_t cols : {1, 7, 33, 300, 1100})
        for (bool hb : {true, false}) {
          BiasActCase c(act, rows, cols, hb, 1300 + act + rows + cols);
          compare(concat("bias_act ", act_name(act), " ", rows, "x", cols, hb ? " bias" : ""), run_bias_act(gpu, c),
                  run_bias_act(cpu(), c), 1e-5);
        }
}
SCM_TEST(pointwise_add_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  for (int64_t n : {1, 7, 1000, 70001}) {
    AddCase c(n, 1400 + n);
    compare(concat("add n=", n), run_add(gpu, c), run_add(cpu(), c), 0.0);
  }
}
SCM_TEST(pointwise_time_embed_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  for (int64_t batch : {1, 3, 130})
    for (int64_t dim : {2, 6, 34, 256, 1026}) {
      TimeCase c(batch, dim, 1500 + dim + batch);
      compare(concat("time_embed ", batch, "x", dim), run_time(gpu, c), run_time(cpu(), c), 1e-5);
    }
}
SCM_TEST(pointwise_patchify_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  for (auto& s : kPatchShapes) {
    PatchCase c(s[0], s[1], s[2], s[3], s[4], 1600 + s[2]);
    compare(concat("patch ", s[0], "x", s[1], "x", s[2], "x", s[3], " p=", s[4]), run_patch(gpu, c),
            run_patch(cpu(), c), 0.0);
  }
}
SCM_TEST(pointwise_reductions_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  for (int64_t n : {1, 7, 33, 100003, 3000017})
    for (bool hb : {true, false}) {
      ReduceCase c(n, n == 1 ? 1 : 5, n == 1 ? 1 : (n > 1000 ? 3075 : n), hb, 1700 + n);
      compare(concat("reduce n=", n, hb ? "" : " (b null)"), run_reduce(gpu, c), run_reduce(cpu(), c), 1e-5);
    }
}
SCM_TEST(pointwise_dropout_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  for (int64_t n : {1, 7, 33, 10007, 1000003})
    for (float p : {0.0f, 0.1f, 0.5f}) {
      DropCase c(n, p, 1800 + n, (1ull << 40) + 3);
      compare_exact(concat("dropout n=", n, " p=", p), run_drop(gpu, c), run_drop(cpu(), c));
    }
}

// The table entries reject bad arguments with a status, never crash.
SCM_TEST(pointwise_rejects_bad_arguments) {
  const ScmKernels& k = cpu();
  auto& P = k.pointwise;
  std::vector<float> x(12, 0.5f), y(12);
  SCM_CHECK(P.bias_act_forward(2, 3, 7, x.data(), nullptr, y.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(P.bias_act_forward(-1, 3, 0, x.data(), nullptr, y.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(P.time_embed_forward(2, 5, x.data(), y.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(P.patchify(1, 1, 3, 4, 2, x.data(), y.data()) == SCM_E_SHAPE);
  SCM_CHECK(P.patchify(1, 1, 2, 2, 2, x.data(), x.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(P.mse_forward(0, x.data(), nullptr, y.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(P.dropout_forward(4, 1.0f, 1, 0, x.data(), y.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(P.dropout_forward(4, NAN, 1, 0, x.data(), y.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(P.add_forward(3, x.data(), nullptr, y.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(std::string(k.last_error()).find("b is null") != std::string::npos, k.last_error());
  ok(k, P.add_forward(0, nullptr, nullptr, nullptr), "empty add_forward");
  ok(k, P.bias_act_forward(0, 5, SCM_ACT_SILU, nullptr, nullptr, nullptr), "empty bias_act_forward");
}
