// benchAttention: times the attention kernel-table entries on device-resident data, for the
// attention benchmark (bench/attention.ts). Unlike ops.attention*, nothing is copied between
// host and device inside the timed region:
//
//   - q, k, v, tq, tk, tv (or q, k, v, o, lse, dout for backward) and the outputs are
//     allocated ONCE in the backend's memory (DeviceBuffer);
//   - inputs are filled on the backend with the Philox normal stream (rng.normal), never zeros;
//     outputs are poisoned with NaN (0xFF bytes) first, and checked to be finite afterwards, so
//     a kernel that leaves elements unwritten (or produces NaN) cannot report a time;
//   - warm-up calls run first (module load, cuBLAS handles, allocator pools stay out of the
//     numbers); the number of calls per timed sample is chosen from the warm-up so that one
//     sample lasts about 1 ms (launch and synchronisation latency amortised for small kernels;
//     1 call per sample on the CPU at any size worth timing);
//   - each sample: memory.synchronize(), read std::chrono::steady_clock, run the calls,
//     memory.synchronize(), read the clock again;
//   - samples are taken until at least minRuns samples AND at least minMs of timed work
//     (the loop and the result object: bench_timing.h, shared with benchGemm).
//
// benchAttention(desc, pass, implementation, minRuns, minMs, backend, abort?) resolves to
//   { medianMs, minMs, runs, callsPerRun, totalMs, backend }
// where medianMs / minMs are per call (sample time / callsPerRun), runs counts samples and
// totalMs is the timed time of all samples (>= minMs).
//   desc: { batch, heads, lenQ, lenK, headDim (all >= 1), scale?, precision? ('fp32' | 'bf16'
//          | 'fp16'), implementation? (must then equal the argument) }; keyLengths are not
//          supported (all keys valid).
//   pass: 'forward' | 'jvp' | 'backward'; implementation: 'flash' (attention.forward / jvp /
//   backward) | 'naive' (attention.naive_*); backend: 'auto' | 'cpu' | 'cuda'.
#include <algorithm>
#include <functional>
#include <cmath>
#include <memory>
#include <string>
#include <vector>
#include "args.h"
#include "async.h"
#include "bench_timing.h"
#include "registry.h"
#include "../core/device_buffer.h"

namespace scm_binding {
namespace {

enum class Pass { Forward, Jvp, Backward };

struct BenchCall {
  ScmAttentionShape shape{};
  Pass pass = Pass::Forward;
  bool naive = false;
  int64_t min_runs = 1;
  double min_ms = 0;
  size_t q_size = 0, kv_size = 0, lse_size = 0;
  scm::BackendKind backend = scm::BackendKind::Cpu;
};


std::string read_string(const Napi::Value& v, const char* name) {
  if (!v.IsString()) scm::fail(SCM_E_ARGUMENT, name, " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

BenchCall read_bench_call(const Napi::CallbackInfo& info) {
  BenchCall c;
  Napi::Object o = read_object(info, 0, "benchAttention: desc");
  c.shape.batch = read_size(o, "batch");
  c.shape.heads = read_size(o, "heads");
  c.shape.len_q = read_size(o, "lenQ");
  c.shape.len_k = read_size(o, "lenK");
  c.shape.head_dim = read_size(o, "headDim");
  const std::pair<const char*, int64_t> sizes[] = {{"batch", c.shape.batch}, {"heads", c.shape.heads},
      {"lenQ", c.shape.len_q}, {"lenK", c.shape.len_k}, {"headDim", c.shape.head_dim}};
  for (const auto& [name, value] : sizes)
    if (value < 1) scm::fail(SCM_E_ARGUMENT, "benchAttention: ", name, " must be at least 1, got ", value);
  if (c.shape.len_q >= (int64_t(1) << 31) || c.shape.len_k >= (int64_t(1) << 31) || c.shape.head_dim >= (int64_t(1) << 31))
    scm::fail(SCM_E_ARGUMENT, "benchAttention: lenQ, lenK and headDim must be below 2^31");
  c.shape.scale = static_cast<float>(read_number(o, "scale", 1.0 / std::sqrt(static_cast<double>(c.shape.head_dim))));
  Napi::Value p = o.Get("precision");
  std::string precision = p.IsUndefined() ? "fp32" : read_string(p, "benchAttention: precision");
  if (precision == "fp32") c.shape.precision = SCM_ATTN_FP32;
  else if (precision == "bf16") c.shape.precision = SCM_ATTN_BF16;
  else if (precision == "fp16") c.shape.precision = SCM_ATTN_FP16;
  else scm::fail(SCM_E_ARGUMENT, "benchAttention: unknown precision '", precision, "' (expected 'fp32', 'bf16' or 'fp16')");
  Napi::Value kl = o.Get("keyLengths");
  if (!kl.IsUndefined() && !kl.IsNull())
    scm::fail(SCM_E_ARGUMENT, "benchAttention: keyLengths are not supported (every key is valid in the benchmark)");
  c.shape.key_lengths = nullptr;

  std::string pass = read_string(info.Length() > 1 ? info[1] : info.Env().Undefined(), "benchAttention: pass");
  if (pass == "forward") c.pass = Pass::Forward;
  else if (pass == "jvp") c.pass = Pass::Jvp;
  else if (pass == "backward") c.pass = Pass::Backward;
  else scm::fail(SCM_E_ARGUMENT, "benchAttention: unknown pass '", pass, "' (expected 'forward', 'jvp' or 'backward')");

  std::string impl = read_string(info.Length() > 2 ? info[2] : info.Env().Undefined(), "benchAttention: implementation");
  if (impl != "flash" && impl != "naive")
    scm::fail(SCM_E_ARGUMENT, "benchAttention: unknown implementation '", impl, "' (expected 'flash' or 'naive')");
  Napi::Value desc_impl = o.Get("implementation");
  if (!desc_impl.IsUndefined() && read_string(desc_impl, "benchAttention: desc.implementation") != impl)
    scm::fail(SCM_E_ARGUMENT, "benchAttention: desc.implementation '", desc_impl.As<Napi::String>().Utf8Value(),
              "' differs from the implementation argument '", impl, "'");
  c.naive = impl == "naive";

  read_min_runs_ms(info, 3, "benchAttention", &c.min_runs, &c.min_ms);

  c.q_size = checked_product({c.shape.batch, c.shape.heads, c.shape.len_q, c.shape.head_dim}, "benchAttention");
  c.kv_size = checked_product({c.shape.batch, c.shape.heads, c.shape.len_k, c.shape.head_dim}, "benchAttention");
  c.lse_size = checked_product({c.shape.batch, c.shape.heads, c.shape.len_q}, "benchAttention");
  c.backend = scm::resolve_backend(read_backend(info.Length() > 5 ? info[5] : info.Env().Undefined()));
  return c;
}

const char* pass_name(Pass p) { return p == Pass::Forward ? "forward" : (p == Pass::Jvp ? "JVP" : "backward"); }

void fill_normal(const ScmKernels& k, scm::DeviceBuffer& b, size_t count, uint64_t seed, uint64_t offset) {
  scm::check(k, k.rng.normal(b.as(), count, seed, offset), "benchAttention: filling an input (rng.normal)");
}

// Requires every element of `b` (count floats) to be finite: unwritten (NaN-poisoned) or
// non-finite outputs make the timing meaningless.
void expect_finite(const scm::DeviceBuffer& b, size_t count, const char* name, const char* what) {
  std::vector<float> host(count);
  b.download(host.data(), count);
  for (size_t i = 0; i < count; ++i)
    if (!std::isfinite(host[i]))
      scm::fail(SCM_E_NONFINITE, "benchAttention: attention ", what, " output ", name, "[", i, "] = ", host[i],
                " is not finite (unwritten or overflowed); the timing is not reported");
}

BenchTiming run_bench(const BenchCall& c, const AbortFlag& abort) {
  const ScmKernels& k = scm::kernels_for(c.backend);
  const ScmAttentionKernels& a = k.attention;
  const char* what = pass_name(c.pass);
  using Fwd = decltype(a.forward);
  using Jvp = decltype(a.jvp);
  using Bwd = decltype(a.backward);
  Fwd fwd = c.naive ? a.naive_forward : a.forward;
  Jvp jvp = c.naive ? a.naive_jvp : a.jvp;
  Bwd bwd = c.naive ? a.naive_backward : a.backward;
  if ((c.pass == Pass::Forward || c.pass == Pass::Backward) && !fwd)
    scm::fail(SCM_E_BACKEND_UNAVAILABLE, "attention ", c.naive ? "naive " : "", "forward is not implemented on this backend");
  if (c.pass == Pass::Jvp && !jvp)
    scm::fail(SCM_E_BACKEND_UNAVAILABLE, "attention ", c.naive ? "naive " : "", "JVP is not implemented on this backend");
  if (c.pass == Pass::Backward && !bwd)
    scm::fail(SCM_E_BACKEND_UNAVAILABLE, "attention ", c.naive ? "naive " : "", "backward is not implemented on this backend");

  const size_t F = sizeof(float);
  const uint64_t seed = 0x5c3a77e1ull;
  scm::DeviceBuffer q(k, c.q_size * F), kk(k, c.kv_size * F), v(k, c.kv_size * F);
  fill_normal(k, q, c.q_size, seed, 0);
  fill_normal(k, kk, c.kv_size, seed, c.q_size);
  fill_normal(k, v, c.kv_size, seed, c.q_size + c.kv_size);
  const uint64_t next = c.q_size + 2 * c.kv_size;

  // The call being timed, and the outputs it writes (checked finite at the end).
  std::function<int()> call;
  struct Output { scm::DeviceBuffer* buffer; size_t count; const char* name; };
  std::vector<Output> outputs;
  scm::DeviceBuffer tq, tk, tv, o, to, lse, dout, dq, dk, dv;
  ScmAttentionShape s = c.shape;
  switch (c.pass) {
    case Pass::Forward:
      o = scm::DeviceBuffer(k, c.q_size * F);
      lse = scm::DeviceBuffer(k, c.lse_size * F);
      call = [&] { return fwd(&s, q.as(), kk.as(), v.as(), o.as(), lse.as()); };
      outputs.push_back({&o, c.q_size, "o"}); outputs.push_back({&lse, c.lse_size, "lse"});
      break;
    case Pass::Jvp:
      tq = scm::DeviceBuffer(k, c.q_size * F);
      tk = scm::DeviceBuffer(k, c.kv_size * F);
      tv = scm::DeviceBuffer(k, c.kv_size * F);
      fill_normal(k, tq, c.q_size, seed, next);
      fill_normal(k, tk, c.kv_size, seed, next + c.q_size);
      fill_normal(k, tv, c.kv_size, seed, next + c.q_size + c.kv_size);
      o = scm::DeviceBuffer(k, c.q_size * F);
      to = scm::DeviceBuffer(k, c.q_size * F);
      lse = scm::DeviceBuffer(k, c.lse_size * F);
      call = [&] { return jvp(&s, q.as(), kk.as(), v.as(), tq.as(), tk.as(), tv.as(), o.as(), to.as(), lse.as()); };
      outputs.push_back({&o, c.q_size, "o"}); outputs.push_back({&to, c.q_size, "to"}); outputs.push_back({&lse, c.lse_size, "lse"});
      break;
    case Pass::Backward:
      o = scm::DeviceBuffer(k, c.q_size * F);
      lse = scm::DeviceBuffer(k, c.lse_size * F);
      dout = scm::DeviceBuffer(k, c.q_size * F);
      fill_normal(k, dout, c.q_size, seed, next);
      // o and lse of these inputs, from the same implementation's forward (not timed).
      o.fill_bytes(0xFF);
      lse.fill_bytes(0xFF);
      scm::check(k, fwd(&s, q.as(), kk.as(), v.as(), o.as(), lse.as()), "benchAttention: forward before backward");
      expect_finite(o, c.q_size, "o", "forward");
      expect_finite(lse, c.lse_size, "lse", "forward");
      dq = scm::DeviceBuffer(k, c.q_size * F);
      dk = scm::DeviceBuffer(k, c.kv_size * F);
      dv = scm::DeviceBuffer(k, c.kv_size * F);
      call = [&] { return bwd(&s, q.as(), kk.as(), v.as(), o.as(), lse.as(), dout.as(), dq.as(), dk.as(), dv.as()); };
      outputs.push_back({&dq, c.q_size, "dq"}); outputs.push_back({&dk, c.kv_size, "dk"}); outputs.push_back({&dv, c.kv_size, "dv"});
      break;
  }
  for (auto& out : outputs) out.buffer->fill_bytes(0xFF);

  auto sync = [&] { scm::check(k, k.memory.synchronize(), "benchAttention: synchronize"); };
  const BenchTiming t = time_calls([&] { scm::check(k, call(), what); }, sync, c.min_runs, c.min_ms, abort);
  for (auto& out : outputs) expect_finite(*out.buffer, out.count, out.name, what);
  return t;
}

// benchAttention(desc, pass, implementation, minRuns, minMs, backend, abort?)
Napi::Value bench_attention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    BenchCall c = read_bench_call(info);
    AbortFlag abort(info.Length() > 6 ? info[6] : env.Undefined());
    auto result = std::make_shared<BenchTiming>();
    return run_async(env, abort,
        [c, result](const AbortFlag& flag) -> Tensors {
          *result = run_bench(c, flag);
          return {};
        },
        [result, backend = c.backend](Napi::Env e, Tensors&) -> Napi::Value {
          return timing_object(e, *result, scm::backend_name(backend));
        });
  });
}
SCM_EXPORT("benchAttention", bench_attention);

}  // namespace
}  // namespace scm_binding
