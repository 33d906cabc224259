#include "async.h"

namespace scm_binding {

AbortFlag::AbortFlag(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      v.As<Napi::Int32Array>().ElementLength() < 1)
    scm::fail(SCM_E_ARGUMENT, "abort flag must be an Int32Array of length 1");
  auto arr = v.As<Napi::Int32Array>();
  data_ = arr.Data();
  keep_ = std::make_shared<Napi::Reference<Napi::Int32Array>>(Napi::Persistent(arr));
}

Napi::Float32Array to_float32_array(Napi::Env env, std::vector<float>&& v) {
  size_t n = v.size();
  if (n == 0) return Napi::Float32Array::New(env, 0);
  auto* owned = new std::vector<float>(std::move(v));
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(
      env, owned->data(), n * sizeof(float), [](Napi::Env, void*, std::vector<float>* p) { delete p; }, owned);
  return Napi::Float32Array::New(env, n, buf, 0);
}

namespace {

class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, AbortFlag abort, std::function<Tensors(const AbortFlag&)> work,
         std::function<Napi::Value(Napi::Env, Tensors&)> make_result)
      : Napi::AsyncWorker(env, "scm-native"),
        deferred_(Napi::Promise::Deferred::New(env)),
        abort_(std::move(abort)),
        work_(std::move(work)),
        make_result_(std::move(make_result)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      abort_.throw_if_aborted();
      outputs_ = work_(abort_);
    } catch (const scm::Error& e) {
      status_ = e.status();
      message_ = e.what();
    } catch (const std::bad_alloc&) {
      status_ = SCM_E_OUT_OF_MEMORY;
      message_ = "out of host memory";
    } catch (const std::exception& e) {
      status_ = SCM_E_INTERNAL;
      message_ = std::string("internal error: ") + e.what();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status_ != SCM_OK) {
      deferred_.Reject(make_error(env, status_, message_).Value());
      return;
    }
    try {
      deferred_.Resolve(make_result_(env, outputs_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  AbortFlag abort_;
  std::function<Tensors(const AbortFlag&)> work_;
  std::function<Napi::Value(Napi::Env, Tensors&)> make_result_;
  Tensors outputs_;
  ScmStatus status_ = SCM_OK;
  std::string message_;
};

}  // namespace

Napi::Value run_async(Napi::Env env, AbortFlag abort, std::function<Tensors(const AbortFlag&)> work,
                      std::function<Napi::Value(Napi::Env, Tensors&)> make_result) {
  auto* w = new Worker(env, std::move(abort), std::move(work), std::move(make_result));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace scm_binding
