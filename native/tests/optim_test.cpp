// Tests of the optim family (native/core/kernels/optim.h): Adam, AdamW, RAdam, RAdamW steps and
// the fused EMA, against a plain scalar double-precision reference written here.
#include <cstring>

#include "framework.h"
#include "../cpu/optim.h"

using namespace scm_test;

namespace {

// The plain reference: one element, one step, everything in double, straight from the
// papers (Kingma & Ba; Loshchilov & Hutter; Liu et al., threshold rho_t > 5).
struct RefState { double p, m, v, ema; };

void ref_step(const ScmOptimParams& q, double grad, RefState& s, bool with_ema) {
  const double lr = q.lr, b1 = q.beta1, b2 = q.beta2, eps = q.eps, wd = q.weight_decay;
  const double t = double(q.step);
  double g = grad * double(q.grad_scale);
  const bool decoupled = q.kind == SCM_OPTIM_ADAMW || q.kind == SCM_OPTIM_RADAMW;
  const bool rectified = q.kind == SCM_OPTIM_RADAM || q.kind == SCM_OPTIM_RADAMW;
  if (decoupled) {
    s.p = s.p - lr * wd * s.p;
  } else {
    g = g + wd * s.p;
  }
  s.m = b1 * s.m + (1 - b1) * g;
  s.v = b2 * s.v + (1 - b2) * g * g;
  const double mhat = s.m / (1 - std::pow(b1, t));
  const double vhat = s.v / (1 - std::pow(b2, t));
  if (!rectified) {
    s.p = s.p - lr * mhat / (std::sqrt(vhat) + eps);
  } else {
    const double rho_inf = 2 / (1 - b2) - 1;
    const double rho_t = rho_inf - 2 * t * std::pow(b2, t) / (1 - std::pow(b2, t));
    if (rho_t > 5) {
      const double r = std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
      s.p = s.p - lr * r * mhat / (std::sqrt(vhat) + eps);
    } else {
      s.p = s.p - lr * mhat;
    }
  }
  if (with_ema) s.ema = q.ema_decay * s.ema + (1 - q.ema_decay) * s.p;
}

ScmOptimParams params(int kind, int64_t step, float beta2, float wd, float grad_scale, float ema_decay) {
  ScmOptimParams q{};
  q.kind = kind;
  q.step = step;
  q.lr = 1e-2f;
  q.beta1 = 0.9f;
  q.beta2 = beta2;
  q.eps = 1e-8f;
  q.weight_decay = wd;
  q.grad_scale = grad_scale;
  q.ema_decay = ema_decay;
  return q;
}

const char* kind_name(int kind) {
  static const char* names[] = {"adam", "adamw", "radam", "radamw"};
  return names[kind];
}

// Runs `steps` steps of the double template (or the float table entry) and of the reference on
// n elements with fresh random gradients every step; returns the worst relative error of
// param, m, v, ema over all steps (relative to max(|ref|, 1e-3 * scale) per element group).
template <class T>
double run_compare(int kind, int64_t n, int steps, float beta2, float wd, float grad_scale, bool with_ema,
                   bool use_table, uint64_t seed) {
  auto p0 = random_normal(n, seed, 0.5);
  std::vector<T> p = cast<T>(p0), m(n, T(0)), v(n, T(0)), ema = cast<T>(random_normal(n, seed + 1, 0.5));
  std::vector<RefState> ref(n);
  for (int64_t i = 0; i < n; ++i) ref[i] = {double(p[i]), 0, 0, double(ema[i])};
  double worst = 0;
  for (int step = 1; step <= steps; ++step) {
    auto g = cast<T>(random_normal(n, seed + 100 + step, step % 3 == 0 ? 3.0 : 0.2));
    const ScmOptimParams q = params(kind, step, beta2, wd, grad_scale, 0.95f);
    if (use_table) {
      if constexpr (std::is_same_v<T, float>) {
        ok(cpu(), cpu().optim.step(&q, n, p.data(), g.data(), m.data(), v.data(), with_ema ? ema.data() : nullptr),
           "optim.step");
      }
    } else {
      scm::cpu::optim_step<T>(&q, n, p.data(), g.data(), m.data(), v.data(), with_ema ? ema.data() : nullptr);
    }
    std::vector<double> rp(n), rm(n), rv(n), re(n);
    for (int64_t i = 0; i < n; ++i) {
      ref_step(q, double(g[i]), ref[i], with_ema);
      rp[i] = ref[i].p;
      rm[i] = ref[i].m;
      rv[i] = ref[i].v;
      re[i] = ref[i].ema;
    }
    if (use_table) {  // compare, then resynchronise the reference with the float state
      worst = std::max({worst, rel_l2(p, rp), rel_l2(m, rm), rel_l2(v, rv), with_ema ? rel_l2(ema, re) : 0.0});
      for (int64_t i = 0; i < n; ++i) ref[i] = {double(p[i]), double(m[i]), double(v[i]), double(ema[i])};
    } else {
      worst = std::max({worst, rel_l2(p, rp), rel_l2(m, rm), rel_l2(v, rv), with_ema ? rel_l2(ema, re) : 0.0});
    }
  }
  return worst;
}

}  // namespace

SCM_TEST(optim_steps_match_scalar_reference) {
  double worst = 0;
  for (int kind = SCM_OPTIM_ADAM; kind <= SCM_OPTIM_RADAMW; ++kind)
    for (float beta2 : {0.99f, 0.999f})
      for (int64_t n : {1, 7, 1031}) {
        const double e = run_compare<double>(kind, n, 12, beta2, 0.05f, 0.7f, kind % 2 == 0, false, 10 + n + kind);
        SCM_CHECK(e <= 1e-6, kind_name(kind), " beta2=", beta2, " n=", n, ": rel err ", e);
        worst = std::max(worst, e);
      }
  note(concat("double template worst rel err ", worst));
}

SCM_TEST(optim_float_entry_matches_reference) {
  double worst = 0;
  for (int kind = SCM_OPTIM_ADAM; kind <= SCM_OPTIM_RADAMW; ++kind)
    for (int64_t n : {1, 13, 40009}) {
      const double e = run_compare<float>(kind, n, 10, 0.99f, 0.01f, 1.0f, true, true, 20 + n + kind);
      SCM_CHECK(e <= 1e-6, kind_name(kind), " n=", n, ": rel err ", e);
      worst = std::max(worst, e);
    }
  note(concat("float entry worst rel err per step ", worst));
}

// RAdam's two regimes: with beta2 = 0.99, rho_t <= 5 for t <= 5 (plain momentum step, whose
// size does not depend on v at all), rectified afterwards.
SCM_TEST(optim_radam_regimes) {
  const int64_t n = 5;
  for (int64_t t = 1; t <= 8; ++t) {
    const double b2 = 0.99f, rho_inf = 2 / (1 - b2) - 1;
    const double rho_t = rho_inf - 2 * t * std::pow(b2, double(t)) / (1 - std::pow(b2, double(t)));
    std::vector<double> p(n, 1.0), g = random_normal(n, 30 + t), m(n, 0.1), v1(n, 0.01), v2(n, 4.0);
    auto p1 = p, p2 = p, m1 = m, m2 = m;
    ScmOptimParams q = params(SCM_OPTIM_RADAM, t, 0.99f, 0.0f, 1.0f, 0.0f);
    scm::cpu::optim_step<double>(&q, n, p1.data(), g.data(), m1.data(), v1.data(), nullptr);
    scm::cpu::optim_step<double>(&q, n, p2.data(), g.data(), m2.data(), v2.data(), nullptr);
    if (rho_t > 5) {
      SCM_CHECK(std::abs(p1[0] - p2[0]) > 1e-4, "t=", t, ": rectified step should depend on v");
    } else {
      SCM_CHECK(p1 == p2, "t=", t, ": un-adapted step depends on v");
      const double b1 = 0.9f, mh = (b1 * 0.1 + (1 - b1) * g[0]) / (1 - std::pow(b1, double(t)));
      SCM_CHECK(std::abs(p1[0] - (1.0 - double(1e-2f) * mh)) <= 1e-12, "t=", t, " momentum step ", p1[0]);
    }
  }
}

SCM_TEST(optim_ema_and_decoupled_decay) {
  // Zero learning rate: only the decoupled decay (none when lr = 0) and the EMA act.
  const int64_t n = 9;
  auto p = random_normal(n, 40), g = random_normal(n, 41), ema = random_normal(n, 42);
  std::vector<double> m(n, 0), v(n, 0);
  auto p_before = p, ema_before = ema;
  ScmOptimParams q = params(SCM_OPTIM_ADAMW, 3, 0.999f, 0.1f, 1.0f, 0.75f);
  q.lr = 0;
  scm::cpu::optim_step<double>(&q, n, p.data(), g.data(), m.data(), v.data(), ema.data());
  SCM_CHECK(p == p_before, "lr = 0 changed the parameters");
  for (int64_t i = 0; i < n; ++i) {
    SCM_CHECK(std::abs(ema[i] - (0.75 * ema_before[i] + 0.25 * p[i])) <= 1e-15, "ema i=", i);
    SCM_CHECK(std::abs(m[i] - (1 - double(0.9f)) * g[i]) <= 1e-15 * std::abs(g[i]), "m i=", i);
  }
  // ema_decay = 1 keeps the EMA; ema_decay = 0 copies the new parameters.
  q = params(SCM_OPTIM_ADAM, 1, 0.99f, 0.0f, 1.0f, 1.0f);
  auto e1 = ema;
  scm::cpu::optim_step<double>(&q, n, p.data(), g.data(), m.data(), v.data(), e1.data());
  SCM_CHECK(e1 == ema, "ema_decay = 1 changed the EMA");
  q.ema_decay = 0;
  q.step = 2;
  scm::cpu::optim_step<double>(&q, n, p.data(), g.data(), m.data(), v.data(), e1.data());
  SCM_CHECK(e1 == p, "ema_decay = 0 did not copy the parameters");
  // Bad arguments are rejected by the table entry.
  std::vector<float> pf(3, 1), gf(3, 1), mf(3, 0), vf(3, 0);
  ScmOptimParams bad = params(SCM_OPTIM_ADAM, 0, 0.99f, 0, 1, 0.9f);
  SCM_CHECK(cpu().optim.step(&bad, 3, pf.data(), gf.data(), mf.data(), vf.data(), nullptr) == SCM_E_ARGUMENT);
  bad = params(7, 1, 0.99f, 0, 1, 0.9f);
  SCM_CHECK(cpu().optim.step(&bad, 3, pf.data(), gf.data(), mf.data(), vf.data(), nullptr) == SCM_E_ARGUMENT);
  bad = params(SCM_OPTIM_ADAM, 1, 1.0f, 0, 1, 0.9f);
  SCM_CHECK(cpu().optim.step(&bad, 3, pf.data(), gf.data(), mf.data(), vf.data(), nullptr) == SCM_E_ARGUMENT);
  SCM_CHECK(cpu().optim.step(nullptr, 3, pf.data(), gf.data(), mf.data(), vf.data(), nullptr) == SCM_E_ARGUMENT);
}

SCM_TEST(cuda_optim_matches_cpu) {
  const ScmKernels& k = require_cuda();
  for (int kind = SCM_OPTIM_ADAM; kind <= SCM_OPTIM_RADAMW; ++kind)
    for (int64_t n : {1, 7, 1031, 1000003}) {
      auto p = random_normal<float>(n, 50 + n, 0.5), ema = random_normal<float>(n, 51 + n, 0.5);
      std::vector<float> m(n, 0), v(n, 0);
      auto dp = scm::DeviceBuffer::from_host(k, p), dm = scm::DeviceBuffer::from_host(k, m),
           dv = scm::DeviceBuffer::from_host(k, v), de = scm::DeviceBuffer::from_host(k, ema);
      for (int step = 1; step <= 8; ++step) {
        auto g = random_normal<float>(n, 60 + step, 0.3);
        const bool with_ema = step % 2 == 1;
        ScmOptimParams q = params(kind, step, 0.99f, 0.02f, 0.5f, 0.9f);
        ok(cpu(), cpu().optim.step(&q, n, p.data(), g.data(), m.data(), v.data(), with_ema ? ema.data() : nullptr),
           "cpu");
        auto dg = scm::DeviceBuffer::from_host(k, g);
        ok(k, k.optim.step(&q, n, dp.as(), dg.as(), dm.as(), dv.as(), with_ema ? de.as() : nullptr), "cuda");
      }
      const std::string what = concat(kind_name(kind), " n=", n);
      expect_close(what + " param", dp.to_vector<float>(), p, 1e-5);
      expect_close(what + " m", dm.to_vector<float>(), m, 1e-5);
      expect_close(what + " v", dv.to_vector<float>(), v, 1e-5);
      expect_close(what + " ema", de.to_vector<float>(), ema, 1e-5);
    }
}
