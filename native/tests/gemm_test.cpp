// The gemm family on every CPU path (library fp32, library bf16, the builtin kernel, the
// table's default) and on CUDA, against double-precision references.
//
// Every case uses the full ScmGemmDesc: padded lda/ldb/ldc (the gaps of A and B hold NaN, so
// a path that reads them fails; the gaps of C hold a sentinel that must survive), batch
// strides with padding or 0 (broadcast), all transposes, alpha, beta (beta == 0 with NaN in
// C: it must not propagate). bf16 results are compared with the double reference computed
// on the bf16-ROUNDED inputs (tight: only fp32 accumulation differs), and loosely with the
// unrounded one.
#include <cstring>
#include <dirent.h>
#include <thread>

#include "framework.h"
#include "../cpu/gemm_bf16.h"
#include "../cpu/gemm_dispatch.h"
#include "../core/parallel.h"

using namespace scm_test;
using scm::cpu::GemmPath;

namespace {

struct Shape {
  int64_t m, n, k;
  bool ta, tb;
  int64_t batch = 1;
  float alpha = 1.0f, beta = 0.0f;
  bool broadcast_a = false, broadcast_b = false;
  int64_t pad = 0;  // extra elements per row (ld = cols + pad) and per batch item
};

int64_t extent(int64_t batch, int64_t stride, int64_t rows, int64_t ld, int64_t cols) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

ScmGemmDesc make_desc(const Shape& s) {
  ScmGemmDesc d{};
  d.m = s.m; d.n = s.n; d.k = s.k;
  d.trans_a = s.ta; d.trans_b = s.tb;
  d.batch = s.batch;
  d.lda = (s.ta ? s.m : s.k) + s.pad;
  d.ldb = (s.tb ? s.k : s.n) + s.pad;
  d.ldc = s.n + s.pad;
  d.stride_a = s.broadcast_a ? 0 : (s.ta ? s.k : s.m) * d.lda + s.pad;
  d.stride_b = s.broadcast_b ? 0 : (s.tb ? s.n : s.k) * d.ldb + s.pad;
  d.stride_c = s.m * d.ldc + s.pad;
  d.alpha = s.alpha; d.beta = s.beta;
  if (d.lda == 0) d.lda = 1;
  if (d.ldb == 0) d.ldb = 1;
  return d;
}

std::string name(const Shape& s) {
  return concat(s.m, "x", s.n, "x", s.k, s.ta ? " tA" : "", s.tb ? " tB" : "", " batch ", s.batch,
                s.broadcast_a ? " bcastA" : "", s.broadcast_b ? " bcastB" : "", s.pad ? " pad" : "",
                " alpha ", s.alpha, " beta ", s.beta);
}

// Marks the valid elements of a strided batch of rows x cols matrices.
std::vector<char> valid_mask(int64_t size, int64_t batch, int64_t stride, int64_t rows, int64_t ld, int64_t cols) {
  std::vector<char> v(size, 0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) v[b * stride + r * ld + c] = 1;
  return v;
}

struct Problem {
  ScmGemmDesc d;
  std::vector<float> a, b, c0;  // a, b: gaps are NaN; c0: C before the call (NaN where beta == 0)
  std::vector<char> c_valid;
};

Problem make_problem(const Shape& s, uint64_t seed) {
  Problem p;
  p.d = make_desc(s);
  const ScmGemmDesc& d = p.d;
  const int64_t ra = s.ta ? s.k : s.m, ca = s.ta ? s.m : s.k, rb = s.tb ? s.n : s.k, cb = s.tb ? s.k : s.n;
  const int64_t ba = s.broadcast_a ? 1 : s.batch, bb = s.broadcast_b ? 1 : s.batch;
  const int64_t na = std::max<int64_t>(1, extent(ba, d.stride_a, ra, d.lda, ca));
  const int64_t nb = std::max<int64_t>(1, extent(bb, d.stride_b, rb, d.ldb, cb));
  const int64_t nc = extent(s.batch, d.stride_c, s.m, d.ldc, s.n);
  p.a = random_uniform<float>(na, seed);
  p.b = random_uniform<float>(nb, seed + 1);
  p.c0 = random_uniform<float>(nc, seed + 2);
  auto va = valid_mask(na, ba, d.stride_a, ra, d.lda, ca), vb = valid_mask(nb, bb, d.stride_b, rb, d.ldb, cb);
  for (int64_t i = 0; i < na; ++i) if (!va[i]) p.a[i] = NAN;
  for (int64_t i = 0; i < nb; ++i) if (!vb[i]) p.b[i] = NAN;
  p.c_valid = valid_mask(nc, s.batch, d.stride_c, s.m, d.ldc, s.n);
  if (s.beta == 0.0f)
    for (int64_t i = 0; i < nc; ++i) if (p.c_valid[i]) p.c0[i] = NAN;
  return p;
}

// alpha op(A) op(B) + beta C0 in double on the given operand values; gaps of C keep C0.
std::vector<double> reference(const Problem& p, const std::vector<double>& a, const std::vector<double>& b) {
  const ScmGemmDesc& d = p.d;
  std::vector<double> c = cast<double>(p.c0);
  for (int64_t bi = 0; bi < d.batch; ++bi)
    for (int64_t i = 0; i < d.m; ++i)
      for (int64_t j = 0; j < d.n; ++j) {
        double s = 0;
        for (int64_t q = 0; q < d.k; ++q) {
          const double av = d.trans_a ? a[bi * d.stride_a + q * d.lda + i] : a[bi * d.stride_a + i * d.lda + q];
          const double bv = d.trans_b ? b[bi * d.stride_b + j * d.ldb + q] : b[bi * d.stride_b + q * d.ldb + j];
          s += av * bv;
        }
        double& out = c[bi * d.stride_c + i * d.ldc + j];
        out = d.alpha * s + (d.beta == 0.0f ? 0.0 : d.beta * out);
      }
  return c;
}

std::vector<double> rounded(const std::vector<float>& v) {
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = scm::cpu::round_to_bf16(v[i]);
  return r;
}

std::vector<uint16_t> bf16_of(const std::vector<float>& v) {
  std::vector<uint16_t> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = scm::cpu::float_to_bf16(v[i]);
  return r;
}

// Compares C with the reference on its valid elements; its gaps must be untouched (bitwise).
void expect_c(const std::string& what, const Problem& p, const std::vector<float>& c, const std::vector<double>& ref,
              double tol) {
  std::vector<float> got;
  std::vector<double> want;
  for (size_t i = 0; i < c.size(); ++i) {
    if (p.c_valid[i]) {
      got.push_back(c[i]);
      want.push_back(ref[i]);
    } else if (std::memcmp(&c[i], &p.c0[i], sizeof(float)) != 0) {
      fail(what, ": element ", i, " of C outside the matrices (an ldc / stride gap) was written");
    }
  }
  expect_close(what, got, want, tol);
}

const char* path_name(GemmPath p) {
  return p == GemmPath::Builtin ? "builtin" : p == GemmPath::Library ? "library" : "default";
}

std::vector<GemmPath> cpu_paths() {
  std::vector<GemmPath> paths{GemmPath::Builtin, GemmPath::Default};
  if (scm::cpu::gemm_has_library()) paths.push_back(GemmPath::Library);
  return paths;
}

std::vector<float> run_cpu(GemmPath path, const ScmGemmDesc& d, const void* a, const void* b, const Problem& p) {
  std::vector<float> c = p.c0;
  scm::cpu::gemm_on_path(path, d, a, b, c.data());
  return c;
}

std::vector<Shape> awkward_shapes() {
  std::vector<Shape> v;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      v.push_back({1, 1, 1, ta, tb});
      v.push_back({17, 33, 65, ta, tb, 3, 0.75f, 0.0f, false, false, 5});
      v.push_back({17, 33, 65, ta, tb, 2, 1.0f, -1.25f, false, false, 3});
    }
  v.push_back({17, 33, 65, false, true, 4, 1.0f, 0.0f, true, false, 2});   // A broadcast
  v.push_back({17, 33, 65, true, false, 4, 0.5f, 0.0f, false, true, 0});   // B broadcast
  v.push_back({9, 10, 11, false, false, 3, 1.0f, 0.5f, true, true, 1});    // both broadcast, beta
  v.push_back({64, 1, 300, false, false});                                 // one column
  v.push_back({1, 64, 300, true, true});                                   // one row
  v.push_back({20, 1000, 300, false, true});                               // split over columns
  v.push_back({300, 40, 70, true, false, 5, 1.0f, 1.0f});                  // split over batch items
  v.push_back({256, 384, 1152, false, true, 1, 1.0f, 0.0f, false, false, 7});
  v.push_back({7, 5, 0, false, false, 2, 1.0f, 0.5f});                     // k = 0: C = beta C
  v.push_back({7, 5, 0, true, true, 1, 1.0f, 0.0f});                       // k = 0, beta 0: zeros
  return v;
}

int thread_count_of_process() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

}  // namespace

SCM_TEST(gemm_cpu_paths_fp32_match_double_reference) {
  note(concat("library: ", scm::cpu::gemm_library_name()));
  uint64_t seed = 100;
  for (const Shape& s : awkward_shapes()) {
    const Problem p = make_problem(s, seed += 10);
    const auto ref = reference(p, cast<double>(p.a), cast<double>(p.b));
    for (GemmPath path : cpu_paths())
      expect_c(concat(path_name(path), " fp32 ", name(s)), p, run_cpu(path, p.d, p.a.data(), p.b.data(), p), ref, 1e-5);
  }
}

SCM_TEST(gemm_cpu_paths_bf16_match_reference_on_rounded_inputs) {
  note(concat("library: ", scm::cpu::gemm_library_name(), ", native bf16: ", scm::cpu::gemm_native_bf16()));
  uint64_t seed = 500;
  for (const Shape& s : awkward_shapes()) {
    const Problem p = make_problem(s, seed += 10);
    const auto ref_rounded = reference(p, rounded(p.a), rounded(p.b));
    const auto ref_exact = reference(p, cast<double>(p.a), cast<double>(p.b));
    const auto ref_mixed = reference(p, rounded(p.a), cast<double>(p.b));
    const std::vector<uint16_t> a16 = bf16_of(p.a), b16 = bf16_of(p.b);
    for (GemmPath path : cpu_paths()) {
      const std::string tag = concat(path_name(path), " ", name(s));
      // fp32 operands, SCM_GEMM_BF16: rounded on the way in.
      ScmGemmDesc d = p.d;
      d.precision = SCM_GEMM_BF16;
      auto c = run_cpu(path, d, p.a.data(), p.b.data(), p);
      expect_c("bf16 (fp32 operands) vs rounded reference " + tag, p, c, ref_rounded, 1e-5);
      expect_c("bf16 (fp32 operands) vs unrounded reference " + tag, p, c, ref_exact, 2e-2);
      // Operands kept in bf16 (to_bf16 once): the same values, no conversion per call.
      d = p.d;
      d.a_type = d.b_type = SCM_DTYPE_BF16;
      expect_c("bf16 operands " + tag, p, run_cpu(path, d, a16.data(), b16.data(), p), ref_rounded, 1e-5);
      d.precision = SCM_GEMM_BF16;
      expect_c("bf16 operands, SCM_GEMM_BF16 " + tag, p, run_cpu(path, d, a16.data(), b16.data(), p), ref_rounded, 1e-5);
      // Mixed: bf16 A, fp32 B under fp32 precision: B is used unrounded.
      d = p.d;
      d.a_type = SCM_DTYPE_BF16;
      expect_c("bf16 A, fp32 B " + tag, p, run_cpu(path, d, a16.data(), p.b.data(), p), ref_mixed, 1e-5);
    }
  }
}

SCM_TEST(gemm_cpu_table_entry_is_the_default_path) {
  const Problem p = make_problem({33, 65, 17, true, false, 2, 0.5f, 2.0f, false, false, 1}, 77);
  std::vector<float> c = p.c0;
  ok(cpu(), cpu().gemm.gemm(&p.d, p.a.data(), p.b.data(), c.data()), "gemm");
  const auto want = run_cpu(GemmPath::Default, p.d, p.a.data(), p.b.data(), p);
  SCM_CHECK(std::memcmp(c.data(), want.data(), c.size() * sizeof(float)) == 0, "table entry differs from the default path");
}

SCM_TEST(gemm_to_bf16_rounds_to_nearest_even) {
  // Reference: the nearer of the two bf16 neighbours, computed in double; ties to even.
  auto reference = [](uint32_t x) -> uint32_t {
    float f;
    std::memcpy(&f, &x, 4);
    if (std::isnan(f)) return 0xFFFFFFFFu;  // any NaN
    if (std::isinf(f)) return x >> 16;
    const uint32_t lo = x >> 16, hi = lo + 1;  // |lo| <= |f| <= |hi| in magnitude order
    auto value = [](uint32_t h) {
      uint32_t y = h << 16;
      float g;
      std::memcpy(&g, &y, 4);
      return static_cast<double>(g);
    };
    const double dl = std::fabs(value(lo) - f);
    // hi may be inf (0x7F80 / 0xFF80): IEEE rounds to it when f is at least halfway to 2^128.
    const double vh = (hi & 0x7FFFu) == 0x7F80u ? std::ldexp(1.0, 128) * (f < 0 ? -1 : 1) : value(hi);
    const double dh = std::fabs(vh - f);
    if (dl < dh) return lo;
    if (dh < dl) return hi;
    return (lo & 1u) ? hi : lo;
  };
  std::vector<uint32_t> bits = {0x3F800000u, 0x3F808000u, 0x3F818000u, 0x3F807FFFu, 0x3F808001u, 0x80000000u, 0u,
                                0x7F800000u, 0xFF800000u, 0x7FC00001u, 0x7F800001u, 0xFF800001u, 0x7F7FFFFFu,
                                0xFF7FFFFFu, 0x7F7F8000u, 0x7F7F7FFFu, 0x00008000u, 0x00018000u, 0x00000001u, 0x807FFFFFu};
  std::mt19937_64 gen(42);
  for (int i = 0; i < 200000; ++i) bits.push_back(static_cast<uint32_t>(gen()));
  std::vector<float> src(bits.size());
  std::memcpy(src.data(), bits.data(), bits.size() * 4);
  std::vector<uint16_t> got(src.size(), 0);
  ok(cpu(), cpu().gemm.to_bf16(static_cast<int64_t>(src.size()), src.data(), got.data()), "to_bf16");
  for (size_t i = 0; i < bits.size(); ++i) {
    const uint32_t want = reference(bits[i]);
    if (want == 0xFFFFFFFFu) {
      SCM_CHECK((got[i] & 0x7F80u) == 0x7F80u && (got[i] & 0x7Fu) != 0, "NaN ", std::hex, bits[i], " -> ", got[i]);
      SCM_CHECK((got[i] >> 15) == (bits[i] >> 31), "NaN sign lost for ", std::hex, bits[i]);
    } else {
      SCM_CHECK(got[i] == want, "to_bf16(", std::hex, bits[i], ") = ", got[i], ", expected ", want);
    }
  }
  int rc = cpu().gemm.to_bf16(-1, src.data(), got.data());
  SCM_CHECK(rc == SCM_E_ARGUMENT, "negative count: rc=", rc);
}

SCM_TEST(gemm_rejects_bad_types_and_precision) {
  const Problem p = make_problem({4, 4, 4, false, false}, 9);
  std::vector<float> c(p.c0);
  auto expect_error = [&](ScmGemmDesc d, const char* word) {
    int rc = cpu().gemm.gemm(&d, p.a.data(), p.b.data(), c.data());
    SCM_CHECK(rc == SCM_E_ARGUMENT, word, ": rc=", rc);
    SCM_CHECK(std::strstr(cpu().last_error(), word) != nullptr, "message '", cpu().last_error(), "' lacks ", word);
  };
  ScmGemmDesc d = p.d;
  d.precision = 7;
  expect_error(d, "precision");
  d = p.d;
  d.a_type = 3;
  expect_error(d, "a_type");
  d = p.d;
  d.b_type = -1;
  expect_error(d, "b_type");
  d = p.d;
  d.batch = 2;
  d.stride_a = -16;
  expect_error(d, "stride");
  if (!scm::cpu::gemm_has_library()) {
    int rc = scm::guarded([&] { scm::cpu::gemm_on_path(GemmPath::Library, p.d, p.a.data(), p.b.data(), c.data()); });
    SCM_CHECK(rc == SCM_E_ARGUMENT && std::strstr(scm::last_error(), "no CPU GEMM library"), scm::last_error());
  }
}

SCM_TEST(gemm_cpu_concurrent_callers) {
  // libuv runs each async op on its own worker thread: GEMMs arrive concurrently.
  std::vector<Problem> problems;
  std::vector<std::vector<double>> refs;
  for (int i = 0; i < 6; ++i) {
    problems.push_back(make_problem({96 + 16 * i, 80, 130, i % 2 == 1, i % 3 == 0, 1 + i % 3, 1.0f, 0.0f}, 900 + i));
    refs.push_back(reference(problems.back(), cast<double>(problems.back().a), cast<double>(problems.back().b)));
  }
  std::vector<std::vector<float>> out(problems.size());
  std::vector<std::string> errors(problems.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < problems.size(); ++i)
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 4; ++rep) {
        const ScmGemmDesc& d = problems[i].d;
        out[i] = problems[i].c0;
        if (int rc = cpu().gemm.gemm(&d, problems[i].a.data(), problems[i].b.data(), out[i].data()))
          errors[i] = concat("rc=", rc, " ", cpu().last_error());
      }
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < problems.size(); ++i) {
    SCM_CHECK(errors[i].empty(), errors[i]);
    expect_c(concat("concurrent caller ", i), problems[i], out[i], refs[i], 1e-5);
  }
}

SCM_TEST(gemm_library_starts_no_threads_of_its_own) {
  // One pool: the library computes on the engine's threads only (no OpenMP team, no
  // OpenBLAS pool woken), so the process's thread count does not grow with a GEMM.
  if (!scm::cpu::gemm_has_library()) throw TestSkip("no CPU GEMM library in this build");
  scm::parallel_for(64, 1, [](size_t, size_t) {});  // the engine's pool exists
  const Problem p = make_problem({512, 256, 384, false, true, 2}, 5);
  const int before = thread_count_of_process();
  for (int precision : {SCM_GEMM_FP32, SCM_GEMM_BF16}) {
    ScmGemmDesc d = p.d;
    d.precision = precision;
    run_cpu(GemmPath::Library, d, p.a.data(), p.b.data(), p);
  }
  const int after = thread_count_of_process();
  SCM_CHECK(after == before, "threads before ", before, ", after library GEMMs ", after);
  note(concat("threads: ", after, " (engine pool: ", scm::cpu_thread_count(), ")"));
}

SCM_TEST(cuda_gemm_bf16_matches_cpu) {
  const ScmKernels& k = require_cuda();
  uint64_t seed = 3000;
  for (const Shape& s : awkward_shapes()) {
    const Problem p = make_problem(s, seed += 10);
    const std::vector<uint16_t> a16 = bf16_of(p.a), b16 = bf16_of(p.b);
    auto da = scm::DeviceBuffer::from_host(k, p.a), db = scm::DeviceBuffer::from_host(k, p.b);
    auto da16 = scm::DeviceBuffer::from_host(k, a16), db16 = scm::DeviceBuffer::from_host(k, b16);
    auto run_cuda = [&](const ScmGemmDesc& d, const scm::DeviceBuffer& a, const scm::DeviceBuffer& b) {
      auto dc = scm::DeviceBuffer::from_host(k, p.c0);
      ok(k, k.gemm.gemm(&d, a.get(), b.get(), dc.as()), "cuda gemm");
      return dc.to_vector<float>();
    };
    const auto ref_rounded = reference(p, rounded(p.a), rounded(p.b));
    const auto ref_mixed = reference(p, rounded(p.a), cast<double>(p.b));
    ScmGemmDesc d = p.d;
    d.precision = SCM_GEMM_BF16;
    const auto cpu_c = run_cpu(GemmPath::Default, d, p.a.data(), p.b.data(), p);
    std::vector<double> cpu_ref = cast<double>(cpu_c);
    for (size_t i = 0; i < cpu_ref.size(); ++i) if (!p.c_valid[i]) cpu_ref[i] = p.c0[i];
    expect_c("cuda bf16 (fp32 operands) vs cpu " + name(s), p, run_cuda(d, da, db), cpu_ref, 1e-5);
    expect_c("cuda bf16 (fp32 operands) vs rounded reference " + name(s), p, run_cuda(d, da, db), ref_rounded, 1e-5);
    d = p.d;
    d.a_type = d.b_type = SCM_DTYPE_BF16;
    expect_c("cuda bf16 operands " + name(s), p, run_cuda(d, da16, db16), ref_rounded, 1e-5);
    d = p.d;
    d.a_type = SCM_DTYPE_BF16;
    expect_c("cuda bf16 A, fp32 B " + name(s), p, run_cuda(d, da16, db), ref_mixed, 1e-5);
  }
  // to_bf16 on the device: the same bits as the CPU (NaN: any NaN).
  std::vector<float> src = random_normal<float>(100003, 8, 1e3);
  src[5] = NAN; src[6] = INFINITY; src[7] = -INFINITY; src[8] = 3.3961776e38f;
  std::vector<uint16_t> want(src.size());
  ok(cpu(), cpu().gemm.to_bf16(static_cast<int64_t>(src.size()), src.data(), want.data()), "cpu to_bf16");
  auto dsrc = scm::DeviceBuffer::from_host(k, src);
  scm::DeviceBuffer ddst(k, src.size() * 2);
  ddst.fill_bytes(0);
  ok(k, k.gemm.to_bf16(static_cast<int64_t>(src.size()), dsrc.as(), ddst.as<uint16_t>()), "cuda to_bf16");
  const auto got = ddst.to_vector<uint16_t>();
  for (size_t i = 0; i < src.size(); ++i) {
    if (std::isnan(src[i])) SCM_CHECK((got[i] & 0x7F80u) == 0x7F80u && (got[i] & 0x7Fu), "NaN -> ", got[i]);
    else SCM_CHECK(got[i] == want[i], "to_bf16 element ", i, ": cuda ", got[i], ", cpu ", want[i]);
  }
}
