// Training steps in double (ReferenceOps) against independent computations:
//  - the whole-network J with the rearranged tangents (SCM.md §2.1) equals cos t sin t times a
//    finite difference of F along (dxdt/sd, 1), at t near 0, pi/4 and near pi/2;
//  - one sCT / sCD step's parameter gradient equals the FD gradient of the surrogate
//    sum_b [-(2 e^{w_b} / (B D)) g_b . F_theta(b) + dL/dw_b w_theta(b)], with g rebuilt from the
//    formula of SCM.md §2 using a finite-difference J (not the dual pass);
//  - one diffusion step's gradient equals the FD gradient of the TrigFlow loss;
//  - a non-finite sample is dropped, the step is the step without it;
//  - a run resumed from a copy of its state continues bit for bit (float CPU).
#include "framework.h"
#include "../core/ops.h"
#include "../core/train.h"

using namespace scm_test;
using scm::ModelConfig;
using Ref = scm::ReferenceOps;

namespace {

ModelConfig small_mlp(int64_t classes, bool guidance) {
  ModelConfig c;
  c.kind = scm::NetworkKind::Mlp;
  c.sample_shape = {3};
  c.width = 6;
  c.depth = 2;
  c.mlp_ratio = 2;
  c.time_dim = 8;
  c.num_classes = classes;
  c.guidance_input = guidance;
  return c;
}

ModelConfig small_dit() {
  ModelConfig c;
  c.kind = scm::NetworkKind::Dit;
  c.sample_shape = {1, 4, 4};
  c.patch = 2;
  c.width = 8;
  c.heads = 2;
  c.depth = 1;
  c.mlp_ratio = 2;
  c.time_dim = 8;
  return c;
}

void randomise(scm::ModelState<Ref>& m, uint64_t seed) {
  auto p = random_normal(m.param_count(), seed, 0.4);
  std::copy(p.begin(), p.end(), m.params());
}

std::vector<double> F_of(scm::ModelState<Ref>& m, const double* w, int64_t B, const std::vector<double>& u,
                         const scm::Conditioning& cond, std::vector<double>* logvar = nullptr) {
  std::vector<double> F(u.size());
  if (logvar) logvar->assign(B, 0.0);
  m.network().forward(w, B, u.data(), cond, F.data(), logvar ? logvar->data() : nullptr, false);
  return F;
}

// The consistency step rebuilt independently: returns the expected gradient (and loss).
struct Expected {
  std::vector<double> grad;
  double loss;
};

Expected expected_consistency(scm::ModelState<Ref>& s, scm::ModelState<Ref>* teacher, const scm::TrainOptions& o,
                              const scm::StepDraws& d, const std::vector<double>& x0, int64_t step) {
  const ModelConfig& c = s.config();
  const int64_t B = static_cast<int64_t>(d.t.size()), D = c.sample_size();
  const double sd = c.sd;
  std::vector<double> xt(B * D), vt(B * D), u(B * D), dxdt(B * D);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < D; ++i) {
      const double z = sd * scm::philox::normal_at(d.noise_seed, d.noise_offset + b * D + i);
      const double ct = std::cos(d.t[b]), st = std::sin(d.t[b]);
      xt[b * D + i] = ct * x0[b * D + i] + st * z;
      vt[b * D + i] = ct * z - st * x0[b * D + i];
      u[b * D + i] = xt[b * D + i] / sd;
    }
  scm::Conditioning cond;
  cond.t = d.t;
  cond.labels = d.labels;
  cond.guidance = d.guidance;
  if (o.method == scm::ConsistencyMethod::Sct) {
    dxdt = vt;
  } else {
    scm::Conditioning tc;
    tc.t = d.t;
    tc.labels = d.labels;
    auto Fc = F_of(*teacher, teacher->weights(true), B, u, tc);
    std::vector<double> Fu;
    if (!d.guidance.empty()) {
      tc.labels.assign(B, static_cast<int32_t>(c.num_classes));
      Fu = F_of(*teacher, teacher->weights(true), B, u, tc);
    }
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < D; ++i) {
        const size_t k = b * D + i;
        const double f = d.guidance.empty() ? Fc[k] : Fu[k] + d.guidance[b] * (Fc[k] - Fu[k]);
        dxdt[k] = sd * f;
      }
  }
  std::vector<double> lv;
  const auto Fm = F_of(s, s.params(), B, u, cond, &lv);
  // J = cos t sin t dF/dt along the trajectory, by central differences in (x, t)
  std::vector<double> J(B * D);
  const double h = 1e-5;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> up(u), um(u);
    scm::Conditioning cp = cond, cm = cond;
    for (int64_t i = 0; i < D; ++i) {
      up[b * D + i] += h * dxdt[b * D + i] / sd;
      um[b * D + i] -= h * dxdt[b * D + i] / sd;
    }
    cp.t[b] += h;
    cm.t[b] -= h;
    const auto Fp = F_of(s, s.params(), B, up, cp), Fmm = F_of(s, s.params(), B, um, cm);
    for (int64_t i = 0; i < D; ++i)
      J[b * D + i] = std::cos(d.t[b]) * std::sin(d.t[b]) * (Fp[b * D + i] - Fmm[b * D + i]) / (2 * h);
  }
  const double r = std::min(1.0, double(step) / double(o.tangent_warmup));
  std::vector<double> g(B * D), coef(B), dlw(B);
  Expected e{{}, 0.0};
  for (int64_t b = 0; b < B; ++b) {
    const double ct = std::cos(d.t[b]), st = std::sin(d.t[b]);
    double nn = 0;
    for (int64_t i = 0; i < D; ++i) {
      const size_t k = b * D + i;
      g[k] = -ct * ct * (sd * Fm[k] - dxdt[k]) - r * (ct * st * xt[k] + sd * J[k]);
      nn += g[k] * g[k];
    }
    const double norm = std::sqrt(nn);
    double gsq = 0;
    for (int64_t i = 0; i < D; ++i) {
      g[b * D + i] /= norm + o.tangent_c;
      gsq += g[b * D + i] * g[b * D + i];
    }
    const double w = lv[b];
    coef[b] = -2.0 * std::exp(w) / double(B * D);
    dlw[b] = (std::exp(w) * gsq / D - 1.0) / double(B);
    e.loss += (std::exp(w) * gsq / D - w) / double(B);
  }
  // surrogate S(theta) = sum_b coef_b g_b . F_theta(b) + dlw_b w_theta(b)
  std::vector<double> theta(s.params(), s.params() + s.param_count());
  auto S = [&](const std::vector<double>& th) {
    std::vector<double> l;
    const auto F = F_of(s, th.data(), B, u, cond, &l);
    double v = 0;
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t i = 0; i < D; ++i) v += coef[b] * g[b * D + i] * F[b * D + i];
      v += dlw[b] * l[b];
    }
    return v;
  };
  e.grad = fd_gradient(S, theta);
  return e;
}

}  // namespace

SCM_TEST(scm_rearranged_jvp_vs_finite_difference) {
  for (const ModelConfig& c : {small_mlp(0, false), small_dit()}) {
    Ref ops;
    scm::ModelState<Ref> m(ops, c, 3);
    randomise(m, 4);
    const int64_t D = c.sample_size();
    const double sd = c.sd;
    for (double t : {0.01, 0.7853981633974483, 1.56}) {
      const int64_t B = 1;
      auto xt = random_normal(D, 5), dxdt = random_normal(D, 6);
      const double cs = std::cos(t) * std::sin(t);
      std::vector<double> uu(2 * D);
      for (int64_t i = 0; i < D; ++i) {
        uu[i] = xt[i] / sd;
        uu[D + i] = cs * dxdt[i] / sd;
      }
      scm::Conditioning cond;
      cond.t = {t};
      cond.t_dot = {cs};
      std::vector<double> FF(2 * D);
      m.network().dual(m.params(), B, uu.data(), cond, FF.data(), nullptr, false);
      // FD of F((x + e dxdt)/sd, t + e), times cos t sin t
      const double h = 1e-6 * std::min(t, 1.5707963267948966 - t) * 100;
      std::vector<double> up(D), um(D);
      for (int64_t i = 0; i < D; ++i) {
        up[i] = (xt[i] + h * dxdt[i]) / sd;
        um[i] = (xt[i] - h * dxdt[i]) / sd;
      }
      scm::Conditioning cp = cond, cm = cond;
      cp.t = {t + h};
      cm.t = {t - h};
      auto Fp = F_of(m, m.params(), B, up, cp), Fm = F_of(m, m.params(), B, um, cm);
      std::vector<double> ref(D), J(FF.begin() + D, FF.end());
      for (int64_t i = 0; i < D; ++i) ref[i] = cs * (Fp[i] - Fm[i]) / (2 * h);
      expect_close(concat(c.kind == scm::NetworkKind::Dit ? "dit" : "mlp", " J at t=", t), J, ref, 1e-6);
    }
  }
}

SCM_TEST(scm_step_gradient_matches_independent_formula) {
  struct Case { const char* name; scm::ConsistencyMethod method; bool cfg; };
  for (const Case& k : {Case{"sCT", scm::ConsistencyMethod::Sct, false}, Case{"sCD", scm::ConsistencyMethod::Scd, false},
                        Case{"sCD+CFG", scm::ConsistencyMethod::Scd, true}}) {
    Ref ops;
    const int64_t classes = k.cfg ? 3 : 0;
    ModelConfig sc = small_mlp(classes, k.cfg), tcfg = small_mlp(classes, false);
    scm::ModelState<Ref> student(ops, sc, 1), teacher(ops, tcfg, 2);
    randomise(student, 7);
    randomise(teacher, 8);
    scm::TrainOptions o;
    o.objective = scm::Objective::Consistency;
    o.method = k.method;
    o.seed = 42;
    o.lr = 0;  // the weights stay; only the gradient is compared
    o.tangent_warmup = 100;
    o.p_mean = -1.0;
    o.p_std = 1.4;
    if (k.cfg) o.guidance_min = 1.0, o.guidance_max = 2.0;
    scm::Trainer<Ref> tr(student, k.method == scm::ConsistencyMethod::Scd ? &teacher : nullptr, o);
    const int64_t B = 4, step = 37, D = sc.sample_size();
    tr.set_steps_done(step);
    auto x0 = cast<double>(random_normal<float>(B * D, 9, 0.5));  // the step takes floats
    std::vector<int32_t> labels = {0, 1, 2, 3};
    if (!k.cfg) labels.clear();
    const scm::StepDraws d = tr.draws(step, B, labels.empty() ? nullptr : labels.data());
    Expected e = expected_consistency(student, &teacher, o, d, x0, step);
    std::vector<float> x0f(x0.begin(), x0.end());
    auto st = tr.step(x0f.data(), labels.empty() ? nullptr : labels.data(), B);
    std::vector<double> grad(tr.gradients(), tr.gradients() + student.param_count());
    expect_close(concat(k.name, " gradient vs -(2 e^w / D) g^T dF/dtheta (+ the w_phi term)"), grad, e.grad, 1e-6);
    if (!(std::abs(st.loss - e.loss) <= 1e-9 * std::max(1.0, std::abs(e.loss)))) fail(k.name, " loss ", st.loss, " vs ", e.loss);
    SCM_CHECK(st.dropped == 0 && !st.skipped);
    SCM_CHECK(std::abs(st.r - 0.37) < 1e-12, "r=", st.r);
  }
}

SCM_TEST(diffusion_step_gradient_matches_loss_fd) {
  Ref ops;
  ModelConfig c = small_dit();
  c.num_classes = 2;
  scm::ModelState<Ref> m(ops, c, 1);
  randomise(m, 11);
  scm::TrainOptions o;
  o.seed = 5;
  o.lr = 0;
  o.label_dropout = 0.5;
  scm::Trainer<Ref> tr(m, nullptr, o);
  const int64_t B = 3, D = c.sample_size();
  auto x0 = cast<double>(random_normal<float>(B * D, 12, 0.5));
  std::vector<int32_t> labels = {0, 1, 1};
  const scm::StepDraws d = tr.draws(0, B, labels.data());
  std::vector<double> u(B * D), target(B * D);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < D; ++i) {
      const double z = c.sd * scm::philox::normal_at(d.noise_seed, d.noise_offset + b * D + i);
      const double ct = std::cos(d.t[b]), st = std::sin(d.t[b]);
      u[b * D + i] = (ct * x0[b * D + i] + st * z) / c.sd;
      target[b * D + i] = (ct * z - st * x0[b * D + i]) / c.sd;
    }
  scm::Conditioning cond;
  cond.t = d.t;
  cond.labels = d.labels;
  auto loss = [&](const std::vector<double>& th) {
    auto F = F_of(m, th.data(), B, u, cond);
    double s = 0;
    for (size_t i = 0; i < F.size(); ++i) s += (F[i] - target[i]) * (F[i] - target[i]);
    return s / double(B * D);
  };
  std::vector<double> theta(m.params(), m.params() + m.param_count());
  const auto fd = fd_gradient(loss, theta);
  std::vector<float> x0f(x0.begin(), x0.end());
  auto st = tr.step(x0f.data(), labels.data(), B);
  expect_close("diffusion gradient vs FD of the loss", std::vector<double>(tr.gradients(), tr.gradients() + m.param_count()), fd, 1e-6);
  if (!(std::abs(st.loss - loss(theta)) < 1e-12)) fail("loss ", st.loss, " vs ", loss(theta));
}

SCM_TEST(training_drops_nonfinite_samples) {
  Ref ops;
  ModelConfig c = small_mlp(0, false);
  scm::ModelState<Ref> m(ops, c, 1);
  randomise(m, 13);
  scm::TrainOptions o;
  o.objective = scm::Objective::Consistency;
  o.seed = 3;
  o.lr = 0;
  scm::Trainer<Ref> tr(m, nullptr, o);
  const int64_t B = 3, D = c.sample_size();
  auto x0 = cast<double>(random_normal<float>(B * D, 14, 0.5));
  std::vector<float> x0f(x0.begin(), x0.end());
  x0f[1 * D + 2] = NAN;  // sample 1
  const scm::StepDraws d = tr.draws(0, B, nullptr);
  auto st = tr.step(x0f.data(), nullptr, B);
  SCM_CHECK(st.dropped == 1, "dropped=", st.dropped);
  SCM_CHECK(!st.skipped);
  // the step equals the step of samples {0, 2} with their own draws
  scm::StepDraws k = d;
  k.t = {d.t[0], d.t[2]};
  std::vector<double> x0k;
  for (int64_t b : {0, 2}) x0k.insert(x0k.end(), x0.begin() + b * D, x0.begin() + (b + 1) * D);
  // the kept samples' noise: the dropped step re-uses each sample's own noise, so rebuild
  // the expectation with the noise of samples 0 and 2 by shifting the stream offsets
  Expected e0 = expected_consistency(m, nullptr, o, scm::StepDraws{{d.t[0]}, {}, {}, d.noise_seed, d.noise_offset, 0, 0},
                                     std::vector<double>(x0.begin(), x0.begin() + D), 0);
  Expected e2 = expected_consistency(m, nullptr, o,
                                     scm::StepDraws{{d.t[2]}, {}, {}, d.noise_seed, d.noise_offset + 2 * D, 0, 0},
                                     std::vector<double>(x0.begin() + 2 * D, x0.begin() + 3 * D), 0);
  // each single-sample expectation is normalised by B = 1; the step's by the 2 kept samples
  std::vector<double> ref(e0.grad.size());
  for (size_t i = 0; i < ref.size(); ++i) ref[i] = 0.5 * (e0.grad[i] + e2.grad[i]);
  expect_close("gradient without the non-finite sample", std::vector<double>(tr.gradients(), tr.gradients() + m.param_count()), ref, 1e-6);
}

SCM_TEST(training_resume_is_bit_exact) {
  for (auto objective : {scm::Objective::Diffusion, scm::Objective::Consistency}) {
    scm::TableOps ops(cpu());
    ModelConfig c = small_dit();
    c.num_classes = 2;
    c.dropout = 0.1;
    scm::TrainOptions o;
    o.objective = objective;
    o.seed = 77;
    o.lr = 1e-2;
    o.ema_halflife = 50;
    o.label_dropout = 0.2;
    o.tangent_warmup = 3;
    const int64_t B = 5, D = c.sample_size(), steps = 6, split = 2;
    auto data = random_normal(steps * B * D, 15, 0.5);
    std::vector<float> df(data.begin(), data.end());
    std::vector<int32_t> labels(B);
    for (int64_t b = 0; b < B; ++b) labels[b] = static_cast<int32_t>(b % 2);
    auto batch = [&](int64_t s) { return df.data() + s * B * D; };
    // uninterrupted
    scm::ModelState<scm::TableOps> a(ops, c, 9);
    scm::Trainer<scm::TableOps> ta(a, nullptr, o);
    for (int64_t s = 0; s < steps; ++s) ta.step(batch(s), labels.data(), B);
    // interrupted after `split` steps: copy weights, EMA, moments and step into fresh objects
    scm::ModelState<scm::TableOps> b0(ops, c, 9);
    scm::Trainer<scm::TableOps> tb0(b0, nullptr, o);
    for (int64_t s = 0; s < split; ++s) tb0.step(batch(s), labels.data(), B);
    scm::ModelState<scm::TableOps> b1(ops, c, 1234);  // other initial weights: all must be restored
    scm::Trainer<scm::TableOps> tb1(b1, nullptr, o);
    const size_t P = b0.param_count();
    std::copy(b0.params(), b0.params() + P, b1.params());
    std::copy(b0.ema(), b0.ema() + P, b1.ema());
    std::copy(tb0.moment1(), tb0.moment1() + P, tb1.moment1());
    std::copy(tb0.moment2(), tb0.moment2() + P, tb1.moment2());
    tb1.set_steps_done(tb0.steps_done());
    for (int64_t s = split; s < steps; ++s) tb1.step(batch(s), labels.data(), B);
    SCM_CHECK(std::memcmp(a.params(), b1.params(), P * 4) == 0, "resumed weights differ");
    SCM_CHECK(std::memcmp(a.ema(), b1.ema(), P * 4) == 0, "resumed EMA differs");
    double moved = 0;
    scm::ModelState<scm::TableOps> init(ops, c, 9);
    for (size_t i = 0; i < P; ++i) moved += std::abs(a.params()[i] - init.params()[i]);
    SCM_CHECK(moved > 0, "training did not change the weights");
  }
}
