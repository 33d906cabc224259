// The ordering contract of core/kernels/memory.h on the CUDA backend, as the engine uses it:
// successive async operations on different (long-lived) libuv worker threads. Operation 1 on
// thread A queues work on a large buffer (a poison fill, then rounds of Philox kernels, each
// overwriting all of it) and ends with synchronize(), the end-of-operation rule. Operation 2 on
// thread B then downloads the buffer: copy_to_host only orders after B's own work, so it sees
// A's results only because A's synchronize() waited for A's queued work. Were synchronize() to
// return early, B would read poison or an earlier round. Skips without a GPU.
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include "framework.h"

using namespace scm_test;

SCM_TEST(cuda_synchronize_completes_work_for_the_next_thread) {
  const ScmKernels& k = require_cuda();
  const size_t n = size_t(1) << 24;  // 64 MB of floats
  const int rounds = 16;
  const uint64_t seed = 0x5CA1AB1Eull;
  auto offset_of = [&](int round) { return uint64_t(round) * n; };
  scm::DeviceBuffer buf(k, n * sizeof(float));

  std::promise<void> a_done, b_done;
  std::future<void> a_done_f = a_done.get_future(), b_done_f = b_done.get_future();
  int a_rc = SCM_OK;
  std::string a_error;
  // Thread A stays alive until B has looked, like a libuv worker: its exit cannot stand in
  // for a synchronisation.
  std::thread a([&] {
    auto run = [&](int rc, const char* what) {
      if (rc != SCM_OK && a_rc == SCM_OK) {
        a_rc = rc;
        a_error = std::string(what) + ": " + k.last_error();
      }
    };
    run(k.memory.fill_bytes(buf.get(), 0xFF, n * sizeof(float)), "fill");
    for (int r = 0; r < rounds; ++r) run(k.rng.normal(buf.as(), n, seed, offset_of(r)), "rng normal");
    run(k.memory.synchronize(), "synchronize");
    a_done.set_value();
    b_done_f.wait();
  });
  a_done_f.wait();

  std::vector<float> got(n, 0.f), ref(n);
  const int rc = k.memory.copy_to_host(got.data(), buf.get(), n * sizeof(float));
  const std::string b_error = rc == SCM_OK ? "" : k.last_error();
  b_done.set_value();
  a.join();
  SCM_CHECK(a_rc == SCM_OK, "thread A: ", a_error);
  SCM_CHECK(rc == SCM_OK, "thread B: copy to host: ", b_error);

  ok(cpu(), cpu().rng.normal(ref.data(), n, seed, offset_of(rounds - 1)), "cpu rng");
  size_t first_bad = n;
  for (size_t i = 0; i < n && first_bad == n; ++i)
    if (std::memcmp(&got[i], &ref[i], sizeof(float)) != 0) first_bad = i;
  SCM_CHECK(first_bad == n, "thread B read element ", first_bad, " = ", got[first_bad == n ? 0 : first_bad],
            " instead of ", ref[first_bad == n ? 0 : first_bad], ": thread A's queued work was not complete");
}
