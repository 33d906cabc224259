// Self-registration of binding functions: each native/binding/*.cc file declares its
// exports with SCM_EXPORT(jsName, fn) and addon.cc puts them all on the module object, so
// adding an op family never edits a shared file.
#pragma once
#include <napi.h>
#include <vector>

namespace scm_binding {

using Exported = Napi::Value (*)(const Napi::CallbackInfo&);
struct Export { const char* name; Exported fn; };
std::vector<Export>& exports_registry();
struct ExportRegistrar {
  ExportRegistrar(const char* name, Exported fn) { exports_registry().push_back({name, fn}); }
};

}  // namespace scm_binding

#define SCM_EXPORT_CAT2(a, b) a##b
#define SCM_EXPORT_CAT(a, b) SCM_EXPORT_CAT2(a, b)
#define SCM_EXPORT(js_name, fn) \
  static ::scm_binding::ExportRegistrar SCM_EXPORT_CAT(scm_export_, __LINE__)(js_name, fn)
