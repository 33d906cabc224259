// Attention on the CPU, the naive reference: materialises S = scale * Q K^T and
// P = softmax_rows(S) per (batch, head). Formulas: shared SCM.md §3.
//
//   forward:  O = P V,  lse_i = log sum_j exp(S_ij)
//   JVP:      Sdot = scale (Qdot K^T + Q Kdot^T)
//             Odot = (P ⊙ Sdot) V − rowsum(P ⊙ Sdot) ⊙ O + P Vdot
//   backward: dV = P^T dO,  dP = dO V^T,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),
//             dQ = scale dS K,  dK = scale dS^T Q
//
// Layouts and the key_lengths / empty-row conventions are those of
// core/kernels/attention.h. Templates on T so the tests run them in double; the CPU backend
// uses the float instantiation (attention_table.cpp). This header also holds the helpers
// shared with the tiled implementation (attention_flash.h).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../core/error.h"
#include "../core/kernels/attention.h"
#include "../core/parallel.h"

namespace scm::cpu {

// Internal-misuse checks of an attention shape (the binding validates user input earlier).
inline void validate_attention_shape(const ScmAttentionShape& s) {
  require(s.batch >= 0 && s.heads >= 0 && s.len_q >= 0 && s.len_k >= 0, SCM_E_ARGUMENT,
          "attention: negative size (batch=", s.batch, ", heads=", s.heads, ", len_q=", s.len_q,
          ", len_k=", s.len_k, ")");
  require(s.head_dim >= 1, SCM_E_ARGUMENT, "attention: head_dim=", s.head_dim, " < 1");
  require(std::isfinite(s.scale), SCM_E_ARGUMENT, "attention: scale is not finite");
  if (s.key_lengths) {
    for (int64_t b = 0; b < s.batch; ++b)
      require(s.key_lengths[b] >= 0 && s.key_lengths[b] <= s.len_k, SCM_E_ARGUMENT,
              "attention: key_lengths[", b, "]=", s.key_lengths[b], " outside [0, len_k=",
              s.len_k, "]");
  }
}

// Number of keys that take part for batch item b: keys j < attention_valid_keys(s, b).
inline int64_t attention_valid_keys(const ScmAttentionShape& s, int64_t b) {
  return s.key_lengths ? std::min<int64_t>(s.key_lengths[b], s.len_k) : s.len_k;
}

template <class T>
inline T attention_dot(const T* a, const T* b, int64_t n) {
  T acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// One row of the naive path: P_i = softmax_j(scale q_i . k_j) over the n valid keys, written
// into Pi; returns log sum_j exp(S_ij) (the row's lse).
template <class T>
inline T attention_softmax_row(const T* qi, const T* K, int64_t n, int64_t d, T scale, T* Pi) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    Pi[j] = scale * attention_dot(qi, K + j * d, d);
    m = std::max(m, Pi[j]);
  }
  T l = 0;
  for (int64_t j = 0; j < n; ++j) {
    Pi[j] = std::exp(Pi[j] - m);
    l += Pi[j];
  }
  for (int64_t j = 0; j < n; ++j) Pi[j] /= l;
  return m + std::log(l);
}

// Forward (tq == nullptr) or forward + JVP (tq, tk, tv, to all given). lse nullable.
// One task per (batch, head); each task owns a len_q x n_valid buffer for S, P (and Sdot).
template <class T>
void attention_naive_pass(const ScmAttentionShape& s, const T* q, const T* k, const T* v,
                          const T* tq, const T* tk, const T* tv, T* o, T* to, T* lse) {
  const int64_t Lq = s.len_q, Lk = s.len_k, d = s.head_dim;
  const bool tangent = tq != nullptr;
  const T scale = static_cast<T>(s.scale);
  const size_t bh_count = static_cast<size_t>(s.batch * s.heads);
  parallel_for(bh_count, 1, [&](size_t begin, size_t end) {
    std::vector<T> P, Sd;
    for (size_t bh = begin; bh < end; ++bh) {
      const int64_t b = static_cast<int64_t>(bh) / s.heads;
      const int64_t n = attention_valid_keys(s, b);
      const int64_t qoff = static_cast<int64_t>(bh) * Lq * d, koff = static_cast<int64_t>(bh) * Lk * d;
      const T *Q = q + qoff, *K = k + koff, *V = v + koff;
      T* O = o + qoff;
      T* L = lse ? lse + static_cast<int64_t>(bh) * Lq : nullptr;
      P.assign(static_cast<size_t>(Lq * n), T(0));
      if (tangent) Sd.assign(static_cast<size_t>(Lq * n), T(0));
      for (int64_t i = 0; i < Lq; ++i) {
        T* Oi = O + i * d;
        T* TOi = tangent ? to + qoff + i * d : nullptr;
        if (n == 0) {  // no valid key: o = 0, to = 0, lse = -inf
          std::fill(Oi, Oi + d, T(0));
          if (tangent) std::fill(TOi, TOi + d, T(0));
          if (L) L[i] = -std::numeric_limits<T>::infinity();
          continue;
        }
        T* Pi = P.data() + i * n;
        const T row_lse = attention_softmax_row(Q + i * d, K, n, d, scale, Pi);
        if (L) L[i] = row_lse;
        // O_i = sum_j P_ij v_j
        std::fill(Oi, Oi + d, T(0));
        for (int64_t j = 0; j < n; ++j) {
          const T p = Pi[j];
          const T* Vj = V + j * d;
          for (int64_t c = 0; c < d; ++c) Oi[c] += p * Vj[c];
        }
        if (!tangent) continue;
        // Sdot_ij = scale (qdot_i . k_j + q_i . kdot_j)
        const T* TQi = tq + qoff + i * d;
        const T* TK = tk + koff;
        const T* TV = tv + koff;
        T* Sdi = Sd.data() + i * n;
        T r = 0;  // rowsum(P ⊙ Sdot)
        for (int64_t j = 0; j < n; ++j) {
          Sdi[j] = scale * (attention_dot(TQi, K + j * d, d) + attention_dot(Q + i * d, TK + j * d, d));
          r += Pi[j] * Sdi[j];
        }
        // Odot_i = sum_j P_ij Sdot_ij v_j − r O_i + sum_j P_ij vdot_j
        for (int64_t c = 0; c < d; ++c) TOi[c] = -r * Oi[c];
        for (int64_t j = 0; j < n; ++j) {
          const T ps = Pi[j] * Sdi[j], p = Pi[j];
          const T *Vj = V + j * d, *TVj = TV + j * d;
          for (int64_t c = 0; c < d; ++c) TOi[c] += ps * Vj[c] + p * TVj[c];
        }
      }
    }
  });
}

template <class T>
void attention_naive_forward(const ScmAttentionShape& s, const T* q, const T* k, const T* v,
                             T* o, T* lse /* nullable */) {
  attention_naive_pass<T>(s, q, k, v, nullptr, nullptr, nullptr, o, nullptr, lse);
}

template <class T>
void attention_naive_jvp(const ScmAttentionShape& s, const T* q, const T* k, const T* v,
                         const T* tq, const T* tk, const T* tv, T* o, T* to,
                         T* lse /* nullable */) {
  attention_naive_pass<T>(s, q, k, v, tq, tk, tv, o, to, lse);
}

// Backward through O = softmax(scale Q K^T) V. The naive path recomputes P from Q and K
// (it materialises it anyway), so lse is not read (it may be null). o is the forward
// output, used for D_i = rowsum(dO ⊙ O). Overwrites dq, dk, dv; keys j >= key_lengths[b]
// and rows without a valid key get zero gradients.
template <class T>
void attention_naive_backward(const ScmAttentionShape& s, const T* q, const T* k, const T* v,
                              const T* o, const T* /*lse*/, const T* dout, T* dq, T* dk,
                              T* dv) {
  const int64_t Lq = s.len_q, Lk = s.len_k, d = s.head_dim;
  const T scale = static_cast<T>(s.scale);
  const size_t bh_count = static_cast<size_t>(s.batch * s.heads);
  parallel_for(bh_count, 1, [&](size_t begin, size_t end) {
    std::vector<T> P;
    for (size_t bh = begin; bh < end; ++bh) {
      const int64_t b = static_cast<int64_t>(bh) / s.heads;
      const int64_t n = attention_valid_keys(s, b);
      const int64_t qoff = static_cast<int64_t>(bh) * Lq * d, koff = static_cast<int64_t>(bh) * Lk * d;
      const T *Q = q + qoff, *K = k + koff, *V = v + koff, *O = o + qoff, *dO = dout + qoff;
      T *dQ = dq + qoff, *dK = dk + koff, *dV = dv + koff;
      std::fill(dQ, dQ + Lq * d, T(0));
      std::fill(dK, dK + Lk * d, T(0));
      std::fill(dV, dV + Lk * d, T(0));
      if (n == 0) continue;
      // P = softmax_rows(scale Q K^T), materialised (len_q x n)
      P.assign(static_cast<size_t>(Lq * n), T(0));
      for (int64_t i = 0; i < Lq; ++i) {
        attention_softmax_row(Q + i * d, K, n, d, scale, P.data() + i * n);
      }
      for (int64_t i = 0; i < Lq; ++i) {
        const T* Pi = P.data() + i * n;
        const T* dOi = dO + i * d;
        const T Di = attention_dot(dOi, O + i * d, d);  // D_i = rowsum(dO ⊙ O)
        for (int64_t j = 0; j < n; ++j) {
          const T dP = attention_dot(dOi, V + j * d, d);  // dP_ij = dO_i . v_j
          const T dS = Pi[j] * (dP - Di);                   // dS_ij = P_ij (dP_ij − D_i)
          T *dVj = dV + j * d, *dKj = dK + j * d, *dQi = dQ + i * d;
          const T *Kj = K + j * d, *Qi = Q + i * d;
          for (int64_t c = 0; c < d; ++c) {
            dVj[c] += Pi[j] * dOi[c];       // dV = P^T dO
            dKj[c] += scale * dS * Qi[c];   // dK = scale dS^T Q
            dQi[c] += scale * dS * Kj[c];   // dQ = scale dS K
          }
        }
      }
    }
  });
}

}  // namespace scm::cpu
