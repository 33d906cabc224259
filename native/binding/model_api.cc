// Models from JavaScript: create (config + backend + seed), read / write the named weights,
// forward and dual passes (tests, tools), and the samplers. See src/model.ts.
#include <cmath>

#include "args.h"
#include "async.h"
#include "model_handles.h"
#include "registry.h"
#include "../core/sample.h"

namespace scm_binding {

namespace {

std::string read_string(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) scm::fail(SCM_E_ARGUMENT, "option '", key, "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

template <class E>
E read_enum(const Napi::Object& o, const char* key, std::initializer_list<std::pair<const char*, E>> choices, E fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  std::string s = read_string(o, key, "");
  std::string allowed;
  for (auto& c : choices) {
    if (s == c.first) return c.second;
    allowed += std::string(allowed.empty() ? "" : ", ") + "'" + c.first + "'";
  }
  scm::fail(SCM_E_ARGUMENT, "option '", key, "' must be one of ", allowed, ", got '", s, "'");
}

std::vector<double> read_doubles(const Napi::Value& v, const char* name) {
  std::vector<double> out;
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() == napi_float64_array) {
      auto a = v.As<Napi::Float64Array>();
      out.assign(a.Data(), a.Data() + a.ElementLength());
      return out;
    }
    if (ta.TypedArrayType() == napi_float32_array) {
      auto a = v.As<Napi::Float32Array>();
      out.assign(a.Data(), a.Data() + a.ElementLength());
      return out;
    }
  }
  if (!v.IsArray()) scm::fail(SCM_E_ARGUMENT, name, " must be an array of numbers");
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) scm::fail(SCM_E_ARGUMENT, name, "[", i, "] is not a number");
    out.push_back(e.As<Napi::Number>().DoubleValue());
  }
  return out;
}

std::vector<int32_t> read_int32s(const Napi::Value& v, const char* name) {
  std::vector<int32_t> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    scm::fail(SCM_E_ARGUMENT, name, " must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  out.assign(a.Data(), a.Data() + a.ElementLength());
  return out;
}

Napi::Value arg(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() ? info[i] : info.Env().Undefined(); }

// Locks a handle for one operation on a worker thread.
template <class H>
std::unique_lock<std::mutex> lock_for_work(H& h) {
  std::unique_lock<std::mutex> lock(h.busy);
  if (h.disposed) scm::fail(SCM_E_ARGUMENT, "the model was disposed");
  return lock;
}

}  // namespace

scm::ModelConfig read_model_config(const Napi::Object& o) {
  scm::ModelConfig c;
  c.kind = read_enum<scm::NetworkKind>(o, "kind", {{"mlp", scm::NetworkKind::Mlp}, {"dit", scm::NetworkKind::Dit}},
                                       scm::NetworkKind::Mlp);
  Napi::Value shape = o.Get("sampleShape");
  if (!shape.IsArray()) scm::fail(SCM_E_ARGUMENT, "model config: sampleShape must be an array");
  for (double d : read_doubles(shape, "sampleShape")) {
    if (!(d >= 1 && d == std::floor(d) && d < (1 << 24))) scm::fail(SCM_E_ARGUMENT, "model config: bad sampleShape entry ", d);
    c.sample_shape.push_back(static_cast<int64_t>(d));
  }
  c.sd = read_number(o, "sd", c.sd);
  c.num_classes = read_size(o, "numClasses", false, 0);
  c.guidance_input = read_bool(o, "guidanceInput", false);
  c.width = read_size(o, "width", false, c.width);
  c.depth = read_size(o, "depth", false, c.depth);
  c.heads = read_size(o, "heads", false, c.heads);
  c.patch = read_size(o, "patch", false, c.patch);
  c.mlp_ratio = read_size(o, "mlpRatio", false, c.mlp_ratio);
  c.time_dim = read_size(o, "timeDim", false, c.time_dim);
  c.learned_pos_embed = read_bool(o, "learnedPosEmbed", true);
  c.dropout = read_number(o, "dropout", 0.0);
  c.time_transform = read_enum<scm::TimeTransform>(
      o, "timeTransform", {{"identity", scm::TimeTransform::Identity}, {"edm-log", scm::TimeTransform::EdmLog}},
      scm::TimeTransform::Identity);
  c.time_embedding = read_enum<scm::TimeEmbedding>(
      o, "timeEmbedding", {{"positional", scm::TimeEmbedding::Positional}, {"fourier", scm::TimeEmbedding::Fourier}},
      scm::TimeEmbedding::Positional);
  c.fourier_scale = read_number(o, "fourierScale", c.fourier_scale);
  c.modulation = read_enum<scm::Modulation>(o, "modulation", {{"adn", scm::Modulation::Adn}, {"adaln", scm::Modulation::AdaLn}},
                                            scm::Modulation::Adn);
  c.validate();
  return c;
}

namespace {

// modelCreate(config, backend, seed, precision) -> handle
Napi::Value model_create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    scm::ModelConfig c = read_model_config(read_object(info, 0, "model config"));
    auto h = std::make_shared<ModelHandle>();
    h->backend = scm::resolve_backend(read_backend(arg(info, 1)));
    Napi::Object so = Napi::Object::New(env);
    so.Set("seed", arg(info, 2));
    const uint64_t seed = static_cast<uint64_t>(read_size(so, "seed", false, 0));
    Napi::Object po = Napi::Object::New(env);
    po.Set("precision", arg(info, 3));
    const int precision = read_enum<int>(po, "precision", {{"fp32", SCM_GEMM_FP32}, {"bf16", SCM_GEMM_BF16}}, SCM_GEMM_FP32);
    const ScmKernels& k = scm::kernels_for(h->backend);
    scm::TableOps ops(k, precision, h->backend == scm::BackendKind::Cpu);
    h->state = std::make_unique<scm::ModelState<scm::TableOps>>(ops, c, seed);
    ops.synchronize();
    return wrap_handle(env, h);
  });
}
SCM_EXPORT("modelCreate", model_create);

// modelTensors(handle) -> { backend, paramCount, tensors: [{ name, shape, offset }] }
Napi::Value model_tensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = unwrap_handle<ModelHandle>(arg(info, 0), "model");
    const scm::ParamLayout& L = h->state->layout();
    Napi::Array list = Napi::Array::New(env, L.entries().size());
    for (size_t i = 0; i < L.entries().size(); ++i) {
      const auto& e = L.entries()[i];
      Napi::Object t = Napi::Object::New(env);
      t.Set("name", e.name);
      Napi::Array shape = Napi::Array::New(env, e.shape.size());
      for (size_t j = 0; j < e.shape.size(); ++j) shape.Set(static_cast<uint32_t>(j), Napi::Number::New(env, double(e.shape[j])));
      t.Set("shape", shape);
      t.Set("offset", Napi::Number::New(env, double(e.offset)));
      list.Set(static_cast<uint32_t>(i), t);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("backend", scm::backend_name(h->backend));
    out.Set("paramCount", Napi::Number::New(env, double(L.total())));
    out.Set("hasEma", Napi::Boolean::New(env, h->state->has_ema()));
    out.Set("tensors", list);
    return out;
  });
}
SCM_EXPORT("modelTensors", model_tensors);

// modelRead(handle, 'params' | 'ema') -> Float32Array of all weights (flat layout)
Napi::Value model_read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = unwrap_handle<ModelHandle>(arg(info, 0), "model");
    std::unique_lock<std::mutex> lock = lock_for_work(*h);
    const std::string which = arg(info, 1).IsString() ? arg(info, 1).As<Napi::String>().Utf8Value() : "";
    if (which != "params" && which != "ema") scm::fail(SCM_E_ARGUMENT, "modelRead: which must be 'params' or 'ema'");
    if (which == "ema" && !h->state->has_ema()) scm::fail(SCM_E_ARGUMENT, "modelRead: the model has no EMA weights");
    std::vector<float> v(h->state->param_count());
    h->state->ops().download(v.data(), which == "ema" ? h->state->ema() : h->state->params(), v.size());
    return to_float32_array(env, std::move(v));
  });
}
SCM_EXPORT("modelRead", model_read);

// modelWrite(handle, 'params' | 'ema', Float32Array) ('ema' creates the EMA buffer)
Napi::Value model_write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = unwrap_handle<ModelHandle>(arg(info, 0), "model");
    std::unique_lock<std::mutex> lock = lock_for_work(*h);
    const std::string which = arg(info, 1).IsString() ? arg(info, 1).As<Napi::String>().Utf8Value() : "";
    if (which != "params" && which != "ema") scm::fail(SCM_E_ARGUMENT, "modelWrite: which must be 'params' or 'ema'");
    std::vector<float> v = read_floats(arg(info, 2), "weights");
    expect_length(v, h->state->param_count(), "weights", "the model's parameter count");
    for (size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i])) scm::fail(SCM_E_NONFINITE, "modelWrite: weight ", i, " is not finite (", v[i], ")");
    if (which == "ema") h->state->ensure_ema();
    h->state->ops().upload(which == "ema" ? h->state->ema() : h->state->params(), v.data(), v.size());
    h->state->ops().synchronize();
    return env.Undefined();
  });
}
SCM_EXPORT("modelWrite", model_write);

// modelDropEma(handle)
Napi::Value model_drop_ema(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = unwrap_handle<ModelHandle>(arg(info, 0), "model");
    std::unique_lock<std::mutex> lock = lock_for_work(*h);
    h->state->drop_ema();
    return env.Undefined();
  });
}
SCM_EXPORT("modelDropEma", model_drop_ema);

// modelDispose(handle): frees the weights now (refused while an operation runs).
Napi::Value model_dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    if (!arg(info, 0).IsExternal()) scm::fail(SCM_E_ARGUMENT, "model is not a native handle");
    auto h = *arg(info, 0).As<Napi::External<std::shared_ptr<ModelHandle>>>().Data();
    if (!h || h->disposed) return env.Undefined();
    std::unique_lock<std::mutex> lock(h->busy, std::try_to_lock);
    if (!lock.owns_lock()) scm::fail(SCM_E_ARGUMENT, "dispose: the model is busy (await its running operation first)");
    h->disposed = true;
    h->state.reset();
    return env.Undefined();
  });
}
SCM_EXPORT("modelDispose", model_dispose);

// modelForward(handle, {u, t, tDot?, labels?, guidance?, useEma?, batch}, abort)
//   -> Promise<[F, logvar]> (forward) or [FF] stacked [F; J] when tDot is given (dual; u stacked)
Napi::Value model_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = unwrap_handle<ModelHandle>(arg(info, 0), "model");
    Napi::Object o = read_object(info, 1, "forward options");
    const int64_t B = read_size(o, "batch");
    if (B < 1) scm::fail(SCM_E_ARGUMENT, "forward: batch must be >= 1");
    const bool dual = !o.Get("tDot").IsUndefined();
    std::vector<float> u = read_floats(o.Get("u"), "u");
    const int64_t D = h->state->config().sample_size();
    expect_length(u, checked_product({dual ? 2 : 1, B, D}, "forward"), "u", dual ? "2 x batch x D (stacked)" : "batch x D");
    auto cond = std::make_shared<scm::Conditioning>();
    cond->t = read_doubles(o.Get("t"), "t");
    if (dual) cond->t_dot = read_doubles(o.Get("tDot"), "tDot");
    cond->labels = read_int32s(o.Get("labels"), "labels");
    if (!o.Get("guidance").IsUndefined()) cond->guidance = read_doubles(o.Get("guidance"), "guidance");
    const bool use_ema = read_bool(o, "useEma", false);
    AbortFlag abort(arg(info, 2));
    return run_async(
        env, abort,
        [h, u = std::move(u), cond, B, D, dual, use_ema](const AbortFlag&) -> Tensors {
          std::unique_lock<std::mutex> lock = lock_for_work(*h);
          auto& s = *h->state;
          const scm::TableOps& ops = s.ops();
          auto du = ops.alloc(u.size()), dF = ops.alloc(u.size()), dl = ops.alloc(static_cast<size_t>(B));
          ops.upload(du.data(), u.data(), u.size());
          if (dual) s.network().dual(s.weights(use_ema), B, du.data(), *cond, dF.data(), dl.data(), false);
          else s.network().forward(s.weights(use_ema), B, du.data(), *cond, dF.data(), dl.data(), false);
          Tensors out(2);
          out[0].resize(u.size());
          out[1].resize(static_cast<size_t>(B));
          ops.download(out[0].data(), dF.data(), out[0].size());
          ops.download(out[1].data(), dl.data(), out[1].size());
          ops.synchronize();  // end of operation (memory.h): nothing left queued on this thread
          return out;
        },
        [](Napi::Env env, Tensors& t) -> Napi::Value {
          Napi::Array a = Napi::Array::New(env, 2);
          a.Set(0u, to_float32_array(env, std::move(t[0])));
          a.Set(1u, to_float32_array(env, std::move(t[1])));
          return a;
        });
  });
}
SCM_EXPORT("modelForward", model_forward);

// modelSample(handle, {kind: 'diffusion' | 'consistency', count, seed, times, solver, labels,
//   guidance, batch, useEma}, abort) -> Promise<[samples, nfe]>
Napi::Value model_sample(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = unwrap_handle<ModelHandle>(arg(info, 0), "model");
    Napi::Object o = read_object(info, 1, "sample options");
    const std::string kind = read_string(o, "kind", "");
    if (kind != "diffusion" && kind != "consistency") scm::fail(SCM_E_ARGUMENT, "sample: kind must be 'diffusion' or 'consistency'");
    auto so = std::make_shared<scm::SampleOptions>();
    so->count = read_size(o, "count");
    so->seed = static_cast<uint64_t>(read_size(o, "seed", false, 0));
    so->times = read_doubles(o.Get("times"), "times");
    so->solver = read_enum<scm::Solver>(o, "solver", {{"euler", scm::Solver::Euler}, {"heun", scm::Solver::Heun}}, scm::Solver::Heun);
    so->labels = read_int32s(o.Get("labels"), "labels");
    so->guidance = read_number(o, "guidance", 1.0);
    so->batch = read_size(o, "batch", false, 256);
    so->use_ema = read_bool(o, "useEma", true);
    AbortFlag abort(arg(info, 2));
    auto nfe = std::make_shared<int64_t>(0);
    return run_async(
        env, abort,
        [h, so, kind, nfe](const AbortFlag& flag) -> Tensors {
          std::unique_lock<std::mutex> lock = lock_for_work(*h);
          so->aborted = [&flag] { return flag.aborted(); };
          scm::SampleResult r = kind == "diffusion" ? scm::sample_diffusion(*h->state, *so) : scm::sample_consistency(*h->state, *so);
          *nfe = r.nfe;
          h->state->ops().synchronize();
          Tensors out(1);
          out[0] = std::move(r.samples);
          return out;
        },
        [nfe](Napi::Env env, Tensors& t) -> Napi::Value {
          Napi::Array a = Napi::Array::New(env, 2);
          a.Set(0u, to_float32_array(env, std::move(t[0])));
          a.Set(1u, Napi::Number::New(env, double(*nfe)));
          return a;
        });
  });
}
SCM_EXPORT("modelSample", model_sample);

// edmTimeGrid(steps, sd) -> number[] (the diffusion samplers' default grid)
Napi::Value edm_grid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("steps", arg(info, 0));
    const int64_t steps = read_size(o, "steps");
    o.Set("sd", arg(info, 1));
    const double sd = read_number(o, "sd", 0.5);
    std::vector<double> t = scm::edm_time_grid(steps, sd);
    Napi::Array a = Napi::Array::New(env, t.size());
    for (size_t i = 0; i < t.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, t[i]));
    return a;
  });
}
SCM_EXPORT("edmTimeGrid", edm_grid);

}  // namespace
}  // namespace scm_binding
