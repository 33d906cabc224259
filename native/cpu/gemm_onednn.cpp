// CPU GEMM library: oneDNN dnnl::matmul, fp32 and (where the CPU has AVX512-BF16 / AMX kernels)
// bf16 operands with fp32 accumulation and output. See gemm_library.h.
//
// - Primitives are cached per shape: the key holds everything a primitive is built from
//   (m, n, k, batch, transposes as strides, lda/ldb/ldc, batch strides, types, alpha, beta).
//   alpha is an output scale, beta a sum post-op (none when beta == 0, so NaN in C does not
//   propagate). The cache is bounded (cleared when full).
// - Threads: every call runs single-threaded on the calling thread (omp_set_num_threads(1)
//   for the call, the caller's setting restored after): the dispatcher (gemm.cpp) spreads the
//   tasks over the engine's pool, so oneDNN never starts an OpenMP team of its own, and no
//   OpenMP threads spin after a GEMM.
// - Scratchpad: user mode, one grow-only buffer per calling thread (primitives execute
//   concurrently from the pool's threads).
// - Batch broadcast: a zero batch stride becomes a batch dimension of 1 (oneDNN broadcasts
//   it; the descriptor's stride of that dimension is made nonzero, see matrix()); when both
//   A and B are broadcast the items are computed one by one.
#include <dnnl.hpp>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
#include <omp.h>
#elif DNNL_CPU_RUNTIME != DNNL_RUNTIME_SEQ
#error "scm-native supports oneDNN built with the OpenMP or the sequential CPU runtime; use SCM_CPU_GEMM=openblas or builtin"
#endif

#include "gemm_library.h"
#include "../core/error.h"

namespace scm::cpu::library {
namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// The calling thread computes alone for the duration of a call.
struct SingleThreaded {
#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
  int saved = omp_get_max_threads();
  SingleThreaded() {
    if (saved != 1) omp_set_num_threads(1);
  }
  ~SingleThreaded() {
    if (saved != 1) omp_set_num_threads(saved);
  }
#endif
};

struct Key {
  int64_t v[15];
  bool operator==(const Key& o) const { return std::memcmp(v, o.v, sizeof v) == 0; }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = 1469598103934665603ull;
    for (int64_t x : k.v) h = (h ^ static_cast<uint64_t>(x)) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

struct Matmul {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

// op(X) as a rows x cols matrix (batch items first when batched): X stored rows x cols with
// row stride ld, or cols x rows when trans.
dnnl::memory::desc matrix(int64_t batch, int64_t stride, int64_t rows, int64_t cols, int64_t ld, bool trans, dt type) {
  const int64_t rs = trans ? 1 : ld, cs = trans ? ld : 1;
  if (batch == 0) return dnnl::memory::desc(dims{rows, cols}, type, dims{rs, cs});
  // A broadcast operand (batch dimension 1) keeps a nonzero batch stride: oneDNN 2.6 serves a
  // zero stride only with its reference matmul (ref:any, ~100x slower); for a dimension of
  // size 1 the stride is never used.
  if (batch == 1) stride = rows * cols;
  return dnnl::memory::desc(dims{batch, rows, cols}, type, dims{stride, rs, cs});
}

std::shared_ptr<const Matmul> make(const ScmGemmDesc& d, int64_t batch_a, int64_t batch_b, int64_t batch_c) {
  const dt type = d.a_type == SCM_DTYPE_BF16 ? dt::bf16 : dt::f32;
  dnnl::memory::desc a = matrix(batch_a, d.stride_a, d.m, d.k, d.lda, d.trans_a, type);
  dnnl::memory::desc b = matrix(batch_b, d.stride_b, d.k, d.n, d.ldb, d.trans_b, type);
  dnnl::memory::desc c = matrix(batch_c, d.stride_c, d.m, d.n, d.ldc, false, dt::f32);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (d.alpha != 1.0f) attr.set_output_scales(0, {d.alpha});
  if (d.beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(d.beta);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine());
  return std::make_shared<const Matmul>(Matmul{pd, dnnl::matmul(pd)});
}

class Cache {
 public:
  std::shared_ptr<const Matmul> get(const ScmGemmDesc& d, int64_t batch_a, int64_t batch_b, int64_t batch_c) {
    float alpha = d.alpha, beta = d.beta;
    int32_t ab[2];
    std::memcpy(&ab[0], &alpha, 4);
    std::memcpy(&ab[1], &beta, 4);
    const bool batched = batch_c != 0;  // else 2-D: strides unused
    const Key key{{d.m, d.n, d.k, d.trans_a * 2 + d.trans_b, d.lda, d.ldb, d.ldc, batch_a, batch_b, batch_c,
                   batched ? d.stride_a : 0, batched ? d.stride_b : 0, batched ? d.stride_c : 0, d.a_type, (static_cast<int64_t>(ab[0]) << 32) ^ static_cast<uint32_t>(ab[1])}};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = map_.find(key);
      if (it != map_.end()) return it->second;
    }
    std::shared_ptr<const Matmul> m = make(d, batch_a, batch_b, batch_c);  // outside the lock: can take ms
    std::lock_guard<std::mutex> lock(mutex_);
    if (map_.size() >= kCapacity) map_.clear();
    return map_.emplace(key, std::move(m)).first->second;
  }

 private:
  static constexpr size_t kCapacity = 512;
  std::mutex mutex_;
  std::unordered_map<Key, std::shared_ptr<const Matmul>, KeyHash> map_;
};

Cache& cache() {
  static Cache c;
  return c;
}

void execute(const Matmul& mm, const void* a, const void* b, float* c) {
  thread_local dnnl::stream stream(engine());
  thread_local std::vector<unsigned char> scratch;
  const dnnl::memory::desc sd = mm.pd.scratchpad_desc();
  if (scratch.size() < sd.get_size()) scratch.resize(sd.get_size());
  dnnl::engine& e = engine();
  dnnl::memory ma(mm.pd.src_desc(), e, const_cast<void*>(a));
  dnnl::memory mb(mm.pd.weights_desc(), e, const_cast<void*>(b));
  dnnl::memory mc(mm.pd.dst_desc(), e, c);
  dnnl::memory ms(sd, e, scratch.data());
  mm.prim.execute(stream, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_SCRATCHPAD, ms}});
  stream.wait();
}

[[noreturn]] void rethrow(const dnnl::error& e, const ScmGemmDesc& d) {
  fail(e.status == dnnl_out_of_memory ? SCM_E_OUT_OF_MEMORY : SCM_E_INTERNAL, "oneDNN matmul (m=", d.m, ", n=", d.n,
       ", k=", d.k, ", batch=", d.batch, d.a_type == SCM_DTYPE_BF16 ? ", bf16" : ", fp32", ") failed: ", e.what());
}

}  // namespace

const char* name() {
  static const std::string n = [] {
    const dnnl_version_t* v = dnnl_version();
    return "onednn " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }();
  return n.c_str();
}

bool native_bf16() {
  // bf16 products are native only where the CPU has bf16 instructions (AVX512-BF16 or AMX;
  // DNNL_MAX_CPU_ISA can lower what oneDNN uses). Elsewhere oneDNN either has no bf16
  // implementation, only its reference one, or (on AVX-512 without BF16) an emulated one:
  // measured on a 2-core AVX-512 Xeon without BF16, 55-62 GFLOP/s against 300-345 for fp32
  // (npm run bench -- gemm, 2026-12-03), so widening to fp32 is faster on all of them.
  static const bool native = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    if ((isa & bf16) != bf16) return false;
    try {
      SingleThreaded one;
      ScmGemmDesc d{};
      d.m = d.n = d.k = 64;
      d.lda = d.ldb = d.ldc = 64;
      d.batch = 1;
      d.alpha = 1.0f;
      d.a_type = d.b_type = SCM_DTYPE_BF16;
      std::shared_ptr<const Matmul> m = make(d, 0, 0, 0);
      return std::strncmp(m->pd.impl_info_str(), "ref", 3) != 0;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return native;
}

void gemm(const ScmGemmDesc& d, const void* a, const void* b, float* c) {
  SingleThreaded one;
  try {
    if (d.batch == 1) {
      execute(*cache().get(d, 0, 0, 0), a, b, c);
    } else if (d.stride_a != 0 || d.stride_b != 0) {
      const int64_t ba = d.stride_a != 0 ? d.batch : 1, bb = d.stride_b != 0 ? d.batch : 1;
      execute(*cache().get(d, ba, bb, d.batch), a, b, c);
    } else {
      std::shared_ptr<const Matmul> m = cache().get(d, 0, 0, 0);
      for (int64_t i = 0; i < d.batch; ++i) execute(*m, a, b, c + i * d.stride_c);
    }
  } catch (const dnnl::error& e) {
    rethrow(e, d);
  }
}

}  // namespace scm::cpu::library
