// benchGemm: times one GEMM on device-resident data, for the GEMM benchmark (bench/gemm.ts).
// Nothing is copied between JavaScript and the engine inside the timed region:
//
//   - A, B (dense: lda/ldb = stored columns, batch strides = matrix sizes) and C are
//     allocated ONCE in the backend's memory; A and B are filled with the Philox normal stream
//     (rng.normal), never zeros, and converted once with the table's to_bf16 when their type
//     is 'bf16' (operands kept in bf16, as model code can keep weights); C is poisoned with NaN
//     and checked finite after the timing, so an unwritten or non-finite C reports no time;
//   - the timing loop is bench_timing.h's (warm-up, ~1 ms samples, synchronize + steady clock,
//     at least minRuns samples and minMs of timed work).
//
// benchGemm(desc, path, minRuns, minMs, backend, abort?) resolves to
//   { medianMs, minMs, runs, callsPerRun, totalMs, backend, path }   (times per call)
//   desc: { m, n, k (>= 1), batch? (>= 1, default 1), transA?, transB?, alpha? (1),
//           precision? 'fp32' | 'tf32' | 'bf16', aType? / bType? 'f32' | 'bf16' }
//   path: 'default' (the backend's table entry) | 'builtin' | 'library' (CPU paths of
//         native/cpu/gemm_dispatch.h; 'library' fails in a build without a CPU GEMM library).
#include <cmath>
#include <memory>
#include <string>
#include <vector>
#include "args.h"
#include "async.h"
#include "bench_timing.h"
#include "registry.h"
#include "../core/device_buffer.h"
#include "../cpu/gemm_dispatch.h"

namespace scm_binding {
namespace {

struct GemmBench {
  ScmGemmDesc d{};
  std::string path = "default";
  int64_t min_runs = 1;
  double min_ms = 0;
  scm::BackendKind backend = scm::BackendKind::Cpu;
};

std::string read_choice(const Napi::Object& o, const char* key, const char* fallback,
                        std::initializer_list<const char*> allowed) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  for (const char* a : allowed)
    if (s == a) return s;
  std::string list;
  for (const char* a : allowed) list += std::string(list.empty() ? "'" : ", '") + a + "'";
  scm::fail(SCM_E_ARGUMENT, "benchGemm: ", key, " must be one of ", list, v.IsString() ? ", got '" + s + "'" : "");
}

GemmBench read_bench(const Napi::CallbackInfo& info) {
  GemmBench g;
  Napi::Object o = read_object(info, 0, "benchGemm: desc");
  ScmGemmDesc& d = g.d;
  d.m = read_size(o, "m");
  d.n = read_size(o, "n");
  d.k = read_size(o, "k");
  d.batch = read_size(o, "batch", false, 1);
  for (auto [name, v] : {std::pair<const char*, int64_t>{"m", d.m}, {"n", d.n}, {"k", d.k}, {"batch", d.batch}})
    if (v < 1 || v > (int64_t(1) << 30)) scm::fail(SCM_E_ARGUMENT, "benchGemm: ", name, " must be in [1, 2^30], got ", v);
  d.trans_a = read_bool(o, "transA", false);
  d.trans_b = read_bool(o, "transB", false);
  d.alpha = static_cast<float>(read_number(o, "alpha", 1.0));
  d.beta = 0.0f;
  const std::string p = read_choice(o, "precision", "fp32", {"fp32", "tf32", "bf16"});
  d.precision = p == "bf16" ? SCM_GEMM_BF16 : p == "tf32" ? SCM_GEMM_TF32 : SCM_GEMM_FP32;
  d.a_type = read_choice(o, "aType", "f32", {"f32", "bf16"}) == "bf16" ? SCM_DTYPE_BF16 : SCM_DTYPE_F32;
  d.b_type = read_choice(o, "bType", "f32", {"f32", "bf16"}) == "bf16" ? SCM_DTYPE_BF16 : SCM_DTYPE_F32;
  scm_gemm_dense_layout(&d);
  checked_product({d.batch, d.m, d.k}, "benchGemm");
  checked_product({d.batch, d.k, d.n}, "benchGemm");
  checked_product({d.batch, d.m, d.n}, "benchGemm");

  Napi::Value path = info.Length() > 1 ? info[1] : info.Env().Undefined();
  g.path = path.IsString() ? path.As<Napi::String>().Utf8Value() : "";
  if (g.path != "default" && g.path != "builtin" && g.path != "library")
    scm::fail(SCM_E_ARGUMENT, "benchGemm: path must be 'default', 'builtin' or 'library', got '", g.path, "'");

  read_min_runs_ms(info, 2, "benchGemm", &g.min_runs, &g.min_ms);
  g.backend = scm::resolve_backend(read_backend(info.Length() > 4 ? info[4] : info.Env().Undefined()));
  if (g.backend != scm::BackendKind::Cpu && g.path != "default")
    scm::fail(SCM_E_ARGUMENT, "benchGemm: path '", g.path, "' is a CPU path; use 'default' on CUDA");
  return g;
}

// A filled operand: `count` values of the Philox normal stream, in fp32 or bf16.
scm::DeviceBuffer operand(const ScmKernels& k, size_t count, int type, uint64_t offset) {
  scm::DeviceBuffer f(k, count * sizeof(float));
  scm::check(k, k.rng.normal(f.as(), count, 0x6e3a1f27ull, offset), "benchGemm: filling an operand");
  if (type == SCM_DTYPE_F32) return f;
  scm::DeviceBuffer h(k, count * sizeof(uint16_t));
  scm::check(k, k.gemm.to_bf16(static_cast<int64_t>(count), f.as(), h.as<uint16_t>()), "benchGemm: to_bf16");
  return h;
}

BenchTiming run_bench(const GemmBench& g, const AbortFlag& abort) {
  const ScmKernels& k = scm::kernels_for(g.backend);
  const ScmGemmDesc& d = g.d;
  const size_t na = d.batch * d.m * d.k, nb = d.batch * d.k * d.n, nc = d.batch * d.m * d.n;
  scm::DeviceBuffer a = operand(k, na, d.a_type, 0), b = operand(k, nb, d.b_type, na);
  scm::DeviceBuffer c(k, nc * sizeof(float));
  c.fill_bytes(0xFF);
  const scm::cpu::GemmPath path = g.path == "builtin" ? scm::cpu::GemmPath::Builtin
                                  : g.path == "library" ? scm::cpu::GemmPath::Library : scm::cpu::GemmPath::Default;
  std::function<void()> call;
  if (g.path == "default") call = [&] { scm::check(k, k.gemm.gemm(&d, a.get(), b.get(), c.as()), "benchGemm: gemm"); };
  else call = [&] { scm::cpu::gemm_on_path(path, d, a.get(), b.get(), c.as()); };
  auto sync = [&] { scm::check(k, k.memory.synchronize(), "benchGemm: synchronize"); };
  BenchTiming t = time_calls(call, sync, g.min_runs, g.min_ms, abort);
  std::vector<float> host(nc);
  c.download(host.data(), nc);
  for (size_t i = 0; i < nc; ++i)
    if (!std::isfinite(host[i]))
      scm::fail(SCM_E_NONFINITE, "benchGemm: C[", i, "] = ", host[i], " is not finite (unwritten?); the timing is not reported");
  return t;
}

Napi::Value bench_gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    GemmBench g = read_bench(info);
    AbortFlag abort(info.Length() > 5 ? info[5] : env.Undefined());
    auto result = std::make_shared<BenchTiming>();
    return run_async(env, abort,
        [g, result](const AbortFlag& flag) -> Tensors {
          *result = run_bench(g, flag);
          return {};
        },
        [result, g](Napi::Env e, Tensors&) -> Napi::Value {
          Napi::Object o = timing_object(e, *result, scm::backend_name(g.backend));
          o.Set("path", Napi::String::New(e, g.path));
          return o;
        });
  });
}
SCM_EXPORT("benchGemm", bench_gemm);

}  // namespace
}  // namespace scm_binding
