// Tests of the trigflow family (native/core/kernels/trigflow.h): tangent normalization and
// clipping, the consistency function with re-noising, the DDIM step and EDM's Heun correction.
// The double instantiations of the CPU templates are checked against formulas written plainly
// here and against closed-form ODE solutions; the float table entries and the CUDA entries
// are checked against the double reference.
#include <cstring>

#include "framework.h"
#include "../cpu/trigflow.h"

using namespace scm_test;

namespace {

const int64_t kAwkward[][2] = {{1, 1}, {3, 2}, {1, 17}, {5, 31}, {2, 1031}, {7, 3}, {4, 12289}};

// Per-sample L2 norms, plainly.
std::vector<double> sample_norms(const std::vector<double>& g, int64_t batch, int64_t D) {
  std::vector<double> n(batch);
  for (int64_t b = 0; b < batch; ++b) {
    double s = 0;
    for (int64_t i = 0; i < D; ++i) s += g[b * D + i] * g[b * D + i];
    n[b] = std::sqrt(s);
  }
  return n;
}

// Per-sample scale so that samples have very different norms (tests per-sample handling).
std::vector<double> scaled_tangent(int64_t batch, int64_t D, uint64_t seed) {
  auto g = random_normal(batch * D, seed);
  auto scale = random_uniform(batch, seed + 1, 0.05, 3.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < D; ++i) g[b * D + i] *= scale[b] * (b % 2 ? 10.0 : 0.01);
  return g;
}

// Velocity of the Gaussian data distribution x0 ~ N(0, a^2 I) under TrigFlow noise N(0, sd^2 I):
// E[v_t | x_t] = sin t cos t (sd^2 - a^2) / (a^2 cos^2 t + sd^2 sin^2 t) * x_t; returned as
// F = v / sd (the network output convention). The PF-ODE solution is x_t = x_s * std_t / std_s.
double gauss_var(double a, double sd, double t) {
  return a * a * std::cos(t) * std::cos(t) + sd * sd * std::sin(t) * std::sin(t);
}
std::vector<double> gauss_F(const std::vector<double>& x, const std::vector<double>& t, int64_t D, double a,
                            double sd) {
  std::vector<double> F(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double tb = t[i / D];
    F[i] = std::sin(tb) * std::cos(tb) * (sd * sd - a * a) / gauss_var(a, sd, tb) * x[i] / sd;
  }
  return F;
}

// Integrates the Gaussian PF-ODE from s0 to t1 (per-sample, per-sample end times) with N
// DDIM steps (heun = false) or DDIM + Heun correction; returns the max relative error.
double gauss_solve_error(int64_t batch, int64_t D, double a, double sd, const std::vector<double>& s0,
                         const std::vector<double>& t1, int N, bool heun) {
  auto x = random_normal(batch * D, 77, sd);
  const auto x_init = x;
  std::vector<double> s(batch), t(batch), xe(x.size());
  for (int k = 0; k < N; ++k) {
    for (int64_t b = 0; b < batch; ++b) {
      s[b] = s0[b] + (t1[b] - s0[b]) * k / N;
      t[b] = s0[b] + (t1[b] - s0[b]) * (k + 1) / N;
    }
    auto Fs = gauss_F(x, s, D, a, sd);
    scm::cpu::euler_step<double>(batch, D, sd, s.data(), t.data(), x.data(), Fs.data(), xe.data());
    if (heun) {
      auto Ft = gauss_F(xe, t, D, a, sd);
      scm::cpu::heun_correct<double>(batch, D, sd, s.data(), t.data(), x.data(), Fs.data(), xe.data(), Ft.data(),
                                     x.data());
    } else {
      x = xe;
    }
  }
  double worst = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < D; ++i) {
      const double exact = x_init[b * D + i] * std::sqrt(gauss_var(a, sd, t1[b]) / gauss_var(a, sd, s0[b]));
      worst = std::max(worst, std::abs(x[b * D + i] - exact) / std::abs(exact));
    }
  return worst;
}

}  // namespace

// ---------------------------------------------------------------- tangent normalization
SCM_TEST(trigflow_tangent_normalize_norms) {
  double worst = 0;
  for (auto& sz : kAwkward) {
    const int64_t B = sz[0], D = sz[1];
    auto g = scaled_tangent(B, D, 1000 + B * 31 + D);
    auto ref_norm = sample_norms(g, B, D);
    for (double c : {0.1, 0.0, 2.5}) {
      std::vector<double> out(B * D), norms(B);
      scm::cpu::tangent_normalize<double>(B, D, SCM_TANGENT_NORMALIZE, c, g.data(), out.data(), norms.data());
      auto out_norm = sample_norms(out, B, D);
      for (int64_t b = 0; b < B; ++b) {
        const double want = ref_norm[b] / (ref_norm[b] + c);
        worst = std::max(worst, std::abs(out_norm[b] - want) / want);
        worst = std::max(worst, std::abs(norms[b] - ref_norm[b]) / ref_norm[b]);
        for (int64_t i = 0; i < D; ++i) {  // direction unchanged
          const double e = std::abs(out[b * D + i] - g[b * D + i] / (ref_norm[b] + c));
          worst = std::max(worst, e / (std::abs(g[b * D + i]) / (ref_norm[b] + c) + 1e-300));
        }
      }
      SCM_CHECK(worst <= 1e-12, "B=", B, " D=", D, " c=", c, " worst rel err ", worst);
      // In place (out aliases g) gives the same result.
      auto inplace = g;
      scm::cpu::tangent_normalize<double>(B, D, SCM_TANGENT_NORMALIZE, c, inplace.data(), inplace.data(), nullptr);
      SCM_CHECK(inplace == out, "in-place result differs (B=", B, " D=", D, ")");
    }
    // The float table entry against the double reference.
    auto gf = cast<float>(g);
    std::vector<float> outf(B * D), normsf(B);
    ok(cpu(), cpu().trigflow.tangent_normalize(B, D, SCM_TANGENT_NORMALIZE, 0.1f, gf.data(), outf.data(),
                                               normsf.data()), "tangent_normalize");
    std::vector<double> ref(B * D), refn(B);
    auto gd = cast<double>(gf);
    scm::cpu::tangent_normalize<double>(B, D, SCM_TANGENT_NORMALIZE, double(0.1f), gd.data(), ref.data(), refn.data());
    expect_close(concat("float B=", B, " D=", D), outf, ref, 1e-6);
    expect_close(concat("float norms B=", B, " D=", D), normsf, refn, 1e-6);
  }
  note(concat("worst double rel err ", worst));
}

SCM_TEST(trigflow_tangent_clip) {
  for (auto& sz : kAwkward) {
    const int64_t B = sz[0], D = sz[1];
    auto g = random_normal(B * D, 2000 + B + D, 1.5);  // about half the elements exceed 1
    std::vector<double> out(B * D), norms(B, -1.0);
    scm::cpu::tangent_normalize<double>(B, D, SCM_TANGENT_CLIP, 0.1, g.data(), out.data(), norms.data());
    int64_t clipped = 0;
    for (int64_t i = 0; i < B * D; ++i) {
      const double want = g[i] > 1 ? 1.0 : (g[i] < -1 ? -1.0 : g[i]);
      clipped += std::abs(g[i]) > 1;
      SCM_CHECK(out[i] == want, "i=", i, " g=", g[i], " out=", out[i]);
    }
    auto ref_norm = sample_norms(g, B, D);
    for (int64_t b = 0; b < B; ++b) SCM_CHECK(std::abs(norms[b] - ref_norm[b]) <= 1e-12 * ref_norm[b]);
    if (B * D > 50) SCM_CHECK(clipped > 0, "no element was clipped: the test is vacuous");
    // Without norms, and through the float table (exact: clipping does no arithmetic).
    auto gf = cast<float>(g);
    std::vector<float> outf(B * D);
    ok(cpu(), cpu().trigflow.tangent_normalize(B, D, SCM_TANGENT_CLIP, 0.1f, gf.data(), outf.data(), nullptr),
       "tangent_normalize clip");
    for (int64_t i = 0; i < B * D; ++i) SCM_CHECK(outf[i] == std::min(1.0f, std::max(-1.0f, gf[i])));
  }
}

// A non-finite tangent stays visible: NaN is not clipped into a bound, and its norm is NaN.
SCM_TEST(trigflow_tangent_nonfinite_propagates) {
  std::vector<float> g = {0.5f, NAN, 3.0f, -2.0f, 0.25f, INFINITY}, out(6), norms(2);
  ok(cpu(), cpu().trigflow.tangent_normalize(2, 3, SCM_TANGENT_CLIP, 0.1f, g.data(), out.data(), norms.data()), "clip");
  SCM_CHECK(out[0] == 0.5f && std::isnan(out[1]) && out[2] == 1.0f && out[3] == -1.0f && out[5] == 1.0f);
  SCM_CHECK(std::isnan(norms[0]) && std::isinf(norms[1]));
  ok(cpu(), cpu().trigflow.tangent_normalize(2, 3, SCM_TANGENT_NORMALIZE, 0.1f, g.data(), out.data(), norms.data()),
     "normalize");
  SCM_CHECK(std::isnan(out[0]) && std::isnan(out[1]) && std::isnan(norms[0]) && !std::isfinite(out[5]));
}

SCM_TEST(trigflow_tangent_normalize_rejects_bad_arguments) {
  float g[4] = {1, 2, 3, 4}, out[4];
  SCM_CHECK(cpu().trigflow.tangent_normalize(2, 2, 7, 0.1f, g, out, nullptr) == SCM_E_ARGUMENT);
  SCM_CHECK(cpu().trigflow.tangent_normalize(2, 0, SCM_TANGENT_NORMALIZE, 0.1f, g, out, nullptr) == SCM_E_ARGUMENT);
  SCM_CHECK(cpu().trigflow.tangent_normalize(2, 2, SCM_TANGENT_NORMALIZE, -1.0f, g, out, nullptr) == SCM_E_ARGUMENT);
  SCM_CHECK(cpu().trigflow.tangent_normalize(0, 2, SCM_TANGENT_NORMALIZE, 0.1f, nullptr, nullptr, nullptr) == 0);
}

// ---------------------------------------------------------------- consistency function
SCM_TEST(trigflow_consistency_boundary_and_formula) {
  const double sd = 0.5;
  for (auto& sz : kAwkward) {
    const int64_t B = sz[0], D = sz[1];
    auto x = random_normal<float>(B * D, 3000 + B + D, 0.7);
    auto F = random_normal<float>(B * D, 3001 + B + D);
    // f(x, 0) = x exactly, whatever F is.
    std::vector<float> zero_t(B, 0.0f), x0(B * D, NAN);
    ok(cpu(), cpu().trigflow.consistency_step(B, D, float(sd), zero_t.data(), x.data(), F.data(), x0.data(), nullptr,
                                              0, 0, nullptr), "consistency_step t=0");
    SCM_CHECK(std::memcmp(x0.data(), x.data(), x.size() * sizeof(float)) == 0, "f(x, 0) != x");
    // Random t in (0, pi/2]: the double template against the formula, the float entry against it.
    auto t = random_uniform<float>(B, 3002 + B, 0.01, 1.5707963);
    std::vector<double> ref(B * D);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < D; ++i)
        ref[b * D + i] = std::cos(double(t[b])) * x[b * D + i] - std::sin(double(t[b])) * sd * F[b * D + i];
    auto xd = cast<double>(x), Fd = cast<double>(F), td = cast<double>(t);
    std::vector<double> got(B * D);
    scm::cpu::consistency_step<double>(B, D, sd, td.data(), xd.data(), Fd.data(), got.data(), nullptr, 0, 0,
                                       nullptr);
    SCM_CHECK(rel_l2(got, ref) <= 1e-14, "double consistency_step rel err ", rel_l2(got, ref));
    ok(cpu(), cpu().trigflow.consistency_step(B, D, float(sd), t.data(), x.data(), F.data(), x0.data(), nullptr, 0,
                                              0, nullptr), "consistency_step");
    expect_close(concat("float B=", B, " D=", D), x0, ref, 1e-6);
  }
}

SCM_TEST(trigflow_consistency_renoise_uses_philox_stream) {
  const double sd = 0.5;
  const uint64_t seed = 0x5C3A11CEull;
  for (auto& sz : kAwkward) {
    const int64_t B = sz[0], D = sz[1], n = B * D;
    for (uint64_t offset : {uint64_t(0), uint64_t(5), (uint64_t(1) << 34) + 3}) {
      auto x = random_normal<float>(n, 4000 + n, 0.7);
      auto F = random_normal<float>(n, 4001 + n);
      auto t = random_uniform<float>(B, 4002 + B, 0.2, 1.56);
      auto tn = random_uniform<float>(B, 4003 + B, 0.1, 1.1);
      std::vector<float> z(n);
      ok(cpu(), cpu().rng.normal(z.data(), n, seed, offset), "rng.normal");
      std::vector<double> ref_x0(n), ref(n);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < D; ++i) {
          const int64_t j = b * D + i;
          ref_x0[j] = std::cos(double(t[b])) * x[j] - std::sin(double(t[b])) * sd * F[j];
          ref[j] = std::cos(double(tn[b])) * ref_x0[j] + std::sin(double(tn[b])) * sd * z[j];
        }
      std::vector<float> x0(n, NAN), xn(n, NAN);
      ok(cpu(), cpu().trigflow.consistency_step(B, D, float(sd), t.data(), x.data(), F.data(), x0.data(), tn.data(),
                                                seed, offset, xn.data()), "consistency_step renoise");
      expect_close(concat("x0 B=", B, " D=", D), x0, ref_x0, 1e-6);
      expect_close(concat("x_next B=", B, " D=", D, " off=", offset), xn, ref, 1e-6);
      // The noise recovered from the double template equals the rng stream.
      auto xd = cast<double>(x), Fd = cast<double>(F), td = cast<double>(t), tnd = cast<double>(tn);
      std::vector<double> x0d(n), xnd(n);
      scm::cpu::consistency_step<double>(B, D, sd, td.data(), xd.data(), Fd.data(), x0d.data(), tnd.data(), seed,
                                         offset, xnd.data());
      double worst = 0;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < D; ++i) {
          const int64_t j = b * D + i;
          const double zr = (xnd[j] - std::cos(tnd[b]) * x0d[j]) / (std::sin(tnd[b]) * sd);
          worst = std::max(worst, std::abs(zr - z[j]));
        }
      SCM_CHECK(worst <= 1e-9, "recovered noise differs from the rng stream by ", worst);
      // Re-noising only (x0 not wanted) in place over x gives the same x_next.
      auto xi = x;
      ok(cpu(), cpu().trigflow.consistency_step(B, D, float(sd), t.data(), xi.data(), F.data(), nullptr, tn.data(),
                                                seed, offset, xi.data()), "consistency_step in place");
      SCM_CHECK(xi == xn, "in-place re-noising differs");
    }
  }
}

SCM_TEST(trigflow_consistency_rejects_bad_arguments) {
  float t[1] = {1}, x[2] = {1, 2}, F[2] = {3, 4}, out[2];
  auto& k = cpu().trigflow;
  SCM_CHECK(k.consistency_step(1, 2, 0.5f, t, x, F, nullptr, nullptr, 0, 0, nullptr) == SCM_E_ARGUMENT);
  SCM_CHECK(k.consistency_step(1, 2, 0.5f, t, x, F, out, t, 0, 0, nullptr) == SCM_E_ARGUMENT);
  SCM_CHECK(k.consistency_step(1, 2, 0.0f, t, x, F, out, nullptr, 0, 0, nullptr) == SCM_E_ARGUMENT);
  SCM_CHECK(k.consistency_step(1, 2, 0.5f, t, x, nullptr, out, nullptr, 0, 0, nullptr) == SCM_E_ARGUMENT);
}

// ---------------------------------------------------------------- DDIM / Heun
// For a fixed (x0, z) the network that predicts it exactly gives F = (cos t z - sin t x0) / sd:
// the DDIM step is then exact, so s -> t -> u equals s -> u equals cos u x0 + sin u z, and the
// Heun correction changes nothing.
SCM_TEST(trigflow_euler_exact_for_fixed_prediction) {
  const double sd = 0.5;
  for (auto& sz : kAwkward) {
    const int64_t B = sz[0], D = sz[1], n = B * D;
    auto x0 = random_normal(n, 5000 + n, 1.1), z = random_normal(n, 5001 + n, sd);
    auto s = random_uniform(B, 5002 + B, 1.0, 1.55), t = random_uniform(B, 5003 + B, 0.5, 0.95),
         u = random_uniform(B, 5004 + B, 0.0, 0.45);
    auto at = [&](const std::vector<double>& tt) {
      std::vector<double> xs(n), F(n);
      for (int64_t j = 0; j < n; ++j) {
        const double c = std::cos(tt[j / D]), si = std::sin(tt[j / D]);
        xs[j] = c * x0[j] + si * z[j];
        F[j] = (c * z[j] - si * x0[j]) / sd;
      }
      return std::make_pair(xs, F);
    };
    auto [xs, Fs] = at(s);
    auto [xt_exact, Ft] = at(t);
    auto [xu_exact, Fu] = at(u);
    std::vector<double> xt(n), xu(n), xu_direct(n), xh(n);
    scm::cpu::euler_step<double>(B, D, sd, s.data(), t.data(), xs.data(), Fs.data(), xt.data());
    SCM_CHECK(rel_l2(xt, xt_exact) <= 1e-13, "s->t not exact: ", rel_l2(xt, xt_exact));
    auto Ft_at_xt = at(t).second;  // the prediction is the same (x0, z) at x_t
    scm::cpu::euler_step<double>(B, D, sd, t.data(), u.data(), xt.data(), Ft_at_xt.data(), xu.data());
    scm::cpu::euler_step<double>(B, D, sd, s.data(), u.data(), xs.data(), Fs.data(), xu_direct.data());
    SCM_CHECK(rel_l2(xu, xu_exact) <= 1e-13, "s->t->u: ", rel_l2(xu, xu_exact));
    SCM_CHECK(rel_l2(xu_direct, xu_exact) <= 1e-13, "s->u: ", rel_l2(xu_direct, xu_exact));
    scm::cpu::heun_correct<double>(B, D, sd, s.data(), t.data(), xs.data(), Fs.data(), xt.data(), Ft.data(),
                                   xh.data());
    SCM_CHECK(rel_l2(xh, xt_exact) <= 1e-13, "Heun with a constant prediction: ", rel_l2(xh, xt_exact));
    // Float table entries against the double reference.
    auto sf = cast<float>(s), tf = cast<float>(t), xsf = cast<float>(xs), Fsf = cast<float>(Fs), Ftf = cast<float>(Ft);
    std::vector<float> xtf(n), xhf(n);
    ok(cpu(), cpu().trigflow.euler_step(B, D, float(sd), sf.data(), tf.data(), xsf.data(), Fsf.data(), xtf.data()),
       "euler_step");
    std::vector<double> ref(n), refh(n);
    auto sdd = cast<double>(sf), tdd = cast<double>(tf), xsd = cast<double>(xsf), Fsd = cast<double>(Fsf),
         Ftd = cast<double>(Ftf), xtd = cast<double>(xtf);
    scm::cpu::euler_step<double>(B, D, sd, sdd.data(), tdd.data(), xsd.data(), Fsd.data(), ref.data());
    expect_close(concat("float euler B=", B, " D=", D), xtf, ref, 1e-6);
    ok(cpu(), cpu().trigflow.heun_correct(B, D, float(sd), sf.data(), tf.data(), xsf.data(), Fsf.data(), xtf.data(),
                                          Ftf.data(), xhf.data()), "heun_correct");
    scm::cpu::heun_correct<double>(B, D, sd, sdd.data(), tdd.data(), xsd.data(), Fsd.data(), xtd.data(), Ftd.data(),
                                   refh.data());
    expect_close(concat("float heun B=", B, " D=", D), xhf, refh, 1e-6);
  }
}

// Gaussian data: the PF-ODE solution is known in closed form. DDIM converges at first order,
// DDIM + Heun correction at second order (error ratios 2 and 4 when the step count doubles),
// and averaging the TrigFlow velocities naively would not (it is first order: see the header).
SCM_TEST(trigflow_euler_heun_gaussian_ode_convergence) {
  const double sd = 0.5, a = 1.3;
  const int64_t B = 3, D = 5;
  const std::vector<double> s0 = {1.2, 1.0, 1.4}, t1 = {0.2, 0.3, 0.1};
  double e_euler[3], e_heun[3];
  const int steps[3] = {16, 32, 64};
  for (int k = 0; k < 3; ++k) {
    e_euler[k] = gauss_solve_error(B, D, a, sd, s0, t1, steps[k], false);
    e_heun[k] = gauss_solve_error(B, D, a, sd, s0, t1, steps[k], true);
  }
  for (int k = 0; k < 2; ++k) {
    const double re = e_euler[k] / e_euler[k + 1], rh = e_heun[k] / e_heun[k + 1];
    SCM_CHECK(re > 1.8 && re < 2.2, "Euler error ratio ", re, " (errors ", e_euler[k], ", ", e_euler[k + 1], ")");
    SCM_CHECK(rh > 3.6 && rh < 4.4, "Heun error ratio ", rh, " (errors ", e_heun[k], ", ", e_heun[k + 1], ")");
  }
  SCM_CHECK(e_heun[2] < 1e-3 && e_euler[2] < 3e-2 && e_heun[2] < e_euler[2] / 20, "errors too large: heun ", e_heun[2], ", euler ", e_euler[2]);
  // From EDM's t_max = atan(80/sd) (sigma = 80) the correction still helps a lot.
  const double tmax = std::atan(80.0 / sd);
  const std::vector<double> sm(B, tmax), te(B, 0.05);
  const double eh = gauss_solve_error(B, D, a, sd, sm, te, 128, true), ee = gauss_solve_error(B, D, a, sd, sm, te, 128, false);
  SCM_CHECK(eh < ee / 5, "from t_max: heun ", eh, " vs euler ", ee);
  note(concat("64 steps: euler ", e_euler[2], ", heun ", e_heun[2], "; from t_max (128): euler ", ee, ", heun ", eh));
}

// ---------------------------------------------------------------- CUDA against the CPU
namespace {

template <class Fn>
void for_cuda_sizes(Fn&& fn) {
  const int64_t sizes[][2] = {{1, 1}, {3, 2}, {5, 31}, {2, 1031}, {7, 12289}, {4, 16384}, {3, 16385}, {2, 100003}, {1, 1 << 20},
                              {70000, 3}};
  for (auto& s : sizes) fn(s[0], s[1]);
}

}  // namespace

SCM_TEST(cuda_trigflow_tangent_normalize_matches_cpu) {
  const ScmKernels& k = require_cuda();
  for_cuda_sizes([&](int64_t B, int64_t D) {
    auto g = cast<float>(scaled_tangent(B, D, 6000 + B + D));
    for (int mode : {int(SCM_TANGENT_NORMALIZE), int(SCM_TANGENT_CLIP)}) {
      std::vector<float> ref(B * D), refn(B);
      ok(cpu(), cpu().trigflow.tangent_normalize(B, D, mode, 0.1f, g.data(), ref.data(), refn.data()), "cpu");
      auto dg = scm::DeviceBuffer::from_host(k, g);
      scm::DeviceBuffer dout(k, g.size() * 4), dn(k, B * 4);
      dout.fill_bytes(0xFF);
      dn.fill_bytes(0xFF);
      ok(k, k.trigflow.tangent_normalize(B, D, mode, 0.1f, dg.as(), dout.as(), dn.as()), "cuda");
      expect_close(concat("out B=", B, " D=", D, " mode=", mode), dout.to_vector<float>(), ref, 1e-6);
      expect_close(concat("norms B=", B, " D=", D, " mode=", mode), dn.to_vector<float>(), refn, 1e-6);
      // In place, no norms.
      ok(k, k.trigflow.tangent_normalize(B, D, mode, 0.1f, dg.as(), dg.as(), nullptr), "cuda in place");
      expect_close(concat("in place B=", B, " D=", D, " mode=", mode), dg.to_vector<float>(), ref, 1e-6);
    }
  });
}

SCM_TEST(cuda_trigflow_tangent_nonfinite_propagates) {
  const ScmKernels& k = require_cuda();
  std::vector<float> g = {0.5f, NAN, 3.0f, -2.0f, 0.25f, INFINITY};
  for (int mode : {int(SCM_TANGENT_NORMALIZE), int(SCM_TANGENT_CLIP)})
    for (bool with_norms : {false, true}) {
      std::vector<float> ref(6), refn(2);
      ok(cpu(), cpu().trigflow.tangent_normalize(2, 3, mode, 0.1f, g.data(), ref.data(), refn.data()), "cpu");
      auto dg = scm::DeviceBuffer::from_host(k, g);
      scm::DeviceBuffer dout(k, 6 * 4), dn(k, 2 * 4);
      ok(k, k.trigflow.tangent_normalize(2, 3, mode, 0.1f, dg.as(), dout.as(), with_norms ? dn.as() : nullptr), "cuda");
      auto got = dout.to_vector<float>();
      for (int i = 0; i < 6; ++i)
        SCM_CHECK(std::memcmp(&got[i], &ref[i], 4) == 0 || (std::isnan(got[i]) && std::isnan(ref[i])), "mode=", mode,
                  " i=", i, " got ", got[i], " want ", ref[i]);
      if (with_norms) {
        auto n = dn.to_vector<float>();
        SCM_CHECK(std::isnan(n[0]) && std::isinf(n[1]), "norms ", n[0], ", ", n[1]);
      }
    }
}

SCM_TEST(cuda_trigflow_consistency_step_matches_cpu) {
  const ScmKernels& k = require_cuda();
  for_cuda_sizes([&](int64_t B, int64_t D) {
    const int64_t n = B * D;
    auto x = random_normal<float>(n, 7000 + n, 0.7), F = random_normal<float>(n, 7001 + n);
    auto t = random_uniform<float>(B, 7002 + B, 0.0, 1.56), tn = random_uniform<float>(B, 7003 + B, 0.1, 1.1);
    const uint64_t seed = 99, offset = 6;
    std::vector<float> rx0(n), rxn(n);
    ok(cpu(), cpu().trigflow.consistency_step(B, D, 0.5f, t.data(), x.data(), F.data(), rx0.data(), tn.data(), seed,
                                              offset, rxn.data()), "cpu");
    auto dx = scm::DeviceBuffer::from_host(k, x), dF = scm::DeviceBuffer::from_host(k, F),
         dt = scm::DeviceBuffer::from_host(k, t), dtn = scm::DeviceBuffer::from_host(k, tn);
    scm::DeviceBuffer dx0(k, n * 4), dxn(k, n * 4);
    dx0.fill_bytes(0xFF);
    dxn.fill_bytes(0xFF);
    ok(k, k.trigflow.consistency_step(B, D, 0.5f, dt.as(), dx.as(), dF.as(), dx0.as(), dtn.as(), seed, offset,
                                      dxn.as()), "cuda");
    expect_close(concat("x0 B=", B, " D=", D), dx0.to_vector<float>(), rx0, 1e-6);
    expect_close(concat("x_next B=", B, " D=", D), dxn.to_vector<float>(), rxn, 1e-6);
    dx0.fill_bytes(0xFF);
    ok(k, k.trigflow.consistency_step(B, D, 0.5f, dt.as(), dx.as(), dF.as(), dx0.as(), nullptr, 0, 0, nullptr),
       "cuda no renoise");
    expect_close(concat("x0 only B=", B, " D=", D), dx0.to_vector<float>(), rx0, 1e-6);
  });
}

SCM_TEST(cuda_trigflow_euler_heun_match_cpu) {
  const ScmKernels& k = require_cuda();
  for_cuda_sizes([&](int64_t B, int64_t D) {
    const int64_t n = B * D;
    auto xs = random_normal<float>(n, 8000 + n, 0.7), Fs = random_normal<float>(n, 8001 + n),
         Ft = random_normal<float>(n, 8002 + n);
    auto s = random_uniform<float>(B, 8003 + B, 0.8, 1.56), t = random_uniform<float>(B, 8004 + B, 0.05, 0.7);
    std::vector<float> rxe(n), rxh(n);
    ok(cpu(), cpu().trigflow.euler_step(B, D, 0.5f, s.data(), t.data(), xs.data(), Fs.data(), rxe.data()), "cpu euler");
    ok(cpu(), cpu().trigflow.heun_correct(B, D, 0.5f, s.data(), t.data(), xs.data(), Fs.data(), rxe.data(), Ft.data(),
                                          rxh.data()), "cpu heun");
    auto dxs = scm::DeviceBuffer::from_host(k, xs), dFs = scm::DeviceBuffer::from_host(k, Fs),
         dFt = scm::DeviceBuffer::from_host(k, Ft), ds = scm::DeviceBuffer::from_host(k, s),
         dt = scm::DeviceBuffer::from_host(k, t);
    scm::DeviceBuffer dxe(k, n * 4), dxh(k, n * 4);
    dxe.fill_bytes(0xFF);
    dxh.fill_bytes(0xFF);
    ok(k, k.trigflow.euler_step(B, D, 0.5f, ds.as(), dt.as(), dxs.as(), dFs.as(), dxe.as()), "cuda euler");
    expect_close(concat("euler B=", B, " D=", D), dxe.to_vector<float>(), rxe, 1e-6);
    auto dxe_ref = scm::DeviceBuffer::from_host(k, rxe);  // the same predictor as the CPU used
    ok(k, k.trigflow.heun_correct(B, D, 0.5f, ds.as(), dt.as(), dxs.as(), dFs.as(), dxe_ref.as(), dFt.as(), dxh.as()),
       "cuda heun");
    expect_close(concat("heun B=", B, " D=", D), dxh.to_vector<float>(), rxh, 1e-6);
  });
}
