// Attention on the CPU, tiled flash-style: forward, JVP and backward without any
// len_q x len_k buffer. Formulas and recurrences: shared SCM.md §3. This file is the plain
// statement of the algorithm that the CUDA kernels mirror; it favours clarity over speed.
//
// Work split: a query block of BQ rows of one (batch, head) is one task (forward, JVP, dQ);
// a key block of BK keys of one (batch, head) is one task (dK, dV). Each task streams over
// the blocks of the other side holding only a BQ x BK tile of logits.
//
// Forward + JVP, per query row i, one pass over the key blocks, keeping
//   m   running max of S_ij                      (starts at -inf)
//   l   = Σ_j e^{S_ij − m}                        (starts at 0)
//   A   = Σ_j e^{S_ij − m} v_j                    (d-vector)
//   B+C = Σ_j e^{S_ij − m} (Sdot_ij v_j + vdot_j)  (d-vector; B and C share one accumulator)
//   μ   = Σ_j e^{S_ij − m} Sdot_ij                (scalar)
// When a key block raises the max from m_old to m_new every accumulator is multiplied by
// α = e^{m_old − m_new} before the block's terms are added. At the end
//   O = A / l,  Odot = (B + C) / l − (μ / l) O,  lse = m + log l.
// A row with no valid key (l = 0) gives O = 0, Odot = 0, lse = -inf (never 0/0).
//
// Backward (through O only), with D_i = rowsum(dO ⊙ O) precomputed per row and P
// recomputed per tile from the stored lse: P_ij = e^{S_ij − lse_i},
//   dV_j += Σ_i P_ij dO_i,  dS_ij = P_ij (dO_i . v_j − D_i),
//   dK_j += scale Σ_i dS_ij q_i   (pass 1: one task per key block, loops over query blocks)
//   dQ_i += scale Σ_j dS_ij k_j   (pass 2: one task per query block, loops over key blocks)
// Two passes instead of atomics: every output row has exactly one writer, the result is
// deterministic.
//
// key_lengths: keys j >= key_lengths[b] are skipped by bounding the key loop (a GPU tile
// masks them with S = -inf instead; the result is the same).
#pragma once
#include "attention_naive.h"

namespace scm::cpu {

// Block helpers. The logits of a tile are the dot products attention_dot computes, summed in
// the same order (x = 0, 1, ..., d - 1, from 0), so the result is bit-identical; they are
// computed for a whole row of keys at once against a transposed key block, so that the inner
// loop runs over independent keys and the compiler vectorises it (a single dot product is a
// serial chain of additions that -ffp-contract=off without -ffast-math cannot reorder).

// dst[x * ld + c] = src[c * d + x] for c < rows, x < d: a block of rows, transposed.
template <class T>
inline void attention_transpose_block(const T* src, int64_t rows, int64_t d, T* dst, int64_t ld) {
  for (int64_t c = 0; c < rows; ++c)
    for (int64_t x = 0; x < d; ++x) dst[x * ld + c] = src[c * d + x];
}

// out[r * ld + c] = attention_dot(a + r * d, b_c, d) for r < nq, c < nk, where bt is the
// transposed block of the b_c (bt[x * ld + c] = b_c[x]).
template <class T>
inline void attention_tile_dots(const T* a, int64_t nq, const T* bt, int64_t nk, int64_t d, T* out, int64_t ld) {
  for (int64_t r = 0; r < nq; ++r) {
    T* o = out + r * ld;
    std::fill(o, o + nk, T(0));
    const T* ar = a + r * d;
    for (int64_t x = 0; x < d; ++x) {
      const T ax = ar[x];
      const T* btx = bt + x * ld;
      for (int64_t c = 0; c < nk; ++c) o[c] += ax * btx[c];
    }
  }
}

// Forward (tq == nullptr) or forward + JVP (tq, tk, tv, to all given). lse nullable.
template <class T, int BQ = 64, int BK = 64>
void attention_flash_pass(const ScmAttentionShape& s, const T* q, const T* k, const T* v,
                          const T* tq, const T* tk, const T* tv, T* o, T* to, T* lse) {
  static_assert(BQ >= 1 && BK >= 1, "block sizes must be positive");
  const int64_t Lq = s.len_q, Lk = s.len_k, d = s.head_dim;
  const bool tangent = tq != nullptr;
  const T scale = static_cast<T>(s.scale);
  const T neg_inf = -std::numeric_limits<T>::infinity();
  const int64_t q_blocks = (Lq + BQ - 1) / BQ;
  const size_t tasks = static_cast<size_t>(s.batch * s.heads * q_blocks);
  parallel_for(tasks, 1, [&](size_t begin, size_t end) {
    // Per-task state: one tile of logits (and their tangents), per-row running statistics.
    std::vector<T> S(BQ * BK), Sd(tangent ? BQ * BK : 0), Sd2(tangent ? BQ * BK : 0);
    std::vector<T> Kt(d * BK), TKt(tangent ? d * BK : 0);  // the key block (and its tangent), transposed
    std::vector<T> m(BQ), l(BQ), mu(BQ);
    std::vector<T> A(BQ * d), BCacc(tangent ? BQ * d : 0);
    for (size_t task = begin; task < end; ++task) {
      const int64_t bh = static_cast<int64_t>(task) / q_blocks;
      const int64_t i0 = (static_cast<int64_t>(task) % q_blocks) * BQ;  // first query row
      const int64_t nq = std::min<int64_t>(BQ, Lq - i0);                 // rows in this block
      const int64_t b = bh / s.heads;
      const int64_t n = attention_valid_keys(s, b);
      const int64_t qoff = (bh * Lq + i0) * d, koff = bh * Lk * d;
      const T *Q = q + qoff, *K = k + koff, *V = v + koff;
      const T *TQ = tangent ? tq + qoff : nullptr, *TK = tangent ? tk + koff : nullptr,
              *TV = tangent ? tv + koff : nullptr;

      // Initial state: m = -inf, everything else 0.
      std::fill(m.begin(), m.end(), neg_inf);
      std::fill(l.begin(), l.end(), T(0));
      std::fill(A.begin(), A.end(), T(0));
      if (tangent) {
        std::fill(mu.begin(), mu.end(), T(0));
        std::fill(BCacc.begin(), BCacc.end(), T(0));
      }

      for (int64_t j0 = 0; j0 < n; j0 += BK) {
        const int64_t nk = std::min<int64_t>(BK, n - j0);  // valid keys in this block (>= 1)
        // 1. Tile of logits S_rc = scale q_r . k_c and tangents Sdot_rc = scale (qdot_r . k_c
        //    + q_r . kdot_c).
        //    (attention_tile_dots: the dot products q_r . k_c of the whole tile.)
        attention_transpose_block(K + j0 * d, nk, d, Kt.data(), BK);
        attention_tile_dots(Q, nq, Kt.data(), nk, d, S.data(), BK);
        if (tangent) {
          attention_transpose_block(TK + j0 * d, nk, d, TKt.data(), BK);
          attention_tile_dots(TQ, nq, Kt.data(), nk, d, Sd.data(), BK);   // qdot_r . k_c
          attention_tile_dots(Q, nq, TKt.data(), nk, d, Sd2.data(), BK);  // q_r . kdot_c
        }
        for (int64_t r = 0; r < nq; ++r)
          for (int64_t c = 0; c < nk; ++c) {
            S[r * BK + c] = scale * S[r * BK + c];
            if (tangent) Sd[r * BK + c] = scale * (Sd[r * BK + c] + Sd2[r * BK + c]);
          }
        // 2. Online softmax update, row by row.
        for (int64_t r = 0; r < nq; ++r) {
          const T* Sr = S.data() + r * BK;
          T m_new = m[r];
          for (int64_t c = 0; c < nk; ++c) m_new = std::max(m_new, Sr[c]);  // finite: nk >= 1
          // Rescale the accumulators to the new max (α = 0 on the first block: m = -inf).
          const T alpha = std::exp(m[r] - m_new);
          T* Ar = A.data() + r * d;
          T* BCr = tangent ? BCacc.data() + r * d : nullptr;
          l[r] *= alpha;
          for (int64_t x = 0; x < d; ++x) Ar[x] *= alpha;
          if (tangent) {
            mu[r] *= alpha;
            for (int64_t x = 0; x < d; ++x) BCr[x] *= alpha;
          }
          // Add this block's terms with weights p = e^{S − m_new}.
          for (int64_t c = 0; c < nk; ++c) {
            const T p = std::exp(Sr[c] - m_new);
            const T* Vc = V + (j0 + c) * d;
            l[r] += p;
            for (int64_t x = 0; x < d; ++x) Ar[x] += p * Vc[x];  // A += p v
            if (tangent) {
              const T psd = p * Sd[r * BK + c];
              const T* TVc = TV + (j0 + c) * d;
              mu[r] += psd;                                                  // μ += p Sdot
              for (int64_t x = 0; x < d; ++x) BCr[x] += psd * Vc[x] + p * TVc[x];  // B+C
            }
          }
          m[r] = m_new;
        }
      }

      // 3. Finalise: O = A / l, Odot = (B + C)/l − (μ/l) O, lse = m + log l.
      for (int64_t r = 0; r < nq; ++r) {
        T* Or = o + qoff + r * d;
        T* TOr = tangent ? to + qoff + r * d : nullptr;
        T* lse_r = lse ? lse + bh * Lq + i0 + r : nullptr;
        if (!(l[r] > T(0))) {  // no valid key: o = 0, to = 0, lse = -inf
          std::fill(Or, Or + d, T(0));
          if (tangent) std::fill(TOr, TOr + d, T(0));
          if (lse_r) *lse_r = neg_inf;
          continue;
        }
        const T inv_l = T(1) / l[r];
        const T* Ar = A.data() + r * d;
        for (int64_t x = 0; x < d; ++x) Or[x] = Ar[x] * inv_l;
        if (tangent) {
          const T mu_l = mu[r] * inv_l;
          const T* BCr = BCacc.data() + r * d;
          for (int64_t x = 0; x < d; ++x) TOr[x] = BCr[x] * inv_l - mu_l * Or[x];
        }
        if (lse_r) *lse_r = m[r] + std::log(l[r]);
      }
    }
  });
}

template <class T, int BQ = 64, int BK = 64>
void attention_flash_forward(const ScmAttentionShape& s, const T* q, const T* k, const T* v,
                             T* o, T* lse /* nullable */) {
  attention_flash_pass<T, BQ, BK>(s, q, k, v, nullptr, nullptr, nullptr, o, nullptr, lse);
}

template <class T, int BQ = 64, int BK = 64>
void attention_flash_jvp(const ScmAttentionShape& s, const T* q, const T* k, const T* v,
                         const T* tq, const T* tk, const T* tv, T* o, T* to,
                         T* lse /* nullable */) {
  attention_flash_pass<T, BQ, BK>(s, q, k, v, tq, tk, tv, o, to, lse);
}

// Backward through O. lse (required) and o are the forward's outputs. Overwrites dq, dk, dv.
template <class T, int BQ = 64, int BK = 64>
void attention_flash_backward(const ScmAttentionShape& s, const T* q, const T* k, const T* v,
                              const T* o, const T* lse, const T* dout, T* dq, T* dk, T* dv) {
  static_assert(BQ >= 1 && BK >= 1, "block sizes must be positive");
  const int64_t Lq = s.len_q, Lk = s.len_k, d = s.head_dim;
  const int64_t BH = s.batch * s.heads;
  const T scale = static_cast<T>(s.scale);
  const T neg_inf = -std::numeric_limits<T>::infinity();
  const int64_t q_blocks = (Lq + BQ - 1) / BQ, k_blocks = (Lk + BK - 1) / BK;

  // 0. D_i = rowsum(dO ⊙ O), one value per query row (size batch * heads * len_q).
  std::vector<T> D(static_cast<size_t>(BH * Lq));
  parallel_for(static_cast<size_t>(BH * Lq), 1024, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r)
      D[r] = attention_dot(dout + static_cast<int64_t>(r) * d, o + static_cast<int64_t>(r) * d, d);
  });

  // Tile P_rc = e^{scale q_r . k_c − lse_r} and dS_rc = P_rc (dO_r . v_c − D_r) for query
  // rows [i0, i0 + nq) and keys [j0, j0 + nk) of head bh. Rows with lse = -inf (no valid
  // key) get P = dS = 0.
  // Kt, Vt: the key block's keys and values transposed (attention_transpose_block, ld BK).
  auto tile = [&](int64_t bh, int64_t i0, int64_t nq, int64_t nk, const T* Kt, const T* Vt, T* P, T* dS) {
    const T *Q = q + (bh * Lq + i0) * d, *dO = dout + (bh * Lq + i0) * d;
    attention_tile_dots(Q, nq, Kt, nk, d, P, BK);    // q_r . k_c
    attention_tile_dots(dO, nq, Vt, nk, d, dS, BK);  // dO_r . v_c
    for (int64_t r = 0; r < nq; ++r) {
      const T lse_r = lse[bh * Lq + i0 + r];
      const T D_r = D[bh * Lq + i0 + r];
      for (int64_t c = 0; c < nk; ++c) {
        T p = 0, ds = 0;
        if (lse_r != neg_inf) {
          p = std::exp(scale * P[r * BK + c] - lse_r);
          ds = p * (dS[r * BK + c] - D_r);
        }
        P[r * BK + c] = p;
        dS[r * BK + c] = ds;
      }
    }
  };

  // 1. dK, dV: one task per (batch, head, key block), looping over all query blocks.
  parallel_for(static_cast<size_t>(BH * k_blocks), 1, [&](size_t begin, size_t end) {
    std::vector<T> P(BQ * BK), dS(BQ * BK), Kt(d * BK), Vt(d * BK);
    for (size_t task = begin; task < end; ++task) {
      const int64_t bh = static_cast<int64_t>(task) / k_blocks;
      const int64_t j0 = (static_cast<int64_t>(task) % k_blocks) * BK;
      const int64_t n = attention_valid_keys(s, bh / s.heads);
      T *dK = dk + (bh * Lk + j0) * d, *dV = dv + (bh * Lk + j0) * d;
      std::fill(dK, dK + std::min<int64_t>(BK, Lk - j0) * d, T(0));  // masked keys stay 0
      std::fill(dV, dV + std::min<int64_t>(BK, Lk - j0) * d, T(0));
      const int64_t nk = std::min<int64_t>(BK, n - j0);
      if (nk <= 0) continue;
      attention_transpose_block(k + (bh * Lk + j0) * d, nk, d, Kt.data(), BK);
      attention_transpose_block(v + (bh * Lk + j0) * d, nk, d, Vt.data(), BK);
      for (int64_t i0 = 0; i0 < Lq; i0 += BQ) {
        const int64_t nq = std::min<int64_t>(BQ, Lq - i0);
        tile(bh, i0, nq, nk, Kt.data(), Vt.data(), P.data(), dS.data());
        const T *Q = q + (bh * Lq + i0) * d, *dO = dout + (bh * Lq + i0) * d;
        for (int64_t c = 0; c < nk; ++c) {
          T *dKc = dK + c * d, *dVc = dV + c * d;
          for (int64_t r = 0; r < nq; ++r) {
            const T p = P[r * BK + c], ds = scale * dS[r * BK + c];
            const T *Qr = Q + r * d, *dOr = dO + r * d;
            for (int64_t x = 0; x < d; ++x) {
              dVc[x] += p * dOr[x];  // dV_c += P_rc dO_r
              dKc[x] += ds * Qr[x];  // dK_c += scale dS_rc q_r
            }
          }
        }
      }
    }
  });

  // 2. dQ: one task per (batch, head, query block), looping over the valid key blocks.
  parallel_for(static_cast<size_t>(BH * q_blocks), 1, [&](size_t begin, size_t end) {
    std::vector<T> P(BQ * BK), dS(BQ * BK), Kt(d * BK), Vt(d * BK);
    for (size_t task = begin; task < end; ++task) {
      const int64_t bh = static_cast<int64_t>(task) / q_blocks;
      const int64_t i0 = (static_cast<int64_t>(task) % q_blocks) * BQ;
      const int64_t nq = std::min<int64_t>(BQ, Lq - i0);
      const int64_t n = attention_valid_keys(s, bh / s.heads);
      T* dQ = dq + (bh * Lq + i0) * d;
      std::fill(dQ, dQ + nq * d, T(0));
      const T* K = k + bh * Lk * d;
      for (int64_t j0 = 0; j0 < n; j0 += BK) {
        const int64_t nk = std::min<int64_t>(BK, n - j0);
        attention_transpose_block(K + j0 * d, nk, d, Kt.data(), BK);
        attention_transpose_block(v + (bh * Lk + j0) * d, nk, d, Vt.data(), BK);
        tile(bh, i0, nq, nk, Kt.data(), Vt.data(), P.data(), dS.data());
        for (int64_t r = 0; r < nq; ++r) {
          T* dQr = dQ + r * d;
          for (int64_t c = 0; c < nk; ++c) {
            const T ds = scale * dS[r * BK + c];
            const T* Kc = K + (j0 + c) * d;
            for (int64_t x = 0; x < d; ++x) dQr[x] += ds * Kc[x];  // dQ_r += scale dS_rc k_c
          }
        }
      }
    }
  });
}

}  // namespace scm::cpu
