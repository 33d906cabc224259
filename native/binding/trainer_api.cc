// Trainers from JavaScript: create (student, teacher, options), one async step per call (data
// batch in, statistics out), and the optimizer state for checkpoints. See src/train.ts.
#include <cmath>

#include "args.h"
#include "async.h"
#include "model_handles.h"
#include "registry.h"

namespace scm_binding {
namespace {

Napi::Value arg(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() ? info[i] : info.Env().Undefined(); }

std::string str(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) scm::fail(SCM_E_ARGUMENT, "option '", key, "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

scm::TrainOptions read_train_options(const Napi::Object& o) {
  scm::TrainOptions t;
  const std::string objective = str(o, "objective", "diffusion");
  if (objective == "diffusion") t.objective = scm::Objective::Diffusion;
  else if (objective == "consistency") t.objective = scm::Objective::Consistency;
  else scm::fail(SCM_E_ARGUMENT, "objective must be 'diffusion' or 'consistency', got '", objective, "'");
  const std::string method = str(o, "method", "sct");
  if (method == "sct") t.method = scm::ConsistencyMethod::Sct;
  else if (method == "scd") t.method = scm::ConsistencyMethod::Scd;
  else scm::fail(SCM_E_ARGUMENT, "method must be 'sct' or 'scd', got '", method, "'");
  t.seed = static_cast<uint64_t>(read_size(o, "seed", false, 0));
  const std::string opt = str(o, "optimizer", "adam");
  if (opt == "adam") t.optimizer = SCM_OPTIM_ADAM;
  else if (opt == "adamw") t.optimizer = SCM_OPTIM_ADAMW;
  else if (opt == "radam") t.optimizer = SCM_OPTIM_RADAM;
  else if (opt == "radamw") t.optimizer = SCM_OPTIM_RADAMW;
  else scm::fail(SCM_E_ARGUMENT, "optimizer must be 'adam', 'adamw', 'radam' or 'radamw', got '", opt, "'");
  t.lr = read_number(o, "lr", t.lr);
  t.beta1 = read_number(o, "beta1", t.beta1);
  t.beta2 = read_number(o, "beta2", t.beta2);
  t.eps = read_number(o, "eps", t.eps);
  t.weight_decay = read_number(o, "weightDecay", t.weight_decay);
  t.grad_clip = read_number(o, "gradClip", t.grad_clip);
  t.lr_warmup_steps = read_size(o, "lrWarmupSteps", false, 0);
  t.lr_decay_steps = read_size(o, "lrDecaySteps", false, 0);
  t.lr_cooldown_steps = read_size(o, "lrCooldownSteps", false, 0);
  t.lr_cooldown_end = read_size(o, "lrCooldownEnd", false, 0);
  t.ema_halflife = read_number(o, "emaHalfLife", t.ema_halflife);
  t.ema_rampup = read_number(o, "emaRampup", t.ema_rampup);
  t.p_mean = read_number(o, "proposalMean", t.p_mean);
  t.p_std = read_number(o, "proposalStd", t.p_std);
  t.label_dropout = read_number(o, "labelDropout", t.label_dropout);
  t.tangent_warmup = read_size(o, "warmupSteps", false, t.tangent_warmup);
  const std::string tangent = str(o, "tangent", "normalize");
  if (tangent == "normalize") t.tangent = scm::TangentMode::Normalize;
  else if (tangent == "clip") t.tangent = scm::TangentMode::Clip;
  else if (tangent == "none") t.tangent = scm::TangentMode::None;
  else scm::fail(SCM_E_ARGUMENT, "tangent must be 'normalize', 'clip' or 'none', got '", tangent, "'");
  t.tangent_c = read_number(o, "tangentC", t.tangent_c);
  t.adaptive_weighting = read_bool(o, "adaptiveWeighting", t.adaptive_weighting);
  t.guidance_min = read_number(o, "guidanceMin", 0.0);
  t.guidance_max = read_number(o, "guidanceMax", 0.0);
  return t;
}

// trainerCreate(student, teacher | null, options) -> handle
Napi::Value trainer_create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = std::make_shared<TrainerHandle>();
    h->student = unwrap_handle<ModelHandle>(arg(info, 0), "student model");
    if (!arg(info, 1).IsNull() && !arg(info, 1).IsUndefined()) {
      h->teacher = unwrap_handle<ModelHandle>(arg(info, 1), "teacher model");
      if (h->teacher->backend != h->student->backend)
        scm::fail(SCM_E_ARGUMENT, "the teacher is on backend ", scm::backend_name(h->teacher->backend),
                  ", the student on ", scm::backend_name(h->student->backend));
    }
    scm::TrainOptions o = read_train_options(read_object(info, 2, "training options"));
    std::unique_lock<std::mutex> lock(h->student->busy);
    h->trainer = std::make_unique<scm::Trainer<scm::TableOps>>(*h->student->state,
                                                                 h->teacher ? h->teacher->state.get() : nullptr, o);
    h->student->state->ops().synchronize();
    return wrap_handle(env, h);
  });
}
SCM_EXPORT("trainerCreate", trainer_create);

// trainerStep(trainer, x0, labels | null, batch, abort) -> Promise<stats>
Napi::Value trainer_step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = unwrap_handle<TrainerHandle>(arg(info, 0), "trainer");
    std::vector<float> x0 = read_floats(arg(info, 1), "x0");
    std::vector<int32_t> labels;
    if (!arg(info, 2).IsNull() && !arg(info, 2).IsUndefined()) {
      if (!arg(info, 2).IsTypedArray() || arg(info, 2).As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        scm::fail(SCM_E_ARGUMENT, "labels must be an Int32Array");
      auto a = arg(info, 2).As<Napi::Int32Array>();
      labels.assign(a.Data(), a.Data() + a.ElementLength());
    }
    Napi::Object bo = Napi::Object::New(env);
    bo.Set("batch", arg(info, 3));
    const int64_t B = read_size(bo, "batch");
    const int64_t D = h->student->state->config().sample_size();
    expect_length(x0, checked_product({B, D}, "trainer step"), "x0", "batch x D");
    if (!labels.empty() && static_cast<int64_t>(labels.size()) != B)
      scm::fail(SCM_E_SHAPE, "labels has ", labels.size(), " elements, expected batch = ", B);
    AbortFlag abort(arg(info, 4));
    auto stats = std::make_shared<scm::StepStats>();
    return run_async(
        env, abort,
        [h, x0 = std::move(x0), labels = std::move(labels), B, stats](const AbortFlag&) -> Tensors {
          std::unique_lock<std::mutex> lock(h->busy);
          if (h->disposed) scm::fail(SCM_E_ARGUMENT, "the trainer was disposed");
          std::unique_lock<std::mutex> slock(h->student->busy);
          std::unique_lock<std::mutex> tlock;
          if (h->teacher) tlock = std::unique_lock<std::mutex>(h->teacher->busy);
          if (h->student->disposed || (h->teacher && h->teacher->disposed))
            scm::fail(SCM_E_ARGUMENT, "the trainer's model was disposed");
          *stats = h->trainer->step(x0.data(), labels.empty() ? nullptr : labels.data(), B);
          h->student->state->ops().synchronize();  // end of operation (memory.h)
          return {};
        },
        [stats](Napi::Env env, Tensors&) -> Napi::Value {
          const scm::StepStats& s = *stats;
          Napi::Object o = Napi::Object::New(env);
          o.Set("step", Napi::Number::New(env, double(s.step)));
          o.Set("loss", Napi::Number::New(env, s.loss));
          o.Set("gradNorm", Napi::Number::New(env, s.grad_norm));
          o.Set("lr", Napi::Number::New(env, s.lr));
          o.Set("dropped", Napi::Number::New(env, double(s.dropped)));
          o.Set("skipped", Napi::Boolean::New(env, s.skipped));
          o.Set("r", Napi::Number::New(env, s.r));
          o.Set("tangentNormMean", Napi::Number::New(env, s.tangent_norm_mean));
          o.Set("tangentNormMax", Napi::Number::New(env, s.tangent_norm_max));
          o.Set("logvarMin", Napi::Number::New(env, s.logvar_min));
          o.Set("logvarMax", Napi::Number::New(env, s.logvar_max));
          return o;
        });
  });
}
SCM_EXPORT("trainerStep", trainer_step);

// trainerReadState(trainer) -> { step, m: Float32Array, v: Float32Array }
Napi::Value trainer_read_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = unwrap_handle<TrainerHandle>(arg(info, 0), "trainer");
    std::unique_lock<std::mutex> lock(h->busy);
    const size_t P = h->student->state->param_count();
    const scm::TableOps& ops = h->student->state->ops();
    std::vector<float> m(P), v(P);
    ops.download(m.data(), h->trainer->moment1(), P);
    ops.download(v.data(), h->trainer->moment2(), P);
    Napi::Object o = Napi::Object::New(env);
    o.Set("step", Napi::Number::New(env, double(h->trainer->steps_done())));
    o.Set("m", to_float32_array(env, std::move(m)));
    o.Set("v", to_float32_array(env, std::move(v)));
    return o;
  });
}
SCM_EXPORT("trainerReadState", trainer_read_state);

// trainerWriteState(trainer, { step, m, v })
Napi::Value trainer_write_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    auto h = unwrap_handle<TrainerHandle>(arg(info, 0), "trainer");
    Napi::Object o = read_object(info, 1, "trainer state");
    std::unique_lock<std::mutex> lock(h->busy);
    const size_t P = h->student->state->param_count();
    std::vector<float> m = read_floats(o.Get("m"), "m"), v = read_floats(o.Get("v"), "v");
    expect_length(m, P, "m", "the model's parameter count");
    expect_length(v, P, "v", "the model's parameter count");
    for (size_t i = 0; i < P; ++i)
      if (!std::isfinite(m[i]) || !std::isfinite(v[i]) || v[i] < 0)
        scm::fail(SCM_E_BAD_CHECKPOINT, "optimizer state entry ", i, " is invalid (m=", m[i], ", v=", v[i], ")");
    const scm::TableOps& ops = h->student->state->ops();
    ops.upload(h->trainer->moment1(), m.data(), P);
    ops.upload(h->trainer->moment2(), v.data(), P);
    h->trainer->set_steps_done(read_size(o, "step"));
    ops.synchronize();
    return env.Undefined();
  });
}
SCM_EXPORT("trainerWriteState", trainer_write_state);

// trainerDispose(trainer)
Napi::Value trainer_dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    if (!arg(info, 0).IsExternal()) scm::fail(SCM_E_ARGUMENT, "trainer is not a native handle");
    auto h = *arg(info, 0).As<Napi::External<std::shared_ptr<TrainerHandle>>>().Data();
    if (!h || h->disposed) return env.Undefined();
    std::unique_lock<std::mutex> lock(h->busy, std::try_to_lock);
    if (!lock.owns_lock()) scm::fail(SCM_E_ARGUMENT, "dispose: the trainer is busy (await its running step first)");
    h->disposed = true;
    h->trainer.reset();
    return env.Undefined();
  });
}
SCM_EXPORT("trainerDispose", trainer_dispose);

}  // namespace
}  // namespace scm_binding
