// The addon's entry point: exports every function registered with SCM_EXPORT.
#include <napi.h>
#include "registry.h"

namespace scm_binding {
std::vector<Export>& exports_registry() {
  static std::vector<Export> list;
  return list;
}
}  // namespace scm_binding

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (const auto& e : scm_binding::exports_registry())
    exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  return exports;
}

NODE_API_MODULE(scm_native, Init)
