#include "framework.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace scm_test {

std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

namespace {
std::vector<std::string> g_notes;
}

void note(const std::string& text) { g_notes.push_back(text); }

std::vector<double> fd_directional(const std::function<std::vector<double>(const std::vector<double>&)>& f,
                                   const std::vector<double>& x, const std::vector<double>& v, double h) {
  std::vector<double> xp(x), xm(x);
  for (size_t i = 0; i < x.size(); ++i) {
    xp[i] += h * v[i];
    xm[i] -= h * v[i];
  }
  std::vector<double> fp = f(xp), fm = f(xm);
  for (size_t i = 0; i < fp.size(); ++i) fp[i] = (fp[i] - fm[i]) / (2 * h);
  return fp;
}

std::vector<double> fd_gradient(const std::function<double(const std::vector<double>&)>& L,
                                const std::vector<double>& x, double h) {
  std::vector<double> g(x.size()), xx(x);
  for (size_t i = 0; i < x.size(); ++i) {
    double keep = xx[i];
    xx[i] = keep + h;
    double lp = L(xx);
    xx[i] = keep - h;
    double lm = L(xx);
    xx[i] = keep;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += a[i] * b[i];
  return s;
}

const ScmKernels& cpu() { return scm::cpu_kernels(); }

const ScmKernels& require_cuda() {
  std::string reason;
  const ScmKernels* k = scm::cuda_kernels(&reason);
  if (k) return *k;
  const char* req = std::getenv("SCM_REQUIRE_CUDA");
  if (req && std::strcmp(req, "1") == 0) fail("SCM_REQUIRE_CUDA=1 but CUDA is unavailable: ", reason);
  throw TestSkip("CUDA unavailable: " + reason);
}

void ok(const ScmKernels& k, int rc, const char* what) {
  if (rc != 0) fail(what, " returned ", scm::status_name(static_cast<ScmStatus>(rc)), ": ", k.last_error());
}

}  // namespace scm_test

int main(int argc, char** argv) {
  using namespace scm_test;
  auto& tests = registry();
  if (argc >= 2 && std::strcmp(argv[1], "--list") == 0) {
    for (auto& t : tests) std::printf("%s\n", t.name.c_str());
    return 0;
  }
  std::vector<std::string> wanted(argv + 1, argv + argc);
  int failures = 0, ran = 0;
  for (auto& t : tests) {
    bool selected = wanted.empty();
    for (auto& w : wanted) selected |= (w == t.name);
    if (!selected) continue;
    ++ran;
    g_notes.clear();
    std::string status, detail;
    try {
      t.fn();
      status = "PASS";
      for (auto& n : g_notes) detail += (detail.empty() ? "" : "; ") + n;
    } catch (const TestSkip& e) {
      status = "SKIP";
      detail = e.what();
    } catch (const TestFailure& e) {
      status = "FAIL";
      detail = e.what();
    } catch (const scm::Error& e) {
      status = "FAIL";
      detail = std::string(scm::status_name(e.status())) + ": " + e.what();
    } catch (const std::exception& e) {
      status = "FAIL";
      detail = std::string("exception: ") + e.what();
    }
    if (status == "FAIL") ++failures;
    std::printf("%s %s%s%s\n", status.c_str(), t.name.c_str(), detail.empty() ? "" : ": ", detail.c_str());
    std::fflush(stdout);
  }
  if (!wanted.empty() && ran != static_cast<int>(wanted.size())) {
    std::printf("FAIL (runner): %zu test names asked for, %d known\n", wanted.size(), ran);
    return 1;
  }
  return failures ? 1 : 0;
}
