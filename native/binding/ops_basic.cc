// ops.gemm, ops.randn, ops.rand: the foundation's compute entries.
#include "args.h"
#include "async.h"
#include "registry.h"
#include "tensor_call.h"

namespace scm_binding {
namespace {

// gemm(a, b, {m, n, k, transA, transB, batch, alpha, beta, precision}, backend, abortFlag)
Napi::Value gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    std::vector<float> a = read_floats(info[0], "a");
    std::vector<float> b = read_floats(info[1], "b");
    Napi::Object o = read_object(info, 2, "gemm options");
    ScmGemmDesc d{};
    d.m = read_size(o, "m");
    d.n = read_size(o, "n");
    d.k = read_size(o, "k");
    d.batch = read_size(o, "batch", false, 1);
    d.trans_a = read_bool(o, "transA", false);
    d.trans_b = read_bool(o, "transB", false);
    d.alpha = static_cast<float>(read_number(o, "alpha", 1.0));
    d.beta = 0.0f;
    std::string precision = o.Has("precision") && o.Get("precision").IsString()
                                ? o.Get("precision").As<Napi::String>().Utf8Value() : "fp32";
    if (precision == "fp32") d.precision = SCM_GEMM_FP32;
    else if (precision == "tf32") d.precision = SCM_GEMM_TF32;
    else if (precision == "bf16") d.precision = SCM_GEMM_BF16;
    else scm::fail(SCM_E_ARGUMENT, "unknown precision '", precision, "' (expected 'fp32', 'tf32' or 'bf16')");
    for (int64_t dim : {d.m, d.n, d.k})
      if (dim > (int64_t(1) << 30)) scm::fail(SCM_E_ARGUMENT, "gemm: dimension ", dim, " is too large");
    scm_gemm_dense_layout(&d);
    std::string shape_a = d.trans_a ? "k x m" : "m x k", shape_b = d.trans_b ? "n x k" : "k x n";
    expect_length(a, checked_product({d.batch, d.m, d.k}, "gemm"), "a", "batch x " + shape_a);
    expect_length(b, checked_product({d.batch, d.k, d.n}, "gemm"), "b", "batch x " + shape_b);
    size_t out_len = checked_product({d.batch, d.m, d.n}, "gemm");
    scm::BackendKind backend = scm::resolve_backend(read_backend(info.Length() > 3 ? info[3] : env.Undefined()));
    AbortFlag abort(info.Length() > 4 ? info[4] : env.Undefined());
    return run_async(
        env, abort,
        [a = std::move(a), b = std::move(b), d, out_len, backend](const AbortFlag&) -> Tensors {
          return call_with_tensors(backend, {&a, &b}, {out_len}, nullptr,
              [&](const ScmKernels& k, const KernelIo& io) { return k.gemm.gemm(&d, io.in[0], io.in[1], io.out[0]); }, "gemm");
        },
        [](Napi::Env env, Tensors& t) -> Napi::Value { return to_float32_array(env, std::move(t[0])); });
  });
}
SCM_EXPORT("gemm", gemm);

// random(kind, count, seed, offset, backend, abortFlag): kind "normal" | "uniform";
// seed and offset are non-negative safe integers (JS numbers) or bigint.
uint64_t read_u64(const Napi::Value& v, const char* name) {
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) scm::fail(SCM_E_ARGUMENT, name, " must fit in 64 unsigned bits");
    return x;
  }
  Napi::Object o = Napi::Object::New(v.Env());
  o.Set(name, v);
  return static_cast<uint64_t>(read_size(o, name));
}

Napi::Value random(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    std::string kind = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (kind != "normal" && kind != "uniform") scm::fail(SCM_E_ARGUMENT, "random kind must be 'normal' or 'uniform'");
    Napi::Object o = Napi::Object::New(env);
    o.Set("count", info[1]);
    size_t count = static_cast<size_t>(read_size(o, "count"));
    if (count > (size_t(1) << 34)) scm::fail(SCM_E_ARGUMENT, "count ", count, " is too large");
    uint64_t seed = read_u64(info[2], "seed");
    uint64_t offset = info[3].IsUndefined() ? 0 : read_u64(info[3], "offset");
    scm::BackendKind backend = scm::resolve_backend(read_backend(info[4]));
    AbortFlag abort(info[5]);
    return run_async(
        env, abort,
        [kind, count, seed, offset, backend](const AbortFlag&) -> Tensors {
          return call_with_tensors(backend, {}, {count}, nullptr,
              [&](const ScmKernels& k, const KernelIo& io) {
                return (kind == "normal" ? k.rng.normal : k.rng.uniform)(io.out[0], count, seed, offset);
              }, "random");
        },
        [](Napi::Env env, Tensors& t) -> Napi::Value { return to_float32_array(env, std::move(t[0])); });
  });
}
SCM_EXPORT("random", random);

}  // namespace
}  // namespace scm_binding
