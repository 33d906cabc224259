// Typed errors for JavaScript: every failure becomes an instance of the TypeScript class
// ScmError (registered at load time by src/native.ts through setErrorClass) with `code`
// set to the status name ("E_SHAPE", ...).
#pragma once
#include <napi.h>
#include <string>
#include "../core/error.h"

namespace scm_binding {

Napi::Error make_error(Napi::Env env, ScmStatus status, const std::string& message);

// Throws a JS exception; use as `return throw_error(...)` from a binding function.
Napi::Value throw_error(Napi::Env env, ScmStatus status, const std::string& message);

}  // namespace scm_binding
