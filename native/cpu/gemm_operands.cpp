// Operand preparation of the CPU GEMM paths (see gemm_operands.h).
#include "gemm_operands.h"

#include <algorithm>
#include <memory>

#include "gemm_bf16.h"
#include "../core/parallel.h"

namespace scm::cpu {
namespace {

// Grow-only scratch of one calling thread: the packed A and B of its current GEMM.
struct Scratch {
  std::unique_ptr<unsigned char[]> data;
  size_t bytes = 0;
  void* get(size_t want) {
    if (want > bytes) {
      data.reset(new unsigned char[want]);
      bytes = want;
    }
    return data.get();
  }
};

struct Layout {
  int64_t rows, cols, ld, stride;
};

template <class From, class To, class Convert>
void pack(const From* src, To* dst, const Layout& l, int64_t items, Convert convert) {
  const size_t total_rows = static_cast<size_t>(items * l.rows);
  const size_t grain = std::max<size_t>(1, (1u << 15) / static_cast<size_t>(std::max<int64_t>(1, l.cols)));
  parallel_for(total_rows, grain, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      const int64_t item = static_cast<int64_t>(r) / l.rows, row = static_cast<int64_t>(r) % l.rows;
      const From* s = src + item * l.stride + row * l.ld;
      To* d = dst + static_cast<int64_t>(r) * l.cols;
      for (int64_t j = 0; j < l.cols; ++j) d[j] = convert(s[j]);
    }
  });
}

// Brings one operand to `want`; updates ld/stride/type in place. Returns the data to use.
const void* prepare(const void* p, int& type, int64_t& ld, int64_t& stride, int64_t rows, int64_t cols,
                    int64_t batch, int precision, int want, Scratch& scratch) {
  const bool round = type == SCM_DTYPE_F32 && precision == SCM_GEMM_BF16;
  if (type == want && !round) return p;
  const Layout l{rows, cols, ld, stride};
  const int64_t items = (batch > 1 && stride != 0) ? batch : 1;
  const size_t count = static_cast<size_t>(items * rows * cols);
  void* out;
  if (want == SCM_DTYPE_F32) {
    float* dst = static_cast<float*>(out = scratch.get(count * sizeof(float)));
    if (type == SCM_DTYPE_BF16) pack(static_cast<const uint16_t*>(p), dst, l, items, [](uint16_t h) { return bf16_to_float(h); });
    else pack(static_cast<const float*>(p), dst, l, items, [](float f) { return round_to_bf16(f); });
  } else {
    uint16_t* dst = static_cast<uint16_t*>(out = scratch.get(count * sizeof(uint16_t)));
    pack(static_cast<const float*>(p), dst, l, items, [](float f) { return float_to_bf16(f); });  // F32 here
  }
  type = want;
  ld = cols;
  stride = items > 1 ? rows * cols : 0;
  return out;
}

}  // namespace

GemmOperands prepare_gemm_operands(const ScmGemmDesc& d, const void* a, const void* b, int compute_type) {
  thread_local Scratch scratch_a, scratch_b;
  GemmOperands o{d, a, b};
  ScmGemmDesc& e = o.desc;
  o.a = prepare(a, e.a_type, e.lda, e.stride_a, d.trans_a ? d.k : d.m, d.trans_a ? d.m : d.k, d.batch, d.precision,
                compute_type, scratch_a);
  o.b = prepare(b, e.b_type, e.ldb, e.stride_b, d.trans_b ? d.n : d.k, d.trans_b ? d.k : d.n, d.batch, d.precision,
                compute_type, scratch_b);
  return o;
}

}  // namespace scm::cpu
