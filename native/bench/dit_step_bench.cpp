// Times the CPU training step of a dit network on the production path: TableOps over the CPU
// kernel table (cpu_kernels()), fp32 or bf16 GEMMs, batch B of Fashion-MNIST-shaped samples
// ([1, 28, 28], 10 classes, random data: the time does not depend on the values).
//
//   dit_step_bench [--batch 128] [--steps 4] [--warmup 1] [--width 128] [--heads 4] [--depth 6]
//                  [--patch 4] [--bf16] [--only net|train|act] [--act fast|reference]
//
// Prints, per precision: the median ms of the network's forward(save)+backward (the diffusion
// step's network work) and dual(save)+backward (the consistency step's), then of a whole
// Trainer::step (diffusion, and sCT consistency) including the loss kernels and the optimizer.
// --act reference swaps the table's bias + activation entries for the double reference
// templates of native/cpu/pointwise.h (the CPU table before the float fast path,
// pointwise_fast.h), so one binary times both. --only act times those entries alone on the MLP
// hidden layer's shape [batch * tokens, hidden] (GELU-tanh, SiLU; forward, dual, backward with
// dbias): the reference, the fast path on the baseline ISA and on the best one.
// Built by hand against a build folder's libscm_core.a (native/bench/README.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../core/backend.h"
#include "../core/device_buffer.h"
#include "../core/model_state.h"
#include "../core/network.h"
#include "../core/ops.h"
#include "../core/philox.h"
#include "../core/train.h"
#include "../cpu/pointwise.h"
#include "../cpu/pointwise_fast.h"

namespace {

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

template <class Fn>
double time_median(int warmup, int steps, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < steps; ++i) {
    const double t0 = now_ms();
    fn();
    t.push_back(now_ms() - t0);
  }
  return median(t);
}

// The double reference templates behind the table's signatures (no argument checks: the bench
// passes valid ones).
int ref_forward(int64_t rows, int64_t cols, int act, const float* x, const float* bias, float* y) {
  return scm::guarded([&] { scm::cpu::bias_act_forward<float>(rows, cols, act, x, bias, y); });
}
int ref_dual(int64_t rows, int64_t cols, int act, const float* x, const float* tx, const float* bias, float* y,
             float* ty) {
  return scm::guarded([&] { scm::cpu::bias_act_dual<float>(rows, cols, act, x, tx, bias, y, ty); });
}
int ref_backward(int64_t rows, int64_t cols, int act, const float* x, const float* bias, const float* dy, float* dx,
                 float* dbias) {
  return scm::guarded([&] { scm::cpu::bias_act_backward<float>(rows, cols, act, x, bias, dy, dx, dbias); });
}

// --only act: the three entries on [rows, cols] for each activation and implementation.
void time_act(int64_t rows, int64_t cols, int warmup, int steps) {
  namespace F = scm::cpu::fast;
  const size_t n = static_cast<size_t>(rows * cols);
  std::vector<float> x(n), t(n), y(n), ty(n), bias(static_cast<size_t>(cols)), db(static_cast<size_t>(cols));
  for (size_t i = 0; i < n; ++i) x[i] = 2.0f * static_cast<float>(scm::philox::normal_at(5, i));
  for (size_t i = 0; i < n; ++i) t[i] = static_cast<float>(scm::philox::normal_at(6, i));
  for (int64_t c = 0; c < cols; ++c) bias[c] = 0.1f * static_cast<float>(scm::philox::normal_at(7, c));
  std::printf("bias_act on [%lld, %lld] (%.2f M elements), median ms of forward / dual / backward (+dbias):\n",
              (long long)rows, (long long)cols, n / 1e6);
  for (int act : {SCM_ACT_GELU_TANH, SCM_ACT_SILU}) {
    double ref[3] = {0, 0, 0};
    for (int impl = 0; impl < 3; ++impl) {
      const F::Isa isa = impl == 1 ? F::Isa::Baseline : F::best_isa();
      if (impl == 2 && isa == F::Isa::Baseline) continue;
      double ms[3];
      ms[0] = time_median(warmup, steps, [&] {
        if (impl == 0) ref_forward(rows, cols, act, x.data(), bias.data(), y.data());
        else F::bias_act_forward(isa, rows, cols, act, x.data(), bias.data(), y.data());
      });
      ms[1] = time_median(warmup, steps, [&] {
        if (impl == 0) ref_dual(rows, cols, act, x.data(), t.data(), bias.data(), y.data(), ty.data());
        else F::bias_act_dual(isa, rows, cols, act, x.data(), t.data(), bias.data(), y.data(), ty.data());
      });
      ms[2] = time_median(warmup, steps, [&] {
        if (impl == 0) ref_backward(rows, cols, act, x.data(), bias.data(), t.data(), ty.data(), db.data());
        else F::bias_act_backward(isa, rows, cols, act, x.data(), bias.data(), t.data(), ty.data(), db.data());
      });
      if (impl == 0) std::copy(ms, ms + 3, ref);
      std::printf("  %-4s %-22s %8.2f / %8.2f / %8.2f ms", act == SCM_ACT_SILU ? "silu" : "gelu",
                  impl == 0 ? "reference (double)" : impl == 1 ? "fast baseline" : "fast (best ISA)", ms[0], ms[1],
                  ms[2]);
      if (impl > 0) std::printf("   (%.1fx / %.1fx / %.1fx)", ref[0] / ms[0], ref[1] / ms[1], ref[2] / ms[2]);
      std::printf("\n");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int64_t B = 128, width = 128, heads = 4, depth = 6, patch = 4, time_dim = 128;
  int steps = 4, warmup = 1;
  bool bf16 = false;
  std::string only, act_impl = "fast";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--batch") B = std::atoll(next().c_str());
    else if (a == "--steps") steps = std::atoi(next().c_str());
    else if (a == "--warmup") warmup = std::atoi(next().c_str());
    else if (a == "--width") width = std::atoll(next().c_str());
    else if (a == "--heads") heads = std::atoll(next().c_str());
    else if (a == "--depth") depth = std::atoll(next().c_str());
    else if (a == "--patch") patch = std::atoll(next().c_str());
    else if (a == "--time-dim") time_dim = std::atoll(next().c_str());
    else if (a == "--bf16") bf16 = true;
    else if (a == "--only") only = next();
    else if (a == "--act") act_impl = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  scm::ModelConfig c;
  c.kind = scm::NetworkKind::Dit;
  c.sample_shape = {1, 28, 28};
  c.num_classes = 10;
  c.width = width;
  c.depth = depth;
  c.heads = heads;
  c.patch = patch;
  c.time_dim = time_dim;
  c.validate();
  if (act_impl != "fast" && act_impl != "reference") {
    std::fprintf(stderr, "--act must be fast or reference\n");
    return 2;
  }
  ScmKernels k = scm::cpu_kernels();
  if (act_impl == "reference") {
    k.pointwise.bias_act_forward = ref_forward;
    k.pointwise.bias_act_dual = ref_dual;
    k.pointwise.bias_act_backward = ref_backward;
  }
  scm::TableOps ops(k, bf16 ? SCM_GEMM_BF16 : SCM_GEMM_FP32, true);
  const int64_t D = c.sample_size();
  std::printf("dit width %lld depth %lld heads %lld (head dim %lld) patch %lld tokens %lld hidden %lld, batch %lld, %s GEMMs, %d threads, bias_act %s (ISA %s)\n",
              (long long)width, (long long)depth, (long long)heads, (long long)c.head_dim(), (long long)patch,
              (long long)c.tokens(), (long long)c.hidden(), (long long)B, bf16 ? "bf16" : "fp32", scm::cpu_thread_count(),
              act_impl.c_str(), scm::cpu::fast::isa_name(scm::cpu::fast::best_isa()));
  if (only == "act") {
    time_act(B * c.tokens(), c.hidden(), warmup, steps);
    return 0;
  }

  std::vector<float> x0(static_cast<size_t>(B * D));
  for (size_t i = 0; i < x0.size(); ++i) x0[i] = 0.5f * static_cast<float>(scm::philox::normal_at(77, i));
  std::vector<int32_t> labels(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) labels[b] = static_cast<int32_t>(b % 10);

  if (only.empty() || only == "net") {
    scm::ModelState<scm::TableOps> m(ops, c, 1);
    auto& net = m.network();
    const size_t P = m.param_count();
    scm::DeviceBuffer uu(k, 2 * B * D * 4), FF(k, 2 * B * D * 4), dF(k, B * D * 4), G(k, P * 4);
    uu.upload(x0.data(), x0.size());
    std::memcpy(uu.as<float>() + B * D, x0.data(), x0.size() * 4);
    dF.upload(x0.data(), x0.size());
    G.fill_bytes(0);
    scm::Conditioning cond;
    for (int64_t b = 0; b < B; ++b) {
      cond.t.push_back(0.1 + 1.3 * double(b) / double(B));
      cond.t_dot.push_back(0.5);
      cond.labels.push_back(labels[b]);
    }
    double fwd_ms = 0, bwd_ms = 0, dual_ms = 0, dbwd_ms = 0;
    std::vector<double> f, fb, d, db;
    for (int i = 0; i < warmup + steps; ++i) {
      double t0 = now_ms();
      net.forward(m.params(), B, uu.as<float>(), cond, FF.as<float>(), nullptr, true);
      double t1 = now_ms();
      net.backward(m.params(), dF.as<float>(), nullptr, G.as<float>());
      double t2 = now_ms();
      net.dual(m.params(), B, uu.as<float>(), cond, FF.as<float>(), nullptr, true);
      double t3 = now_ms();
      net.backward(m.params(), dF.as<float>(), nullptr, G.as<float>());
      double t4 = now_ms();
      if (i >= warmup) f.push_back(t1 - t0), fb.push_back(t2 - t1), d.push_back(t3 - t2), db.push_back(t4 - t3);
    }
    fwd_ms = median(f), bwd_ms = median(fb), dual_ms = median(d), dbwd_ms = median(db);
    std::printf("network forward %.1f ms + backward %.1f ms = %.1f ms | dual %.1f ms + backward %.1f ms = %.1f ms\n",
                fwd_ms, bwd_ms, fwd_ms + bwd_ms, dual_ms, dbwd_ms, dual_ms + dbwd_ms);
  }
  if (only.empty() || only == "train") {
    for (int objective = 0; objective < 2; ++objective) {
      scm::ModelState<scm::TableOps> m(ops, c, 1);
      scm::TrainOptions o;
      o.objective = objective == 0 ? scm::Objective::Diffusion : scm::Objective::Consistency;
      o.method = scm::ConsistencyMethod::Sct;
      o.seed = 1;
      o.lr = 1e-4;
      o.ema_halflife = 500;
      o.label_dropout = 0.1;
      scm::Trainer<scm::TableOps> tr(m, nullptr, o);
      const double ms = time_median(warmup, steps, [&] { tr.step(x0.data(), labels.data(), B); });
      std::printf("trainer step (%s) %.1f ms\n", objective == 0 ? "diffusion" : "sCT consistency", ms);
    }
  }
  return 0;
}
