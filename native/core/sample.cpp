#include "sample.h"

#include <cmath>

namespace scm {

namespace {

constexpr double kHalfPi = 1.5707963267948966;

void check_times(const std::vector<double>& times, const char* what) {
  require(!times.empty(), SCM_E_ARGUMENT, what, ": no sampling times");
  for (size_t i = 0; i < times.size(); ++i) {
    require(std::isfinite(times[i]) && times[i] > 0 && times[i] < kHalfPi, SCM_E_ARGUMENT, what, ": time ", times[i],
            " (index ", i, ") must be in (0, pi/2): the solvers divide by cos t");
    if (i > 0)
      require(times[i] < times[i - 1], SCM_E_ARGUMENT, what, ": times must decrease strictly (", times[i - 1], " then ",
              times[i], ")");
  }
}

template <class Ops>
struct Sampler {
  using T = typename Ops::T;
  ModelState<Ops>& m;
  const SampleOptions& o;
  const Ops& ops;
  const ModelConfig& c;
  const int64_t D;
  const bool cfg;  // diffusion with classifier-free guidance
  // tv, wv: a step's start and end times; gw: the CFG scale per sample, filled once (its own
  // buffer, so that an evaluation between the Euler predictor and the Heun corrector leaves the
  // step's times alone)
  typename Ops::Buffer x, x2, F, F2, u, tv, wv, gw, sc;
  int64_t nfe = 0;

  Sampler(ModelState<Ops>& model, const SampleOptions& opt, bool use_cfg)
      : m(model), o(opt), ops(model.ops()), c(model.config()), D(model.config().sample_size()), cfg(use_cfg) {
    require(o.count >= 1, SCM_E_ARGUMENT, "sample: count ", o.count, " < 1");
    require(o.batch >= 1, SCM_E_ARGUMENT, "sample: batch ", o.batch, " < 1");
    require(o.labels.empty() || static_cast<int64_t>(o.labels.size()) == o.count, SCM_E_SHAPE, "sample: ",
            o.labels.size(), " labels for ", o.count, " samples");
    require(std::isfinite(o.guidance), SCM_E_ARGUMENT, "sample: guidance ", o.guidance, " is not finite");
    const int64_t nb = std::min(o.batch, o.count), rows = (cfg ? 2 : 1) * nb;
    x = ops.alloc(nb * D);
    x2 = ops.alloc(nb * D);
    F = ops.alloc(rows * D);
    F2 = ops.alloc(nb * D);
    u = ops.alloc(rows * D);
    tv = ops.alloc(nb);
    wv = ops.alloc(nb);
    gw = ops.alloc(nb);
    sc = ops.alloc(nb);
    if (cfg) fill(gw, nb, o.guidance);
  }
  void poll() const {
    if (o.aborted && o.aborted()) fail(SCM_E_ABORTED, "sampling was aborted");
  }
  void fill(typename Ops::Buffer& b, int64_t n, double v) const {
    ops.upload(b.data(), std::vector<double>(static_cast<size_t>(n), v));
  }
  // out [nb, D] = F(x / sd, t) for the chunk's samples (with CFG when enabled).
  void eval(int64_t i0, int64_t nb, const T* xs, double t, T* out) {
    poll();
    fill(sc, nb, 1.0 / c.sd);
    ops.scale_rows(nb, D, sc.data(), xs, u.data());
    Conditioning cond;
    cond.t.assign(static_cast<size_t>(nb), t);
    if (c.num_classes > 0 && !o.labels.empty()) cond.labels.assign(o.labels.begin() + i0, o.labels.begin() + i0 + nb);
    if (c.guidance_input) cond.guidance.assign(static_cast<size_t>(nb), o.guidance);
    const T* w = m.weights(o.use_ema);
    if (!cfg) {
      m.network().forward(w, nb, u.data(), cond, out, nullptr, false);
      ++nfe;
      return;
    }
    ops.copy(u.data() + nb * D, u.data(), static_cast<size_t>(nb * D));
    cond.t.insert(cond.t.end(), static_cast<size_t>(nb), t);
    cond.labels.insert(cond.labels.end(), static_cast<size_t>(nb), static_cast<int32_t>(c.num_classes));
    m.network().forward(w, 2 * nb, u.data(), cond, F.data(), nullptr, false);
    ops.cfg_combine(nb, D, gw.data(), F.data() + nb * D, F.data(), out);
    nfe += 2;
  }
  void initial_noise(int64_t i0, int64_t nb, double scale) {
    ops.normal(x.data(), static_cast<size_t>(nb * D), sample_seed(o.seed, 0), static_cast<uint64_t>(i0 * D));
    fill(sc, nb, scale);
    ops.scale_rows(nb, D, sc.data(), x.data(), x.data());
  }
};

}  // namespace

std::vector<double> edm_time_grid(int64_t steps, double sd, double sigma_min, double sigma_max, double rho) {
  require(steps >= 1 && steps <= 100000, SCM_E_ARGUMENT, "time grid: steps ", steps, " must be in [1, 100000]");
  require(sigma_min > 0 && sigma_max > sigma_min && rho > 0 && sd > 0, SCM_E_ARGUMENT, "time grid: bad parameters");
  std::vector<double> t(static_cast<size_t>(steps));
  const double a = std::pow(sigma_max, 1.0 / rho), b = std::pow(sigma_min, 1.0 / rho);
  for (int64_t i = 0; i < steps; ++i) {
    const double f = steps == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(steps - 1);
    t[i] = std::atan(std::pow(a + f * (b - a), rho) / sd);
  }
  return t;
}

uint64_t sample_seed(uint64_t seed, uint64_t stage) {
  uint64_t z = seed ^ ((stage + 1) * 0xD1B54A32D192ED03ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <class Ops>
SampleResult sample_diffusion(ModelState<Ops>& model, const SampleOptions& o) {
  check_times(o.times, "diffusion sampler");
  const bool cfg = model.config().num_classes > 0 && o.guidance != 1.0;
  require(!cfg || !o.labels.empty(), SCM_E_ARGUMENT, "diffusion sampler: guidance ", o.guidance,
          " needs class labels (classifier-free guidance)");
  Sampler<Ops> s(model, o, cfg);
  const int64_t D = s.D, N = static_cast<int64_t>(o.times.size());
  SampleResult r;
  r.samples.resize(static_cast<size_t>(o.count * D));
  for (int64_t i0 = 0; i0 < o.count; i0 += o.batch) {
    const int64_t nb = std::min(o.batch, o.count - i0);
    s.nfe = 0;
    // x at t_0: the TrigFlow marginal is cos t x0 + sin t z; EDM starts from sigma_max eps,
    // i.e. x = sin(t_0) sd eps here (x0 unknown).
    s.initial_noise(i0, nb, std::sin(o.times[0]) * model.config().sd);
    for (int64_t i = 0; i < N; ++i) {
      const double ts = o.times[i], tn = i + 1 < N ? o.times[i + 1] : 0.0;
      s.eval(i0, nb, s.x.data(), ts, s.F2.data());
      s.fill(s.tv, nb, ts);
      s.fill(s.wv, nb, tn);
      s.ops.euler_step(nb, D, model.config().sd, s.tv.data(), s.wv.data(), s.x.data(), s.F2.data(), s.x2.data());
      if (o.solver == Solver::Heun && tn > 0) {
        s.eval(i0, nb, s.x2.data(), tn, s.F.data());  // F_t at the Euler predictor
        s.ops.heun_correct(nb, D, model.config().sd, s.tv.data(), s.wv.data(), s.x.data(), s.F2.data(), s.x2.data(),
                           s.F.data(), s.x.data());
      } else {
        s.ops.copy(s.x.data(), s.x2.data(), static_cast<size_t>(nb * D));
      }
    }
    s.ops.download(r.samples.data() + i0 * D, s.x.data(), static_cast<size_t>(nb * D));
    r.nfe = s.nfe;
  }
  return r;
}

template <class Ops>
SampleResult sample_consistency(ModelState<Ops>& model, const SampleOptions& o) {
  check_times(o.times, "consistency sampler");
  Sampler<Ops> s(model, o, false);
  const int64_t D = s.D, N = static_cast<int64_t>(o.times.size());
  const double sd = model.config().sd;
  SampleResult r;
  r.samples.resize(static_cast<size_t>(o.count * D));
  for (int64_t i0 = 0; i0 < o.count; i0 += o.batch) {
    const int64_t nb = std::min(o.batch, o.count - i0);
    s.nfe = 0;
    s.initial_noise(i0, nb, sd);  // z ~ N(0, sd^2) at t_0 (SCM.md §6)
    for (int64_t j = 0; j < N; ++j) {
      s.eval(i0, nb, s.x.data(), o.times[j], s.F2.data());
      s.fill(s.tv, nb, o.times[j]);
      if (j + 1 < N) {
        // x0 = cos t x - sin t sd F, then x <- cos t' x0 + sin t' sd z' (fused re-noising)
        s.fill(s.wv, nb, o.times[j + 1]);
        s.ops.consistency_step(nb, D, sd, s.tv.data(), s.x.data(), s.F2.data(), nullptr, s.wv.data(),
                               sample_seed(o.seed, static_cast<uint64_t>(j + 1)), static_cast<uint64_t>(i0 * D),
                               s.x2.data());
        s.ops.copy(s.x.data(), s.x2.data(), static_cast<size_t>(nb * D));
      } else {
        s.ops.consistency_step(nb, D, sd, s.tv.data(), s.x.data(), s.F2.data(), s.x2.data(), nullptr, 0, 0, nullptr);
      }
    }
    s.ops.download(r.samples.data() + i0 * D, s.x2.data(), static_cast<size_t>(nb * D));
    r.nfe = s.nfe;
  }
  return r;
}

template SampleResult sample_diffusion(ModelState<TableOps>&, const SampleOptions&);
template SampleResult sample_diffusion(ModelState<ReferenceOps>&, const SampleOptions&);
template SampleResult sample_consistency(ModelState<TableOps>&, const SampleOptions&);
template SampleResult sample_consistency(ModelState<ReferenceOps>&, const SampleOptions&);

}  // namespace scm
