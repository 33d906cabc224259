// scm::Error: the one exception type inside the engine. It never crosses the C API or the
// kernel table: c_api.cpp and the table wrappers turn it into a status code + message.
#pragma once
#include <stdexcept>
#include <string>
#include <sstream>
#include "status.h"

namespace scm {

class Error : public std::runtime_error {
 public:
  Error(ScmStatus status, const std::string& message) : std::runtime_error(message), status_(status) {}
  ScmStatus status() const { return status_; }

 private:
  ScmStatus status_;
};

// Builds a message from pieces: fail(SCM_E_SHAPE, "q has ", n, " elements, expected ", m).
template <class... Parts>
[[noreturn]] void fail(ScmStatus status, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(status, os.str());
}

template <class... Parts>
void require(bool condition, ScmStatus status, const Parts&... parts) {
  if (!condition) fail(status, parts...);
}

// The stable string name of a status ("E_SHAPE"), used for JS error codes.
const char* status_name(ScmStatus status);

// Thread-local last error used by the kernel table and the C API.
void set_last_error(const std::string& message);
const char* last_error();

// Runs fn, converting any exception into a status code and the thread's last error.
template <class Fn>
int guarded(Fn&& fn) {
  try {
    fn();
    return SCM_OK;
  } catch (const Error& e) {
    set_last_error(e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    set_last_error("out of host memory");
    return SCM_E_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(std::string("internal error: ") + e.what());
    return SCM_E_INTERNAL;
  }
}

}  // namespace scm
