// A tiny test framework for the native engine. Each test is registered with SCM_TEST and run
// by the scm_native_tests executable, which vitest drives (test/native.test.ts): every
// native test is one vitest case.
//
//   scm_native_tests --list          one test name per line
//   scm_native_tests NAME [NAME...]  runs those tests; prints "PASS name", "SKIP name: why"
//                                    or "FAIL name: why" per test; exit code 1 on any FAIL
//
// CUDA tests call require_cuda(): it skips the test when no CUDA device is usable, and turns
// the skip into a failure when SCM_REQUIRE_CUDA=1 (the GPU test mode).
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/backend.h"
#include "../core/device_buffer.h"

namespace scm_test {

struct TestFailure : std::runtime_error { using std::runtime_error::runtime_error; };
struct TestSkip : std::runtime_error { using std::runtime_error::runtime_error; };

using TestFn = void (*)();
struct TestCase { std::string name; TestFn fn; };
std::vector<TestCase>& registry();
struct Registrar { Registrar(const char* name, TestFn fn) { registry().push_back({name, fn}); } };

#define SCM_TEST(name)                                                   \
  static void scm_test_fn_##name();                                      \
  static ::scm_test::Registrar scm_test_reg_##name(#name, scm_test_fn_##name); \
  static void scm_test_fn_##name()

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  os.precision(9);
  (os << ... << parts);
  return os.str();
}

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) { throw TestFailure(concat(parts...)); }

#define SCM_CHECK(cond, ...)                                                          \
  do {                                                                                \
    if (!(cond)) ::scm_test::fail(__FILE__, ":", __LINE__, ": check failed: " #cond " ", ##__VA_ARGS__); \
  } while (0)

// Extra detail printed after PASS (e.g. the measured error), one line.
void note(const std::string& text);

// Random numbers for test inputs (never zeros): uniform in [lo, hi) or normal.
template <class T = double>
std::vector<T> random_uniform(size_t n, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(gen));
  return v;
}
template <class T = double>
std::vector<T> random_normal(size_t n, uint64_t seed, double stddev = 1.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> d(0.0, stddev);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(gen));
  return v;
}
template <class To, class From>
std::vector<To> cast(const std::vector<From>& v) { return std::vector<To>(v.begin(), v.end()); }

// ||got - ref|| / max(||ref||, tiny); +inf when got holds a non-finite value or sizes differ.
template <class A, class B>
double rel_l2(const std::vector<A>& got, const std::vector<B>& ref) {
  if (got.size() != ref.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double g = static_cast<double>(got[i]), r = static_cast<double>(ref[i]);
    if (!std::isfinite(g)) return INFINITY;
    num += (g - r) * (g - r);
    den += r * r;
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
}

// Fails unless rel_l2(got, ref) <= tol; notes the error on success.
template <class A, class B>
void expect_close(const std::string& what, const std::vector<A>& got, const std::vector<B>& ref, double tol) {
  double e = rel_l2(got, ref);
  if (!(e <= tol)) fail(what, ": relative L2 error ", e, " > ", tol, " (n=", got.size(), ")");
  note(concat(what, " rel_err=", e));
}

// Central finite differences in double precision.
//  fd_directional(f, x, v): (f(x + h v) - f(x - h v)) / 2h, the JVP of f at x along v.
//  fd_gradient(L, x):       dL/dx_i for every i, for a scalar function L.
std::vector<double> fd_directional(const std::function<std::vector<double>(const std::vector<double>&)>& f,
                                   const std::vector<double>& x, const std::vector<double>& v,
                                   double h = 1e-5);
std::vector<double> fd_gradient(const std::function<double(const std::vector<double>&)>& L,
                                const std::vector<double>& x, double h = 1e-5);
double dot(const std::vector<double>& a, const std::vector<double>& b);

// The CUDA kernel table, or a skip (a failure under SCM_REQUIRE_CUDA=1).
const ScmKernels& require_cuda();
const ScmKernels& cpu();

// Runs `rc` (a kernel-table call) and fails the test with the table's message on error.
void ok(const ScmKernels& k, int rc, const char* what);

}  // namespace scm_test
