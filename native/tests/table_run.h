// Helpers for tests that run the same table calls on the CPU and on the CUDA backend and compare
// the results (pointwise_model_test.cpp, trigflow_train_test.cpp).
//   TableRun run(k);                backend memory of one run, freed with `run`
//   float* p = run.in(host);        host doubles uploaded as floats
//   float* q = run.out(n);          n poisoned floats (0xFF bytes: every one NaN)
//   V v = run.get(q, n);            downloaded as doubles
//   expect_all_close(tag, got, ref, tol)   expect_close for every named output
#pragma once
#include <string>
#include <utility>
#include <vector>
#include "framework.h"

namespace scm_test {

using Named = std::vector<std::pair<std::string, std::vector<double>>>;

class TableRun {
 public:
  explicit TableRun(const ScmKernels& k) : k_(k) {}
  const ScmKernels& k() const { return k_; }

  float* in(const std::vector<double>& host) {
    float* p = alloc(host.size());
    const std::vector<float> f = cast<float>(host);
    bufs_.back().upload(f.data(), f.size());
    return p;
  }
  float* out(size_t n) {
    float* p = alloc(n);
    bufs_.back().fill_bytes(0xFF);
    return p;
  }
  std::vector<double> get(const float* p, size_t n) const {
    std::vector<float> f(n);
    if (n) ok(k_, k_.memory.copy_to_host(f.data(), p, n * sizeof(float)), "copy_to_host");
    return cast<double>(f);
  }

 private:
  float* alloc(size_t n) {
    bufs_.emplace_back(k_, (n ? n : 1) * sizeof(float));
    return bufs_.back().as<float>();
  }
  const ScmKernels& k_;
  std::vector<scm::DeviceBuffer> bufs_;
};

inline void expect_all_close(const std::string& tag, const Named& got, const Named& ref, double tol) {
  SCM_CHECK(got.size() == ref.size(), tag, ": ", got.size(), " outputs vs ", ref.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCM_CHECK(got[i].first == ref[i].first, tag, ": output ", got[i].first, " vs ", ref[i].first);
    expect_close(tag + " " + got[i].first, got[i].second, ref[i].second, tol);
  }
}

}  // namespace scm_test
