// The float fast path of the attention forward (attention_fast.h: the algorithm and accuracy).
#include "attention_fast.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attention_naive.h"  // attention_valid_keys
#include "../core/error.h"
#include "../core/parallel.h"

namespace scm::cpu::fast {
namespace {

constexpr int64_t kRows = 64;  // query rows per task (the keys are transposed once per task)

// Logits of NR query rows against the transposed keys kt (d x n8): s[r * n8 + c].
template <int NR>
SCM_FAST_INLINE void logits(const float* q, int64_t d, const float* kt, int64_t n8, float scale, float* s) {
  for (int64_t c = 0; c < n8; c += kLanes) {
    f8 acc[NR];
    for (int r = 0; r < NR; ++r) acc[r] = splat(0.0f);
    for (int64_t x = 0; x < d; ++x) {
      const f8 kx = load(kt + x * n8 + c);
      for (int r = 0; r < NR; ++r) acc[r] = acc[r] + kx * q[r * d + x];  // vector * scalar: a broadcast (splat() of a variable builds the vector lane by lane)
    }
    for (int r = 0; r < NR; ++r) store(s + r * n8 + c, acc[r] * scale);
  }
}

// Softmax of one row of n logits in place (the n8 - n pad lanes set to 0); returns l and
// writes the row max to m.
SCM_FAST_INLINE float softmax_row(float* s, int64_t n, int64_t n8, float& m) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t c = n; c < n8; ++c) s[c] = neg_inf;
  f8 mv = splat(neg_inf);
  for (int64_t c = 0; c < n8; c += kLanes) {
    const f8 x = load(s + c);
    mv = select(x > mv, x, mv);
  }
  m = hmax(mv);
  f8 lv = splat(0.0f);
  for (int64_t c = 0; c < n8; c += kLanes) {
    const f8 p = exp8(load(s + c) - m);  // pad lanes: e^-inf = 0
    store(s + c, p);
    lv = lv + p;
  }
  return hsum(lv);
}

// o[x0 .. x0 + 8G) = (Σ_c p_c v_c) * inv_l over the n keys in key order: G lane groups of 8
// accumulated at once (registers: a compile-time G), so consecutive keys' additions are
// independent chains.
template <int G>
SCM_FAST_INLINE void weighted_groups(const float* p, int64_t n, const float* v, int64_t d, int64_t x0, float inv_l,
                                     float* o) {
  f8 acc[G];
  for (int j = 0; j < G; ++j) acc[j] = splat(0.0f);
  for (int64_t c = 0; c < n; ++c) {
    const float* vc = v + c * d + x0;
    for (int j = 0; j < G; ++j) acc[j] = acc[j] + load(vc + j * kLanes) * p[c];
  }
  for (int j = 0; j < G; ++j) store(o + x0 + j * kLanes, acc[j] * inv_l);
}

// The same for the last d % 8 dims (a partial lane group).
SCM_FAST_INLINE void weighted_tail(const float* p, int64_t n, const float* v, int64_t d, int64_t x0, float inv_l,
                                   float* o) {
  const int64_t w = d - x0;
  f8 acc = splat(0.0f);
  for (int64_t c = 0; c < n; ++c) acc = acc + load_partial(v + c * d + x0, w, 0.0f) * p[c];
  store_partial(o + x0, acc * inv_l, w);
}

// o = (Σ_c p_c v_c) / l over the head dim: groups of up to 64 dims, then the tail.
SCM_FAST_INLINE void weighted_values(const float* p, int64_t n, const float* v, int64_t d, float inv_l, float* o) {
  int64_t x0 = 0;
  for (; x0 + kLanes <= d;) {
    const int64_t g = std::min<int64_t>(8, (d - x0) / kLanes);
    switch (g) {
      case 8: weighted_groups<8>(p, n, v, d, x0, inv_l, o); break;
      case 7: weighted_groups<7>(p, n, v, d, x0, inv_l, o); break;
      case 6: weighted_groups<6>(p, n, v, d, x0, inv_l, o); break;
      case 5: weighted_groups<5>(p, n, v, d, x0, inv_l, o); break;
      case 4: weighted_groups<4>(p, n, v, d, x0, inv_l, o); break;
      case 3: weighted_groups<3>(p, n, v, d, x0, inv_l, o); break;
      case 2: weighted_groups<2>(p, n, v, d, x0, inv_l, o); break;
      default: weighted_groups<1>(p, n, v, d, x0, inv_l, o); break;
    }
    x0 += g * kLanes;
  }
  if (x0 < d) weighted_tail(p, n, v, d, x0, inv_l, o);
}

SCM_FAST_INLINE void forward_task(const ScmAttentionShape& s, const float* q, const float* k, const float* v, float* o,
                                  float* lse, int64_t task, std::vector<float>& kt, std::vector<float>& sbuf) {
  const int64_t Lq = s.len_q, Lk = s.len_k, d = s.head_dim;
  const int64_t q_blocks = (Lq + kRows - 1) / kRows;
  const int64_t bh = task / q_blocks, i0 = (task % q_blocks) * kRows, nq = std::min(kRows, Lq - i0);
  const int64_t n = std::max<int64_t>(0, attention_valid_keys(s, bh / s.heads));
  const float* Q = q + (bh * Lq + i0) * d;
  float* O = o + (bh * Lq + i0) * d;
  float* LSE = lse ? lse + bh * Lq + i0 : nullptr;
  if (n == 0) {  // no valid key: o = 0, lse = -inf
    std::fill(O, O + nq * d, 0.0f);
    if (LSE) std::fill(LSE, LSE + nq, -std::numeric_limits<float>::infinity());
    return;
  }
  const int64_t n8 = (n + kLanes - 1) / kLanes * kLanes;
  const float* K = k + bh * Lk * d;
  const float* V = v + bh * Lk * d;
  kt.resize(static_cast<size_t>(d * n8));
  sbuf.resize(static_cast<size_t>(4 * n8));
  for (int64_t x = 0; x < d; ++x) {
    float* row = kt.data() + x * n8;
    for (int64_t c = 0; c < n; ++c) row[c] = K[c * d + x];
    std::fill(row + n, row + n8, 0.0f);
  }
  const float scale = static_cast<float>(s.scale);
  for (int64_t r0 = 0; r0 < nq; r0 += 4) {
    const int nr = static_cast<int>(std::min<int64_t>(4, nq - r0));
    if (nr == 4) logits<4>(Q + r0 * d, d, kt.data(), n8, scale, sbuf.data());
    else
      for (int r = 0; r < nr; ++r) logits<1>(Q + (r0 + r) * d, d, kt.data(), n8, scale, sbuf.data() + r * n8);
    for (int r = 0; r < nr; ++r) {
      float* p = sbuf.data() + r * n8;
      float m;
      const float l = softmax_row(p, n, n8, m);
      weighted_values(p, n, V, d, 1.0f / l, O + (r0 + r) * d);
      if (LSE) LSE[r0 + r] = m + std::log(l);
    }
  }
}

using ForwardFn = void (*)(const ScmAttentionShape&, const float*, const float*, const float*, float*, float*, int64_t,
                           std::vector<float>&, std::vector<float>&);

#define SCM_ATTENTION_FORWARD(NAME, ATTR)                                                                          \
  ATTR void NAME(const ScmAttentionShape& s, const float* q, const float* k, const float* v, float* o, float* lse, \
                 int64_t task, std::vector<float>& kt, std::vector<float>& sbuf) {                                 \
    forward_task(s, q, k, v, o, lse, task, kt, sbuf);                                                              \
  }
SCM_ATTENTION_FORWARD(forward_base, )
#if SCM_FAST_X86
SCM_ATTENTION_FORWARD(forward_avx2, SCM_FAST_TARGET_AVX2)
#endif

ForwardFn forward_fn(Isa isa) {
#if SCM_FAST_X86
  if (isa == Isa::Avx2) {
    require(isa_available(Isa::Avx2), SCM_E_ARGUMENT, "attention forward: this CPU has no AVX2");
    return forward_avx2;
  }
#else
  require(isa == Isa::Baseline, SCM_E_ARGUMENT, "attention forward: only the baseline ISA on this CPU");
#endif
  return forward_base;
}

}  // namespace

void attention_forward(Isa isa, const ScmAttentionShape& s, const float* q, const float* k, const float* v, float* o,
                       float* lse) {
  const ForwardFn fn = forward_fn(isa);
  const int64_t q_blocks = (s.len_q + kRows - 1) / kRows;
  const size_t tasks = static_cast<size_t>(s.batch * s.heads * q_blocks);
  parallel_for(tasks, 1, [&](size_t begin, size_t end) {
    thread_local std::vector<float> kt, sbuf;
    for (size_t t = begin; t < end; ++t) fn(s, q, k, v, o, lse, static_cast<int64_t>(t), kt, sbuf);
  });
}

}  // namespace scm::cpu::fast
