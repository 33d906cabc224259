// The norm family: layer norm, RMS norm, pixel norm, ADN modulation, QK-norm.
//  - double CPU kernels: dual vs central finite differences (JVP) and backward vs the finite-
//    difference gradient of L = <dy, f(inputs, params)> for every input and parameter;
//  - the float table entries (CPU backend) vs the double kernels;
//  - the CUDA entries vs the CPU entries (poisoned outputs; skipped without a GPU).
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include "framework.h"
#include "../cpu/norm.h"

using namespace scm_test;
using V = std::vector<double>;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

V seg(const V& v, size_t off, size_t n) { return V(v.begin() + off, v.begin() + off + n); }
V cat(std::initializer_list<const V*> parts) {
  V out;
  for (const V* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}
V minus(const V& a, const V& b) {
  V out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] - b[i];
  return out;
}
const double* opt(bool on, const V& v) { return on ? v.data() : nullptr; }

// The eps used by the finite-difference tests: a single-element RMS/pixel norm with a tiny eps
// is nearly sign(x), whose derivative (~eps/|x|^3) is below the finite-difference noise.
double fd_eps(int64_t cols, double eps) { return cols == 1 ? std::max(eps, 0.05) : eps; }

// ------------------------------------------------------------------ double: layer / RMS / pixel / QK
// kind: 0 layer norm, 1 RMS norm, 2 pixel norm, 3 QK-norm. affine: gamma (and beta for layer norm).
void check_rowwise(int kind, int64_t rows, int64_t cols, bool affine, uint64_t seed) {
  const size_t n = rows * cols;
  const double eps = fd_eps(cols, kind == 2 ? 1e-8 : 1e-5);
  const bool has_gamma = affine && kind != 2, has_beta = affine && kind == 0;
  const V x = random_uniform(n, seed, -2, 2), tx = random_normal(n, seed + 1);
  const V gamma = random_uniform(cols, seed + 2, 0.5, 1.5), beta = random_uniform(cols, seed + 3);
  const V dy = random_normal(n, seed + 4);
  const std::string tag = concat("kind", kind, " ", rows, "x", cols, affine ? " affine" : "");

  // y = f(x, gamma, beta) with statistics.
  auto fwd = [&](const V& xx, const V& g, const V& b, V* mean, V* rstd) {
    V y(n), m(rows), r(rows);
    switch (kind) {
      case 0: scm::cpu::layer_norm_forward<double>(rows, cols, eps, xx.data(), opt(has_gamma, g), opt(has_beta, b),
                                                   y.data(), m.data(), r.data()); break;
      case 1: scm::cpu::rms_norm_forward<double>(rows, cols, eps, xx.data(), opt(has_gamma, g), y.data(), r.data()); break;
      case 2: scm::cpu::pixel_norm_forward<double>(rows, cols, eps, xx.data(), y.data(), r.data()); break;
      default: scm::cpu::qk_norm_forward<double>(rows, cols, eps, xx.data(), g.data(), y.data(), r.data()); break;
    }
    if (mean) *mean = m;
    if (rstd) *rstd = r;
    return y;
  };
  V mean, rstd;
  const V y = fwd(x, gamma, beta, &mean, &rstd);

  // Dual vs finite differences along tx (parameters have zero tangent).
  V yd(n, kNaN), ty(n, kNaN), md(rows, kNaN), rd(rows, kNaN);
  switch (kind) {
    case 0: scm::cpu::layer_norm_dual<double>(rows, cols, eps, x.data(), tx.data(), opt(has_gamma, gamma),
                                              opt(has_beta, beta), yd.data(), ty.data(), md.data(), rd.data()); break;
    case 1: scm::cpu::rms_norm_dual<double>(rows, cols, eps, x.data(), tx.data(), opt(has_gamma, gamma), yd.data(),
                                            ty.data(), rd.data()); break;
    case 2: scm::cpu::pixel_norm_dual<double>(rows, cols, eps, x.data(), tx.data(), yd.data(), ty.data(), rd.data()); break;
    default: scm::cpu::qk_norm_dual<double>(rows, cols, eps, x.data(), tx.data(), gamma.data(), yd.data(), ty.data(),
                                            rd.data()); break;
  }
  V ty_fd = fd_directional([&](const V& xx) { return fwd(xx, gamma, beta, nullptr, nullptr); }, x, tx);
  expect_close(tag + " dual y", yd, y, 1e-14);
  expect_close(tag + " dual rstd", rd, rstd, 1e-14);
  if (kind == 0) expect_close(tag + " dual mean", md, mean, 1e-14);
  expect_close(tag + " dual ty", ty, ty_fd, 1e-6);

  // Backward vs the finite-difference gradient of L = <dy, f(x, gamma, beta)>.
  V packed = cat({&x, &gamma, &beta});
  V grad = fd_gradient([&](const V& p) {
    return dot(dy, fwd(seg(p, 0, n), seg(p, n, cols), seg(p, n + cols, cols), nullptr, nullptr));
  }, packed);
  V dx(n, kNaN);
  const V dg0 = random_uniform(cols, seed + 5), db0 = random_uniform(cols, seed + 6);
  V dg = dg0, db = db0;
  switch (kind) {
    case 0: scm::cpu::layer_norm_backward<double>(rows, cols, x.data(), opt(has_gamma, gamma), mean.data(), rstd.data(),
                                                  dy.data(), dx.data(), has_gamma ? dg.data() : nullptr,
                                                  has_beta ? db.data() : nullptr); break;
    case 1: scm::cpu::rms_norm_backward<double>(rows, cols, x.data(), opt(has_gamma, gamma), rstd.data(), dy.data(),
                                                dx.data(), has_gamma ? dg.data() : nullptr); break;
    case 2: scm::cpu::pixel_norm_backward<double>(rows, cols, x.data(), rstd.data(), dy.data(), dx.data()); break;
    default: scm::cpu::qk_norm_backward<double>(rows, cols, x.data(), gamma.data(), rstd.data(), dy.data(), dx.data(),
                                                dg.data()); break;
  }
  expect_close(tag + " dx", dx, seg(grad, 0, n), 1e-6);
  if (has_gamma || kind == 3) expect_close(tag + " dgamma", minus(dg, dg0), seg(grad, n, cols), 1e-6);
  else SCM_CHECK(dg == dg0, tag, ": dgamma touched without gamma");
  if (has_beta) expect_close(tag + " dbeta", minus(db, db0), seg(grad, n + cols, cols), 1e-6);
}

// ------------------------------------------------------------------ double: ADN
void check_adn(int64_t batch, int64_t tokens, int64_t C, uint64_t seed) {
  const size_t n = batch * tokens * C, m = batch * C;
  const int64_t rows = batch * tokens;
  const double eps = 1e-5, peps = fd_eps(C, 1e-8);
  const V x = random_uniform(n, seed, -2, 2), s = random_uniform(m, seed + 1, -2, 2), b = random_uniform(m, seed + 2);
  const V tx = random_normal(n, seed + 3), ts = random_normal(m, seed + 4), tb = random_normal(m, seed + 5);
  const V dy = random_normal(n, seed + 6);
  const std::string tag = concat("adn ", batch, "x", tokens, "x", C);

  auto fwd = [&](const V& xx, const V& ss, const V& bb, V* stats) {
    V y(n), mu(rows), r(rows), rs(batch), rb(batch);
    scm::cpu::adn_forward<double>(batch, tokens, C, eps, peps, xx.data(), ss.data(), bb.data(), y.data(), mu.data(),
                                  r.data(), rs.data(), rb.data());
    if (stats) *stats = cat({&mu, &r, &rs, &rb});
    return y;
  };
  V stats;
  const V y = fwd(x, s, b, &stats);
  const V packed = cat({&x, &s, &b}), tpacked = cat({&tx, &ts, &tb});
  auto f_packed = [&](const V& p) { return fwd(seg(p, 0, n), seg(p, n, m), seg(p, n + m, m), nullptr); };

  // Dual with all three tangents, then with only tx (ts, tb null = zero tangent).
  for (int variant = 0; variant < 2; ++variant) {
    V tp = tpacked;
    if (variant == 1) std::fill(tp.begin() + n, tp.end(), 0.0);
    V yd(n, kNaN), ty(n, kNaN), mu(rows, kNaN), r(rows, kNaN), rs(batch, kNaN), rb(batch, kNaN);
    scm::cpu::adn_dual<double>(batch, tokens, C, eps, peps, x.data(), tx.data(), s.data(),
                               variant ? nullptr : ts.data(), b.data(), variant ? nullptr : tb.data(), yd.data(),
                               ty.data(), mu.data(), r.data(), rs.data(), rb.data());
    const std::string t = tag + (variant ? " (tx only)" : "");
    expect_close(t + " dual y", yd, y, 1e-14);
    expect_close(t + " dual stats", cat({&mu, &r, &rs, &rb}), stats, 1e-14);
    expect_close(t + " dual ty", ty, fd_directional(f_packed, packed, tp), 1e-6);
  }

  const V grad = fd_gradient([&](const V& p) { return dot(dy, f_packed(p)); }, packed);
  V dx(n, kNaN), ds(m, kNaN), db(m, kNaN);
  const double* st = stats.data();
  scm::cpu::adn_backward<double>(batch, tokens, C, x.data(), s.data(), b.data(), st, st + rows, st + 2 * rows,
                                 st + 2 * rows + batch, dy.data(), dx.data(), ds.data(), db.data());
  expect_close(tag + " dx", dx, seg(grad, 0, n), 1e-6);
  expect_close(tag + " ds", ds, seg(grad, n, m), 1e-6);
  expect_close(tag + " db", db, seg(grad, n + m, m), 1e-6);
}

}  // namespace

SCM_TEST(norm_layer_norm_fd_double) {
  for (int64_t cols : {1, 7, 33})
    for (bool affine : {false, true}) check_rowwise(0, 3, cols, affine, 100 + cols);
}
SCM_TEST(norm_rms_norm_fd_double) {
  for (int64_t cols : {1, 7, 33})
    for (bool affine : {false, true}) check_rowwise(1, 3, cols, affine, 200 + cols);
}
SCM_TEST(norm_pixel_norm_fd_double) {
  for (int64_t cols : {1, 7, 33}) check_rowwise(2, 3, cols, false, 300 + cols);
}
SCM_TEST(norm_qk_norm_fd_double) {
  for (int64_t cols : {1, 7, 33}) check_rowwise(3, 5, cols, true, 400 + cols);
}
SCM_TEST(norm_adn_fd_double) {
  check_adn(2, 3, 7, 500);
  check_adn(3, 1, 1, 510);
  check_adn(1, 4, 33, 520);
}

// ------------------------------------------------------------------ float entries (any backend)
namespace {

using Outs = std::vector<std::pair<std::string, V>>;

struct Buf {
  scm::DeviceBuffer b;
  size_t n;
  Buf(const ScmKernels& k, const V& v) : b(scm::DeviceBuffer::from_host(k, cast<float>(v))), n(v.size()) {}
  Buf(const ScmKernels& k, size_t count) : b(k, std::max<size_t>(count, 1) * sizeof(float)), n(count) {
    b.fill_bytes(0xFF);  // poison: every float a NaN
  }
  float* p() const { return b.as<float>(); }
  V get() const {
    std::vector<float> h(n);
    b.download(h.data(), n);
    return cast<double>(h);
  }
};

// Inputs of one rowwise case (kind as in check_rowwise), generated in double.
struct RowCase {
  int kind;
  int64_t rows, cols;
  bool affine;
  double eps;
  V x, tx, gamma, beta, dy, dg0, db0;
  RowCase(int kind_, int64_t rows_, int64_t cols_, bool affine_, uint64_t seed)
      : kind(kind_), rows(rows_), cols(cols_), affine(affine_ || kind_ == 3), eps(fd_eps(cols_, kind_ == 2 ? 1e-8 : 1e-5)) {
    const size_t n = rows * cols;
    x = random_uniform(n, seed, -2, 2);
    tx = random_normal(n, seed + 1);
    gamma = random_uniform(cols, seed + 2, 0.5, 1.5);
    beta = random_uniform(cols, seed + 3);
    dy = random_normal(n, seed + 4);
    dg0 = random_uniform(cols, seed + 5);
    db0 = random_uniform(cols, seed + 6);
  }
  bool has_gamma() const { return affine && kind != 2; }
  bool has_beta() const { return affine && kind == 0; }
};

// Forward, dual and backward through a kernel table (float32, backend memory).
Outs run_rowwise(const ScmKernels& k, const RowCase& c) {
  const size_t n = c.rows * c.cols;
  const float eps = static_cast<float>(c.eps);
  Buf x(k, c.x), tx(k, c.tx), gamma(k, c.gamma), beta(k, c.beta), dy(k, c.dy), dg(k, c.dg0), db(k, c.db0);
  Buf y(k, n), mean(k, c.rows), rstd(k, c.rows), yd(k, n), ty(k, n), rd(k, c.rows), dx(k, n);
  float* g = c.has_gamma() ? gamma.p() : nullptr;
  float* be = c.has_beta() ? beta.p() : nullptr;
  const auto& N = k.norm;
  switch (c.kind) {
    case 0:
      ok(k, N.layer_norm_forward(c.rows, c.cols, eps, x.p(), g, be, y.p(), mean.p(), rstd.p()), "layer_norm_forward");
      ok(k, N.layer_norm_dual(c.rows, c.cols, eps, x.p(), tx.p(), g, be, yd.p(), ty.p(), nullptr, rd.p()), "layer_norm_dual");
      ok(k, N.layer_norm_backward(c.rows, c.cols, x.p(), g, mean.p(), rstd.p(), dy.p(), dx.p(), g ? dg.p() : nullptr,
                                  be ? db.p() : nullptr), "layer_norm_backward");
      break;
    case 1:
      ok(k, N.rms_norm_forward(c.rows, c.cols, eps, x.p(), g, y.p(), rstd.p()), "rms_norm_forward");
      ok(k, N.rms_norm_dual(c.rows, c.cols, eps, x.p(), tx.p(), g, yd.p(), ty.p(), rd.p()), "rms_norm_dual");
      ok(k, N.rms_norm_backward(c.rows, c.cols, x.p(), g, rstd.p(), dy.p(), dx.p(), g ? dg.p() : nullptr),
         "rms_norm_backward");
      break;
    case 2:
      ok(k, N.pixel_norm_forward(c.rows, c.cols, eps, x.p(), y.p(), rstd.p()), "pixel_norm_forward");
      ok(k, N.pixel_norm_dual(c.rows, c.cols, eps, x.p(), tx.p(), yd.p(), ty.p(), rd.p()), "pixel_norm_dual");
      ok(k, N.pixel_norm_backward(c.rows, c.cols, x.p(), rstd.p(), dy.p(), dx.p()), "pixel_norm_backward");
      break;
    default:
      ok(k, N.qk_norm_forward(c.rows, c.cols, eps, x.p(), gamma.p(), y.p(), rstd.p()), "qk_norm_forward");
      ok(k, N.qk_norm_dual(c.rows, c.cols, eps, x.p(), tx.p(), gamma.p(), yd.p(), ty.p(), rd.p()), "qk_norm_dual");
      ok(k, N.qk_norm_backward(c.rows, c.cols, x.p(), gamma.p(), rstd.p(), dy.p(), dx.p(), dg.p()), "qk_norm_backward");
      break;
  }
  Outs o = {{"y", y.get()}, {"rstd", rstd.get()}, {"dual y", yd.get()}, {"dual ty", ty.get()},
            {"dual rstd", rd.get()}, {"dx", dx.get()}};
  if (c.kind == 0) o.push_back({"mean", mean.get()});
  if (c.has_gamma()) o.push_back({"dgamma", dg.get()});
  if (c.has_beta()) o.push_back({"dbeta", db.get()});
  return o;
}

// The same through the double templates.
Outs ref_rowwise(const RowCase& c) {
  const size_t n = c.rows * c.cols;
  V y(n), mean(c.rows), rstd(c.rows), yd(n), ty(n), rd(c.rows), dx(n), dg = c.dg0, db = c.db0;
  const double* g = c.has_gamma() ? c.gamma.data() : nullptr;
  const double* be = c.has_beta() ? c.beta.data() : nullptr;
  namespace K = scm::cpu;
  switch (c.kind) {
    case 0:
      K::layer_norm_forward<double>(c.rows, c.cols, c.eps, c.x.data(), g, be, y.data(), mean.data(), rstd.data());
      K::layer_norm_dual<double>(c.rows, c.cols, c.eps, c.x.data(), c.tx.data(), g, be, yd.data(), ty.data(), nullptr,
                                 rd.data());
      K::layer_norm_backward<double>(c.rows, c.cols, c.x.data(), g, mean.data(), rstd.data(), c.dy.data(), dx.data(),
                                     g ? dg.data() : nullptr, be ? db.data() : nullptr);
      break;
    case 1:
      K::rms_norm_forward<double>(c.rows, c.cols, c.eps, c.x.data(), g, y.data(), rstd.data());
      K::rms_norm_dual<double>(c.rows, c.cols, c.eps, c.x.data(), c.tx.data(), g, yd.data(), ty.data(), rd.data());
      K::rms_norm_backward<double>(c.rows, c.cols, c.x.data(), g, rstd.data(), c.dy.data(), dx.data(),
                                   g ? dg.data() : nullptr);
      break;
    case 2:
      K::pixel_norm_forward<double>(c.rows, c.cols, c.eps, c.x.data(), y.data(), rstd.data());
      K::pixel_norm_dual<double>(c.rows, c.cols, c.eps, c.x.data(), c.tx.data(), yd.data(), ty.data(), rd.data());
      K::pixel_norm_backward<double>(c.rows, c.cols, c.x.data(), rstd.data(), c.dy.data(), dx.data());
      break;
    default:
      K::qk_norm_forward<double>(c.rows, c.cols, c.eps, c.x.data(), c.gamma.data(), y.data(), rstd.data());
      K::qk_norm_dual<double>(c.rows, c.cols, c.eps, c.x.data(), c.tx.data(), c.gamma.data(), yd.data(), ty.data(),
                              rd.data());
      K::qk_norm_backward<double>(c.rows, c.cols, c.x.data(), c.gamma.data(), rstd.data(), c.dy.data(), dx.data(),
                                  dg.data());
      break;
  }
  Outs o = {{"y", y}, {"rstd", rstd}, {"dual y", yd}, {"dual ty", ty}, {"dual rstd", rd}, {"dx", dx}};
  if (c.kind == 0) o.push_back({"mean", mean});
  if (c.has_gamma()) o.push_back({"dgamma", dg});
  if (c.has_beta()) o.push_back({"dbeta", db});
  return o;
}

struct AdnCase {
  int64_t batch, tokens, C;
  bool tangents_sb;
  double peps;  // SCM.md's 1e-8, except for the degenerate C = 1 (see fd_eps)
  V x, s, b, tx, ts, tb, dy;
  AdnCase(int64_t batch_, int64_t tokens_, int64_t C_, bool tangents_sb_, uint64_t seed)
      : batch(batch_), tokens(tokens_), C(C_), tangents_sb(tangents_sb_), peps(fd_eps(C_, 1e-8)) {
    const size_t n = batch * tokens * C, m = batch * C;
    x = random_uniform(n, seed, -2, 2);
    s = random_uniform(m, seed + 1, -2, 2);
    b = random_uniform(m, seed + 2);
    tx = random_normal(n, seed + 3);
    ts = random_normal(m, seed + 4);
    tb = random_normal(m, seed + 5);
    dy = random_normal(n, seed + 6);
  }
};
const double kAdnEps = 1e-5;

Outs run_adn(const ScmKernels& k, const AdnCase& c) {
  const size_t n = c.batch * c.tokens * c.C, m = c.batch * c.C, rows = c.batch * c.tokens;
  const float eps = static_cast<float>(kAdnEps), peps = static_cast<float>(c.peps);
  Buf x(k, c.x), s(k, c.s), b(k, c.b), tx(k, c.tx), ts(k, c.ts), tb(k, c.tb), dy(k, c.dy);
  Buf y(k, n), mean(k, rows), rstd(k, rows), rs(k, c.batch), rb(k, c.batch);
  Buf yd(k, n), ty(k, n), md(k, rows), rd(k, rows), rsd(k, c.batch), rbd(k, c.batch), dx(k, n), ds(k, m), db(k, m);
  ok(k, k.norm.adn_forward(c.batch, c.tokens, c.C, eps, peps, x.p(), s.p(), b.p(), y.p(), mean.p(), rstd.p(), rs.p(),
                           rb.p()), "adn_forward");
  ok(k, k.norm.adn_dual(c.batch, c.tokens, c.C, eps, peps, x.p(), tx.p(), s.p(), c.tangents_sb ? ts.p() : nullptr,
                        b.p(), c.tangents_sb ? tb.p() : nullptr, yd.p(), ty.p(), md.p(), rd.p(), rsd.p(), rbd.p()),
     "adn_dual");
  ok(k, k.norm.adn_backward(c.batch, c.tokens, c.C, x.p(), s.p(), b.p(), mean.p(), rstd.p(), rs.p(), rb.p(), dy.p(),
                            dx.p(), ds.p(), db.p()), "adn_backward");
  return {{"y", y.get()}, {"mean", mean.get()}, {"rstd", rstd.get()}, {"s_rstd", rs.get()}, {"b_rstd", rb.get()},
          {"dual y", yd.get()}, {"dual ty", ty.get()}, {"dual mean", md.get()}, {"dual rstd", rd.get()},
          {"dual s_rstd", rsd.get()}, {"dual b_rstd", rbd.get()}, {"dx", dx.get()}, {"ds", ds.get()}, {"db", db.get()}};
}

Outs ref_adn(const AdnCase& c) {
  const size_t n = c.batch * c.tokens * c.C, m = c.batch * c.C, rows = c.batch * c.tokens;
  V y(n), mean(rows), rstd(rows), rs(c.batch), rb(c.batch), yd(n), ty(n), dx(n), ds(m), db(m);
  scm::cpu::adn_forward<double>(c.batch, c.tokens, c.C, kAdnEps, c.peps, c.x.data(), c.s.data(), c.b.data(),
                                y.data(), mean.data(), rstd.data(), rs.data(), rb.data());
  scm::cpu::adn_dual<double>(c.batch, c.tokens, c.C, kAdnEps, c.peps, c.x.data(), c.tx.data(), c.s.data(),
                             c.tangents_sb ? c.ts.data() : nullptr, c.b.data(), c.tangents_sb ? c.tb.data() : nullptr,
                             yd.data(), ty.data(), nullptr, nullptr, nullptr, nullptr);
  scm::cpu::adn_backward<double>(c.batch, c.tokens, c.C, c.x.data(), c.s.data(), c.b.data(), mean.data(), rstd.data(),
                                 rs.data(), rb.data(), c.dy.data(), dx.data(), ds.data(), db.data());
  return {{"y", y}, {"mean", mean}, {"rstd", rstd}, {"s_rstd", rs}, {"b_rstd", rb}, {"dual y", yd}, {"dual ty", ty},
          {"dual mean", mean}, {"dual rstd", rstd}, {"dual s_rstd", rs}, {"dual b_rstd", rb}, {"dx", dx}, {"ds", ds},
          {"db", db}};
}

void compare(const std::string& tag, const Outs& got, const Outs& ref, double tol) {
  SCM_CHECK(got.size() == ref.size(), tag);
  for (size_t i = 0; i < got.size(); ++i) {
    SCM_CHECK(got[i].first == ref[i].first, tag);
    expect_close(tag + " " + got[i].first, got[i].second, ref[i].second, tol);
  }
}

const int64_t kRowCols[] = {1, 33, 300, 1100};

void float_vs_double_rowwise(int kind) {
  for (int64_t cols : kRowCols)
    for (bool affine : {false, true}) {
      if (kind >= 2 && affine) continue;  // pixel norm has no affine; QK-norm always has gamma
      RowCase c(kind, 37, cols, affine, 1000 + kind * 10 + cols);
      compare(concat("kind", kind, " cols=", cols, affine ? " affine" : ""), run_rowwise(cpu(), c), ref_rowwise(c),
              1e-5);
    }
}

void cuda_vs_cpu_rowwise(int kind) {
  const ScmKernels& gpu = require_cuda();
  for (int64_t rows : {1, 37, 300})
    for (int64_t cols : kRowCols)
      for (bool affine : {false, true}) {
        if (kind >= 2 && affine) continue;
        RowCase c(kind, rows, cols, affine, 2000 + kind * 10 + cols + rows);
        compare(concat("kind", kind, " ", rows, "x", cols, affine ? " affine" : ""), run_rowwise(gpu, c),
                run_rowwise(cpu(), c), 1e-4);
      }
}

const int64_t kAdnShapes[][3] = {{1, 1, 1}, {3, 5, 33}, {2, 70, 257}, {4, 9, 1100}};

}  // namespace

SCM_TEST(norm_layer_norm_float_vs_double) { float_vs_double_rowwise(0); }
SCM_TEST(norm_rms_norm_float_vs_double) { float_vs_double_rowwise(1); }
SCM_TEST(norm_pixel_norm_float_vs_double) { float_vs_double_rowwise(2); }
SCM_TEST(norm_qk_norm_float_vs_double) { float_vs_double_rowwise(3); }
SCM_TEST(norm_adn_float_vs_double) {
  for (auto& sh : kAdnShapes)
    for (bool tsb : {true, false}) {
      AdnCase c(sh[0], sh[1], sh[2], tsb, 3000 + sh[2]);
      compare(concat("adn ", sh[0], "x", sh[1], "x", sh[2], tsb ? "" : " (tx only)"), run_adn(cpu(), c), ref_adn(c),
              1e-5);
    }
}

SCM_TEST(norm_layer_norm_cuda_vs_cpu) { cuda_vs_cpu_rowwise(0); }
SCM_TEST(norm_rms_norm_cuda_vs_cpu) { cuda_vs_cpu_rowwise(1); }
SCM_TEST(norm_pixel_norm_cuda_vs_cpu) { cuda_vs_cpu_rowwise(2); }
SCM_TEST(norm_qk_norm_cuda_vs_cpu) { cuda_vs_cpu_rowwise(3); }
SCM_TEST(norm_adn_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  for (auto& sh : kAdnShapes)
    for (bool tsb : {true, false}) {
      AdnCase c(sh[0], sh[1], sh[2], tsb, 4000 + sh[2]);
      compare(concat("adn ", sh[0], "x", sh[1], "x", sh[2], tsb ? "" : " (tx only)"), run_adn(gpu, c),
              run_adn(cpu(), c), 1e-4);
    }
}

// The table entries reject bad sizes with a status, never crash.
SCM_TEST(norm_rejects_bad_arguments) {
  const ScmKernels& k = cpu();
  std::vector<float> x(6, 1.5f), y(6), r(2), m(2);
  SCM_CHECK(k.norm.layer_norm_forward(2, 0, 1e-5f, x.data(), nullptr, nullptr, y.data(), m.data(), r.data()) ==
            SCM_E_ARGUMENT);
  SCM_CHECK(k.norm.rms_norm_forward(-1, 3, 1e-5f, x.data(), nullptr, y.data(), r.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(k.norm.pixel_norm_forward(2, 3, -1.0f, x.data(), y.data(), r.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(k.norm.qk_norm_forward(2, 3, 1e-5f, x.data(), nullptr, y.data(), r.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(std::string(k.last_error()).find("gamma") != std::string::npos, k.last_error());
  SCM_CHECK(k.norm.adn_forward(1, 2, 3, 1e-5f, NAN, x.data(), x.data(), x.data(), y.data(), m.data(), r.data(),
                               r.data(), r.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(k.norm.adn_forward(1, 0, 3, 1e-5f, 1e-8f, x.data(), x.data(), x.data(), y.data(), m.data(), r.data(),
                               r.data(), r.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(k.norm.layer_norm_backward(2, 3, x.data(), nullptr, nullptr, r.data(), x.data(), y.data(), nullptr,
                                       nullptr) == SCM_E_ARGUMENT);  // mean missing
  ok(k, k.norm.rms_norm_forward(0, 3, 1e-5f, nullptr, nullptr, nullptr, nullptr), "empty rms_norm_forward");
}

// Parameter gradients over many rows (several row blocks in the CPU reduction) against a plain
// sum written here; layer norm and RMS norm, double.
SCM_TEST(norm_param_grads_many_rows) {
  const int64_t rows = 1300, cols = 70;
  const size_t n = rows * cols;
  const V x = random_uniform(n, 900, -2, 2), dy = random_normal(n, 901), gamma = random_uniform(cols, 902, 0.5, 1.5);
  const V g0 = random_uniform(cols, 903), b0 = random_uniform(cols, 904);
  for (bool center : {true, false}) {
    V y(n), mean(rows), rstd(rows), dx(n), dg = g0, db = b0;
    if (center) {
      scm::cpu::layer_norm_forward<double>(rows, cols, 1e-5, x.data(), gamma.data(), nullptr, y.data(), mean.data(),
                                           rstd.data());
      scm::cpu::layer_norm_backward<double>(rows, cols, x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(),
                                            dx.data(), dg.data(), db.data());
    } else {
      std::fill(mean.begin(), mean.end(), 0.0);
      scm::cpu::rms_norm_forward<double>(rows, cols, 1e-5, x.data(), gamma.data(), y.data(), rstd.data());
      scm::cpu::rms_norm_backward<double>(rows, cols, x.data(), gamma.data(), rstd.data(), dy.data(), dx.data(),
                                          dg.data());
    }
    V eg = g0, eb = b0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        eg[c] += dy[r * cols + c] * (x[r * cols + c] - mean[r]) * rstd[r];
        eb[c] += dy[r * cols + c];
      }
    expect_close(center ? "layer norm dgamma" : "rms norm dgamma", dg, eg, 1e-12);
    if (center) expect_close("layer norm dbeta", db, eb, 1e-12);
    else SCM_CHECK(db == b0, "rms_norm_backward has no dbeta");
  }
}
