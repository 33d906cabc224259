// Forward VALUES of every norm-family op (through the CPU kernel table) against formulas written
// out in the test: the finite-difference tests only check derivatives against the same forward,
// so a consistent mistake there (a "1 +" in ADN, a sum for a mean in a norm) would pass them.
#include "framework.h"

using namespace scm_test;

namespace {

constexpr int64_t kRows = 5, kCols = 13;

double mean_of(const std::vector<double>& x, int64_t r, int64_t n) {
  double s = 0;
  for (int64_t c = 0; c < n; ++c) s += x[r * n + c];
  return s / n;
}
double mean_sq(const std::vector<double>& x, int64_t r, int64_t n) {
  double s = 0;
  for (int64_t c = 0; c < n; ++c) s += x[r * n + c] * x[r * n + c];
  return s / n;
}

std::vector<double> run(const std::vector<double>& x, const std::function<int(const float*, float*)>& call) {
  auto xf = cast<float>(x);
  std::vector<float> y(x.size(), NAN);
  ok(cpu(), call(xf.data(), y.data()), "norm call");
  return cast<double>(y);
}

}  // namespace

SCM_TEST(norm_forward_values_match_formulas) {
  const ScmNormKernels& k = cpu().norm;
  auto x = random_uniform(kRows * kCols, 1, -2.0, 3.0);  // not zero-mean: a missing centring shows
  auto gamma = random_uniform(kCols, 2, 0.5, 1.5), beta = random_uniform(kCols, 3);
  const double eps = 1e-5;
  auto gf = cast<float>(gamma), bf = cast<float>(beta);
  std::vector<float> stat1(kRows), stat2(kRows);

  std::vector<double> ln(x.size()), rms(x.size()), pix(x.size()), qk(x.size());
  for (int64_t r = 0; r < kRows; ++r) {
    const double mu = mean_of(x, r, kCols);
    double var = 0;
    for (int64_t c = 0; c < kCols; ++c) var += (x[r * kCols + c] - mu) * (x[r * kCols + c] - mu);
    var /= kCols;
    const double ms = mean_sq(x, r, kCols);
    for (int64_t c = 0; c < kCols; ++c) {
      const double v = x[r * kCols + c];
      ln[r * kCols + c] = (v - mu) / std::sqrt(var + eps) * gamma[c] + beta[c];
      rms[r * kCols + c] = v / std::sqrt(ms + eps) * gamma[c];
      pix[r * kCols + c] = v / std::sqrt(ms + eps);
      qk[r * kCols + c] = v / std::sqrt(ms + eps) * gamma[c];
    }
  }
  expect_close("layer norm", run(x, [&](const float* a, float* y) {
    return k.layer_norm_forward(kRows, kCols, float(eps), a, gf.data(), bf.data(), y, stat1.data(), stat2.data()); }), ln, 1e-6);
  expect_close("RMS norm", run(x, [&](const float* a, float* y) {
    return k.rms_norm_forward(kRows, kCols, float(eps), a, gf.data(), y, stat1.data()); }), rms, 1e-6);
  expect_close("pixel norm", run(x, [&](const float* a, float* y) {
    return k.pixel_norm_forward(kRows, kCols, float(eps), a, y, stat1.data()); }), pix, 1e-6);
  expect_close("QK-norm", run(x, [&](const float* a, float* y) {
    return k.qk_norm_forward(kRows, kCols, float(eps), a, gf.data(), y, stat1.data()); }), qk, 1e-6);

  // ADN: x [B, T, C]; y = LN(x) * s / sqrt(mean(s^2) + pe) + b / sqrt(mean(b^2) + pe)
  const int64_t B = 2, T = 3, C = 7;
  auto ax = random_uniform(B * T * C, 4, -1.0, 2.0), s = random_uniform(B * C, 5, -2.0, 2.0), b = random_uniform(B * C, 6);
  const double pe = 1e-8;
  std::vector<double> adn(ax.size());
  for (int64_t i = 0; i < B; ++i) {
    const double rs = 1.0 / std::sqrt(mean_sq(s, i, C) + pe), rb = 1.0 / std::sqrt(mean_sq(b, i, C) + pe);
    for (int64_t t = 0; t < T; ++t) {
      const int64_t row = i * T + t;
      const double mu = mean_of(ax, row, C);
      double var = 0;
      for (int64_t c = 0; c < C; ++c) var += (ax[row * C + c] - mu) * (ax[row * C + c] - mu);
      var /= C;
      for (int64_t c = 0; c < C; ++c)
        adn[row * C + c] = (ax[row * C + c] - mu) / std::sqrt(var + eps) * s[i * C + c] * rs + b[i * C + c] * rb;
    }
  }
  auto sf = cast<float>(s), bbf = cast<float>(b);
  std::vector<float> m(B * T), rstd(B * T), srs(B), brs(B);
  expect_close("ADN", run(ax, [&](const float* a, float* y) {
    return k.adn_forward(B, T, C, float(eps), float(pe), a, sf.data(), bbf.data(), y, m.data(), rstd.data(), srs.data(), brs.data()); }), adn, 1e-6);
}
