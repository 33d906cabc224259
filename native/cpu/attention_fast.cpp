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

// dst[c * ld_dst + r] = src[r * ld_src + c] for r < rows, c < cols.
SCM_FAST_INLINE void transpose(const float* src, int64_t rows, int64_t cols, int64_t ld_src, float* dst,
                               int64_t ld_dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * ld_dst + r] = src[r * ld_src + c];
}

// logits() of nr rows (4 at a time where there are 4, else one by one).
SCM_FAST_INLINE void logits_rows(int64_t nr, const float* q, int64_t d, const float* kt, int64_t n8, float scale,
                                 float* s) {
  if (nr == 4) {
    logits<4>(q, d, kt, n8, scale, s);
    return;
  }
  for (int64_t r = 0; r < nr; ++r) logits<1>(q + r * d, d, kt, n8, scale, s + r * n8);
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
  kt.assign(static_cast<size_t>(d * n8), 0.0f);
  sbuf.resize(static_cast<size_t>(4 * n8));
  transpose(K, n, d, d, kt.data(), n8);  // d x n8, pad lanes 0
  const float scale = static_cast<float>(s.scale);
  for (int64_t r0 = 0; r0 < nq; r0 += 4) {
    const int nr = static_cast<int>(std::min<int64_t>(4, nq - r0));
    logits_rows(nr, Q + r0 * d, d, kt.data(), n8, scale, sbuf.data());
    for (int r = 0; r < nr; ++r) {
      float* p = sbuf.data() + r * n8;
      float m;
      const float l = softmax_row(p, n, n8, m);
      weighted_values(p, n, V, d, 1.0f / l, O + (r0 + r) * d);
      if (LSE) LSE[r0 + r] = m + std::log(l);
    }
  }
}

// ---------------------------------------------------------------- backward (short sequences)
constexpr int64_t kBackwardMaxTile = 16384;  // len_q x n8 floats of P (and of dS) per head: 64 KB

struct BackwardBuffers {
  std::vector<float> kt, vt, p, ds, pt, dst;
};

// x . y over d floats, summed in index order like one lane of logits(): where o_r = v_c (a
// single valid key) D_r then equals dO_r . v_c bit for bit and dS = 0 exactly, as in exact
// arithmetic (the reference's result there is 0, so any rounding residue would be all error).
SCM_FAST_INLINE float dot(const float* x, const float* y, int64_t d) {
  float acc = 0.0f;
  for (int64_t i = 0; i < d; ++i) acc = acc + x[i] * y[i];
  return acc;
}

// Rows [r0, r0 + nr) of P and dS: on entry P holds scale (q . k) and dS holds dO . v.
SCM_FAST_INLINE void backward_rows(const float* lse, const float* dO, const float* O, int64_t d, int64_t n, int64_t n8,
                                   float scale, int64_t nr, float* P, float* dS) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < nr; ++r) {
    float* pr = P + r * n8;
    float* dsr = dS + r * n8;
    if (lse[r] == neg_inf) {  // no valid key: P = dS = 0
      std::fill(pr, pr + n8, 0.0f);
      std::fill(dsr, dsr + n8, 0.0f);
      continue;
    }
    const float D = dot(dO + r * d, O + r * d, d);
    for (int64_t c = 0; c < n8; c += kLanes) {
      const f8 p = exp8(load(pr + c) - lse[r]);
      store(pr + c, p);
      store(dsr + c, p * (load(dsr + c) - D) * scale);
    }
    for (int64_t c = n; c < n8; ++c) pr[c] = dsr[c] = 0.0f;  // pad keys
  }
}

SCM_FAST_INLINE void backward_task(const ScmAttentionShape& s, const float* q, const float* k, const float* v,
                                   const float* o, const float* lse, const float* dout, float* dq, float* dk, float* dv,
                                   int64_t bh, BackwardBuffers& b) {
  const int64_t Lq = s.len_q, Lk = s.len_k, d = s.head_dim;
  const int64_t n = std::max<int64_t>(0, attention_valid_keys(s, bh / s.heads));
  const float *Q = q + bh * Lq * d, *K = k + bh * Lk * d, *V = v + bh * Lk * d;
  const float *O = o + bh * Lq * d, *dO = dout + bh * Lq * d, *LSE = lse + bh * Lq;
  float *dQ = dq + bh * Lq * d, *dK = dk + bh * Lk * d, *dV = dv + bh * Lk * d;
  std::fill(dK + n * d, dK + Lk * d, 0.0f);  // masked keys
  std::fill(dV + n * d, dV + Lk * d, 0.0f);
  if (n == 0) {
    std::fill(dQ, dQ + Lq * d, 0.0f);
    return;
  }
  const int64_t n8 = (n + kLanes - 1) / kLanes * kLanes;
  b.kt.assign(static_cast<size_t>(d * n8), 0.0f);
  b.vt.assign(static_cast<size_t>(d * n8), 0.0f);
  b.p.resize(static_cast<size_t>(Lq * n8));
  b.ds.resize(static_cast<size_t>(Lq * n8));
  b.pt.resize(static_cast<size_t>(n * Lq));
  b.dst.resize(static_cast<size_t>(n * Lq));
  transpose(K, n, d, d, b.kt.data(), n8);  // d x n8, pad lanes 0
  transpose(V, n, d, d, b.vt.data(), n8);
  const float scale = static_cast<float>(s.scale);
  for (int64_t r0 = 0; r0 < Lq; r0 += 4) {
    const int64_t nr = std::min<int64_t>(4, Lq - r0);
    float* P = b.p.data() + r0 * n8;
    float* dS = b.ds.data() + r0 * n8;
    logits_rows(nr, Q + r0 * d, d, b.kt.data(), n8, scale, P);
    logits_rows(nr, dO + r0 * d, d, b.vt.data(), n8, 1.0f, dS);
    backward_rows(LSE + r0, dO + r0 * d, O + r0 * d, d, n, n8, scale, nr, P, dS);
    for (int64_t r = 0; r < nr; ++r) weighted_values(dS + r * n8, n, K, d, 1.0f, dQ + (r0 + r) * d);
  }
  transpose(b.p.data(), Lq, n, n8, b.pt.data(), Lq);  // n x len_q
  transpose(b.ds.data(), Lq, n, n8, b.dst.data(), Lq);
  for (int64_t c = 0; c < n; ++c) {
    weighted_values(b.pt.data() + c * Lq, Lq, dO, d, 1.0f, dV + c * d);
    weighted_values(b.dst.data() + c * Lq, Lq, Q, d, 1.0f, dK + c * d);
  }
}

using BackwardFn = void (*)(const ScmAttentionShape&, const float*, const float*, const float*, const float*,
                            const float*, const float*, float*, float*, float*, int64_t, BackwardBuffers&);

#define SCM_ATTENTION_BACKWARD(NAME, ATTR)                                                                        \
  ATTR void NAME(const ScmAttentionShape& s, const float* q, const float* k, const float* v, const float* o,      \
                 const float* lse, const float* dout, float* dq, float* dk, float* dv, int64_t bh,                \
                 BackwardBuffers& b) {                                                                            \
    backward_task(s, q, k, v, o, lse, dout, dq, dk, dv, bh, b);                                                   \
  }
SCM_ATTENTION_BACKWARD(backward_base, )
#if SCM_FAST_X86
SCM_ATTENTION_BACKWARD(backward_avx2, SCM_FAST_TARGET_AVX2)
#endif

// ---------------------------------------------------------------- JVP
struct JvpBuffers {
  std::vector<float> kt, tkt, s, ts, tmp, b, c;
};

SCM_FAST_INLINE void jvp_task(const ScmAttentionShape& s, const float* q, const float* k, const float* v,
                              const float* tq, const float* tk, const float* tv, float* o, float* to, float* lse,
                              int64_t task, JvpBuffers& w) {
  const int64_t Lq = s.len_q, Lk = s.len_k, d = s.head_dim;
  const int64_t q_blocks = (Lq + kRows - 1) / kRows;
  const int64_t bh = task / q_blocks, i0 = (task % q_blocks) * kRows, nq = std::min(kRows, Lq - i0);
  const int64_t n = std::max<int64_t>(0, attention_valid_keys(s, bh / s.heads));
  const float *Q = q + (bh * Lq + i0) * d, *TQ = tq + (bh * Lq + i0) * d;
  float *O = o + (bh * Lq + i0) * d, *TO = to + (bh * Lq + i0) * d;
  float* LSE = lse ? lse + bh * Lq + i0 : nullptr;
  if (n == 0) {  // no valid key: o = to = 0, lse = -inf
    std::fill(O, O + nq * d, 0.0f);
    std::fill(TO, TO + nq * d, 0.0f);
    if (LSE) std::fill(LSE, LSE + nq, -std::numeric_limits<float>::infinity());
    return;
  }
  const int64_t n8 = (n + kLanes - 1) / kLanes * kLanes;
  const float *K = k + bh * Lk * d, *V = v + bh * Lk * d, *TK = tk + bh * Lk * d, *TV = tv + bh * Lk * d;
  w.kt.assign(static_cast<size_t>(d * n8), 0.0f);
  w.tkt.assign(static_cast<size_t>(d * n8), 0.0f);
  transpose(K, n, d, d, w.kt.data(), n8);
  transpose(TK, n, d, d, w.tkt.data(), n8);
  w.s.resize(static_cast<size_t>(4 * n8));
  w.ts.resize(static_cast<size_t>(4 * n8));
  w.tmp.resize(static_cast<size_t>(4 * n8));
  w.b.resize(static_cast<size_t>(d));
  w.c.resize(static_cast<size_t>(d));
  const float scale = static_cast<float>(s.scale);
  for (int64_t r0 = 0; r0 < nq; r0 += 4) {
    const int nr = static_cast<int>(std::min<int64_t>(4, nq - r0));
    // S = scale q.k; Sdot = scale (qdot.k + q.kdot)
    logits_rows(nr, Q + r0 * d, d, w.kt.data(), n8, scale, w.s.data());
    logits_rows(nr, TQ + r0 * d, d, w.kt.data(), n8, 1.0f, w.ts.data());
    logits_rows(nr, Q + r0 * d, d, w.tkt.data(), n8, 1.0f, w.tmp.data());
    for (int r = 0; r < nr; ++r) {
      float* p = w.s.data() + r * n8;
      float* ts = w.ts.data() + r * n8;
      const float* t2 = w.tmp.data() + r * n8;
      float m;
      const float l = softmax_row(p, n, n8, m), inv_l = 1.0f / l;
      // ts <- p Sdot (pad lanes: p = 0), mu = Σ p Sdot
      f8 mu = splat(0.0f);
      for (int64_t c = 0; c < n8; c += kLanes) {
        const f8 pts = load(p + c) * ((load(ts + c) + load(t2 + c)) * scale);
        store(ts + c, pts);
        mu = mu + pts;
      }
      const float mu_l = hsum(mu) * inv_l;
      float* orow = O + (r0 + r) * d;
      float* torow = TO + (r0 + r) * d;
      weighted_values(p, n, V, d, inv_l, orow);             // O = Σ p v / l
      weighted_values(ts, n, V, d, inv_l, w.b.data());      // Σ p Sdot v / l
      weighted_values(p, n, TV, d, inv_l, w.c.data());      // Σ p vdot / l
      for (int64_t x = 0; x < d; ++x) torow[x] = (w.b[x] + w.c[x]) - mu_l * orow[x];
      if (LSE) LSE[r0 + r] = m + std::log(l);
    }
  }
}

using JvpFn = void (*)(const ScmAttentionShape&, const float*, const float*, const float*, const float*, const float*,
                       const float*, float*, float*, float*, int64_t, JvpBuffers&);

#define SCM_ATTENTION_JVP(NAME, ATTR)                                                                              \
  ATTR void NAME(const ScmAttentionShape& s, const float* q, const float* k, const float* v, const float* tq,      \
                 const float* tk, const float* tv, float* o, float* to, float* lse, int64_t task, JvpBuffers& w) { \
    jvp_task(s, q, k, v, tq, tk, tv, o, to, lse, task, w);                                                         \
  }
SCM_ATTENTION_JVP(jvp_base, )
#if SCM_FAST_X86
SCM_ATTENTION_JVP(jvp_avx2, SCM_FAST_TARGET_AVX2)
#endif

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

}  // namespace

void attention_jvp(Isa isa, const ScmAttentionShape& s, const float* q, const float* k, const float* v, const float* tq,
                   const float* tk, const float* tv, float* o, float* to, float* lse) {
  const JvpFn fn = variant<JvpFn>(isa, jvp_base, SCM_FAST_AVX2(jvp), "attention JVP");
  const int64_t q_blocks = (s.len_q + kRows - 1) / kRows;
  const size_t tasks = static_cast<size_t>(s.batch * s.heads * q_blocks);
  parallel_for(tasks, 1, [&](size_t begin, size_t end) {
    thread_local JvpBuffers buffers;
    for (size_t t = begin; t < end; ++t) fn(s, q, k, v, tq, tk, tv, o, to, lse, static_cast<int64_t>(t), buffers);
  });
}

bool attention_backward_fits(const ScmAttentionShape& s) {
  const int64_t n8 = (s.len_k + kLanes - 1) / kLanes * kLanes;
  return s.len_q <= kBackwardMaxTile && n8 <= kBackwardMaxTile && s.len_q * n8 <= kBackwardMaxTile;
}

void attention_backward(Isa isa, const ScmAttentionShape& s, const float* q, const float* k, const float* v,
                        const float* o, const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  require(attention_backward_fits(s), SCM_E_ARGUMENT, "attention backward fast path: len_q ", s.len_q, " x len_k ",
          s.len_k, " is over its per-head buffer");
  const BackwardFn fn = variant<BackwardFn>(isa, backward_base, SCM_FAST_AVX2(backward), "attention backward");
  parallel_for(static_cast<size_t>(s.batch * s.heads), 1, [&](size_t begin, size_t end) {
    thread_local BackwardBuffers buffers;
    for (size_t t = begin; t < end; ++t) fn(s, q, k, v, o, lse, dout, dq, dk, dv, static_cast<int64_t>(t), buffers);
  });
}

void attention_forward(Isa isa, const ScmAttentionShape& s, const float* q, const float* k, const float* v, float* o,
                       float* lse) {
  const ForwardFn fn = variant<ForwardFn>(isa, forward_base, SCM_FAST_AVX2(forward), "attention forward");
  const int64_t q_blocks = (s.len_q + kRows - 1) / kRows;
  const size_t tasks = static_cast<size_t>(s.batch * s.heads * q_blocks);
  parallel_for(tasks, 1, [&](size_t begin, size_t end) {
    thread_local std::vector<float> kt, sbuf;
    for (size_t t = begin; t < end; ++t) fn(s, q, k, v, o, lse, static_cast<int64_t>(t), kt, sbuf);
  });
}

}  // namespace scm::cpu::fast
