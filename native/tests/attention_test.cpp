// Attention on the CPU: the naive reference and the tiled (flash-style) kernels, forward,
// JVP and backward. Double precision against central finite differences; the float table
// entries against the double naive reference; rows without a valid key.
#include <cstring>
#include <limits>

#include "framework.h"
#include "../cpu/attention_fast.h"
#include "../cpu/attention_flash.h"

using namespace scm_test;

namespace {

using Vec = std::vector<double>;

ScmAttentionShape make_shape(int64_t batch, int64_t heads, int64_t len_q, int64_t len_k,
                             int64_t head_dim, const std::vector<int32_t>* key_lengths) {
  ScmAttentionShape s{};
  s.batch = batch;
  s.heads = heads;
  s.len_q = len_q;
  s.len_k = len_k;
  s.head_dim = head_dim;
  s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  s.key_lengths = key_lengths && !key_lengths->empty() ? key_lengths->data() : nullptr;
  s.precision = SCM_ATTN_FP32;
  return s;
}

size_t q_size(const ScmAttentionShape& s) { return static_cast<size_t>(s.batch * s.heads * s.len_q * s.head_dim); }
size_t k_size(const ScmAttentionShape& s) { return static_cast<size_t>(s.batch * s.heads * s.len_k * s.head_dim); }
size_t row_count(const ScmAttentionShape& s) { return static_cast<size_t>(s.batch * s.heads * s.len_q); }

// Random inputs (normal, never zeros) for one shape.
struct Inputs {
  Vec q, k, v, tq, tk, tv, dout;
};
Inputs make_inputs(const ScmAttentionShape& s, uint64_t seed) {
  Inputs in;
  in.q = random_normal(q_size(s), seed + 1);
  in.k = random_normal(k_size(s), seed + 2);
  in.v = random_normal(k_size(s), seed + 3);
  in.tq = random_normal(q_size(s), seed + 4);
  in.tk = random_normal(k_size(s), seed + 5);
  in.tv = random_normal(k_size(s), seed + 6);
  in.dout = random_normal(q_size(s), seed + 7);
  return in;
}

// Rounds through float so that the float kernels and the double reference see the same input.
Vec through_float(const Vec& x) { return cast<double>(cast<float>(x)); }

Vec concat3(const Vec& a, const Vec& b, const Vec& c) {
  Vec r(a);
  r.insert(r.end(), b.begin(), b.end());
  r.insert(r.end(), c.begin(), c.end());
  return r;
}

using FwdFn = void (*)(const ScmAttentionShape&, const double*, const double*, const double*,
                       double*, double*);
using JvpFn = void (*)(const ScmAttentionShape&, const double*, const double*, const double*,
                       const double*, const double*, const double*, double*, double*, double*);
using BwdFn = void (*)(const ScmAttentionShape&, const double*, const double*, const double*,
                       const double*, const double*, const double*, double*, double*, double*);

struct Impl {
  const char* name;
  FwdFn fwd;
  JvpFn jvp;
  BwdFn bwd;
};

const Impl kNaive{"naive", &scm::cpu::attention_naive_forward<double>,
                  &scm::cpu::attention_naive_jvp<double>,
                  &scm::cpu::attention_naive_backward<double>};
// Tiny blocks: several query and key blocks, partial last blocks, running-max rescaling.
const Impl kFlashSmall{"flash<2,3>", &scm::cpu::attention_flash_forward<double, 2, 3>,
                       &scm::cpu::attention_flash_jvp<double, 2, 3>,
                       &scm::cpu::attention_flash_backward<double, 2, 3>};
const Impl kFlash{"flash<64,64>", &scm::cpu::attention_flash_forward<double>,
                  &scm::cpu::attention_flash_jvp<double>,
                  &scm::cpu::attention_flash_backward<double>};

// In double: the JVP against a central difference of the forward along (tq, tk, tv) all at
// once; the backward against the finite-difference gradient of L = <dO, O(q, k, v)>; lse
// against a direct log-sum-exp; the JVP's primal against the forward.
void check_fd(const Impl& impl, int64_t batch, int64_t heads, int64_t len_q, int64_t len_k,
              int64_t head_dim, std::vector<int32_t> key_lengths, uint64_t seed) {
  const ScmAttentionShape s = make_shape(batch, heads, len_q, len_k, head_dim, &key_lengths);
  const Inputs in = make_inputs(s, seed);
  const size_t nq = q_size(s), nk = k_size(s);
  const std::string tag = concat(impl.name, " ", batch, "x", heads, " q", len_q, " k", len_k,
                                 " d", head_dim, key_lengths.empty() ? "" : " masked");

  auto forward = [&](const Vec& x) {
    Vec o(nq);
    impl.fwd(s, x.data(), x.data() + nq, x.data() + nq + nk, o.data(), nullptr);
    return o;
  };
  const Vec x = concat3(in.q, in.k, in.v), tx = concat3(in.tq, in.tk, in.tv);

  Vec o(nq), lse(row_count(s)), o2(nq, NAN), to(nq, NAN), lse2(row_count(s), NAN);
  impl.fwd(s, in.q.data(), in.k.data(), in.v.data(), o.data(), lse.data());
  impl.jvp(s, in.q.data(), in.k.data(), in.v.data(), in.tq.data(), in.tk.data(), in.tv.data(),
           o2.data(), to.data(), lse2.data());
  SCM_CHECK(rel_l2(o2, o) <= 1e-14, tag, ": jvp primal differs from forward by ", rel_l2(o2, o));

  // lse_i = log sum_{j valid} exp(scale q_i . k_j), directly (inputs are small).
  for (int64_t bh = 0; bh < batch * heads; ++bh) {
    const int64_t n = key_lengths.empty() ? len_k : key_lengths[bh / heads];
    for (int64_t i = 0; i < len_q; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        double dotp = 0;
        for (int64_t c = 0; c < head_dim; ++c)
          dotp += in.q[(bh * len_q + i) * head_dim + c] * in.k[(bh * len_k + j) * head_dim + c];
        sum += std::exp(s.scale * dotp);
      }
      const double want = std::log(sum), got = lse[bh * len_q + i], got2 = lse2[bh * len_q + i];
      if (n == 0) {
        SCM_CHECK(got == -INFINITY && got2 == -INFINITY, tag, ": lse of an empty row = ", got);
      } else {
        SCM_CHECK(std::fabs(got - want) <= 1e-12 * (1 + std::fabs(want)), tag, ": lse ", got, " vs ", want);
        SCM_CHECK(got2 == got, tag, ": jvp lse ", got2, " vs forward ", got);
      }
    }
  }

  expect_close(tag + " jvp vs fd", to, fd_directional(forward, x, tx), 1e-6);

  Vec dq(nq, NAN), dk(nk, NAN), dv(nk, NAN);
  impl.bwd(s, in.q.data(), in.k.data(), in.v.data(), o.data(), lse.data(), in.dout.data(),
           dq.data(), dk.data(), dv.data());
  const Vec g = fd_gradient([&](const Vec& xx) { return dot(in.dout, forward(xx)); }, x);
  expect_close(tag + " backward vs fd", concat3(dq, dk, dv), g, 1e-6);
}

void check_fd_cases(const Impl& impl) {
  check_fd(impl, 2, 2, 5, 7, 3, {}, 100);
  check_fd(impl, 2, 2, 5, 7, 3, {4, 7}, 200);
  check_fd(impl, 2, 2, 5, 7, 3, {0, 5}, 300);  // batch item 0 has no valid key
  check_fd(impl, 1, 3, 6, 4, 5, {}, 400);      // more queries than keys
  check_fd(impl, 1, 1, 1, 1, 2, {}, 500);      // one query, one key
}

// The float table entries (forward, JVP and the backward of short sequences: the fast paths of
// attention_fast.h; the backward of long ones: the tiled kernel of attention_flash.h; or the
// naive entries when `naive`) against the double naive reference:
// forward (o, lse), JVP (o, to) and backward (dq, dk, dv), each rel L2 <= tol. Outputs are
// poisoned with NaN first so an unwritten element fails.
void check_float_vs_double(bool naive, int64_t batch, int64_t heads, int64_t len_q,
                           int64_t len_k, int64_t head_dim, std::vector<int32_t> key_lengths,
                           uint64_t seed, double tol = 1e-5) {
  const ScmKernels& K = cpu();
  const ScmAttentionShape s = make_shape(batch, heads, len_q, len_k, head_dim, &key_lengths);
  Inputs in = make_inputs(s, seed);
  for (Vec* t : {&in.q, &in.k, &in.v, &in.tq, &in.tk, &in.tv, &in.dout}) *t = through_float(*t);
  const size_t nq = q_size(s), nk = k_size(s), nr = row_count(s);
  const std::string tag = concat(naive ? "naive" : "tiled", " ", batch, "x", heads, " q", len_q,
                                 " k", len_k, " d", head_dim, key_lengths.empty() ? "" : " masked");

  // Reference in double.
  Vec o_ref(nq), to_ref(nq), lse_ref(nr), dq_ref(nq), dk_ref(nk), dv_ref(nk);
  scm::cpu::attention_naive_jvp<double>(s, in.q.data(), in.k.data(), in.v.data(), in.tq.data(),
                                        in.tk.data(), in.tv.data(), o_ref.data(), to_ref.data(),
                                        lse_ref.data());
  scm::cpu::attention_naive_backward<double>(s, in.q.data(), in.k.data(), in.v.data(),
                                             o_ref.data(), lse_ref.data(), in.dout.data(),
                                             dq_ref.data(), dk_ref.data(), dv_ref.data());

  const std::vector<float> q = cast<float>(in.q), k = cast<float>(in.k), v = cast<float>(in.v),
                           tq = cast<float>(in.tq), tk = cast<float>(in.tk),
                           tv = cast<float>(in.tv), dout = cast<float>(in.dout);
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> o(nq, qnan), lse(nr, qnan), o2(nq, qnan), to(nq, qnan), lse2(nr, qnan),
      dq(nq, qnan), dk(nk, qnan), dv(nk, qnan);
  const auto& A = K.attention;
  ok(K, (naive ? A.naive_forward : A.forward)(&s, q.data(), k.data(), v.data(), o.data(), lse.data()),
     "attention forward");
  ok(K, (naive ? A.naive_jvp : A.jvp)(&s, q.data(), k.data(), v.data(), tq.data(), tk.data(),
                                      tv.data(), o2.data(), to.data(), lse2.data()),
     "attention jvp");
  ok(K, (naive ? A.naive_backward : A.backward)(&s, q.data(), k.data(), v.data(), o.data(),
                                                lse.data(), dout.data(), dq.data(), dk.data(),
                                                dv.data()),
     "attention backward");

  // lse: -inf exactly where the reference is (rows without a valid key), close elsewhere.
  Vec lse_f, lse_r;
  for (size_t r = 0; r < nr; ++r) {
    if (lse_ref[r] == -INFINITY) {
      SCM_CHECK(lse[r] == -INFINITY && lse2[r] == -INFINITY, tag, ": lse[", r, "] = ", lse[r],
                " / ", lse2[r], " for a row without a valid key");
    } else {
      lse_f.push_back(lse[r]);
      lse_f.push_back(lse2[r]);
      lse_r.push_back(lse_ref[r]);
      lse_r.push_back(lse_ref[r]);
    }
  }
  expect_close(tag + " o", o, o_ref, tol);
  expect_close(tag + " lse", lse_f, lse_r, tol);
  expect_close(tag + " jvp o", o2, o_ref, tol);
  expect_close(tag + " jvp to", to, to_ref, tol);
  expect_close(tag + " dq", dq, dq_ref, tol);
  expect_close(tag + " dk", dk, dk_ref, tol);
  expect_close(tag + " dv", dv, dv_ref, tol);
}

bool all_zero(const std::vector<float>& x, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i)
    if (x[i] != 0.0f) return false;
  return true;
}

}  // namespace

SCM_TEST(attention_naive_double_vs_fd) { check_fd_cases(kNaive); }

SCM_TEST(attention_flash_double_vs_fd) {
  check_fd_cases(kFlashSmall);
  check_fd_cases(kFlash);
}

// The tiled recurrences are exact: with small blocks (many rescalings of the running max)
// the double tiled kernels agree with the double naive ones to rounding.
SCM_TEST(attention_flash_double_matches_naive) {
  const Impl impls[] = {kFlashSmall, {"flash<4,8>", &scm::cpu::attention_flash_forward<double, 4, 8>,
                                      &scm::cpu::attention_flash_jvp<double, 4, 8>,
                                      &scm::cpu::attention_flash_backward<double, 4, 8>}};
  struct Case { int64_t b, h, lq, lk, d; std::vector<int32_t> kl; };
  const Case cases[] = {{3, 2, 37, 53, 5, {53, 20, 1}}, {1, 1, 29, 17, 7, {}}, {2, 1, 1, 33, 3, {0, 33}}};
  uint64_t seed = 900;
  double worst = 0;
  for (const Impl& impl : impls) {
    for (const Case& c : cases) {
      std::vector<int32_t> kl = c.kl;
      const ScmAttentionShape s = make_shape(c.b, c.h, c.lq, c.lk, c.d, &kl);
      // Logits spread out so the running max changes often and exponents span a wide range.
      Inputs in = make_inputs(s, seed += 10);
      for (double& x : in.q) x *= 3;
      const size_t nq = q_size(s), nk = k_size(s), nr = row_count(s);
      Vec o_n(nq), to_n(nq), lse_n(nr), dq_n(nq), dk_n(nk), dv_n(nk);
      Vec o_f(nq, NAN), to_f(nq, NAN), lse_f(nr, NAN), dq_f(nq, NAN), dk_f(nk, NAN), dv_f(nk, NAN);
      kNaive.jvp(s, in.q.data(), in.k.data(), in.v.data(), in.tq.data(), in.tk.data(), in.tv.data(),
                 o_n.data(), to_n.data(), lse_n.data());
      kNaive.bwd(s, in.q.data(), in.k.data(), in.v.data(), o_n.data(), lse_n.data(), in.dout.data(),
                 dq_n.data(), dk_n.data(), dv_n.data());
      impl.jvp(s, in.q.data(), in.k.data(), in.v.data(), in.tq.data(), in.tk.data(), in.tv.data(),
               o_f.data(), to_f.data(), lse_f.data());
      impl.bwd(s, in.q.data(), in.k.data(), in.v.data(), o_f.data(), lse_f.data(), in.dout.data(),
               dq_f.data(), dk_f.data(), dv_f.data());
      for (size_t r = 0; r < nr; ++r) {
        if (lse_n[r] == -INFINITY) {
          SCM_CHECK(lse_f[r] == -INFINITY, impl.name, ": lse of an empty row ", lse_f[r]);
          lse_n[r] = lse_f[r] = 0;
        }
      }
      const std::string tag = concat(impl.name, " q", c.lq, " k", c.lk);
      for (auto [what, got, ref] : {std::tuple{"o", &o_f, &o_n}, {"to", &to_f, &to_n}, {"lse", &lse_f, &lse_n},
                                    {"dq", &dq_f, &dq_n}, {"dk", &dk_f, &dk_n}, {"dv", &dv_f, &dv_n}}) {
        const double e = rel_l2(*got, *ref);
        SCM_CHECK(e <= 1e-12, tag, " ", what, ": rel err ", e);
        worst = std::max(worst, e);
      }
    }
  }
  note(concat("worst rel err ", worst));
}

// Float tiled entries against the double naive reference, self-attention. Every listed
// length (1, 15, 64, 515, 999) and head dim (16, 32, 64, 128) appears here or in the cross
// test below.
SCM_TEST(attention_tiled_float_self) {
  check_float_vs_double(false, 2, 3, 1, 1, 64, {}, 11);
  check_float_vs_double(false, 2, 3, 15, 15, 128, {}, 12);
  check_float_vs_double(false, 2, 2, 64, 64, 32, {}, 13);
  check_float_vs_double(false, 1, 1, 515, 515, 64, {}, 14);
  check_float_vs_double(false, 1, 1, 999, 999, 16, {}, 15);
}

SCM_TEST(attention_tiled_float_cross) {
  check_float_vs_double(false, 1, 2, 1, 999, 128, {}, 21);
  check_float_vs_double(false, 1, 1, 999, 15, 32, {}, 22);
  check_float_vs_double(false, 1, 1, 64, 515, 128, {}, 23);
  check_float_vs_double(false, 1, 1, 515, 64, 16, {}, 24);
  check_float_vs_double(false, 2, 1, 15, 1, 64, {}, 25);
}

SCM_TEST(attention_tiled_float_key_lengths) {
  check_float_vs_double(false, 3, 2, 70, 131, 32, {131, 67, 1}, 31);
  check_float_vs_double(false, 2, 2, 65, 64, 16, {63, 64}, 32);
  check_float_vs_double(false, 4, 1, 15, 999, 16, {999, 515, 64, 65}, 33);
}

// The DiT's attention shapes (49 tokens of 4x4 patches of 28x28, 4 heads of 32; 16 tokens of
// 7x7 patches) and head dims that are not whole 8-lane groups through the table entries, and
// the fast forward's ISA variants bit for bit (baseline vs AVX2, awkward lengths, masked keys,
// an empty row).
SCM_TEST(attention_fast_forward_dit_shapes_and_isas) {
  check_float_vs_double(false, 3, 4, 49, 49, 32, {}, 51);
  check_float_vs_double(false, 2, 2, 16, 16, 64, {}, 52);
  // head dims that are not whole lane groups, and more than 8 groups (77 = 9 x 8 + 5)
  check_float_vs_double(false, 2, 1, 37, 53, 5, {53, 9}, 53);
  check_float_vs_double(false, 1, 2, 70, 131, 17, {}, 54);
  check_float_vs_double(false, 1, 1, 33, 40, 77, {}, 55);
  if (!scm::cpu::fast::isa_available(scm::cpu::fast::Isa::Avx2)) throw TestSkip("this CPU has no AVX2: only the baseline variant runs");
  struct Case { int64_t b, h, lq, lk, d; std::vector<int32_t> kl; };
  const Case cases[] = {{2, 3, 49, 49, 32, {}}, {3, 1, 37, 53, 5, {53, 0, 9}}, {1, 2, 1, 999, 128, {}}, {1, 1, 70, 131, 17, {}}, {1, 1, 33, 40, 77, {}}};
  uint64_t seed = 600;
  for (const Case& c : cases) {
    std::vector<int32_t> kl = c.kl;
    const ScmAttentionShape s = make_shape(c.b, c.h, c.lq, c.lk, c.d, &kl);
    Inputs in = make_inputs(s, seed += 7);
    const std::vector<float> q = cast<float>(in.q), k = cast<float>(in.k), v = cast<float>(in.v);
    std::vector<float> o[2], lse[2];
    for (int i = 0; i < 2; ++i) {
      o[i].assign(q_size(s), std::numeric_limits<float>::quiet_NaN());
      lse[i].assign(row_count(s), std::numeric_limits<float>::quiet_NaN());
      scm::cpu::fast::attention_forward(i ? scm::cpu::fast::Isa::Avx2 : scm::cpu::fast::Isa::Baseline, s, q.data(),
                                        k.data(), v.data(), o[i].data(), lse[i].data());
    }
    SCM_CHECK(std::memcmp(o[0].data(), o[1].data(), o[0].size() * 4) == 0, "q", c.lq, " k", c.lk, " d", c.d, ": o differs between ISAs");
    SCM_CHECK(std::memcmp(lse[0].data(), lse[1].data(), lse[0].size() * 4) == 0, "q", c.lq, " k", c.lk, ": lse differs between ISAs");
  }
}

// The fast backward (attention_fast.h, the table's backward for short sequences): which shapes
// it takes (the DiT's, not the long ones the tiled reference keeps), and its ISA variants and
// the fast JVP's bit for bit. Its accuracy against the double reference is checked through the table entries by
// the tiled_float and fast_forward tests above (every case with len_q x len_k within its
// buffer: 15x15, 64x64, 49x49, 37x53, 70x131, ...), its empty rows by attention_empty_rows.
SCM_TEST(attention_fast_backward_jvp_dit_shapes_and_isas) {
  SCM_CHECK(scm::cpu::fast::attention_backward_fits(make_shape(128, 4, 49, 49, 32, nullptr)), "the DiT shape must take the fast backward");
  SCM_CHECK(scm::cpu::fast::attention_backward_fits(make_shape(1, 1, 70, 131, 17, nullptr)), "70 x 131 must take the fast backward");
  SCM_CHECK(!scm::cpu::fast::attention_backward_fits(make_shape(1, 1, 515, 515, 64, nullptr)), "515 x 515 must stay on the tiled reference");
  SCM_CHECK(!scm::cpu::fast::attention_backward_fits(make_shape(1, 1, 1, 999999, 16, nullptr)), "a very long key row must stay on the tiled reference");
  if (!scm::cpu::fast::isa_available(scm::cpu::fast::Isa::Avx2)) throw TestSkip("this CPU has no AVX2: only the baseline variant runs");
  struct Case { int64_t b, h, lq, lk, d; std::vector<int32_t> kl; };
  const Case cases[] = {{2, 3, 49, 49, 32, {}}, {3, 1, 37, 53, 5, {53, 0, 9}}, {1, 2, 1, 999, 128, {}}, {1, 1, 70, 131, 17, {}}, {1, 1, 33, 40, 77, {}}};
  uint64_t seed = 700;
  for (const Case& c : cases) {
    std::vector<int32_t> kl = c.kl;
    const ScmAttentionShape s = make_shape(c.b, c.h, c.lq, c.lk, c.d, &kl);
    SCM_CHECK(scm::cpu::fast::attention_backward_fits(s), "q", c.lq, " k", c.lk, ": expected to fit");
    Inputs in = make_inputs(s, seed += 7);
    const std::vector<float> q = cast<float>(in.q), k = cast<float>(in.k), v = cast<float>(in.v), dout = cast<float>(in.dout);
    std::vector<float> o(q_size(s)), lse(row_count(s));
    scm::cpu::fast::attention_forward(scm::cpu::fast::Isa::Baseline, s, q.data(), k.data(), v.data(), o.data(), lse.data());
    std::vector<float> g[2][3];
    for (int i = 0; i < 2; ++i) {
      g[i][0].assign(q_size(s), std::numeric_limits<float>::quiet_NaN());
      g[i][1].assign(k_size(s), std::numeric_limits<float>::quiet_NaN());
      g[i][2].assign(k_size(s), std::numeric_limits<float>::quiet_NaN());
      scm::cpu::fast::attention_backward(i ? scm::cpu::fast::Isa::Avx2 : scm::cpu::fast::Isa::Baseline, s, q.data(), k.data(),
                                         v.data(), o.data(), lse.data(), dout.data(), g[i][0].data(), g[i][1].data(), g[i][2].data());
    }
    // the JVP's variants too
    const std::vector<float> tq = cast<float>(in.tq), tk = cast<float>(in.tk), tv = cast<float>(in.tv);
    std::vector<float> jo[2], jto[2], jlse[2];
    for (int i = 0; i < 2; ++i) {
      jo[i].assign(q_size(s), std::numeric_limits<float>::quiet_NaN());
      jto[i].assign(q_size(s), std::numeric_limits<float>::quiet_NaN());
      jlse[i].assign(row_count(s), std::numeric_limits<float>::quiet_NaN());
      scm::cpu::fast::attention_jvp(i ? scm::cpu::fast::Isa::Avx2 : scm::cpu::fast::Isa::Baseline, s, q.data(), k.data(),
                                    v.data(), tq.data(), tk.data(), tv.data(), jo[i].data(), jto[i].data(), jlse[i].data());
    }
    const char* names[6] = {"dq", "dk", "dv", "jvp o", "jvp to", "jvp lse"};
    const std::vector<float>* got[6][2] = {{&g[0][0], &g[1][0]}, {&g[0][1], &g[1][1]}, {&g[0][2], &g[1][2]},
                                           {&jo[0], &jo[1]}, {&jto[0], &jto[1]}, {&jlse[0], &jlse[1]}};
    for (int j = 0; j < 6; ++j) {
      const std::vector<float>& a = *got[j][0];
      const std::vector<float>& b = *got[j][1];
      for (float x : a) SCM_CHECK(j == 5 || std::isfinite(x), "q", c.lq, " k", c.lk, ": ", names[j], " not finite (unwritten?)");
      SCM_CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0, "q", c.lq, " k", c.lk, " d", c.d, ": ", names[j], " differs between ISAs");
    }
  }
}

// The naive float table entries (the benchmark baseline) against the double reference.
SCM_TEST(attention_naive_float) {
  check_float_vs_double(true, 2, 3, 15, 64, 32, {}, 41);
  check_float_vs_double(true, 3, 1, 33, 70, 16, {70, 1, 40}, 42);
  check_float_vs_double(true, 1, 1, 515, 64, 128, {}, 43);
}

// Rows without a valid key: len_k = 0, or key_lengths[b] = 0. Finite outputs, o = to = 0,
// lse = -inf, zero gradients (masked keys' dk, dv too); for tiled and naive entries.
SCM_TEST(attention_empty_rows) {
  const ScmKernels& K = cpu();
  const auto& A = K.attention;
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  for (bool naive : {false, true}) {
    const char* which = naive ? "naive" : "tiled";
    // (a) len_k = 0 for every row; (b) batch item 1 of 3 has key_lengths 0.
    struct Case { int64_t b, h, lq, lk, d; std::vector<int32_t> kl; };
    for (const Case& c : {Case{2, 2, 9, 0, 16, {}}, Case{3, 2, 67, 70, 32, {70, 0, 5}}}) {
      std::vector<int32_t> kl = c.kl;
      const ScmAttentionShape s = make_shape(c.b, c.h, c.lq, c.lk, c.d, &kl);
      const size_t nq = q_size(s), nk = k_size(s), nr = row_count(s);
      const Inputs in = make_inputs(s, 77);
      const std::vector<float> q = cast<float>(in.q), k = cast<float>(in.k), v = cast<float>(in.v),
                               tq = cast<float>(in.tq), tk = cast<float>(in.tk),
                               tv = cast<float>(in.tv), dout = cast<float>(in.dout);
      std::vector<float> o(nq, qnan), lse(nr, qnan), o2(nq, qnan), to(nq, qnan), lse2(nr, qnan),
          dq(nq, qnan), dk(nk, qnan), dv(nk, qnan);
      ok(K, (naive ? A.naive_forward : A.forward)(&s, q.data(), k.data(), v.data(), o.data(), lse.data()), "forward");
      ok(K, (naive ? A.naive_jvp : A.jvp)(&s, q.data(), k.data(), v.data(), tq.data(), tk.data(),
                                          tv.data(), o2.data(), to.data(), lse2.data()), "jvp");
      ok(K, (naive ? A.naive_backward : A.backward)(&s, q.data(), k.data(), v.data(), o.data(),
                                                    lse.data(), dout.data(), dq.data(), dk.data(), dv.data()),
         "backward");
      for (auto* t : {&o, &o2, &to, &dq, &dk, &dv})
        for (float x : *t) SCM_CHECK(std::isfinite(x), which, ": non-finite output ", x);
      const size_t qrows_per_b = static_cast<size_t>(c.h * c.lq), krows_per_b = static_cast<size_t>(c.h * c.lk);
      for (int64_t b = 0; b < c.b; ++b) {
        const int64_t n = c.kl.empty() ? c.lk : c.kl[b];
        const size_t q0 = b * qrows_per_b * c.d, q1 = (b + 1) * qrows_per_b * c.d;
        for (int64_t r = b * qrows_per_b; r < static_cast<int64_t>((b + 1) * qrows_per_b); ++r) {
          if (n == 0)
            SCM_CHECK(lse[r] == -INFINITY && lse2[r] == -INFINITY, which, ": lse ", lse[r], " ", lse2[r]);
          else
            SCM_CHECK(std::isfinite(lse[r]) && std::isfinite(lse2[r]), which, ": lse ", lse[r]);
        }
        if (n == 0) {
          SCM_CHECK(all_zero(o, q0, q1) && all_zero(o2, q0, q1) && all_zero(to, q0, q1), which,
                    ": o / to not zero for batch item ", b);
          SCM_CHECK(all_zero(dq, q0, q1), which, ": dq not zero for batch item ", b);
        } else {
          SCM_CHECK(!all_zero(o, q0, q1) && !all_zero(dq, q0, q1), which, ": zero output for batch item ", b);
        }
        // dk, dv: zero on keys j >= n of every head of this batch item.
        for (int64_t h = 0; h < c.h; ++h) {
          const size_t base = (b * c.h + h) * c.lk * c.d;
          SCM_CHECK(all_zero(dk, base + n * c.d, base + c.lk * c.d) &&
                        all_zero(dv, base + n * c.d, base + c.lk * c.d),
                    which, ": masked keys have a gradient (batch item ", b, ")");
          if (n > 0) SCM_CHECK(!all_zero(dv, base, base + n * c.d), which, ": dv zero on valid keys");
        }
        (void)krows_per_b;
      }
    }
    // len_q = 0: nothing to attend from, dk = dv = 0.
    std::vector<int32_t> none;
    const ScmAttentionShape s = make_shape(2, 1, 0, 5, 4, &none);
    const std::vector<float> k = cast<float>(random_normal(k_size(s), 5)), v = cast<float>(random_normal(k_size(s), 6));
    std::vector<float> dk(k_size(s), qnan), dv(k_size(s), qnan);
    float dummy = 0;
    ok(K, (naive ? A.naive_backward : A.backward)(&s, &dummy, k.data(), v.data(), &dummy, &dummy,
                                                  &dummy, &dummy, dk.data(), dv.data()),
       "backward len_q=0");
    SCM_CHECK(all_zero(dk, 0, dk.size()) && all_zero(dv, 0, dv.size()), which, ": len_q=0 gradients not zero");
  }
}

SCM_TEST(attention_rejects_bad_shapes) {
  const ScmKernels& K = cpu();
  std::vector<float> x(64, 0.5f), lse(8);
  std::vector<int32_t> too_long{5};
  ScmAttentionShape s = make_shape(1, 1, 2, 4, 8, &too_long);  // key_lengths > len_k
  SCM_CHECK(K.attention.forward(&s, x.data(), x.data(), x.data(), x.data(), lse.data()) == SCM_E_ARGUMENT);
  SCM_CHECK(K.attention.naive_forward(&s, x.data(), x.data(), x.data(), x.data(), lse.data()) == SCM_E_ARGUMENT);
  s = make_shape(1, 1, -2, 4, 8, nullptr);
  SCM_CHECK(K.attention.jvp(&s, x.data(), x.data(), x.data(), x.data(), x.data(), x.data(), x.data(),
                            x.data(), nullptr) == SCM_E_ARGUMENT);
  s = make_shape(1, 1, 2, 4, 8, nullptr);
  SCM_CHECK(K.attention.backward(&s, x.data(), x.data(), x.data(), x.data(), nullptr, x.data(), x.data(),
                                 x.data(), x.data()) == SCM_E_ARGUMENT);  // tiled backward needs lse
}
