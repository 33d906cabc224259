// Tests of the trigflow family's training steps (native/core/kernels/trigflow.h): noisy_sample,
// tangent_target and cfg_combine.
//  - the double templates against the header formulas written as plain loops here, at per-sample
//    times 0, near 0, near pi/4, near pi/2 and pi/2 (and random ones), with the aliasing the header
//    allows;
//  - semantics: v_t is d x_t / dt (finite differences in t), and at r = 1 the tangent target is
//    cos t * df/dt of the consistency function f = cos t x_t - sin t sd F along the trajectory,
//    with J = cos t sin t dF/dt (SCM.md §2), checked with a smooth synthetic F;
//  - the float table entries vs the double templates; argument errors;
//  - the CUDA entries vs the CPU entries (poisoned outputs; skipped without a GPU).
#include <cmath>
#include <limits>
#include <string>
#include "framework.h"
#include "table_run.h"
#include "../cpu/trigflow_train.h"

using namespace scm_test;
using V = std::vector<double>;
namespace K = scm::cpu;

namespace {

const double kPi = 3.14159265358979323846;
const int64_t kSizes[][2] = {{1, 1}, {3, 2}, {10, 17}, {20, 31}, {2, 1031}, {4, 12289}};

V as_float(const V& v) { return cast<double>(cast<float>(v)); }

// Per-sample times: every even sample one of the ends / the middle of [0, pi/2] in turn, the odd
// ones random.
V times(int64_t batch, uint64_t seed) {
  const double special[] = {0.0,          1e-7,      3e-4,          kPi / 4 - 1e-6, kPi / 4,
                            kPi / 4 + 1e-3, kPi / 2 - 3e-4, kPi / 2 - 1e-7, kPi / 2,     1.5707963};
  V t = random_uniform(batch, seed, 0.0, kPi / 2);
  for (int64_t b = 0; b < batch; b += 2) t[b] = special[(b / 2) % 10];
  return t;
}

// x_t and v_t from the header formula, plainly.
void noisy_formula(int64_t batch, int64_t D, double sd, const V& t, const V& x0, const V& eps, V& x_t, V& v_t) {
  x_t.assign(batch * D, 0.0), v_t.assign(batch * D, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < D; ++i) {
      const int64_t k = b * D + i;
      x_t[k] = std::cos(t[b]) * x0[k] + std::sin(t[b]) * (sd * eps[k]);
      v_t[k] = std::cos(t[b]) * (sd * eps[k]) - std::sin(t[b]) * x0[k];
    }
}

V noisy_x(int64_t batch, int64_t D, double sd, const V& t, const V& x0, const V& eps) {
  V x(batch * D, NAN);
  K::noisy_sample<double>(batch, D, sd, t.data(), x0.data(), eps.data(), x.data(), nullptr);
  return x;
}

// All inputs of one case of the three entries.
struct TrainCase {
  int64_t batch, D;
  double sd, r;
  V t, x0, eps, F, dxdt, xt, J, w, Fu, Fc;
  TrainCase(int64_t b, int64_t d, double sd_, double r_, uint64_t seed) : batch(b), D(d), sd(sd_), r(r_) {
    const size_t n = b * d;
    t = times(b, seed), x0 = random_normal(n, seed + 1, 1.1), eps = random_normal(n, seed + 2);
    F = random_normal(n, seed + 3), dxdt = random_normal(n, seed + 4, 0.7), xt = random_normal(n, seed + 5);
    J = random_normal(n, seed + 6, 0.3), Fu = random_normal(n, seed + 7), Fc = random_normal(n, seed + 8);
    w = random_uniform(b, seed + 9, 1.0, 2.0);
    if (b > 1) w[0] = 0.0, w[1] = 1.0;
  }
  void round_to_float() {
    for (V* v : {&t, &x0, &eps, &F, &dxdt, &xt, &J, &w, &Fu, &Fc}) *v = as_float(*v);
  }
};

// Every entry through a backend's table, with the in-place variants the header allows.
Named run_train(const ScmKernels& k, const TrainCase& c) {
  const size_t n = c.batch * c.D;
  const float sd = float(c.sd), r = float(c.r);
  auto& P = k.trigflow;
  TableRun run(k);
  float *t = run.in(c.t), *x0 = run.in(c.x0), *eps = run.in(c.eps), *xt = run.out(n), *vt = run.out(n),
        *xt_only = run.out(n), *a = run.in(c.x0), *e = run.in(c.eps);
  ok(k, P.noisy_sample(c.batch, c.D, sd, t, x0, eps, xt, vt), "noisy_sample");
  ok(k, P.noisy_sample(c.batch, c.D, sd, t, x0, eps, xt_only, nullptr), "noisy_sample v_t null");
  ok(k, P.noisy_sample(c.batch, c.D, sd, t, a, e, a, e), "noisy_sample in place");
  float *F = run.in(c.F), *dxdt = run.in(c.dxdt), *x = run.in(c.xt), *J = run.in(c.J), *g = run.out(n),
        *g_on_F = run.in(c.F);
  ok(k, P.tangent_target(c.batch, c.D, sd, r, t, F, dxdt, x, J, g), "tangent_target");
  ok(k, P.tangent_target(c.batch, c.D, sd, r, t, g_on_F, dxdt, x, J, g_on_F), "tangent_target g = F");
  float *w = run.in(c.w), *Fu = run.in(c.Fu), *Fc = run.in(c.Fc), *out = run.out(n), *out_on_Fc = run.in(c.Fc);
  ok(k, P.cfg_combine(c.batch, c.D, w, Fu, Fc, out), "cfg_combine");
  ok(k, P.cfg_combine(c.batch, c.D, w, Fu, out_on_Fc, out_on_Fc), "cfg_combine out = F_cond");
  return {{"x_t", run.get(xt, n)},     {"v_t", run.get(vt, n)},        {"x_t (v_t null)", run.get(xt_only, n)},
          {"x_t in place", run.get(a, n)}, {"v_t in place", run.get(e, n)}, {"g", run.get(g, n)},
          {"g in place", run.get(g_on_F, n)}, {"cfg", run.get(out, n)}, {"cfg in place", run.get(out_on_Fc, n)}};
}

// The same outputs from the double templates.
Named ref_train(const TrainCase& c) {
  const size_t n = c.batch * c.D;
  V xt(n), vt(n), g(n), out(n);
  K::noisy_sample<double>(c.batch, c.D, c.sd, c.t.data(), c.x0.data(), c.eps.data(), xt.data(), vt.data());
  K::tangent_target<double>(c.batch, c.D, c.sd, c.r, c.t.data(), c.F.data(), c.dxdt.data(), c.xt.data(), c.J.data(),
                            g.data());
  K::cfg_combine<double>(c.batch, c.D, c.w.data(), c.Fu.data(), c.Fc.data(), out.data());
  return {{"x_t", xt}, {"v_t", vt}, {"x_t (v_t null)", xt}, {"x_t in place", xt}, {"v_t in place", vt},
          {"g", g},    {"g in place", g}, {"cfg", out}, {"cfg in place", out}};
}

}  // namespace

// ---------------------------------------------------------------- noisy sample
SCM_TEST(trigflow_noisy_sample_values) {
  for (auto& sz : kSizes)
    for (double sd : {0.5, 1.3}) {
      const int64_t B = sz[0], D = sz[1];
      const size_t n = B * D;
      const std::string tag = concat("B=", B, " D=", D, " sd=", sd);
      TrainCase c(B, D, sd, 1.0, 100 + n);
      V want_x, want_v;
      noisy_formula(B, D, sd, c.t, c.x0, c.eps, want_x, want_v);
      V xt(n, NAN), vt(n, NAN), xt_only(n, NAN);
      K::noisy_sample<double>(B, D, sd, c.t.data(), c.x0.data(), c.eps.data(), xt.data(), vt.data());
      K::noisy_sample<double>(B, D, sd, c.t.data(), c.x0.data(), c.eps.data(), xt_only.data(), nullptr);
      expect_close(tag + " x_t", xt, want_x, 1e-15);
      expect_close(tag + " v_t", vt, want_v, 1e-15);
      expect_close(tag + " x_t (v_t null)", xt_only, xt, 0.0);
      // t = 0 gives x0, t = pi/2 gives sd * eps (up to cos(pi/2) ~ 6e-17).
      for (int64_t i = 0; i < D; ++i) {
        SCM_CHECK(xt[i] == c.x0[i] && vt[i] == sd * c.eps[i], tag, " t=0 at ", i);
        if (B > 16) SCM_CHECK(std::abs(xt[16 * D + i] - sd * c.eps[16 * D + i]) <= 1e-15, tag, " t=pi/2 at ", i);
      }
      // v_t is the velocity d x_t / dt (each sample's x_t depends on its own t only).
      const V ones(B, 1.0);
      expect_close(tag + " v_t = dx_t/dt",
                   vt, fd_directional([&](const V& tt) { return noisy_x(B, D, sd, tt, c.x0, c.eps); }, c.t, ones), 1e-8);
      // Aliasing: x_t over x0 and v_t over eps, the other way round, x_t over eps alone.
      V a = c.x0, e = c.eps;
      K::noisy_sample<double>(B, D, sd, c.t.data(), a.data(), e.data(), a.data(), e.data());
      expect_close(tag + " x_t over x0", a, xt, 0.0);
      expect_close(tag + " v_t over eps", e, vt, 0.0);
      a = c.x0, e = c.eps;
      K::noisy_sample<double>(B, D, sd, c.t.data(), a.data(), e.data(), e.data(), a.data());
      expect_close(tag + " x_t over eps", e, xt, 0.0);
      expect_close(tag + " v_t over x0", a, vt, 0.0);
      e = c.eps;
      K::noisy_sample<double>(B, D, sd, c.t.data(), c.x0.data(), e.data(), e.data(), nullptr);
      expect_close(tag + " x_t over eps, no v_t", e, xt, 0.0);
    }
}

// ---------------------------------------------------------------- tangent target
SCM_TEST(trigflow_tangent_target_values) {
  for (auto& sz : kSizes)
    for (double r : {0.0, 0.37, 1.0}) {
      const int64_t B = sz[0], D = sz[1];
      const size_t n = B * D;
      const double sd = 0.5;
      const std::string tag = concat("B=", B, " D=", D, " r=", r);
      TrainCase c(B, D, sd, r, 200 + n);
      V want(n);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < D; ++i) {
          const int64_t k = b * D + i;
          const double ct = std::cos(c.t[b]), st = std::sin(c.t[b]);
          want[k] = -ct * ct * (sd * c.F[k] - c.dxdt[k]) - r * (ct * st * c.xt[k] + sd * c.J[k]);
        }
      V g(n, NAN);
      K::tangent_target<double>(B, D, sd, r, c.t.data(), c.F.data(), c.dxdt.data(), c.xt.data(), c.J.data(), g.data());
      expect_close(tag + " g", g, want, 1e-14);
      // g may alias any input.
      for (int which = 0; which < 4; ++which) {
        V F = c.F, v = c.dxdt, x = c.xt, J = c.J;
        double* gp = which == 0 ? F.data() : which == 1 ? v.data() : which == 2 ? x.data() : J.data();
        K::tangent_target<double>(B, D, sd, r, c.t.data(), F.data(), v.data(), x.data(), J.data(), gp);
        expect_close(concat(tag, " g over input ", which), V(gp, gp + n), g, 0.0);
      }
    }
}

// SCM.md §2: with J = cos t sin t dF/dt and dxdt = v_t (sCT), the target at r = 1 is cos t * df/dt
// for the consistency function f(t) = cos t x_t(t) - sin t sd F(x_t(t), t) along the noising
// trajectory x_t(t) = cos t x0 + sin t sd eps. F is a smooth synthetic network; dF/dt and df/dt
// are central finite differences in t.
SCM_TEST(trigflow_tangent_target_is_cos_t_df_dt) {
  const int64_t B = 20, D = 13;
  const size_t n = B * D;
  const double sd = 0.5;
  TrainCase c(B, D, sd, 1.0, 300);
  const V a = random_uniform(n, 301, 0.3, 1.5), q = random_uniform(n, 302, -2.0, 2.0);
  auto net = [&](const V& x, const V& t) {  // F(x, t) = tanh(a x + q t) + 0.3 x
    V F(n);
    for (size_t k = 0; k < n; ++k) F[k] = std::tanh(a[k] * x[k] + q[k] * t[k / D]) + 0.3 * x[k];
    return F;
  };
  auto F_along = [&](const V& t) { return net(noisy_x(B, D, sd, t, c.x0, c.eps), t); };
  auto f_along = [&](const V& t) {
    const V x = noisy_x(B, D, sd, t, c.x0, c.eps), F = net(x, t);
    V f(n);
    for (size_t k = 0; k < n; ++k) f[k] = std::cos(t[k / D]) * x[k] - std::sin(t[k / D]) * sd * F[k];
    return f;
  };
  const V ones(B, 1.0);
  V xt(n), vt(n);
  K::noisy_sample<double>(B, D, sd, c.t.data(), c.x0.data(), c.eps.data(), xt.data(), vt.data());
  const V F = net(xt, c.t), dFdt = fd_directional(F_along, c.t, ones), dfdt = fd_directional(f_along, c.t, ones);
  V J(n), want(n), g(n, NAN);
  for (size_t k = 0; k < n; ++k) {
    const double tb = c.t[k / D];
    J[k] = std::cos(tb) * std::sin(tb) * dFdt[k];
    want[k] = std::cos(tb) * dfdt[k];
  }
  K::tangent_target<double>(B, D, sd, 1.0, c.t.data(), F.data(), vt.data(), xt.data(), J.data(), g.data());
  expect_close("g(r=1) = cos t df/dt", g, want, 1e-8);
}

// ---------------------------------------------------------------- classifier-free guidance
SCM_TEST(trigflow_cfg_combine_values) {
  for (auto& sz : kSizes) {
    const int64_t B = sz[0], D = sz[1];
    const size_t n = B * D;
    const std::string tag = concat("B=", B, " D=", D);
    TrainCase c(B, D, 0.5, 1.0, 400 + n);
    V want(n), out(n, NAN);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < D; ++i) want[b * D + i] = c.Fu[b * D + i] + c.w[b] * (c.Fc[b * D + i] - c.Fu[b * D + i]);
    K::cfg_combine<double>(B, D, c.w.data(), c.Fu.data(), c.Fc.data(), out.data());
    expect_close(tag + " out", out, want, 1e-15);
    if (B > 1)
      for (int64_t i = 0; i < D; ++i) {
        SCM_CHECK(out[i] == c.Fu[i], tag, ": w = 0 must give F_uncond exactly at ", i);
        SCM_CHECK(std::abs(out[D + i] - c.Fc[D + i]) <= 1e-15 * (1 + std::abs(c.Fc[D + i])), tag, ": w = 1 at ", i);
      }
    V u = c.Fu, k = c.Fc;
    K::cfg_combine<double>(B, D, c.w.data(), u.data(), c.Fc.data(), u.data());
    K::cfg_combine<double>(B, D, c.w.data(), c.Fu.data(), k.data(), k.data());
    expect_close(tag + " out over F_uncond", u, out, 0.0);
    expect_close(tag + " out over F_cond", k, out, 0.0);
  }
}

// ---------------------------------------------------------------- float table vs double
SCM_TEST(trigflow_train_float_vs_double) {
  for (auto& sz : kSizes)
    for (double r : {0.0, 0.37, 1.0}) {
      TrainCase c(sz[0], sz[1], 0.5, r, 500 + sz[0] * sz[1]);
      c.round_to_float();
      expect_all_close(concat("B=", sz[0], " D=", sz[1], " r=", r), run_train(cpu(), c), ref_train(c), 1e-6);
    }
}

// ---------------------------------------------------------------- argument errors
SCM_TEST(trigflow_train_rejects_bad_arguments) {
  const ScmKernels& k = cpu();
  auto& P = k.trigflow;
  std::vector<float> v1(8, 0.5f), v2(8, 0.25f), v3(8), v4(8), v5(8, 0.1f), v6(8);
  float *t = v1.data(), *a = v2.data(), *b = v3.data(), *c = v4.data(), *d = v5.data(), *e = v6.data();
  auto expect_arg = [&](int rc, const char* what) {
    SCM_CHECK(rc == SCM_E_ARGUMENT, what, ": status ", rc, " (", k.last_error(), ")");
  };
  expect_arg(P.noisy_sample(-1, 2, 0.5f, t, a, b, c, d), "noisy batch<0");
  expect_arg(P.noisy_sample(2, 0, 0.5f, t, a, b, c, d), "noisy per_sample=0");
  expect_arg(P.noisy_sample(2, 2, 0.0f, t, a, b, c, d), "noisy sd=0");
  expect_arg(P.noisy_sample(2, 2, NAN, t, a, b, c, d), "noisy sd NaN");
  expect_arg(P.noisy_sample(2, 2, INFINITY, t, a, b, c, d), "noisy sd inf");
  expect_arg(P.noisy_sample(2, 2, 0.5f, nullptr, a, b, c, d), "noisy t null");
  expect_arg(P.noisy_sample(2, 2, 0.5f, t, nullptr, b, c, d), "noisy x0 null");
  expect_arg(P.noisy_sample(2, 2, 0.5f, t, a, nullptr, c, d), "noisy eps null");
  expect_arg(P.noisy_sample(2, 2, 0.5f, t, a, b, nullptr, d), "noisy x_t null");
  expect_arg(P.noisy_sample(2, 2, 0.5f, t, a, b, c, c), "noisy x_t = v_t");
  ok(k, P.noisy_sample(0, 2, 0.5f, nullptr, nullptr, nullptr, nullptr, nullptr), "empty noisy_sample");
  expect_arg(P.tangent_target(2, 2, 0.5f, -0.1f, t, a, b, c, d, e), "tangent r<0");
  expect_arg(P.tangent_target(2, 2, 0.5f, 1.5f, t, a, b, c, d, e), "tangent r>1");
  expect_arg(P.tangent_target(2, 2, 0.5f, NAN, t, a, b, c, d, e), "tangent r NaN");
  expect_arg(P.tangent_target(2, 2, -0.5f, 1.0f, t, a, b, c, d, e), "tangent sd<0");
  expect_arg(P.tangent_target(-2, 2, 0.5f, 1.0f, t, a, b, c, d, e), "tangent batch<0");
  expect_arg(P.tangent_target(2, 2, 0.5f, 1.0f, nullptr, a, b, c, d, e), "tangent t null");
  expect_arg(P.tangent_target(2, 2, 0.5f, 1.0f, t, nullptr, b, c, d, e), "tangent F null");
  expect_arg(P.tangent_target(2, 2, 0.5f, 1.0f, t, a, nullptr, c, d, e), "tangent dxdt null");
  expect_arg(P.tangent_target(2, 2, 0.5f, 1.0f, t, a, b, nullptr, d, e), "tangent x_t null");
  expect_arg(P.tangent_target(2, 2, 0.5f, 1.0f, t, a, b, c, nullptr, e), "tangent J null");
  expect_arg(P.tangent_target(2, 2, 0.5f, 1.0f, t, a, b, c, d, nullptr), "tangent g null");
  ok(k, P.tangent_target(0, 2, 0.5f, 0.0f, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), "empty tangent");
  expect_arg(P.cfg_combine(2, 0, t, a, b, c), "cfg per_sample=0");
  expect_arg(P.cfg_combine(-1, 2, t, a, b, c), "cfg batch<0");
  expect_arg(P.cfg_combine(2, 2, nullptr, a, b, c), "cfg w null");
  expect_arg(P.cfg_combine(2, 2, t, nullptr, b, c), "cfg F_uncond null");
  expect_arg(P.cfg_combine(2, 2, t, a, nullptr, c), "cfg F_cond null");
  expect_arg(P.cfg_combine(2, 2, t, a, b, nullptr), "cfg out null");
  ok(k, P.cfg_combine(0, 2, nullptr, nullptr, nullptr, nullptr), "empty cfg_combine");
}

// ---------------------------------------------------------------- CUDA against the CPU
SCM_TEST(cuda_trigflow_train_matches_cpu) {
  const ScmKernels& gpu = require_cuda();
  const int64_t sizes[][2] = {{1, 1},    {3, 2},      {20, 31},     {2, 1031},  {7, 12289},
                              {3, 16385}, {2, 100003}, {1, 1 << 20}, {70000, 3}, {200, 3072}};
  for (auto& sz : sizes)
    for (double r : {0.37, 1.0}) {
      const TrainCase c(sz[0], sz[1], 0.5, r, 600 + sz[0] + sz[1]);
      expect_all_close(concat("B=", sz[0], " D=", sz[1], " r=", r), run_train(gpu, c), run_train(cpu(), c), 1e-6);
    }
}
