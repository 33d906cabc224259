// Running engine work off the JavaScript thread: run_async copies nothing itself; the
// caller captures its (already copied) inputs in `work`, which runs on a libuv worker
// thread and returns output tensors. The promise resolves to `make_result(outputs)` or
// rejects with an ScmError. An optional Int32Array(1) abort flag is read by the engine
// between steps (long operations) and before starting.
#pragma once
#include <napi.h>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include "../core/error.h"
#include "errors.h"

namespace scm_binding {

using Tensors = std::vector<std::vector<float>>;

// Aborted when the flag (shared with JS) is non-zero.
class AbortFlag {
 public:
  AbortFlag() = default;
  explicit AbortFlag(const Napi::Value& v);
  bool aborted() const { return data_ && __atomic_load_n(data_, __ATOMIC_RELAXED) != 0; }
  void throw_if_aborted() const {
    if (aborted()) scm::fail(SCM_E_ABORTED, "the operation was aborted");
  }

 private:
  int32_t* data_ = nullptr;
  std::shared_ptr<Napi::Reference<Napi::Int32Array>> keep_;
};

// Moves a float vector into a Float32Array without copying.
Napi::Float32Array to_float32_array(Napi::Env env, std::vector<float>&& v);

Napi::Value run_async(Napi::Env env, AbortFlag abort, std::function<Tensors(const AbortFlag&)> work,
                      std::function<Napi::Value(Napi::Env, Tensors&)> make_result);

// Runs `fn` and converts scm::Error into a thrown ScmError (returns undefined then).
template <class Fn>
Napi::Value js_guard(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const scm::Error& e) {
    return throw_error(env, e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return throw_error(env, SCM_E_OUT_OF_MEMORY, "out of host memory");
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  } catch (const std::exception& e) {
    return throw_error(env, SCM_E_INTERNAL, std::string("internal error: ") + e.what());
  }
}

}  // namespace scm_binding
