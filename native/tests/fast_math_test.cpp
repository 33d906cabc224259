// The float fast path of bias + activation (native/cpu/pointwise_fast.h) and the vector e^x of
// native/cpu/fast_math.h, against long-double formulas written out here (not the double
// templates of pointwise.h: their 1 + tanh(u) loses GELU's negative tail below z = -9.3):
//  - exp8: random and edge inputs within 2 ulp; +0 below -104, +inf above 88.73, NaN, +-0 -> 1;
//  - act and act' of SiLU and GELU-tanh, both ISA variants, at awkward row / col sizes with and
//    without bias and over a dense sweep of z (act' read as the dual's ty at tx = 1), in ulp
//    (bounds below, measured maxima in the notes);
//  - dual ty = act'(z) tx in ulp, backward dx = the dual's ty bit for bit, dbias = the column
//    sums (bit for bit in the reference's order, and vs long double); in-place calls;
//  - the baseline and AVX2 variants bit-identical; the CPU table entries run the fast path;
//  - special values: +-inf, NaN, huge +-z, x + b overflowing float, +-0, tiny and subnormal z.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "framework.h"
#include "../cpu/fast_math.h"
#include "../cpu/pointwise_fast.h"

using namespace scm_test;
namespace F = scm::cpu::fast;
using LD = long double;

namespace {

// ---------------------------------------------------------------- measured bounds (ulp)
// exp8 over its whole range.
constexpr double kExpUlp = 2.0;
// act(z), act'(z) and act'(z) t in ulp of the value (the fast path works in double and rounds
// once: measured <= 0.51 ulp). act' also in ulp of max(|act'|, sigma(w)), the size of the terms
// that cancel at its zero crossings (SiLU' at z = -1.2785, GELU' at z = -0.7518; the sweep
// samples both densely, down to the floats next to them): within kNearZero sigma(w) of a
// crossing the double rounding of those terms (~1e-16 sigma) can exceed an ulp of act' itself
// (measured 1.2 ulp at |act'| = 1.3e-8 sigma), so there only the second bound applies.
constexpr double kActUlp = 1.0;
constexpr double kDerivUlp = 1.0;
constexpr double kNearZero = 0x1p-20;

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// The spacing of floats at |r| (2^-149 in the subnormal range; beyond FLT_MAX that of FLT_MAX).
LD ulp(LD r) {
  r = fabsl(r);
  if (r < 0x1p-126L) return 0x1p-149L;
  if (r >= FLT_MAX) return 0x1p104L;
  int e;
  frexpl(r, &e);  // r = m 2^e, m in [0.5, 1)
  return ldexpl(1.0L, e - 24);
}
// |got - ref| in ulp of `scale` (default ref); 0 when both are NaN or equal (infinities too);
// +inf when only one is NaN or got is infinite and ref does not round to that infinity.
double ulp_err(float got, LD ref, LD scale) {
  if (std::isnan(got) || std::isnan(ref)) return std::isnan(got) && std::isnan(ref) ? 0.0 : INFINITY;
  if (static_cast<LD>(got) == ref) return 0.0;
  const float rounded = static_cast<float>(ref);
  if (std::isinf(got) || std::isinf(rounded)) return got == rounded ? 0.0 : INFINITY;
  return static_cast<double>(fabsl(static_cast<LD>(got) - ref) / ulp(scale));
}
double ulp_err(float got, LD ref) { return ulp_err(got, ref, ref); }

// ---------------------------------------------------------------- long-double formulas
const LD kK = sqrtl(2.0L / 3.14159265358979323846264338327950288L);  // sqrt(2/pi)
const LD kC = 0.044715L;

LD silu_ref(LD z) { return z / (1 + expl(-z)); }
// s + z s (1 - s), s = 1 / (1 + e^-z), with s and 1 - s each formed without cancellation.
LD silu_deriv_ref(LD z) {
  LD s, sc;
  if (z >= 0) {
    const LD e = expl(-z);
    s = 1 / (1 + e), sc = e / (1 + e);
  } else {
    const LD e = expl(z);
    s = e / (1 + e), sc = 1 / (1 + e);
  }
  return s + z * s * sc;
}
LD gelu_u(LD z) { return kK * (z + kC * z * z * z); }
// 0.5 (1 + tanh u); below u = -5 as 1 / (1 + e^-2u) (the same value, without the cancellation
// of 1 + tanh; the two agree at the switch, checked in fast_bias_act_sweep).
LD half_one_plus_tanh(LD u) { return u >= -5 ? 0.5L * (1 + tanhl(u)) : 1 / (1 + expl(-2 * u)); }
LD gelu_ref(LD z) { return z * half_one_plus_tanh(gelu_u(z)); }
// 0.5 (1 + tanh u) + 0.5 z sech^2(u) sqrt(2/pi) (1 + 3c z^2).
LD gelu_deriv_ref(LD z) {
  const LD u = gelu_u(z), ch = coshl(u);
  return half_one_plus_tanh(u) + 0.5L * z * (1 / (ch * ch)) * kK * (1 + 3 * kC * z * z);
}
LD act_ref(int act, LD z) { return act == SCM_ACT_SILU ? silu_ref(z) : gelu_ref(z); }
LD deriv_ref(int act, LD z) { return act == SCM_ACT_SILU ? silu_deriv_ref(z) : gelu_deriv_ref(z); }
// sigma(w): w = z (SiLU) or 2u (GELU).
LD sigma_ref(int act, LD z) {
  if (act == SCM_ACT_GELU_TANH) return half_one_plus_tanh(gelu_u(z));
  return z >= 0 ? 1 / (1 + expl(-z)) : expl(z) / (1 + expl(z));
}
const char* act_name(int act) { return act == SCM_ACT_SILU ? "silu" : "gelu"; }

// ---------------------------------------------------------------- exp8 in both ISAs
void exp8_baseline(const float* a, float* y, size_t n) {  // n a multiple of 8
  for (size_t i = 0; i < n; i += F::kLanes) F::store(y + i, F::exp8(F::load(a + i)));
}
#if SCM_FAST_X86
SCM_FAST_TARGET_AVX2 void exp8_avx2(const float* a, float* y, size_t n) {
  for (size_t i = 0; i < n; i += F::kLanes) F::store(y + i, F::exp8(F::load(a + i)));
}
#endif
std::vector<F::Isa> isas() {
  std::vector<F::Isa> v = {F::Isa::Baseline};
  if (F::isa_available(F::Isa::Avx2)) v.push_back(F::Isa::Avx2);
  if (F::isa_available(F::Isa::Avx512)) v.push_back(F::Isa::Avx512);
  return v;
}
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
std::string show(float v) { return concat(v, " (bits 0x", std::hex, [&] { uint32_t u; std::memcpy(&u, &v, 4); return u; }(), ")"); }

// ---------------------------------------------------------------- bias_act runs
struct Run {
  std::vector<float> y, d;  // act(z) (forward), act'(z) (the dual's ty at tx = 1)
};
Run run_fwd_deriv(F::Isa isa, int act, int64_t rows, int64_t cols, const std::vector<float>& x, const float* bias) {
  const size_t n = rows * cols;
  Run r{std::vector<float>(n, kNaN), std::vector<float>(n, kNaN)};
  F::bias_act_forward(isa, rows, cols, act, x.data(), bias, r.y.data());
  std::vector<float> ones(n, 1.0f), yd(n, kNaN);
  F::bias_act_dual(isa, rows, cols, act, x.data(), ones.data(), bias, yd.data(), r.d.data());
  SCM_CHECK(same_bits(yd, r.y), "dual y differs from forward y at tx = 1");
  return r;
}

struct ErrStats {
  // Max errors, each with where it occurred: act in ulp; act' in ulp (where |act'| >=
  // kNearZero sigma); act' in ulp of max(|act'|, sigma(w)).
  double y = 0, d = 0, d_sigma = 0, dt = 0;  // dt: act'(z) t in ulp of max(|act' t|, sigma |t|)
  std::string y_at, d_at, d_sigma_at;
  void check(const std::string& tag) const {
    if (!(y <= kActUlp)) fail(tag, ": act error ", y, " ulp > ", kActUlp, " ", y_at);
    if (!(d <= kDerivUlp)) fail(tag, ": act' error ", d, " ulp > ", kDerivUlp, " ", d_at);
    if (!(d_sigma <= kDerivUlp)) fail(tag, ": act' error ", d_sigma, " ulp of sigma(w) > ", kDerivUlp, " ", d_sigma_at);
  }
  std::string summary() const {
    return concat("act ", y, " ulp (", y_at, "), act' ", d, " ulp (", d_at, "), ", d_sigma, " ulp of sigma (",
                  d_sigma_at, ")", dt > 0 ? concat(", act' t ", dt, " ulp") : std::string());
  }
};
// Accumulates the errors of y = act(z), d = act'(z) at z = x + b (exact, in long double).
void measure(int act, const std::vector<float>& x, const float* bias, int64_t cols, const Run& r, ErrStats& s) {
  for (size_t k = 0; k < x.size(); ++k) {
    const LD z = static_cast<LD>(x[k]) + (bias ? static_cast<LD>(bias[k % cols]) : 0.0L);
    const LD yr = act_ref(act, z), dr = deriv_ref(act, z), sg = sigma_ref(act, z);
    const double ey = ulp_err(r.y[k], yr);
    const double ed = ulp_err(r.d[k], dr), eds = ulp_err(r.d[k], dr, std::max(fabsl(dr), sg));
    auto at = [&] { return concat("z = ", static_cast<float>(z), ": ", r.y[k], ", ", r.d[k]); };
    if (!(ey <= s.y)) s.y = ey, s.y_at = at();
    if (!(eds <= s.d_sigma)) s.d_sigma = eds, s.d_sigma_at = at();
    if (fabsl(dr) >= kNearZero * sg && !(ed <= s.d)) s.d = ed, s.d_at = at();
  }
}

// Test inputs: mostly N(0, 3^2), some uniform in [-20, 20], a few in the far tails.
std::vector<float> mixed_inputs(size_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> nd(0.0, 3.0);
  std::uniform_real_distribution<double> u(-20, 20), t(-120, 120), pick(0, 1);
  std::vector<float> v(n);
  for (auto& x : v) {
    const double p = pick(gen);
    x = static_cast<float>(p < 0.7 ? nd(gen) : p < 0.95 ? u(gen) : t(gen));
  }
  return v;
}

const int64_t kShapes[][2] = {{1, 1}, {3, 7}, {17, 33}, {5, 130}, {2, 8}, {64, 9}};

}  // namespace

// ================================================================== exp8
SCM_TEST(fast_exp8_accuracy) {
  std::vector<float> a;
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<double> whole(-104.0, 88.7228), unit(-1, 1), sub(-104.0, -87.3), lg(-30, 1);
  for (int i = 0; i < 200000; ++i) a.push_back(static_cast<float>(whole(gen)));
  for (int i = 0; i < 20000; ++i) a.push_back(static_cast<float>(unit(gen)));
  for (int i = 0; i < 20000; ++i) a.push_back(static_cast<float>(sub(gen)));  // subnormal results
  for (int i = 0; i < 20000; ++i) a.push_back(static_cast<float>((i % 2 ? 1 : -1) * std::pow(10.0, lg(gen))));
  // The range reduction's seams (n ln2 / 2 for every n) and a few ulp either side.
  for (int k = -300; k <= 256; ++k) {
    float s = static_cast<float>(k * 0.6931471805599453 / 2);
    for (int j = 0; j < 3; ++j) s = std::nextafter(s, -kInf);
    for (int j = 0; j < 7; ++j, s = std::nextafter(s, kInf))
      if (s >= -104.0f && s <= 88.7228394f) a.push_back(s);
  }
  // Around the ends of the range.
  for (float s : {-104.0f, -103.972f, -103.9721f, -87.3365f, -87.3366f, 88.7228f, 88.72283f, 88.7228394f})
    for (int j = -3; j <= 3; ++j) {
      float v = s;
      for (int m = 0; m < std::abs(j); ++m) v = std::nextafter(v, j < 0 ? -kInf : kInf);
      if (v >= -104.0f && v <= 88.7228394f) a.push_back(v);
    }
  while (a.size() % F::kLanes) a.push_back(0.5f);
  std::vector<float> y(a.size()), y2(a.size());
  exp8_baseline(a.data(), y.data(), a.size());
  double worst = 0;
  float worst_at = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = ulp_err(y[i], expl(static_cast<LD>(a[i])));
    if (!(e <= kExpUlp)) fail("exp8(", show(a[i]), ") = ", show(y[i]), " vs ", static_cast<double>(expl(static_cast<LD>(a[i]))), ": ", e, " ulp");
    if (e > worst) worst = e, worst_at = a[i];
  }
  note(concat("exp8 max error ", worst, " ulp (at ", worst_at, ") over ", a.size(), " inputs"));
#if SCM_FAST_X86
  if (F::isa_available(F::Isa::Avx2)) {
    exp8_avx2(a.data(), y2.data(), a.size());
    SCM_CHECK(same_bits(y, y2), "exp8: baseline and AVX2 differ");
  }
#endif
  // Edges: +0 below -104, +inf above 88.73, NaN, +-0 -> 1 exactly.
  std::vector<float> edge = {-104.0001f, -105.0f, -200.0f, -1e30f, -FLT_MAX, -kInf,  // +0
                             88.7301f,   89.0f,   100.0f,  1e30f,  FLT_MAX,  kInf,   // +inf
                             kNaN,       -kNaN,   0.0f,    -0.0f,  1e-30f,   -1e-40f};
  std::vector<float> ey(edge.size());
  exp8_baseline(edge.data(), ey.data(), 16);
  ey[16] = F::exp8(F::load_partial(edge.data() + 16, 2, 0.0f))[0];
  ey[17] = F::exp8(F::load_partial(edge.data() + 16, 2, 0.0f))[1];
  for (int i = 0; i < 6; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &ey[i], 4);
    SCM_CHECK(bits == 0, "exp8(", edge[i], ") = ", show(ey[i]), ", want +0");
  }
  for (int i = 6; i < 12; ++i) SCM_CHECK(ey[i] == kInf, "exp8(", edge[i], ") = ", show(ey[i]), ", want +inf");
  SCM_CHECK(std::isnan(ey[12]) && std::isnan(ey[13]), "exp8(NaN) = ", ey[12], ", ", ey[13]);
  SCM_CHECK(ey[14] == 1.0f && ey[15] == 1.0f && ey[16] == 1.0f && ey[17] == 1.0f, "exp8(+-0, tiny) = ", ey[14], " ",
            ey[15], " ", ey[16], " ", ey[17]);
}

// ================================================================== act, act' at awkward sizes
SCM_TEST(fast_bias_act_accuracy) {
  for (int act : {SCM_ACT_SILU, SCM_ACT_GELU_TANH})
    for (F::Isa isa : isas()) {
      ErrStats s;
      for (auto& sh : kShapes)
        for (bool hb : {false, true}) {
          const int64_t rows = sh[0], cols = sh[1];
          const size_t n = rows * cols;
          const uint64_t seed = 100 + act * 1000 + rows * 31 + cols + hb * 7;
          const std::vector<float> x = mixed_inputs(n, seed), bias = cast<float>(random_uniform(cols, seed + 1, -1, 1));
          const float* b = hb ? bias.data() : nullptr;
          const std::string tag = concat(act_name(act), " ", F::isa_name(isa), " ", rows, "x", cols, hb ? " bias" : "");
          const Run r = run_fwd_deriv(isa, act, rows, cols, x, b);
          measure(act, x, b, cols, r, s);

          // dual: y as the forward, ty = act'(z) tx (the product in double, rounded once).
          const std::vector<float> tx = cast<float>(random_normal(n, seed + 2)), db0 = cast<float>(random_normal(cols, seed + 3));
          std::vector<float> yd(n, kNaN), ty(n, kNaN);
          F::bias_act_dual(isa, rows, cols, act, x.data(), tx.data(), b, yd.data(), ty.data());
          SCM_CHECK(same_bits(yd, r.y), tag, ": dual y differs from forward");
          for (size_t k = 0; k < n; ++k) {
            const LD z = static_cast<LD>(x[k]) + (b ? static_cast<LD>(b[k % cols]) : 0.0L), t = tx[k];
            const LD dr = deriv_ref(act, z) * t, sg = sigma_ref(act, z) * fabsl(t);
            const double e = ulp_err(ty[k], dr, std::max(fabsl(dr), sg)), e1 = ulp_err(ty[k], dr);
            s.dt = std::max(s.dt, e);
            SCM_CHECK(e <= kDerivUlp && (fabsl(dr) < kNearZero * sg || e1 <= kDerivUlp), tag, ": dual ty at z = ",
                      static_cast<double>(z), ", t = ", tx[k], ": ", show(ty[k]), " vs ", static_cast<double>(dr));
          }

          // backward: dx = act'(z) dy (dy = tx), the dual's ty bit for bit; dbias += column sums of dx.
          std::vector<float> dx(n, kNaN), dbias = db0;
          F::bias_act_backward(isa, rows, cols, act, x.data(), b, tx.data(), dx.data(), hb ? dbias.data() : nullptr);
          SCM_CHECK(same_bits(dx, ty), tag, ": backward dx != dual ty");
          if (hb) {
            std::vector<float> sums(cols);
            for (int64_t c = 0; c < cols; ++c) {
              double acc = 0;  // the reference's order: rows in order, in double, then + dbias
              LD exact = 0, mag = fabsl(db0[c]);
              for (int64_t r0 = 0; r0 < rows; ++r0) {
                acc += static_cast<double>(dx[r0 * cols + c]);
                const LD z = static_cast<LD>(x[r0 * cols + c]) + bias[c];
                const LD term = deriv_ref(act, z) * static_cast<LD>(tx[r0 * cols + c]);
                exact += term, mag += fabsl(term);
              }
              sums[c] = static_cast<float>(db0[c] + acc);
              const LD err = fabsl(static_cast<LD>(dbias[c]) - (db0[c] + exact));
              SCM_CHECK(err <= 1e-6L * mag, tag, ": dbias[", c, "] = ", dbias[c], " vs ", static_cast<double>(db0[c] + exact));
            }
            SCM_CHECK(same_bits(dbias, sums), tag, ": dbias != db0 + column sums of dx");
            // dx may alias dy, y may alias x: the same results in place.
            std::vector<float> g = tx, dbias2 = db0, xy = x;
            F::bias_act_backward(isa, rows, cols, act, x.data(), b, g.data(), g.data(), dbias2.data());
            SCM_CHECK(same_bits(g, dx) && same_bits(dbias2, dbias), tag, ": in-place backward differs");
            F::bias_act_forward(isa, rows, cols, act, xy.data(), b, xy.data());
            SCM_CHECK(same_bits(xy, r.y), tag, ": in-place forward differs");
          }
        }
      note(concat(act_name(act), " ", F::isa_name(isa), ": ", s.summary()));
      s.check(concat(act_name(act), " ", F::isa_name(isa)));
    }
}

// ================================================================== dense sweep of z
SCM_TEST(fast_bias_act_sweep) {
  // The two forms of 0.5 (1 + tanh u) agree where the reference formula switches.
  for (LD u : {-5.0L, -4.99L, -5.01L}) {
    const LD a = 0.5L * (1 + tanhl(u)), b = 1 / (1 + expl(-2 * u));
    SCM_CHECK(fabsl(a - b) <= 1e-15L * b, "0.5 (1 + tanh ", static_cast<double>(u), ") forms differ");
  }
  std::vector<float> z;
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> mid(-30, 30), lg(-30, std::log10(200.0)), unit(-1, 1);
  for (int i = 0; i < 300000; ++i) z.push_back(static_cast<float>(mid(gen)));
  for (int i = 0; i < 200000; ++i) z.push_back(static_cast<float>((i % 2 ? 1 : -1) * std::pow(10.0, lg(gen))));
  for (double c : {-1.2784645427610738, -0.7517916243898}) {  // act' zero crossings (SiLU, GELU)
    for (int i = 0; i < 20000; ++i) z.push_back(static_cast<float>(c + 0.01 * unit(gen)));
    float s = static_cast<float>(c);
    for (int j = 0; j < 64; ++j) s = std::nextafter(s, -kInf);
    for (int j = 0; j < 129; ++j, s = std::nextafter(s, kInf)) z.push_back(s);
  }
  for (auto& sh : std::vector<std::pair<int64_t, int64_t>>{{1, int64_t(z.size())}})
    for (int act : {SCM_ACT_SILU, SCM_ACT_GELU_TANH})
      for (F::Isa isa : isas()) {
        ErrStats s;
        const Run r = run_fwd_deriv(isa, act, sh.first, sh.second, z, nullptr);
        const std::string tag = concat(act_name(act), " ", F::isa_name(isa), " sweep");
        measure(act, z, nullptr, sh.second, r, s);
        note(concat(tag, " (", z.size(), " z): ", s.summary()));
        s.check(tag);
      }
}

// ================================================================== ISA variants, table wiring
SCM_TEST(fast_isa_variants_bit_identical) {
  if (!F::isa_available(F::Isa::Avx2)) throw TestSkip("this CPU has no AVX2: only the baseline variant runs");
  const ScmKernels& k = cpu();
  for (int act : {SCM_ACT_IDENTITY, SCM_ACT_SILU, SCM_ACT_GELU_TANH})
    for (auto& sh : kShapes)
      for (bool hb : {false, true}) {
        const int64_t rows = sh[0] * 3, cols = sh[1];
        const size_t n = rows * cols;
        const uint64_t seed = 7000 + act * 100 + rows + cols;
        const std::vector<float> x = mixed_inputs(n, seed), tx = mixed_inputs(n, seed + 1);
        const std::vector<float> bias = cast<float>(random_uniform(cols, seed + 2, -2, 2)), db0 = cast<float>(random_normal(cols, seed + 3));
        const float* b = hb ? bias.data() : nullptr;
        // baseline, AVX2, AVX-512 (where the CPU has it), the table entry
        const std::vector<F::Isa> variants = isas();
        const size_t nv = variants.size() + 1;
        std::vector<std::vector<std::vector<float>>> out(nv);
        for (size_t v = 0; v < nv; ++v) {
          const bool table = v == variants.size();
          const F::Isa isa = table ? F::best_isa() : variants[v];
          std::vector<float> y(n, kNaN), yd(n, kNaN), ty(n, kNaN), dx(n, kNaN), dbias = db0;
          if (!table) {
            F::bias_act_forward(isa, rows, cols, act, x.data(), b, y.data());
            F::bias_act_dual(isa, rows, cols, act, x.data(), tx.data(), b, yd.data(), ty.data());
            F::bias_act_backward(isa, rows, cols, act, x.data(), b, tx.data(), dx.data(), hb ? dbias.data() : nullptr);
          } else {
            auto& P = k.pointwise;
            ok(k, P.bias_act_forward(rows, cols, act, x.data(), b, y.data()), "bias_act_forward");
            ok(k, P.bias_act_dual(rows, cols, act, x.data(), tx.data(), b, yd.data(), ty.data()), "bias_act_dual");
            ok(k, P.bias_act_backward(rows, cols, act, x.data(), b, tx.data(), dx.data(), hb ? dbias.data() : nullptr),
               "bias_act_backward");
          }
          out[v] = {y, yd, ty, dx, dbias};
        }
        for (size_t v = 1; v < nv; ++v)
          for (int o = 0; o < 5; ++o)
            SCM_CHECK(same_bits(out[0][o], out[v][o]), act, " ", rows, "x", cols, hb ? " bias" : "", " output ", o,
                      v < variants.size() ? concat(": ", F::isa_name(variants[v]), " differs from baseline")
                                          : std::string(": the table entry differs from the fast path"));
      }
  note(concat("best_isa: ", F::isa_name(F::best_isa())));
}

// ================================================================== special values
SCM_TEST(fast_bias_act_special_values) {
  // (x, b): z = x + b in exact arithmetic.
  const std::vector<std::pair<float, float>> in = {
      {kInf, 0},       {-kInf, 0},      {kNaN, 0},        {0.0f, 0},        {-0.0f, 0},        {1e30f, 0},
      {-1e30f, 0},     {FLT_MAX, 0},    {-FLT_MAX, 0},    {100.0f, 0},      {-100.0f, 0},      {-200.0f, 0},
      {1e-30f, 0},     {-1e-30f, 0},    {1e-40f, 0},      {-1e-40f, 0},     {-13.0f, 0},       {-9.5f, 0},
      {FLT_MAX, FLT_MAX}, {-FLT_MAX, -FLT_MAX}, {kInf, -1.0f}, {1.0f, kNaN}, {kInf, -kInf},  {0.25f, -0.25f},
      {-0.0f, -0.0f},  {88.0f, 1.0f},   {-90.0f, -1.0f},  {3.0f, -kInf}};
  const int64_t n = static_cast<int64_t>(in.size());
  std::vector<float> x(n), b(n);
  for (int64_t i = 0; i < n; ++i) x[i] = in[i].first, b[i] = in[i].second;
  for (int act : {SCM_ACT_SILU, SCM_ACT_GELU_TANH})
    for (F::Isa isa : isas()) {
      // One row with bias b: z_i = x_i + b_i.
      const Run r = run_fwd_deriv(isa, act, 1, n, x, b.data());
      for (int64_t i = 0; i < n; ++i) {
        const LD z = static_cast<LD>(x[i]) + static_cast<LD>(b[i]);
        const LD yr = act_ref(act, z), dr = deriv_ref(act, z);
        const std::string at = concat(act_name(act), " ", F::isa_name(isa), " z = ", x[i], " + ", b[i]);
        // act: NaN / infinities / zeros as the rounded exact value, zeros with its sign.
        const float yw = static_cast<float>(yr), dw = static_cast<float>(dr);
        SCM_CHECK(ulp_err(r.y[i], yr) <= kActUlp, at, ": act ", show(r.y[i]), " vs ", show(yw));
        if (yw == 0 && !std::isnan(r.y[i]))
          SCM_CHECK(r.y[i] == 0 && std::signbit(r.y[i]) == std::signbit(yw), at, ": act ", show(r.y[i]), " vs ", show(yw));
        const double ed = ulp_err(r.d[i], dr);
        SCM_CHECK(ed <= kDerivUlp, at, ": act' ", show(r.d[i]), " vs ", show(dw));
      }
      // The claims of pointwise_fast.h, spelled out.
      SCM_CHECK(r.y[0] == kInf && std::isnan(r.y[1]) && std::isnan(r.y[2]), "act(+inf, -inf, NaN)");
      SCM_CHECK(std::isnan(r.d[0]) && std::isnan(r.d[1]) && std::isnan(r.d[2]), "act'(+inf, -inf, NaN)");
      // z = +0 (0 + 0, -0 + 0) and -0 (-0 + -0).
      SCM_CHECK(r.y[3] == 0 && !std::signbit(r.y[3]) && r.y[4] == 0 && !std::signbit(r.y[4]), "act(+0)");
      SCM_CHECK(r.y[24] == 0 && std::signbit(r.y[24]), "act(-0) = ", show(r.y[24]));
      SCM_CHECK(r.d[3] == 0.5f && r.d[4] == 0.5f && r.d[24] == 0.5f, "act'(+-0) = ", r.d[3], ", ", r.d[24]);
      SCM_CHECK(r.y[5] == 1e30f && r.d[5] == 1 && r.y[7] == FLT_MAX && r.d[7] == 1, "large z");
      SCM_CHECK(r.y[6] == 0 && std::signbit(r.y[6]) && r.d[6] == 0, "act(-1e30) = ", show(r.y[6]), ", act' ", r.d[6]);
      SCM_CHECK(r.y[18] == kInf && r.d[18] == 1, "x + b overflowing to +inf: ", r.y[18], ", ", r.d[18]);
      SCM_CHECK(r.y[19] == 0 && std::signbit(r.y[19]) && r.d[19] == 0, "x + b overflowing to -inf: ", show(r.y[19]),
                ", ", r.d[19]);
    }
}
