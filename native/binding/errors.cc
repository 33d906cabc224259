#include "errors.h"
#include "registry.h"

namespace scm_binding {
namespace {

// Per-environment reference to the ScmError constructor.
struct ErrorClass {
  Napi::FunctionReference ctor;
};

ErrorClass* error_class(Napi::Env env) { return env.GetInstanceData<ErrorClass>(); }

Napi::Value set_error_class(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "setErrorClass expects a constructor").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* holder = new ErrorClass{Napi::Persistent(info[0].As<Napi::Function>())};
  env.SetInstanceData<ErrorClass>(holder);
  return env.Undefined();
}
SCM_EXPORT("setErrorClass", set_error_class);

}  // namespace

Napi::Error make_error(Napi::Env env, ScmStatus status, const std::string& message) {
  const char* code = scm::status_name(status);
  ErrorClass* cls = error_class(env);
  if (cls && !cls->ctor.IsEmpty()) {
    Napi::Object obj = cls->ctor.New({Napi::String::New(env, message), Napi::String::New(env, code)});
    return Napi::Error(env, obj);
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

Napi::Value throw_error(Napi::Env env, ScmStatus status, const std::string& message) {
  make_error(env, status, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace scm_binding
