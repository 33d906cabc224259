// The CPU backend's attention family entries: the forward, the JVP and the backward of short
// sequences (attention_backward_fits) run the vectorised float fast paths (attention_fast.h) on
// the best ISA; the backward of long sequences is the float instantiation of the tiled
// reference (attention_flash.h); the naive entries are attention_naive.h. The precision
// field of the shape is ignored on the CPU (fp32 throughout).
#include "../core/kernels/table.h"
#include "attention_fast.h"
#include "attention_flash.h"

namespace {

using scm::require;

void check_common(const ScmAttentionShape* s) {
  require(s != nullptr, SCM_E_ARGUMENT, "attention: shape is null");
  scm::cpu::validate_attention_shape(*s);
}

// Pointers of a tensor with n > 0 elements must be given.
void need(const void* p, int64_t n, const char* name) {
  require(p != nullptr || n == 0, SCM_E_ARGUMENT, "attention: ", name, " is null");
}

void check_forward(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                   const float* o) {
  check_common(s);
  const int64_t nq = s->batch * s->heads * s->len_q * s->head_dim;
  const int64_t nk = s->batch * s->heads * s->len_k * s->head_dim;
  need(q, nq, "q");
  need(o, nq, "o");
  need(k, nk, "k");
  need(v, nk, "v");
}

int forward(const ScmAttentionShape* s, const float* q, const float* k, const float* v, float* o,
            float* lse) {
  return scm::guarded([&] {
    check_forward(s, q, k, v, o);
    scm::cpu::fast::attention_forward(scm::cpu::fast::best_isa(), *s, q, k, v, o, lse);
  });
}

int jvp(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
        const float* tq, const float* tk, const float* tv, float* o, float* to, float* lse) {
  return scm::guarded([&] {
    check_forward(s, q, k, v, o);
    check_forward(s, tq, tk, tv, to);
    scm::cpu::fast::attention_jvp(scm::cpu::fast::best_isa(), *s, q, k, v, tq, tk, tv, o, to, lse);
  });
}

void check_backward(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                    const float* o, const float* dout, const float* dq, const float* dk,
                    const float* dv) {
  check_forward(s, q, k, v, o);
  check_forward(s, dout, dk, dv, dq);
}

int backward(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
             const float* o, const float* lse, const float* dout, float* dq, float* dk,
             float* dv) {
  return scm::guarded([&] {
    check_backward(s, q, k, v, o, dout, dq, dk, dv);
    need(lse, s->batch * s->heads * s->len_q, "lse");
    if (scm::cpu::fast::attention_backward_fits(*s))
      scm::cpu::fast::attention_backward(scm::cpu::fast::best_isa(), *s, q, k, v, o, lse, dout, dq, dk, dv);
    else
      scm::cpu::attention_flash_backward<float>(*s, q, k, v, o, lse, dout, dq, dk, dv);
  });
}

int naive_forward(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                  float* o, float* lse) {
  return scm::guarded([&] {
    check_forward(s, q, k, v, o);
    scm::cpu::attention_naive_forward<float>(*s, q, k, v, o, lse);
  });
}

int naive_jvp(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
              const float* tq, const float* tk, const float* tv, float* o, float* to,
              float* lse) {
  return scm::guarded([&] {
    check_forward(s, q, k, v, o);
    check_forward(s, tq, tk, tv, to);
    scm::cpu::attention_naive_jvp<float>(*s, q, k, v, tq, tk, tv, o, to, lse);
  });
}

// The naive backward recomputes P from q and k; lse is not read (it may be null).
int naive_backward(const ScmAttentionShape* s, const float* q, const float* k, const float* v,
                   const float* o, const float* lse, const float* dout, float* dq, float* dk,
                   float* dv) {
  return scm::guarded([&] {
    check_backward(s, q, k, v, o, dout, dq, dk, dv);
    scm::cpu::attention_naive_backward<float>(*s, q, k, v, o, lse, dout, dq, dk, dv);
  });
}

}  // namespace

void scm_cpu_fill_attention(ScmAttentionKernels* k) {
  k->forward = forward;
  k->jvp = jvp;
  k->backward = backward;
  k->naive_forward = naive_forward;
  k->naive_jvp = naive_jvp;
  k->naive_backward = naive_backward;
}
