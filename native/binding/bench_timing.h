// What the device-resident benchmark entries (benchAttention, benchGemm) share: reading
// minRuns / minMs, the timing loop, and the result object. The loop: warm-up calls first (at least 2, and until 10% of minMs, at most 1 s, has
// passed); then calls per sample chosen so that a sample lasts about 1 ms; each sample
// synchronizes the backend, reads std::chrono::steady_clock, runs its calls, synchronizes,
// reads the clock again; samples until at least minRuns AND minMs of timed work.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include "async.h"

namespace scm_binding {

struct BenchTiming {
  double median_ms = 0, min_ms = 0, total_ms = 0;  // per call (median, min); all samples
  int64_t runs = 0, calls_per_run = 0;
};

constexpr int64_t kBenchMaxRuns = 100000;
constexpr double kBenchMaxMinMs = 600000;  // 10 minutes

// minRuns (an integer in [1, kBenchMaxRuns]) and minMs (in [0, kBenchMaxMinMs]) at positions
// i and i + 1 of the call; `who` names the entry in the messages.
inline void read_min_runs_ms(const Napi::CallbackInfo& info, size_t i, const char* who, int64_t* min_runs, double* min_ms) {
  Napi::Value runs = info.Length() > i ? info[i] : info.Env().Undefined();
  if (!runs.IsNumber()) scm::fail(SCM_E_ARGUMENT, who, ": minRuns must be a number");
  const double r = runs.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(r) || r != std::floor(r) || r < 1 || r > static_cast<double>(kBenchMaxRuns))
    scm::fail(SCM_E_ARGUMENT, who, ": minRuns must be an integer in [1, ", kBenchMaxRuns, "], got ", r);
  *min_runs = static_cast<int64_t>(r);
  Napi::Value ms = info.Length() > i + 1 ? info[i + 1] : info.Env().Undefined();
  if (!ms.IsNumber()) scm::fail(SCM_E_ARGUMENT, who, ": minMs must be a number");
  *min_ms = ms.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(*min_ms) || *min_ms < 0 || *min_ms > kBenchMaxMinMs)
    scm::fail(SCM_E_ARGUMENT, who, ": minMs must be in [0, ", kBenchMaxMinMs, "], got ", *min_ms);
}

// { medianMs, minMs, runs, callsPerRun, totalMs, backend }
inline Napi::Object timing_object(Napi::Env env, const BenchTiming& t, const char* backend) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("medianMs", Napi::Number::New(env, t.median_ms));
  o.Set("minMs", Napi::Number::New(env, t.min_ms));
  o.Set("runs", Napi::Number::New(env, static_cast<double>(t.runs)));
  o.Set("totalMs", Napi::Number::New(env, t.total_ms));
  o.Set("callsPerRun", Napi::Number::New(env, static_cast<double>(t.calls_per_run)));
  o.Set("backend", Napi::String::New(env, backend));
  return o;
}

inline BenchTiming time_calls(const std::function<void()>& call, const std::function<void()>& sync, int64_t min_runs,
                              double min_ms, const AbortFlag& abort) {
  using Clock = std::chrono::steady_clock;
  auto run_calls = [&](int64_t n) {
    sync();
    const Clock::time_point t0 = Clock::now();
    for (int64_t i = 0; i < n; ++i) call();
    sync();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  double last = run_calls(1), warm = last;
  for (int64_t i = 1; i < 2 || (warm < std::min(0.1 * min_ms, 1000.0) && i < kBenchMaxRuns); ++i) {
    abort.throw_if_aborted();
    last = run_calls(1);
    warm += last;
  }
  constexpr double kTargetSampleMs = 1.0;
  constexpr int64_t kMaxCallsPerRun = 1000;
  const int64_t per_run = last >= kTargetSampleMs ? 1
      : std::min<int64_t>(kMaxCallsPerRun, static_cast<int64_t>(std::ceil(kTargetSampleMs / std::max(last, 1e-6))));
  std::vector<double> samples;
  BenchTiming t;
  while ((static_cast<int64_t>(samples.size()) < min_runs || t.total_ms < min_ms) &&
         static_cast<int64_t>(samples.size()) < kBenchMaxRuns) {
    abort.throw_if_aborted();
    const double ms = run_calls(per_run);
    t.total_ms += ms;
    samples.push_back(ms / static_cast<double>(per_run));
  }
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  t.runs = static_cast<int64_t>(n);
  t.calls_per_run = per_run;
  t.min_ms = samples.front();
  t.median_ms = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  return t;
}

}  // namespace scm_binding
