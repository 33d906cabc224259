// Foundation: Philox known answers and cross-backend identity, GEMM against a double
// reference, backend memory round trips.
#include <cstring>
#include "framework.h"
#include "../core/philox.h"
#include "../cpu/gemm.h"

using namespace scm_test;

// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
SCM_TEST(philox_known_answers) {
  struct Kat { uint32_t ctr[4], key[2], out[4]; };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdcceBu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const Kat& k : kats) {
    scm::philox::Block c{{k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3]}};
    scm::philox::Block r = scm::philox::philox4x32_10(c, k.key[0], k.key[1]);
    for (int i = 0; i < 4; ++i)
      SCM_CHECK(r.v[i] == k.out[i], "word ", i, " = ", std::hex, r.v[i], " expected ", k.out[i]);
  }
}

// The stream is defined per element: any split into calls gives the same numbers.
SCM_TEST(philox_streams_split_consistently) {
  const ScmKernels& k = cpu();
  std::vector<float> whole(1003), a(501), b(502);
  for (auto fn : {k.rng.normal, k.rng.uniform}) {
    ok(k, fn(whole.data(), whole.size(), 12345, 7), "rng");
    ok(k, fn(a.data(), a.size(), 12345, 7), "rng");
    ok(k, fn(b.data(), b.size(), 12345, 7 + 501), "rng");
    SCM_CHECK(std::memcmp(whole.data(), a.data(), a.size() * 4) == 0);
    SCM_CHECK(std::memcmp(whole.data() + 501, b.data(), b.size() * 4) == 0);
  }
}

// Moments of the normal and uniform streams (1M samples), and a different seed differs.
SCM_TEST(philox_distribution_moments) {
  const ScmKernels& k = cpu();
  const size_t n = 1 << 20;
  std::vector<float> z(n), u(n), z2(n);
  ok(k, k.rng.normal(z.data(), n, 42, 0), "normal");
  ok(k, k.rng.uniform(u.data(), n, 42, 0), "uniform");
  ok(k, k.rng.normal(z2.data(), n, 43, 0), "normal");
  double m1 = 0, m2 = 0, m4 = 0, um = 0, umin = 1, umax = 0, cross = 0;
  for (size_t i = 0; i < n; ++i) {
    double x = z[i];
    m1 += x; m2 += x * x; m4 += x * x * x * x;
    um += u[i];
    umin = std::min<double>(umin, u[i]);
    umax = std::max<double>(umax, u[i]);
    cross += x * z2[i];
  }
  m1 /= n; m2 /= n; m4 /= n; um /= n; cross /= n;
  // Standard errors at n = 2^20: mean 1e-3, variance 1.4e-3, kurtosis ~1e-2.
  SCM_CHECK(std::fabs(m1) < 5e-3, "mean ", m1);
  SCM_CHECK(std::fabs(m2 - 1) < 7e-3, "variance ", m2);
  SCM_CHECK(std::fabs(m4 - 3) < 5e-2, "fourth moment ", m4);
  SCM_CHECK(std::fabs(um - 0.5) < 2e-3, "uniform mean ", um);
  SCM_CHECK(umin > 0 && umax < 1, "uniform range ", umin, " ", umax);
  SCM_CHECK(std::fabs(cross) < 5e-3, "seeds 42 and 43 correlate: ", cross);
  note(concat("mean=", m1, " var=", m2, " m4=", m4));
}

// The log and sincos used by Box-Muller are accurate (they are written out by hand so the
// CPU and CUDA agree bit for bit).
SCM_TEST(philox_transcendentals_accurate) {
  double worst_log = 0, worst_trig = 0;
  for (uint32_t i = 1; i < (1u << 24); i += 997) {
    float u = scm::philox::to_uniform(i << 8);
    double l = scm::philox::log_unit(u);
    worst_log = std::max(worst_log, std::fabs(l - std::log(static_cast<double>(u))) / std::max(1e-3, std::fabs(std::log((double)u))));
    float s, c;
    scm::philox::sincos_two_pi(u, &s, &c);
    double a = 2 * M_PI * static_cast<double>(u);
    worst_trig = std::max({worst_trig, std::fabs(s - std::sin(a)), std::fabs(c - std::cos(a))});
  }
  SCM_CHECK(worst_log < 1e-6, "log error ", worst_log);
  SCM_CHECK(worst_trig < 1e-6, "sin/cos error ", worst_trig);
  note(concat("log_rel_err=", worst_log, " trig_abs_err=", worst_trig));
}

namespace {

std::vector<double> naive_gemm(const ScmGemmDesc& d, const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> c(d.batch * d.m * d.n);
  for (int64_t bi = 0; bi < d.batch; ++bi)
    for (int64_t i = 0; i < d.m; ++i)
      for (int64_t j = 0; j < d.n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < d.k; ++p) {
          double av = d.trans_a ? a[bi * d.stride_a + p * d.lda + i] : a[bi * d.stride_a + i * d.lda + p];
          double bv = d.trans_b ? b[bi * d.stride_b + j * d.ldb + p] : b[bi * d.stride_b + p * d.ldb + j];
          s += av * bv;
        }
        c[bi * d.stride_c + i * d.ldc + j] = d.alpha * s;
      }
  return c;
}

ScmGemmDesc desc(int64_t m, int64_t n, int64_t k, bool ta, bool tb, int64_t batch = 1) {
  ScmGemmDesc d{};
  d.m = m; d.n = n; d.k = k; d.trans_a = ta; d.trans_b = tb; d.batch = batch;
  d.lda = ta ? m : k; d.ldb = tb ? k : n; d.ldc = n;
  d.stride_a = m * k; d.stride_b = k * n; d.stride_c = m * n;
  d.alpha = 0.75f;
  return d;
}

void check_gemm(const ScmKernels& k, int64_t m, int64_t n, int64_t kk, bool ta, bool tb, int64_t batch, double tol, int precision = SCM_GEMM_FP32) {
  ScmGemmDesc d = desc(m, n, kk, ta, tb, batch);
  d.precision = precision;
  auto a = random_uniform<double>(batch * m * kk, 11 + m), b = random_uniform<double>(batch * kk * n, 29 + n);
  auto ref = naive_gemm(d, a, b);
  auto af = cast<float>(a), bf = cast<float>(b);
  auto da = scm::DeviceBuffer::from_host(k, af), db = scm::DeviceBuffer::from_host(k, bf);
  scm::DeviceBuffer dc(k, ref.size() * sizeof(float));
  dc.fill_bytes(0xFF);  // poison: every unwritten element stays NaN
  ok(k, k.gemm.gemm(&d, da.as(), db.as(), dc.as()), "gemm");
  expect_close(concat(m, "x", n, "x", kk, ta ? " tA" : "", tb ? " tB" : "", " b", batch), dc.to_vector<float>(), ref, tol);
}

}  // namespace

SCM_TEST(gemm_cpu_matches_double_reference) {
  const ScmKernels& k = cpu();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_gemm(k, 1, 1, 1, ta, tb, 1, 1e-5);
      check_gemm(k, 17, 33, 65, ta, tb, 3, 1e-5);
      check_gemm(k, 256, 384, 1152, ta, tb, 1, 1e-5);
    }
}

SCM_TEST(gemm_cpu_double_instantiation_exact) {
  ScmGemmDesc d = desc(13, 7, 5, true, false, 2);
  auto a = random_uniform<double>(2 * 13 * 5, 3), b = random_uniform<double>(2 * 5 * 7, 4);
  std::vector<double> c(2 * 13 * 7, 0.0);
  scm::cpu::gemm<double>(d, a.data(), b.data(), c.data());
  expect_close("double gemm", c, naive_gemm(d, a, b), 1e-14);
}

SCM_TEST(gemm_cpu_beta_accumulates) {
  ScmGemmDesc d = desc(9, 10, 11, false, false);
  d.beta = 0.5f;
  auto a = random_uniform<float>(99, 5), b = random_uniform<float>(110, 6), c0 = random_uniform<float>(90, 7);
  std::vector<float> c = c0;
  ok(cpu(), cpu().gemm.gemm(&d, a.data(), b.data(), c.data()), "gemm");
  auto ref = naive_gemm(d, cast<double>(a), cast<double>(b));
  for (size_t i = 0; i < ref.size(); ++i) ref[i] += 0.5 * c0[i];
  expect_close("beta", c, ref, 1e-6);
}

SCM_TEST(gemm_rejects_bad_descriptors) {
  ScmGemmDesc d = desc(4, 4, 4, false, false);
  d.lda = 2;  // smaller than k
  std::vector<float> a(16, 1.f), b(16, 1.f), c(16);
  int rc = cpu().gemm.gemm(&d, a.data(), b.data(), c.data());
  SCM_CHECK(rc == SCM_E_ARGUMENT, "rc=", rc);
  SCM_CHECK(std::strstr(cpu().last_error(), "lda") != nullptr, cpu().last_error());
}

SCM_TEST(cuda_gemm_matches_cpu) {
  const ScmKernels& k = require_cuda();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_gemm(k, 1, 1, 1, ta, tb, 1, 1e-5);
      check_gemm(k, 17, 33, 65, ta, tb, 3, 1e-5);
      check_gemm(k, 256, 384, 1152, ta, tb, 1, 1e-5);
      check_gemm(k, 256, 384, 1152, ta, tb, 1, 1e-3, SCM_GEMM_TF32);
      check_gemm(k, 17, 33, 65, ta, tb, 2, 1e-2, SCM_GEMM_BF16);
    }
}

SCM_TEST(cuda_philox_bit_identical_to_cpu) {
  const ScmKernels& k = require_cuda();
  const size_t n = 100003;
  for (uint64_t offset : {uint64_t(0), uint64_t(3), (uint64_t(1) << 33) + 1}) {
    for (int normal = 0; normal < 2; ++normal) {
      std::vector<float> ref(n);
      ok(cpu(), (normal ? cpu().rng.normal : cpu().rng.uniform)(ref.data(), n, 0xDEADBEEFCAFEull, offset), "cpu rng");
      scm::DeviceBuffer d(k, n * sizeof(float));
      d.fill_bytes(0xFF);
      ok(k, (normal ? k.rng.normal : k.rng.uniform)(d.as(), n, 0xDEADBEEFCAFEull, offset), "cuda rng");
      auto got = d.to_vector<float>();
      SCM_CHECK(std::memcmp(got.data(), ref.data(), n * sizeof(float)) == 0, "CUDA and CPU streams differ (normal=", normal, ", offset=", offset, ")");
    }
  }
}

SCM_TEST(cuda_memory_round_trip) {
  const ScmKernels& k = require_cuda();
  auto v = random_uniform<float>(4099, 1);
  auto a = scm::DeviceBuffer::from_host(k, v);
  scm::DeviceBuffer b(k, v.size() * sizeof(float));
  ok(k, k.memory.copy_on_device(b.get(), a.get(), v.size() * sizeof(float)), "copy");
  auto back = b.to_vector<float>();
  SCM_CHECK(std::memcmp(back.data(), v.data(), v.size() * 4) == 0);
  ScmDeviceProperties p{};
  ok(k, k.memory.properties(&p), "properties");
  SCM_CHECK(p.compute_capability_major >= 8 && p.memory_bytes > 0);
  note(concat(p.name, " cc ", p.compute_capability_major, ".", p.compute_capability_minor));
}
