// CUDA attention (native/cuda/flash_attention*.cu, attention_naive.cu) against the CPU
// reference entries (scm_test::cpu().attention.naive_*), which attention_test.cpp checks
// against finite differences in double. Random inputs, awkward lengths (1, 15, 64, 515, 999),
// head dims 16/32/64/128, self and cross attention, key_lengths with a zero entry, len_k = 0,
// poisoned outputs (0xFF: every unwritten float is NaN); SCM_ATTN_FP16 in the JVP and backward
// on tangents and dout whose products overflow fp16. All tests skip without a GPU.
//
// Tolerances (relative L2): bf16 operands 1e-2, fp16 operands 5e-3; the naive path with
// SCM_ATTN_FP32 runs fp32 products (1e-4), with SCM_ATTN_FP16 TF32 products (5e-3). The flash
// JVP and backward run SCM_ATTN_FP16 with bf16 operands (attention.h): 1e-2 there.
#include <algorithm>
#include <cmath>
#include <cstring>
#include "framework.h"

using namespace scm_test;

namespace {

struct Case {
  int64_t batch, heads, lq, lk, d;
  bool key_lengths;  // batch item 1 gets 0 valid keys, item 0 about half, item 2 all
};

struct Inputs {
  std::vector<float> q, k, v, tq, tk, tv, dout;
  std::vector<int32_t> kl;
};

std::string label(const Case& c, const char* path, int precision) {
  const char* p = precision == SCM_ATTN_BF16 ? "bf16" : precision == SCM_ATTN_FP16 ? "fp16" : "fp32";
  return concat(path, " ", p, " b", c.batch, " h", c.heads, " lq", c.lq, " lk", c.lk, " d", c.d,
                c.key_lengths ? " key_lengths" : "");
}

Inputs make_inputs(const Case& c, uint64_t seed) {
  const size_t nq = c.batch * c.heads * c.lq * c.d, nk = c.batch * c.heads * c.lk * c.d;
  Inputs in;
  in.q = random_normal<float>(nq, seed + 1);
  in.k = random_normal<float>(nk, seed + 2);
  in.v = random_normal<float>(nk, seed + 3);
  in.tq = random_normal<float>(nq, seed + 4);
  in.tk = random_normal<float>(nk, seed + 5);
  in.tv = random_normal<float>(nk, seed + 6);
  in.dout = random_normal<float>(nq, seed + 7);
  if (c.key_lengths) {
    in.kl.resize(c.batch);
    for (int64_t b = 0; b < c.batch; ++b) {
      const int64_t r = b % 3;
      in.kl[b] = static_cast<int32_t>(r == 0 ? (c.lk + 1) / 2 : r == 1 ? 0 : c.lk);
    }
  }
  return in;
}

ScmAttentionShape shape_of(const Case& c, int precision, const int32_t* kl) {
  ScmAttentionShape s{};
  s.batch = c.batch; s.heads = c.heads; s.len_q = c.lq; s.len_k = c.lk; s.head_dim = c.d;
  s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.d)));
  s.key_lengths = kl;
  s.precision = precision;
  return s;
}

struct Outputs {
  std::vector<float> o_fwd, lse_fwd, o, to, lse, dq, dk, dv;
};

// CPU reference: naive JVP (o, to, lse), naive forward, naive backward.
Outputs run_cpu(const Case& c, const Inputs& in) {
  const ScmKernels& k = cpu();
  ScmAttentionShape s = shape_of(c, SCM_ATTN_FP32, c.key_lengths ? in.kl.data() : nullptr);
  const size_t nq = in.q.size(), nk = in.k.size(), rows = c.batch * c.heads * c.lq;
  Outputs r;
  r.o_fwd.resize(nq); r.lse_fwd.resize(rows);
  r.o.resize(nq); r.to.resize(nq); r.lse.resize(rows);
  r.dq.resize(nq); r.dk.resize(nk); r.dv.resize(nk);
  ok(k, k.attention.naive_forward(&s, in.q.data(), in.k.data(), in.v.data(), r.o_fwd.data(), r.lse_fwd.data()), "cpu naive_forward");
  ok(k, k.attention.naive_jvp(&s, in.q.data(), in.k.data(), in.v.data(), in.tq.data(), in.tk.data(), in.tv.data(),
                              r.o.data(), r.to.data(), r.lse.data()), "cpu naive_jvp");
  ok(k, k.attention.naive_backward(&s, in.q.data(), in.k.data(), in.v.data(), r.o.data(), r.lse.data(),
                                   in.dout.data(), r.dq.data(), r.dk.data(), r.dv.data()), "cpu naive_backward");
  return r;
}

scm::DeviceBuffer poisoned(const ScmKernels& k, size_t count) {
  scm::DeviceBuffer b(k, std::max<size_t>(count, 1) * sizeof(float));
  b.fill_bytes(0xFF);
  return b;
}

std::vector<float> first(const scm::DeviceBuffer& b, size_t count) {
  std::vector<float> v = b.to_vector<float>();
  v.resize(count);
  return v;
}

// The CUDA entries (flash or naive) on the same inputs; the backward gets the CPU's o and lse.
Outputs run_cuda(const ScmKernels& k, const Case& c, const Inputs& in, const Outputs& ref, int precision, bool naive) {
  const size_t nq = in.q.size(), nk = in.k.size(), rows = c.batch * c.heads * c.lq;
  auto up = [&](const std::vector<float>& v) { return scm::DeviceBuffer::from_host(k, v.empty() ? std::vector<float>(1, 1.f) : v); };
  auto q = up(in.q), kk = up(in.k), v = up(in.v), tq = up(in.tq), tk = up(in.tk), tv = up(in.tv), dout = up(in.dout);
  auto o_cpu = up(ref.o), lse_cpu = up(ref.lse);
  scm::DeviceBuffer kl;
  if (c.key_lengths) kl = scm::DeviceBuffer::from_host(k, in.kl);
  ScmAttentionShape s = shape_of(c, precision, c.key_lengths ? kl.as<int32_t>() : nullptr);
  auto o_fwd = poisoned(k, nq), lse_fwd = poisoned(k, rows), o = poisoned(k, nq), to = poisoned(k, nq),
       lse = poisoned(k, rows), dq = poisoned(k, nq), dk = poisoned(k, nk), dv = poisoned(k, nk);
  const ScmAttentionKernels& a = k.attention;
  ok(k, (naive ? a.naive_forward : a.forward)(&s, q.as(), kk.as(), v.as(), o_fwd.as(), lse_fwd.as()), "cuda forward");
  ok(k, (naive ? a.naive_jvp : a.jvp)(&s, q.as(), kk.as(), v.as(), tq.as(), tk.as(), tv.as(), o.as(), to.as(), lse.as()),
     "cuda jvp");
  ok(k, (naive ? a.naive_backward : a.backward)(&s, q.as(), kk.as(), v.as(), o_cpu.as(), lse_cpu.as(), dout.as(), dq.as(),
                                                dk.as(), dv.as()), "cuda backward");
  Outputs r;
  r.o_fwd = first(o_fwd, nq); r.lse_fwd = first(lse_fwd, rows);
  r.o = first(o, nq); r.to = first(to, nq); r.lse = first(lse, rows);
  r.dq = first(dq, nq); r.dk = first(dk, nk); r.dv = first(dv, nk);
  return r;
}

// lse: -inf exactly where the reference is -inf (rows without keys), close elsewhere.
void expect_lse(const std::string& what, const std::vector<float>& got, const std::vector<float>& ref, double tol) {
  SCM_CHECK(got.size() == ref.size(), what);
  std::vector<double> g, r;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (std::isinf(ref[i]) && ref[i] < 0) {
      SCM_CHECK(std::isinf(got[i]) && got[i] < 0, what, ": row ", i, " has no valid key but lse = ", got[i]);
    } else {
      g.push_back(got[i]);
      r.push_back(ref[i]);
    }
  }
  if (!r.empty()) expect_close(what, g, r, tol);
}

// Rows / keys that must be exactly zero: batch items without keys (o, to, dq, dk, dv) and keys
// at or beyond key_lengths[b] (dk, dv).
void expect_exact_zeros(const std::string& what, const Case& c, const Inputs& in, const Outputs& got) {
  for (int64_t b = 0; b < c.batch; ++b) {
    const int64_t kv = c.key_lengths ? std::min<int64_t>(in.kl[b], c.lk) : c.lk;
    for (int64_t h = 0; h < c.heads; ++h) {
      const int64_t bh = b * c.heads + h;
      if (kv == 0)
        for (int64_t i = 0; i < c.lq * c.d; ++i) {
          const size_t at = bh * c.lq * c.d + i;
          SCM_CHECK(got.o_fwd[at] == 0.f && got.o[at] == 0.f && got.to[at] == 0.f && got.dq[at] == 0.f, what,
                    ": batch item ", b, " has no valid key but o/to/dq element ", i, " is not 0");
        }
      for (int64_t j = kv; j < c.lk; ++j)
        for (int64_t e = 0; e < c.d; ++e) {
          const size_t at = (bh * c.lk + j) * c.d + e;
          SCM_CHECK(got.dk[at] == 0.f && got.dv[at] == 0.f, what, ": masked key ", j, " of batch item ", b,
                    " has a nonzero gradient");
        }
    }
  }
}

void check_case(const ScmKernels& k, const Case& c, int precision, bool naive, double tol, uint64_t seed) {
  Inputs in = make_inputs(c, seed);
  Outputs ref = run_cpu(c, in);
  Outputs got = run_cuda(k, c, in, ref, precision, naive);
  const std::string l = label(c, naive ? "naive" : "flash", precision);
  // The flash JVP and backward have no fp16 operands: SCM_ATTN_FP16 runs them in bf16.
  const double tol2 = !naive && precision == SCM_ATTN_FP16 ? std::max(tol, 1e-2) : tol;
  expect_close(l + " forward o", got.o_fwd, ref.o_fwd, tol);
  expect_lse(l + " forward lse", got.lse_fwd, ref.lse_fwd, tol);
  expect_close(l + " jvp o", got.o, ref.o, tol2);
  expect_close(l + " jvp to", got.to, ref.to, tol2);
  expect_lse(l + " jvp lse", got.lse, ref.lse, tol2);
  if (c.lk > 1) {
    expect_close(l + " backward dq", got.dq, ref.dq, tol2);
    expect_close(l + " backward dk", got.dk, ref.dk, tol2);
  } else {
    // One key per row: P = 1, dS = dP - rowsum(dO ⊙ O) = 0 exactly, so dq = dk = 0 and a
    // relative error is meaningless. What remains is the rounding of dP (operands rounded to
    // bf16 / fp16 against D_i in fp32): bounded by a small multiple of the operand precision.
    double worst = 0;
    for (float x : got.dq) worst = std::max(worst, std::isfinite(x) ? std::fabs(double(x)) : INFINITY);
    for (float x : got.dk) worst = std::max(worst, std::isfinite(x) ? std::fabs(double(x)) : INFINITY);
    SCM_CHECK(worst <= 0.05 * std::sqrt(double(c.d)), l, ": single key, |dq|, |dk| up to ", worst, " (exact: 0)");
    note(concat(l, " single key max|dq|,|dk|=", worst));
  }
  expect_close(l + " backward dv", got.dv, ref.dv, tol2);
  expect_exact_zeros(l, c, in, got);
}

double tolerance(int precision, bool naive) {
  if (precision == SCM_ATTN_FP16) return 5e-3;
  if (precision == SCM_ATTN_FP32 && naive) return 1e-4;
  return 1e-2;  // bf16 operands (and SCM_ATTN_FP32 on the flash path, which runs bf16)
}

// Self attention at every awkward length and head dim, plus cross attention with
// key_lengths (one batch item without keys).
void sweep(const ScmKernels& k, int precision, bool naive) {
  uint64_t seed = 1000 + 100 * precision + (naive ? 50 : 0);
  const double tol = tolerance(precision, naive);
  for (int64_t d : {16, 32, 64, 128}) {
    for (int64_t len : {1, 15, 64, 515, 999}) {
      const int64_t heads = len >= 515 ? 1 : 3;  // the CPU reference parallelises over batch x heads
      check_case(k, {2, heads, len, len, d, false}, precision, naive, tol, seed += 7);
    }
    check_case(k, {3, 2, 15, 64, d, true}, precision, naive, tol, seed += 7);
    check_case(k, {3, 1, 130, 1, d, true}, precision, naive, tol, seed += 7);
    check_case(k, {3, 1, 64, 515, d, true}, precision, naive, tol, seed += 7);
    check_case(k, {3, 1, 999, 77, d, true}, precision, naive, tol, seed += 7);
  }
}

}  // namespace

SCM_TEST(cuda_attention_flash_bf16_matches_cpu) { sweep(require_cuda(), SCM_ATTN_BF16, false); }

SCM_TEST(cuda_attention_flash_fp16_matches_cpu) { sweep(require_cuda(), SCM_ATTN_FP16, false); }

// SCM_ATTN_FP32 on the flash entries runs the bf16 tensor-core kernels (attention_table.cu).
SCM_TEST(cuda_attention_flash_fp32_request_runs_bf16) {
  const ScmKernels& k = require_cuda();
  for (int64_t d : {32, 128}) {
    check_case(k, {2, 2, 67, 67, d, false}, SCM_ATTN_FP32, false, 1e-2, 77 + d);
    check_case(k, {3, 2, 33, 130, d, true}, SCM_ATTN_FP32, false, 1e-2, 78 + d);
  }
}

SCM_TEST(cuda_attention_naive_matches_cpu) {
  const ScmKernels& k = require_cuda();
  for (int precision : {SCM_ATTN_FP32, SCM_ATTN_BF16, SCM_ATTN_FP16}) {
    const double tol = tolerance(precision, true);
    uint64_t seed = 5000 + 100 * precision;
    for (int64_t d : {16, 64, 128}) {
      for (int64_t len : {1, 15, 515}) check_case(k, {2, 2, len, len, d, false}, precision, true, tol, seed += 7);
      check_case(k, {3, 2, 15, 64, d, true}, precision, true, tol, seed += 7);
      check_case(k, {3, 1, 999, 77, d, true}, precision, true, tol, seed += 7);
    }
  }
  // Any head dim on the naive path.
  check_case(k, {2, 2, 31, 17, 24, true}, SCM_ATTN_FP32, true, 1e-4, 6001);
}

// len_k = 0: o = to = 0, lse = -inf, dq = 0 (dk, dv are empty); len_q = 0: dk = dv = 0.
SCM_TEST(cuda_attention_empty_lengths) {
  const ScmKernels& k = require_cuda();
  for (bool naive : {false, true})
    for (int precision : {SCM_ATTN_BF16, SCM_ATTN_FP16}) {
      {
        const Case c{2, 2, 19, 0, 64, false};
        Inputs in = make_inputs(c, 9);
        Outputs ref = run_cpu(c, in);
        Outputs got = run_cuda(k, c, in, ref, precision, naive);
        const std::string l = label(c, naive ? "naive" : "flash", precision);
        for (size_t i = 0; i < got.o.size(); ++i)
          SCM_CHECK(got.o[i] == 0.f && got.o_fwd[i] == 0.f && got.to[i] == 0.f && got.dq[i] == 0.f, l, " element ", i);
        for (size_t i = 0; i < got.lse.size(); ++i)
          SCM_CHECK(std::isinf(got.lse[i]) && got.lse[i] < 0 && std::isinf(got.lse_fwd[i]) && got.lse_fwd[i] < 0, l,
                    " lse ", i, " = ", got.lse[i]);
      }
      {
        const Case c{2, 2, 0, 21, 32, false};
        Inputs in = make_inputs(c, 10);
        Outputs ref = run_cpu(c, in);
        Outputs got = run_cuda(k, c, in, ref, precision, naive);
        for (size_t i = 0; i < got.dk.size(); ++i)
          SCM_CHECK(got.dk[i] == 0.f && got.dv[i] == 0.f, "len_q = 0: dk/dv element ", i);
      }
    }
}

// The flash kernels exist for head dims 16, 32, 64, 128 only: anything else is an argument
// error with a message, not a launch failure.
SCM_TEST(cuda_attention_rejects_unsupported_head_dim) {
  const ScmKernels& k = require_cuda();
  const Case c{1, 1, 8, 8, 48, false};
  Inputs in = make_inputs(c, 11);
  auto q = scm::DeviceBuffer::from_host(k, in.q), kk = scm::DeviceBuffer::from_host(k, in.k),
       v = scm::DeviceBuffer::from_host(k, in.v);
  scm::DeviceBuffer o(k, in.q.size() * sizeof(float)), lse(k, 8 * sizeof(float));
  ScmAttentionShape s = shape_of(c, SCM_ATTN_BF16, nullptr);
  int rc = k.attention.forward(&s, q.as(), kk.as(), v.as(), o.as(), lse.as());
  SCM_CHECK(rc == SCM_E_ARGUMENT, "rc=", rc);
  SCM_CHECK(std::strstr(k.last_error(), "head_dim") != nullptr, k.last_error());
  rc = k.attention.jvp(&s, q.as(), kk.as(), v.as(), q.as(), kk.as(), v.as(), o.as(), o.as(), lse.as());
  SCM_CHECK(rc == SCM_E_ARGUMENT, "rc=", rc);
  s.precision = 7;
  s.head_dim = 64;
  rc = k.attention.forward(&s, q.as(), kk.as(), v.as(), o.as(), lse.as());
  SCM_CHECK(rc == SCM_E_ARGUMENT, "unknown precision accepted: rc=", rc);
}

// ---------------------------------------------------------------- SCM_ATTN_FP16 range
// The flash JVP and backward with SCM_ATTN_FP16 requested, on tangents and dout of size up to
// 6e4: each input still fits fp16 (max 65504), the products formed from them do not:
// Sdot = scale (tq k^T + q tk^T) at a row's largest score enters the tensor cores as
// e^{S-m} Sdot = Sdot, and dS = P (dP - D) with dP = dout v^T. With fp16 operands those
// become inf and the outputs inf / NaN; with the bf16 operands that the JVP and backward use
// for SCM_ATTN_FP16 (core/kernels/attention.h) the results are finite and within bf16's
// tolerance. Both passes are linear in the tangents and in dout, so the tolerance of
// unit-sized inputs applies. The premise (operands do overflow fp16) is computed on the host
// before require_cuda(), so it holds on every machine.
namespace {

constexpr double kBigInput = 6e4;              // every tangent and dout element fits fp16
constexpr double kFp16Overflow = 1.05 * 65520;  // fp16 rounds 65520 and up to inf; 5% margin

Inputs make_large_inputs(const Case& c, uint64_t seed) {
  Inputs in = make_inputs(c, seed);  // q, k, v ~ N(0, 1)
  in.tq = random_uniform<float>(in.q.size(), seed + 4, -kBigInput, kBigInput);
  in.tk = random_uniform<float>(in.k.size(), seed + 5, -kBigInput, kBigInput);
  in.tv = random_uniform<float>(in.k.size(), seed + 6, -kBigInput, kBigInput);
  in.dout = random_uniform<float>(in.q.size(), seed + 7, -kBigInput, kBigInput);
  return in;
}

// In double: rows whose |Sdot| at their largest score exceeds kFp16Overflow (there the flash
// JVP's operand e^{S-m} Sdot is Sdot itself), and elements of dS = P (dout.v - dout.o) that do.
void count_fp16_overflows(const Case& c, const Inputs& x, int64_t* sdot_over, int64_t* ds_over) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.d));
  *sdot_over = *ds_over = 0;
  auto dotd = [&](const float* a, const float* b) {
    double t = 0;
    for (int64_t e = 0; e < c.d; ++e) t += double(a[e]) * double(b[e]);
    return t;
  };
  std::vector<double> s(c.lk), p(c.lk), o(c.d);
  for (int64_t bh = 0; bh < c.batch * c.heads; ++bh)
    for (int64_t i = 0; i < c.lq; ++i) {
      const float* qi = &x.q[(bh * c.lq + i) * c.d];
      const float* tqi = &x.tq[(bh * c.lq + i) * c.d];
      const float* gi = &x.dout[(bh * c.lq + i) * c.d];
      auto key = [&](const std::vector<float>& t, int64_t j) { return &t[(bh * c.lk + j) * c.d]; };
      int64_t arg = 0;
      for (int64_t j = 0; j < c.lk; ++j) {
        s[j] = scale * dotd(qi, key(x.k, j));
        if (s[j] > s[arg]) arg = j;
      }
      *sdot_over += std::fabs(scale * (dotd(tqi, key(x.k, arg)) + dotd(qi, key(x.tk, arg)))) > kFp16Overflow;
      double l = 0;
      for (int64_t j = 0; j < c.lk; ++j) l += std::exp(s[j] - s[arg]);
      std::fill(o.begin(), o.end(), 0.0);
      for (int64_t j = 0; j < c.lk; ++j) {
        p[j] = std::exp(s[j] - s[arg]) / l;
        for (int64_t e = 0; e < c.d; ++e) o[e] += p[j] * key(x.v, j)[e];
      }
      double di = 0;
      for (int64_t e = 0; e < c.d; ++e) di += double(gi[e]) * o[e];
      for (int64_t j = 0; j < c.lk; ++j) *ds_over += std::fabs(p[j] * (dotd(gi, key(x.v, j)) - di)) > kFp16Overflow;
    }
}

void expect_finite_close(const std::string& what, const std::vector<float>& got, const std::vector<float>& ref,
                         double tol) {
  size_t bad = 0;
  for (float g : got) bad += !std::isfinite(g);
  SCM_CHECK(bad == 0, what, ": ", bad, " of ", got.size(), " elements are inf or NaN (fp16 overflow)");
  expect_close(what, got, ref, tol);
}

const Case kLargeTangentCases[] = {{2, 2, 130, 77, 64, false},   // 64-key tiles
                                   {1, 2, 70, 45, 128, false}};  // head dim 128: 32-key tiles

}  // namespace

SCM_TEST(cuda_attention_fp16_request_survives_large_tangents) {
  uint64_t seed = 31;
  for (const Case& c : kLargeTangentCases) {
    const Inputs in = make_large_inputs(c, seed += 16);
    int64_t sdot_over, ds_over;
    count_fp16_overflows(c, in, &sdot_over, &ds_over);
    const std::string l = label(c, "flash", SCM_ATTN_FP16);
    SCM_CHECK(sdot_over >= 10, l, ": test premise: only ", sdot_over, " rows overflow fp16 in e^{S-m} Sdot");
    SCM_CHECK(ds_over >= 10, l, ": test premise: only ", ds_over, " elements of dS overflow fp16");
    note(concat(l, ": ", sdot_over, " rows overflow fp16 in e^{S-m} Sdot, ", ds_over, " elements of dS"));
  }
  const ScmKernels& k = require_cuda();
  seed = 31;
  for (const Case& c : kLargeTangentCases) {
    const Inputs in = make_large_inputs(c, seed += 16);
    const Outputs ref = run_cpu(c, in);
    for (int precision : {SCM_ATTN_FP16, SCM_ATTN_BF16}) {
      const Outputs got = run_cuda(k, c, in, ref, precision, false);
      const std::string l = label(c, "flash", precision) + " large tangents";
      expect_finite_close(l + " jvp o", got.o, ref.o, 1e-2);
      expect_finite_close(l + " jvp to", got.to, ref.to, 1e-2);
      expect_finite_close(l + " backward dq", got.dq, ref.dq, 1e-2);
      expect_finite_close(l + " backward dk", got.dk, ref.dk, 1e-2);
      expect_finite_close(l + " backward dv", got.dv, ref.dv, 1e-2);
    }
  }
}
