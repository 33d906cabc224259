// Native model and trainer handles for JavaScript: an External holding a shared_ptr, so a
// running async operation keeps its model alive even when JavaScript drops the handle. Each
// handle runs one operation at a time (its network workspace is reused); a second concurrent
// operation waits for the first, and dispose() refuses a busy handle.
#pragma once
#include <napi.h>
#include <memory>
#include <mutex>

#include "../core/model_config.h"
#include "../core/train.h"

namespace scm_binding {

struct ModelHandle {
  scm::BackendKind backend = scm::BackendKind::Cpu;
  std::unique_ptr<scm::ModelState<scm::TableOps>> state;
  std::mutex busy;
  bool disposed = false;
};

struct TrainerHandle {
  std::shared_ptr<ModelHandle> student, teacher;
  std::unique_ptr<scm::Trainer<scm::TableOps>> trainer;
  std::mutex busy;
  bool disposed = false;
};

template <class H>
Napi::Value wrap_handle(Napi::Env env, std::shared_ptr<H> h) {
  auto* holder = new std::shared_ptr<H>(std::move(h));
  return Napi::External<std::shared_ptr<H>>::New(env, holder, [](Napi::Env, std::shared_ptr<H>* p) { delete p; });
}

template <class H>
std::shared_ptr<H> unwrap_handle(const Napi::Value& v, const char* what) {
  if (!v.IsExternal()) scm::fail(SCM_E_ARGUMENT, what, " is not a native handle");
  auto h = *v.As<Napi::External<std::shared_ptr<H>>>().Data();
  if (!h || h->disposed) scm::fail(SCM_E_ARGUMENT, what, " was disposed");
  return h;
}

// Parses a resolved model config object (see src/model-config.ts) into the engine's struct.
scm::ModelConfig read_model_config(const Napi::Object& o);

}  // namespace scm_binding
