// Tests of the pointwise entries for the models (native/core/kernels/pointwise.h items 7-9): head
// split/merge, per-sample modulation, per-sample row scaling.
//  - double CPU kernels: forward values against the header formulas written as plain loops here
//    (an exact index check for the head layouts), dual vs central finite differences and backward
//    vs the finite-difference gradient of L = <dy, f(inputs)> for every input, at awkward sizes;
//  - overwrite semantics (ds, db pre-filled with garbage), the aliasing the header allows, exact
//    zeros of scale_rows for dropped samples holding NaN / Inf;
//  - the float table entries (CPU backend) vs the double kernels; argument errors;
//  - the CUDA entries vs the CPU entries (poisoned outputs; skipped without a GPU).
#include <cmath>
#include <limits>
#include <string>
#include "framework.h"
#include "table_run.h"
#include "../cpu/heads.h"
#include "../cpu/modulate.h"
#include "../cpu/scale_rows.h"

using namespace scm_test;
using V = std::vector<double>;
namespace K = scm::cpu;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();
const double kFdTol = 1e-6;

V join(std::initializer_list<const V*> parts) {
  V out;
  for (const V* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}
V part(const V& v, size_t off, size_t n) { return V(v.begin() + off, v.begin() + off + n); }
// Rounds to float and back: the inputs the float entries see.
V as_float(const V& v) { return cast<double>(cast<float>(v)); }

// ------------------------------------------------------------------ head layouts
struct HeadShape {
  int64_t B, T, H, hd;
  size_t head_size() const { return size_t(B * T * H * hd); }
  std::string name(int64_t parts) const { return concat("B=", B, " T=", T, " H=", H, " hd=", hd, " parts=", parts); }
};
const HeadShape kHeadShapes[] = {{3, 7, 3, 5}, {1, 1, 1, 1}, {2, 5, 4, 8}, {1, 33, 2, 16}};

// split_heads as one function of x: the outputs out_0 .. out_{parts-1} concatenated.
V split_all(const HeadShape& s, int64_t parts, const V& x) {
  const size_t m = s.head_size();
  V out(parts * m, kNaN);
  K::split_heads<double>(s.B, s.T, s.H, s.hd, parts, x.data(), out.data(), parts > 1 ? out.data() + m : nullptr,
                         parts > 2 ? out.data() + 2 * m : nullptr);
  return out;
}
// merge_heads of the concatenated heads.
V merge_all(const HeadShape& s, int64_t parts, const V& heads) {
  const size_t m = s.head_size();
  V x(parts * m, kNaN);
  K::merge_heads<double>(s.B, s.T, s.H, s.hd, parts, heads.data(), parts > 1 ? heads.data() + m : nullptr,
                         parts > 2 ? heads.data() + 2 * m : nullptr, x.data());
  return x;
}

// Both entries through a backend's table: split of x, merge of heads (concatenated).
Named run_heads(const ScmKernels& k, const HeadShape& s, int64_t parts, const V& x, const V& heads) {
  const size_t m = s.head_size();
  TableRun run(k);
  float* dx = run.in(x);
  float* dh = run.in(heads);
  float* outs[3] = {nullptr, nullptr, nullptr};
  for (int64_t p = 0; p < parts; ++p) outs[p] = run.out(m);
  float* merged = run.out(parts * m);
  ok(k, k.pointwise.split_heads(s.B, s.T, s.H, s.hd, parts, dx, outs[0], outs[1], outs[2]), "split_heads");
  ok(k, k.pointwise.merge_heads(s.B, s.T, s.H, s.hd, parts, dh, parts > 1 ? dh + m : nullptr,
                                parts > 2 ? dh + 2 * m : nullptr, merged),
     "merge_heads");
  V split;
  for (int64_t p = 0; p < parts; ++p) {
    const V o = run.get(outs[p], m);
    split.insert(split.end(), o.begin(), o.end());
  }
  return {{"split", split}, {"merge", run.get(merged, parts * m)}};
}

// ------------------------------------------------------------------ modulation
struct ModShape {
  int64_t batch, tokens, C;
  size_t n() const { return size_t(batch * tokens * C); }
  size_t m() const { return size_t(batch * C); }
};
const ModShape kModShapes[] = {{3, 7, 5}, {2, 1, 33}, {1, 13, 70}, {4, 3, 1}};

// y = x * (offset + s) + b as a function of (x, s, b) concatenated, through the template.
V modulate_of(const ModShape& sh, double offset, const V& xsb) {
  const size_t n = sh.n(), m = sh.m();
  V y(n, kNaN);
  K::modulate_forward<double>(sh.batch, sh.tokens, sh.C, offset, xsb.data(), xsb.data() + n, xsb.data() + n + m,
                              y.data());
  return y;
}

struct ModCase {
  ModShape sh;
  float offset;
  V x, s, b, tx, ts, tb, dy, garbage;
  ModCase(const ModShape& shape, float off, uint64_t seed) : sh(shape), offset(off) {
    x = random_normal(sh.n(), seed), tx = random_normal(sh.n(), seed + 1), dy = random_normal(sh.n(), seed + 2);
    s = random_normal(sh.m(), seed + 3, 0.5), b = random_normal(sh.m(), seed + 4);
    ts = random_normal(sh.m(), seed + 5), tb = random_normal(sh.m(), seed + 6);
    garbage = random_uniform(sh.m(), seed + 7, 100.0, 1000.0);
  }
};

// Every modulation entry through a backend's table (forward, in-place forward, dual with every
// tangent / ts null / tb null / in place, backward with all outputs / dx aliasing dy / ds, db only).
Named run_modulate(const ScmKernels& k, const ModCase& c) {
  const int64_t B = c.sh.batch, L = c.sh.tokens, C = c.sh.C;
  const size_t n = c.sh.n(), m = c.sh.m();
  auto& P = k.pointwise;
  TableRun run(k);
  float *x = run.in(c.x), *s = run.in(c.s), *b = run.in(c.b), *tx = run.in(c.tx), *ts = run.in(c.ts),
        *tb = run.in(c.tb), *dy = run.in(c.dy);
  float *y = run.out(n), *yd = run.out(n), *ty = run.out(n), *ty_nots = run.out(n), *ty_notb = run.out(n);
  float *xin = run.in(c.x), *txin = run.in(c.tx), *yin = run.in(c.x);
  float *dx = run.out(n), *ds = run.in(c.garbage), *db = run.in(c.garbage);
  float *g = run.in(c.dy), *ds2 = run.in(c.garbage), *db2 = run.in(c.garbage);
  ok(k, P.modulate_forward(B, L, C, c.offset, x, s, b, y), "modulate_forward");
  ok(k, P.modulate_forward(B, L, C, c.offset, yin, s, b, yin), "modulate_forward in place");
  ok(k, P.modulate_dual(B, L, C, c.offset, x, tx, s, ts, b, tb, yd, ty), "modulate_dual");
  ok(k, P.modulate_dual(B, L, C, c.offset, x, tx, s, nullptr, b, tb, run.out(n), ty_nots), "modulate_dual ts null");
  ok(k, P.modulate_dual(B, L, C, c.offset, x, tx, s, ts, b, nullptr, run.out(n), ty_notb), "modulate_dual tb null");
  ok(k, P.modulate_dual(B, L, C, c.offset, xin, txin, s, ts, b, tb, xin, txin), "modulate_dual in place");
  ok(k, P.modulate_backward(B, L, C, c.offset, x, s, dy, dx, ds, db), "modulate_backward");
  ok(k, P.modulate_backward(B, L, C, c.offset, x, s, g, g, nullptr, nullptr), "modulate_backward dx = dy");
  ok(k, P.modulate_backward(B, L, C, c.offset, x, s, dy, nullptr, ds2, db2), "modulate_backward ds, db only");
  return {{"y", run.get(y, n)},           {"y in place", run.get(yin, n)},  {"dual y", run.get(yd, n)},
          {"dual ty", run.get(ty, n)},    {"ty (ts null)", run.get(ty_nots, n)},
          {"ty (tb null)", run.get(ty_notb, n)}, {"dual y in place", run.get(xin, n)},
          {"dual ty in place", run.get(txin, n)}, {"dx", run.get(dx, n)}, {"ds", run.get(ds, m)},
          {"db", run.get(db, m)},         {"dx in place", run.get(g, n)},   {"ds only", run.get(ds2, m)},
          {"db only", run.get(db2, m)}};
}

// ------------------------------------------------------------------ row scaling
// alpha with exact zeros (+0 and -0) in some rows; those rows of x hold NaN and +-Inf.
struct ScaleCase {
  int64_t batch, D;
  V alpha, x, dy;
  ScaleCase(int64_t b, int64_t d, uint64_t seed) : batch(b), D(d) {
    alpha = random_uniform(b, seed, 0.2, 2.0), x = random_normal(b * d, seed + 1), dy = random_normal(b * d, seed + 2);
    for (int64_t r = 0; r < b; ++r) {
      if (r % 2) alpha[r] = -alpha[r];
      if (r % 3 == 1) alpha[r] = (r / 3) % 2 ? -0.0 : 0.0;  // rows 1, 4, 7, ...: +0, -0, +0, ...
    }
  }
  V poisoned_x() const {  // NaN / Inf in the dropped rows only
    V p = x;
    for (int64_t r = 0; r < batch; ++r)
      if (alpha[r] == 0.0)
        for (int64_t i = 0; i < D; ++i) p[r * D + i] = i % 3 == 0 ? kNaN : (i % 3 == 1 ? kInf : -kInf);
    return p;
  }
};

Named run_scale(const ScmKernels& k, const ScaleCase& c) {
  const size_t n = c.batch * c.D;
  TableRun run(k);
  float *alpha = run.in(c.alpha), *x = run.in(c.poisoned_x()), *y = run.out(n), *xin = run.in(c.poisoned_x());
  ok(k, k.pointwise.scale_rows(c.batch, c.D, alpha, x, y), "scale_rows");
  ok(k, k.pointwise.scale_rows(c.batch, c.D, alpha, xin, xin), "scale_rows in place");
  return {{"y", run.get(y, n)}, {"y in place", run.get(xin, n)}};
}

}  // namespace

// ================================================================== head layouts
// The exact permutation of the header, element by element; merge and split inverse to each other;
// their duals and backwards are each other (finite differences of the linear maps).
SCM_TEST(pointwise_heads_double) {
  for (const HeadShape& s : kHeadShapes)
    for (int64_t parts : {1, 2, 3}) {
      const std::string tag = s.name(parts);
      const size_t m = s.head_size(), n = parts * m;
      const V x = random_normal(n, 10 + n + parts);
      const V heads = split_all(s, parts, x);
      const int64_t width = parts * s.H * s.hd;
      size_t checked = 0;
      for (int64_t p = 0; p < parts; ++p)
        for (int64_t b = 0; b < s.B; ++b)
          for (int64_t h = 0; h < s.H; ++h)
            for (int64_t t = 0; t < s.T; ++t)
              for (int64_t e = 0; e < s.hd; ++e) {
                const double got = heads[p * m + ((b * s.H + h) * s.T + t) * s.hd + e];
                const double want = x[(b * s.T + t) * width + (p * s.H + h) * s.hd + e];
                SCM_CHECK(got == want, tag, " out_", p, "[", b, ", ", h, ", ", t, ", ", e, "] = ", got, ", want ", want);
                ++checked;
              }
      SCM_CHECK(checked == n, tag);
      expect_close(tag + " merge(split(x))", merge_all(s, parts, heads), x, 0.0);
      const V y = random_normal(n, 20 + n);
      expect_close(tag + " split(merge(y))", split_all(s, parts, merge_all(s, parts, y)), y, 0.0);
      if (n > 1000) continue;  // the finite-difference gradients are O(n^2)
      const V tx = random_normal(n, 30 + n), dy = random_normal(n, 40 + n);
      auto split = [&](const V& v) { return split_all(s, parts, v); };
      auto merge = [&](const V& v) { return merge_all(s, parts, v); };
      expect_close(tag + " split dual", split(tx), fd_directional(split, x, tx), kFdTol);
      expect_close(tag + " split backward = merge", merge(dy), fd_gradient([&](const V& v) { return dot(dy, split(v)); }, x),
                   kFdTol);
      expect_close(tag + " merge dual", merge(tx), fd_directional(merge, y, tx), kFdTol);
      expect_close(tag + " merge backward = split", split(dy), fd_gradient([&](const V& v) { return dot(dy, merge(v)); }, y),
                   kFdTol);
    }
}

// ================================================================== modulation
SCM_TEST(pointwise_modulate_double_fd) {
  for (const ModShape& sh : kModShapes)
    for (double offset : {0.0, 1.0}) {
      ModCase c(sh, float(offset), 100 + sh.n() + int(offset));
      const int64_t B = sh.batch, L = sh.tokens, C = sh.C;
      const size_t n = sh.n(), m = sh.m();
      const std::string tag = concat(B, "x", L, "x", C, " offset=", offset);
      // Forward against the header formula, plainly.
      V want(n);
      for (int64_t i = 0; i < B; ++i)
        for (int64_t t = 0; t < L; ++t)
          for (int64_t ch = 0; ch < C; ++ch) {
            const int64_t k = (i * L + t) * C + ch;
            want[k] = c.x[k] * (offset + c.s[i * C + ch]) + c.b[i * C + ch];
          }
      const V xsb = join({&c.x, &c.s, &c.b});
      auto f = [&](const V& v) { return modulate_of(sh, offset, v); };
      const V y = f(xsb);
      expect_close(tag + " forward", y, want, 1e-15);

      // Dual: every tangent, then ts or tb or both null (zero tangent).
      const V zero_m(m, 0.0);
      struct { const V *ts, *tb; const char* what; } duals[] = {
          {&c.ts, &c.tb, "ty"}, {nullptr, &c.tb, "ty (ts null)"}, {&c.ts, nullptr, "ty (tb null)"}, {nullptr, nullptr, "ty (ts, tb null)"}};
      for (auto& d : duals) {
        V yd(n, kNaN), ty(n, kNaN);
        K::modulate_dual<double>(B, L, C, offset, c.x.data(), c.tx.data(), c.s.data(), d.ts ? d.ts->data() : nullptr,
                                 c.b.data(), d.tb ? d.tb->data() : nullptr, yd.data(), ty.data());
        expect_close(tag + " dual y", yd, y, 0.0);
        const V dir = join({&c.tx, d.ts ? d.ts : &zero_m, d.tb ? d.tb : &zero_m});
        expect_close(tag + " " + d.what, ty, fd_directional(f, xsb, dir), kFdTol);
      }
      // Dual in place: y over x, ty over tx.
      V xi = c.x, ti = c.tx, ty(n, kNaN), yd(n, kNaN);
      K::modulate_dual<double>(B, L, C, offset, c.x.data(), c.tx.data(), c.s.data(), c.ts.data(), c.b.data(), c.tb.data(),
                               yd.data(), ty.data());
      K::modulate_dual<double>(B, L, C, offset, xi.data(), ti.data(), c.s.data(), c.ts.data(), c.b.data(), c.tb.data(),
                               xi.data(), ti.data());
      expect_close(tag + " dual in place y", xi, yd, 0.0);
      expect_close(tag + " dual in place ty", ti, ty, 0.0);
      // Forward in place.
      V yi = c.x;
      K::modulate_forward<double>(B, L, C, offset, yi.data(), c.s.data(), c.b.data(), yi.data());
      expect_close(tag + " forward in place", yi, y, 0.0);

      // Backward: dx, ds, db against the gradient of <dy, y>; ds, db overwritten (pre-filled garbage).
      const V grad = fd_gradient([&](const V& v) { return dot(c.dy, f(v)); }, xsb);
      V dx(n, kNaN), ds = c.garbage, db = c.garbage;
      K::modulate_backward<double>(B, L, C, offset, c.x.data(), c.s.data(), c.dy.data(), dx.data(), ds.data(), db.data());
      expect_close(tag + " dx", dx, part(grad, 0, n), kFdTol);
      expect_close(tag + " ds (overwritten)", ds, part(grad, n, m), kFdTol);
      expect_close(tag + " db (overwritten)", db, part(grad, n + m, m), kFdTol);
      // dx aliasing dy; ds / db / dx alone.
      V g = c.dy, ds2 = c.garbage, db2 = c.garbage;
      K::modulate_backward<double>(B, L, C, offset, c.x.data(), c.s.data(), g.data(), g.data(), ds2.data(), db2.data());
      expect_close(tag + " dx in place", g, dx, 0.0);
      expect_close(tag + " ds with dx in place", ds2, ds, 0.0);
      expect_close(tag + " db with dx in place", db2, db, 0.0);
      V ds3 = c.garbage, dx3(n, kNaN), db3 = c.garbage;
      K::modulate_backward<double>(B, L, C, offset, c.x.data(), c.s.data(), c.dy.data(), nullptr, ds3.data(), nullptr);
      K::modulate_backward<double>(B, L, C, offset, c.x.data(), c.s.data(), c.dy.data(), dx3.data(), nullptr, nullptr);
      K::modulate_backward<double>(B, L, C, offset, c.x.data(), c.s.data(), c.dy.data(), nullptr, nullptr, db3.data());
      expect_close(tag + " ds alone", ds3, ds, 0.0);
      expect_close(tag + " dx alone", dx3, dx, 0.0);
      expect_close(tag + " db alone", db3, db, 0.0);
    }
}

// No tokens: ds = db = 0 (sums over nothing), written over the garbage; x and dy may be null.
SCM_TEST(pointwise_modulate_no_tokens) {
  std::vector<float> s = cast<float>(random_normal(6, 1)), ds(6, 123.0f), db(6, -7.0f);
  ok(cpu(), cpu().pointwise.modulate_backward(2, 0, 3, 1.0f, nullptr, s.data(), nullptr, nullptr, ds.data(), db.data()),
     "modulate_backward tokens=0");
  for (int i = 0; i < 6; ++i) SCM_CHECK(ds[i] == 0.0f && db[i] == 0.0f, "i=", i, ": ds ", ds[i], ", db ", db[i]);
  ok(cpu(), cpu().pointwise.modulate_forward(2, 0, 3, 1.0f, nullptr, nullptr, nullptr, nullptr), "forward tokens=0");
}

// ================================================================== row scaling
SCM_TEST(pointwise_scale_rows_double) {
  const int64_t sizes[][2] = {{5, 7}, {3, 1}, {7, 40}, {4, 20011}};
  for (auto& sz : sizes) {
    const int64_t batch = sz[0], D = sz[1];
    ScaleCase c(batch, D, 200 + batch * D);
    const std::string tag = concat(batch, "x", D);
    const size_t n = batch * D;
    const V xp = c.poisoned_x();
    V y(n, 5.0);
    K::scale_rows<double>(batch, D, c.alpha.data(), xp.data(), y.data());
    size_t dropped = 0;
    for (int64_t r = 0; r < batch; ++r)
      for (int64_t i = 0; i < D; ++i) {
        const size_t k = r * D + i;
        if (c.alpha[r] == 0.0) {
          SCM_CHECK(y[k] == 0.0 && !std::signbit(y[k]), tag, " dropped row ", r, ": y[", i, "] = ", y[k], " (x ", xp[k], ")");
          ++dropped;
        } else {
          SCM_CHECK(y[k] == c.alpha[r] * xp[k], tag, " row ", r, ": y[", i, "] = ", y[k]);
        }
      }
    SCM_CHECK(dropped > 0 && dropped < n, tag, ": the case must have dropped and kept rows");
    V yi = xp;
    K::scale_rows<double>(batch, D, c.alpha.data(), yi.data(), yi.data());
    expect_close(tag + " in place", yi, y, 0.0);
    // A non-finite x of a kept row stays visible.
    V xn = c.x;
    xn[0] = kNaN;
    K::scale_rows<double>(batch, D, c.alpha.data(), xn.data(), yi.data());
    SCM_CHECK(std::isnan(yi[0]), tag, ": NaN of a kept row must propagate");
    if (n > 400) continue;  // the finite-difference gradient is O(n^2)
    // Linear in x: the dual is the entry on the tangent, the backward the entry on dy.
    auto f = [&](const V& v) {
      V out(n, kNaN);
      K::scale_rows<double>(batch, D, c.alpha.data(), v.data(), out.data());
      return out;
    };
    const V tx = random_normal(n, 300 + n);
    expect_close(tag + " dual", f(tx), fd_directional(f, c.x, tx), kFdTol);
    expect_close(tag + " backward", f(c.dy), fd_gradient([&](const V& v) { return dot(c.dy, f(v)); }, c.x), kFdTol);
  }
}

// ================================================================== float table vs double
SCM_TEST(pointwise_model_float_vs_double) {
  for (const HeadShape& s : kHeadShapes)
    for (int64_t parts : {1, 2, 3}) {
      const size_t n = parts * s.head_size();
      const V x = as_float(random_normal(n, 400 + n)), heads = as_float(random_normal(n, 401 + n));
      expect_all_close(s.name(parts), run_heads(cpu(), s, parts, x, heads),
                       {{"split", split_all(s, parts, x)}, {"merge", merge_all(s, parts, heads)}}, 0.0);
    }
  for (const ModShape& sh : {ModShape{3, 7, 5}, ModShape{2, 1, 33}, ModShape{1, 300, 70}, ModShape{5, 17, 130}})
    for (float offset : {0.0f, 1.0f}) {
      ModCase c(sh, offset, 500 + sh.n());
      for (V* v : {&c.x, &c.s, &c.b, &c.tx, &c.ts, &c.tb, &c.dy}) *v = as_float(*v);
      const int64_t B = sh.batch, L = sh.tokens, C = sh.C;
      const size_t n = sh.n(), m = sh.m();
      V y(n), ty(n), ty1(n), ty2(n), dx(n), ds(m), db(m), scratch(n);
      K::modulate_forward<double>(B, L, C, offset, c.x.data(), c.s.data(), c.b.data(), y.data());
      K::modulate_dual<double>(B, L, C, offset, c.x.data(), c.tx.data(), c.s.data(), c.ts.data(), c.b.data(),
                               c.tb.data(), scratch.data(), ty.data());
      K::modulate_dual<double>(B, L, C, offset, c.x.data(), c.tx.data(), c.s.data(), nullptr, c.b.data(), c.tb.data(),
                               scratch.data(), ty1.data());
      K::modulate_dual<double>(B, L, C, offset, c.x.data(), c.tx.data(), c.s.data(), c.ts.data(), c.b.data(), nullptr,
                               scratch.data(), ty2.data());
      K::modulate_backward<double>(B, L, C, offset, c.x.data(), c.s.data(), c.dy.data(), dx.data(), ds.data(), db.data());
      expect_all_close(concat("modulate ", B, "x", L, "x", C, " offset=", offset), run_modulate(cpu(), c),
                       {{"y", y}, {"y in place", y}, {"dual y", y}, {"dual ty", ty}, {"ty (ts null)", ty1},
                        {"ty (tb null)", ty2}, {"dual y in place", y}, {"dual ty in place", ty}, {"dx", dx},
                        {"ds", ds}, {"db", db}, {"dx in place", dx}, {"ds only", ds}, {"db only", db}},
                       1e-6);
    }
  const int64_t scale_sizes[][2] = {{5, 7}, {3, 1}, {4, 20011}};
  for (auto& sz : scale_sizes) {
    const int64_t batch = sz[0], D = sz[1];
    ScaleCase c(batch, D, 600 + batch * D);
    c.alpha = as_float(c.alpha), c.x = as_float(c.x);
    const V xp = c.poisoned_x();
    V y(batch * D);
    K::scale_rows<double>(batch, D, c.alpha.data(), xp.data(), y.data());
    expect_all_close(concat("scale_rows ", batch, "x", D), run_scale(cpu(), c), {{"y", y}, {"y in place", y}}, 1e-7);
  }
}

// ================================================================== argument errors
SCM_TEST(pointwise_model_rejects_bad_arguments) {
  const ScmKernels& k = cpu();
  auto& P = k.pointwise;
  std::vector<float> a(64, 0.5f), b1(64), b2(64), b3(64);
  float *x = a.data(), *o0 = b1.data(), *o1 = b2.data(), *o2 = b3.data();
  auto expect_arg = [&](int rc, const char* what) {
    SCM_CHECK(rc == SCM_E_ARGUMENT, what, ": status ", rc, " (", k.last_error(), ")");
  };
  // Head layouts: parts outside 1..3, negative sizes, missing / extra / aliased pointers.
  expect_arg(P.split_heads(1, 2, 1, 2, 0, x, o0, nullptr, nullptr), "split parts=0");
  expect_arg(P.split_heads(1, 2, 1, 2, 4, x, o0, o1, o2), "split parts=4");
  expect_arg(P.merge_heads(1, 2, 1, 2, 4, o0, o1, o2, x), "merge parts=4");
  expect_arg(P.split_heads(-1, 2, 1, 2, 1, x, o0, nullptr, nullptr), "split B<0");
  expect_arg(P.merge_heads(1, 2, 1, -2, 1, o0, nullptr, nullptr, x), "merge hd<0");
  expect_arg(P.split_heads(1, 2, 1, 2, 2, x, o0, nullptr, nullptr), "split out1 null, parts=2");
  expect_arg(P.split_heads(1, 2, 1, 2, 2, x, o0, o1, o2), "split out2 given, parts=2");
  expect_arg(P.split_heads(0, 2, 1, 2, 1, x, o0, o1, nullptr), "split out1 given, parts=1 (even when empty)");
  expect_arg(P.split_heads(1, 2, 1, 2, 1, nullptr, o0, nullptr, nullptr), "split x null");
  expect_arg(P.split_heads(1, 2, 1, 2, 1, x, x, nullptr, nullptr), "split out0 = x");
  expect_arg(P.split_heads(1, 2, 1, 2, 2, x, o0, o0, nullptr), "split out0 = out1");
  expect_arg(P.merge_heads(1, 2, 1, 2, 2, o0, x, nullptr, x), "merge in1 = x");
  expect_arg(P.merge_heads(1, 2, 1, 2, 3, o0, o1, nullptr, x), "merge in2 null, parts=3");
  ok(k, P.merge_heads(1, 2, 1, 2, 2, o0, o0, nullptr, x), "merge of the same input twice");
  ok(k, P.split_heads(0, 2, 3, 4, 3, nullptr, nullptr, nullptr, nullptr), "empty split_heads");
  // Modulation.
  expect_arg(P.modulate_forward(-1, 2, 3, 1.0f, x, o0, o1, o2), "modulate batch<0");
  expect_arg(P.modulate_forward(1, 2, -3, 1.0f, x, o0, o1, o2), "modulate C<0");
  expect_arg(P.modulate_forward(1, 2, 3, 1.0f, x, nullptr, o1, o2), "modulate s null");
  expect_arg(P.modulate_forward(1, 2, 3, 1.0f, x, o0, nullptr, o2), "modulate b null");
  expect_arg(P.modulate_forward(1, 2, 3, NAN, x, o0, o1, o2), "modulate offset NaN");
  expect_arg(P.modulate_dual(1, 2, 3, 1.0f, x, nullptr, o0, nullptr, o1, nullptr, o2, o2 + 8), "modulate_dual tx null");
  expect_arg(P.modulate_dual(1, 2, 3, 1.0f, x, x, o0, nullptr, o1, nullptr, o2, nullptr), "modulate_dual ty null");
  expect_arg(P.modulate_backward(1, 2, 3, 1.0f, x, o0, nullptr, o1, o2, nullptr), "modulate_backward dy null");
  expect_arg(P.modulate_backward(1, 2, 3, 1.0f, x, nullptr, x, o1, o2, nullptr), "modulate_backward s null");
  ok(k, P.modulate_backward(0, 5, 3, 1.0f, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), "empty backward");
  // Row scaling.
  expect_arg(P.scale_rows(-2, 3, x, o0, o1), "scale_rows batch<0");
  expect_arg(P.scale_rows(2, -3, x, o0, o1), "scale_rows per_sample<0");
  expect_arg(P.scale_rows(2, 3, nullptr, o0, o1), "scale_rows alpha null");
  expect_arg(P.scale_rows(2, 3, x, o0, nullptr), "scale_rows y null");
  ok(k, P.scale_rows(0, 3, nullptr, nullptr, nullptr), "empty scale_rows");
}

// ================================================================== CUDA vs CPU (skipped without a GPU)
SCM_TEST(pointwise_heads_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  const HeadShape shapes[] = {{3, 7, 3, 5}, {1, 1, 1, 1}, {2, 257, 6, 64}, {5, 33, 12, 32}, {1, 1031, 3, 17}};
  for (const HeadShape& s : shapes)
    for (int64_t parts : {1, 2, 3}) {
      const size_t n = parts * s.head_size();
      const V x = random_normal(n, 700 + n), heads = random_normal(n, 701 + n);
      expect_all_close(s.name(parts), run_heads(gpu, s, parts, x, heads), run_heads(cpu(), s, parts, x, heads), 0.0);
    }
}

SCM_TEST(pointwise_modulate_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  const ModShape shapes[] = {{3, 7, 5}, {2, 1, 33}, {1, 4099, 70}, {5, 257, 129}, {64, 256, 384}, {1, 100003, 3},
                             {2, 3, 5000}};
  for (const ModShape& sh : shapes)
    for (float offset : {0.0f, 1.0f}) {
      ModCase c(sh, offset, 800 + sh.n());
      // The sums over up to 1e5 tokens in fp32 (a fixed tree) against double on the CPU.
      expect_all_close(concat("modulate ", sh.batch, "x", sh.tokens, "x", sh.C, " offset=", offset),
                       run_modulate(gpu, c), run_modulate(cpu(), c), 1e-5);
    }
  // No tokens: ds and db zero-filled over the garbage.
  TableRun run(gpu);
  float *s = run.in(random_normal(6, 3)), *ds = run.in(V(6, 123.0)), *db = run.in(V(6, -7.0));
  ok(gpu, gpu.pointwise.modulate_backward(2, 0, 3, 1.0f, nullptr, s, nullptr, nullptr, ds, db), "tokens=0");
  expect_close("tokens=0 ds", run.get(ds, 6), V(6, 0.0), 0.0);
  expect_close("tokens=0 db", run.get(db, 6), V(6, 0.0), 0.0);
}

SCM_TEST(pointwise_scale_rows_cuda_vs_cpu) {
  const ScmKernels& gpu = require_cuda();
  const int64_t sizes[][2] = {{5, 7}, {3, 1}, {7, 1031}, {70000, 3}, {4, 1000003}};
  for (auto& sz : sizes) {
    const int64_t batch = sz[0], D = sz[1];
    ScaleCase c(batch, D, 900 + batch + D);
    expect_all_close(concat("scale_rows ", batch, "x", D), run_scale(gpu, c), run_scale(cpu(), c), 0.0);
  }
}
