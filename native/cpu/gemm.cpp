// The CPU backend's gemm family: the path dispatch (gemm_dispatch.h) and the table entries.
//
// Library path: the GEMM is cut into at most cpu_thread_count() tasks, run with
// parallel_for on the engine's pool, each one single-threaded library call on a part of C:
// a range of batch items when there are enough, else row blocks (or column blocks, whichever
// dimension is longer) of every item. Small products (under kTaskFlops per task) are not cut.
// Inside a parallel region (a kernel calling a GEMM) parallel_for runs the tasks serially.
#include "gemm.h"

#include <algorithm>

#include "check_args.h"
#include "gemm_bf16.h"
#include "gemm_dispatch.h"
#include "gemm_library.h"
#include "gemm_operands.h"
#include "../core/parallel.h"

namespace scm::cpu {
namespace {

constexpr double kTaskFlops = 2e6;  // smallest part worth a thread (~20-40 us of one core)
constexpr int64_t kBlock = 16;      // row / column blocks are multiples of this

size_t element_size(int type) { return type == SCM_DTYPE_BF16 ? 2 : 4; }

const void* offset(const void* p, int type, int64_t elements) {
  return static_cast<const unsigned char*>(p) + elements * static_cast<int64_t>(element_size(type));
}

void gemm_library_split(const ScmGemmDesc& d, const void* a, const void* b, float* c) {
  const double flops = 2.0 * static_cast<double>(d.m) * static_cast<double>(d.n) * static_cast<double>(d.k) *
                       static_cast<double>(d.batch);
  const int64_t wanted = std::max<int64_t>(1, std::min<int64_t>(cpu_thread_count(), static_cast<int64_t>(flops / kTaskFlops)));
  // Tasks: `ranges` batch ranges, each cut into `parts` blocks of rows (split_m) or columns.
  const bool split_m = d.m >= d.n;
  const int64_t len = split_m ? d.m : d.n;
  int64_t ranges = 1, parts = 1, block = len;
  if (wanted > 1 && d.batch >= wanted) {
    ranges = wanted;
  } else if (wanted > 1) {
    ranges = d.batch;
    const int64_t want_parts = (wanted + d.batch - 1) / d.batch;
    block = ((len + want_parts - 1) / want_parts + kBlock - 1) / kBlock * kBlock;
    parts = (len + block - 1) / block;
  }
  const int64_t per_range = (d.batch + ranges - 1) / ranges;
  const int64_t tasks = ranges * parts;
  parallel_for(static_cast<size_t>(tasks), 1, [&](size_t begin, size_t end) {
    for (size_t t = begin; t < end; ++t) {
      const int64_t r = static_cast<int64_t>(t) / parts, p = static_cast<int64_t>(t) % parts;
      ScmGemmDesc s = d;
      const int64_t b0 = std::min(d.batch, r * per_range), b1 = std::min(d.batch, b0 + per_range);
      if (b1 <= b0) continue;
      s.batch = b1 - b0;
      const void* sa = offset(a, d.a_type, b0 * d.stride_a);
      const void* sb = offset(b, d.b_type, b0 * d.stride_b);
      float* sc = c + b0 * d.stride_c;
      const int64_t i0 = p * block, i1 = std::min(len, i0 + block);
      if (i1 <= i0) continue;
      if (split_m) {
        s.m = i1 - i0;
        sa = offset(sa, d.a_type, d.trans_a ? i0 : i0 * d.lda);
        sc += i0 * d.ldc;
      } else {
        s.n = i1 - i0;
        sb = offset(sb, d.b_type, d.trans_b ? i0 * d.ldb : i0);
        sc += i0;
      }
      library::gemm(s, sa, sb, sc);
    }
  });
}

void gemm_library_path(const ScmGemmDesc& d, const void* a, const void* b, float* c) {
  const int compute = gemm_operands_are_bf16(d) && library::native_bf16() ? SCM_DTYPE_BF16 : SCM_DTYPE_F32;
  const GemmOperands o = prepare_gemm_operands(d, a, b, compute);
  gemm_library_split(o.desc, o.a, o.b, c);
}

void gemm_builtin_path(const ScmGemmDesc& d, const void* a, const void* b, float* c) {
  const GemmOperands o = prepare_gemm_operands(d, a, b, SCM_DTYPE_F32);
  gemm<float>(o.desc, static_cast<const float*>(o.a), static_cast<const float*>(o.b), c);
}

}  // namespace

void gemm_on_path(GemmPath path, const ScmGemmDesc& d, const void* a, const void* b, float* c) {
  validate_gemm(d);
  if (path == GemmPath::Library && !gemm_has_library())
    fail(SCM_E_ARGUMENT, "gemm: this build has no CPU GEMM library (built with the engine's own kernel)");
  if (d.m == 0 || d.n == 0 || d.batch == 0) return;
  // k == 0 (C = beta C) is left to the builtin kernel: libraries differ on empty products.
  if (path == GemmPath::Builtin || !gemm_has_library() || d.k == 0) gemm_builtin_path(d, a, b, c);
  else gemm_library_path(d, a, b, c);
}

const char* gemm_library_name() { return gemm_has_library() ? library::name() : "builtin"; }
bool gemm_has_library() { return library::name() != nullptr; }
bool gemm_native_bf16() { return gemm_has_library() && library::native_bf16(); }

void to_bf16(int64_t n, const float* src, uint16_t* dst) {
  require(n >= 0, SCM_E_ARGUMENT, "to_bf16: negative count ", n);
  parallel_for(static_cast<size_t>(n), 1 << 15, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) dst[i] = float_to_bf16(src[i]);
  });
}

}  // namespace scm::cpu

namespace {

int gemm_entry(const ScmGemmDesc* d, const void* a, const void* b, float* c) {
  return scm::guarded([&] {
    scm::require(d != nullptr, SCM_E_ARGUMENT, "gemm: desc is NULL");
    scm::cpu::gemm_on_path(scm::cpu::GemmPath::Default, *d, a, b, c);
  });
}

int to_bf16_entry(int64_t n, const float* src, uint16_t* dst) {
  return scm::guarded([&] { scm::cpu::to_bf16(n, src, dst); });
}

}  // namespace

void scm_cpu_fill_gemm(ScmGemmKernels* k) {
  k->gemm = gemm_entry;
  k->to_bf16 = to_bf16_entry;
}
