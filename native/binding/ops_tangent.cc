// ops.tangentNormalize (kernel family: trigflow.h).
#include "args.h"
#include "async.h"
#include "registry.h"
#include "tensor_call.h"

namespace scm_binding {
namespace {

// tangentNormalize(g, {batch, c, mode}, backend, abort) -> out
Napi::Value tangent_normalize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto g = read_floats(info[0], "g");
    Napi::Object o = read_object(info, 1, "tangentNormalize options");
    int64_t batch = read_size(o, "batch");
    double c = read_number(o, "c", 0.1);
    if (c < 0) scm::fail(SCM_E_ARGUMENT, "c must be >= 0, got ", c);
    std::string mode = o.Get("mode").IsString() ? o.Get("mode").As<Napi::String>().Utf8Value() : "normalize";
    if (mode != "normalize" && mode != "clip") scm::fail(SCM_E_ARGUMENT, "mode must be 'normalize' or 'clip', got '", mode, "'");
    if (batch == 0 ? !g.empty() : g.size() % static_cast<size_t>(batch) != 0)
      scm::fail(SCM_E_SHAPE, "g has ", g.size(), " elements, not a multiple of batch = ", batch);
    if (batch > 0 && g.empty()) scm::fail(SCM_E_SHAPE, "g is empty but batch = ", batch);
    int64_t per_sample = batch ? static_cast<int64_t>(g.size()) / batch : 1;
    scm::BackendKind backend = scm::resolve_backend(read_backend(info.Length() > 2 ? info[2] : env.Undefined()));
    AbortFlag abort(info.Length() > 3 ? info[3] : env.Undefined());
    int m = mode == "clip" ? SCM_TANGENT_CLIP : SCM_TANGENT_NORMALIZE;
    return run_async(env, abort,
        [g = std::move(g), batch, per_sample, c, m, backend](const AbortFlag&) mutable -> Tensors {
          size_t n = g.size();
          return call_with_tensors(backend, {&g}, {n}, nullptr,
              [&](const ScmKernels& k, const KernelIo& io) {
                if (!k.trigflow.tangent_normalize) scm::fail(SCM_E_BACKEND_UNAVAILABLE, "tangent_normalize missing on this backend");
                if (batch == 0) return 0;
                return k.trigflow.tangent_normalize(batch, per_sample, m, static_cast<float>(c), io.in[0], io.out[0], nullptr);
              }, "tangent normalize");
        },
        [](Napi::Env env, Tensors& t) -> Napi::Value { return to_float32_array(env, std::move(t[0])); });
  });
}
SCM_EXPORT("tangentNormalize", tangent_normalize);

}  // namespace
}  // namespace scm_binding
