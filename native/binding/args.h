// Reading and checking JavaScript arguments. Every reader throws ArgError, which the
// binding functions turn into an ScmError naming the argument and the offending value.
#pragma once
#include <napi.h>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#include "../core/backend.h"
#include "../core/error.h"

namespace scm_binding {

// A Float32Array copied out of JavaScript (copied so that JS can neither free nor change it
// while a worker thread reads it).
inline std::vector<float> read_floats(const Napi::Value& v, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    scm::fail(SCM_E_ARGUMENT, name, " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  std::vector<float> out(a.ElementLength());
  if (!out.empty()) std::memcpy(out.data(), a.Data(), out.size() * sizeof(float));
  return out;
}

inline void expect_length(const std::vector<float>& v, size_t expected, const char* name, const std::string& shape) {
  if (v.size() != expected)
    scm::fail(SCM_E_SHAPE, name, " has ", v.size(), " elements, expected ", expected, " (", shape, ")");
}

// A non-negative integer option (a JS number that is an exact integer).
inline int64_t read_size(const Napi::Object& o, const char* key, bool required = true, int64_t fallback = 0) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) {
    if (required) scm::fail(SCM_E_ARGUMENT, "option '", key, "' is required");
    return fallback;
  }
  if (!v.IsNumber()) scm::fail(SCM_E_ARGUMENT, "option '", key, "' must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > 9007199254740991.0)
    scm::fail(SCM_E_ARGUMENT, "option '", key, "' must be a non-negative integer, got ", d);
  return static_cast<int64_t>(d);
}

inline double read_number(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) scm::fail(SCM_E_ARGUMENT, "option '", key, "' must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) scm::fail(SCM_E_ARGUMENT, "option '", key, "' must be finite, got ", d);
  return d;
}

inline bool read_bool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) scm::fail(SCM_E_ARGUMENT, "option '", key, "' must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline Napi::Object read_object(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsObject()) scm::fail(SCM_E_ARGUMENT, name, " must be an object");
  return info[i].As<Napi::Object>();
}

// "auto" | "cpu" | "cuda" (undefined = "auto").
inline scm::BackendKind read_backend(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return scm::BackendKind::Auto;
  if (!v.IsString()) scm::fail(SCM_E_ARGUMENT, "backend must be 'auto', 'cpu' or 'cuda'");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "auto") return scm::BackendKind::Auto;
  if (s == "cpu") return scm::BackendKind::Cpu;
  if (s == "cuda") return scm::BackendKind::Cuda;
  scm::fail(SCM_E_ARGUMENT, "unknown backend '", s, "' (expected 'auto', 'cpu' or 'cuda')");
}

// Overflow-checked product of sizes.
inline size_t checked_product(std::initializer_list<int64_t> dims, const char* what) {
  size_t p = 1;
  for (int64_t d : dims) {
    if (d < 0) scm::fail(SCM_E_ARGUMENT, what, ": negative size ", d);
    if (d != 0 && p > (size_t(1) << 40) / static_cast<size_t>(d))
      scm::fail(SCM_E_ARGUMENT, what, ": sizes too large (more than 2^40 elements)");
    p *= static_cast<size_t>(d);
  }
  return p;
}

}  // namespace scm_binding
