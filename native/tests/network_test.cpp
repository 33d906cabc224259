// Whole networks (mlp, dit): forward values against the independent scalar implementation
// (network_reference.h), the dual pass against finite differences of F along a random
// input/time direction, and the backward against finite differences of a scalar loss, all in
// double through ReferenceOps; then the float CPU backend and CUDA against the double engine.
#include "framework.h"
#include "network_reference.h"
#include "../core/network.h"
#include "../core/ops.h"

using namespace scm_test;
using scm::Conditioning;
using scm::ModelConfig;

namespace {

ModelConfig tiny_mlp() {
  ModelConfig c;
  c.kind = scm::NetworkKind::Mlp;
  c.sample_shape = {3};
  c.width = 6;
  c.depth = 2;
  c.mlp_ratio = 2;
  c.time_dim = 8;
  c.num_classes = 3;
  c.guidance_input = true;
  return c;
}

ModelConfig tiny_dit() {
  ModelConfig c;
  c.kind = scm::NetworkKind::Dit;
  c.sample_shape = {2, 4, 6};  // C, H, W: 2 x 3 = 6 tokens of 2*2*2 = 8 features
  c.patch = 2;
  c.width = 8;
  c.heads = 2;
  c.depth = 2;
  c.mlp_ratio = 2;
  c.time_dim = 8;
  c.num_classes = 2;
  c.guidance_input = true;
  return c;
}

struct Variant {
  const char* name;
  ModelConfig config;
};

std::vector<Variant> variants() {
  std::vector<Variant> v;
  v.push_back({"mlp", tiny_mlp()});
  ModelConfig m = tiny_mlp();
  m.modulation = scm::Modulation::AdaLn;
  m.time_embedding = scm::TimeEmbedding::Fourier;
  m.fourier_scale = 2.0;
  v.push_back({"mlp-adaln-fourier", m});
  m = tiny_mlp();
  m.time_transform = scm::TimeTransform::EdmLog;
  m.num_classes = 0;
  m.guidance_input = false;
  v.push_back({"mlp-edmlog-uncond", m});
  v.push_back({"dit", tiny_dit()});
  ModelConfig d = tiny_dit();
  d.modulation = scm::Modulation::AdaLn;
  d.learned_pos_embed = false;
  d.num_classes = 0;
  d.guidance_input = false;
  v.push_back({"dit-adaln-fixedpos", d});
  return v;
}

// Random parameters (never the zero initialisation: every path must carry signal).
std::vector<double> random_params(const scm::ParamLayout& L, uint64_t seed) {
  auto p = random_normal(L.total(), seed, 0.5);
  for (const auto& e : L.entries())
    if (e.name.find("norm.weight") != std::string::npos)
      for (size_t i = 0; i < e.count; ++i) p[e.offset + i] = 1.0 + 0.3 * p[e.offset + i];
  return p;
}

Conditioning random_cond(const ModelConfig& c, int64_t B, uint64_t seed) {
  Conditioning cond;
  auto t = random_uniform(B, seed, 0.1, 1.45);
  cond.t = t;
  cond.t_dot = random_uniform(B, seed + 1, -1.0, 1.0);
  for (int64_t b = 0; b < B; ++b) {
    if (c.num_classes > 0) cond.labels.push_back(static_cast<int32_t>(b % (c.num_classes + 1)));
    if (c.guidance_input) cond.guidance.push_back(1.0 + 0.25 * b);
  }
  return cond;
}

struct DoubleNet {
  scm::ReferenceOps ops;
  std::unique_ptr<scm::Network<scm::ReferenceOps>> net;
  explicit DoubleNet(const ModelConfig& c) : net(scm::make_network(ops, c)) {}
  std::vector<double> forward(const std::vector<double>& P, int64_t B, const std::vector<double>& u, const Conditioning& cond,
                              std::vector<double>* logvar = nullptr, bool save = false) {
    std::vector<double> F(u.size());
    if (logvar) logvar->assign(B, 0.0);
    net->forward(P.data(), B, u.data(), cond, F.data(), logvar ? logvar->data() : nullptr, save);
    return F;
  }
};

}  // namespace

SCM_TEST(network_forward_matches_independent_formula) {
  for (const Variant& v : variants()) {
    const ModelConfig& c = v.config;
    DoubleNet dn(c);
    const auto& L = dn.net->layout();
    const int64_t B = 3, D = c.sample_size();
    auto P = random_params(L, 11);
    auto u = random_normal(B * D, 12);
    Conditioning cond = random_cond(c, B, 13);
    std::vector<double> lv, lv_ref;
    auto F = dn.forward(P, B, u, cond, &lv);
    auto F_ref = netref::forward(c, L, P, B, u, cond, &lv_ref);
    expect_close(concat(v.name, " F (double engine vs scalar formula)"), F, F_ref, 1e-11);
    expect_close(concat(v.name, " logvar"), lv, lv_ref, 1e-11);
    // the float CPU backend against the same formula
    scm::TableOps fops(cpu());
    auto fnet = scm::make_network(fops, c);
    auto dP = scm::DeviceBuffer::from_host(cpu(), cast<float>(P)), du = scm::DeviceBuffer::from_host(cpu(), cast<float>(u));
    scm::DeviceBuffer dF(cpu(), u.size() * 4), dlv(cpu(), B * 4);
    dF.fill_bytes(0xFF);
    fnet->forward(dP.as(), B, du.as(), cond, dF.as(), dlv.as(), false);
    expect_close(concat(v.name, " F (float CPU backend vs formula)"), dF.to_vector(), F_ref, 2e-5);
  }
}

SCM_TEST(network_dual_vs_finite_differences) {
  for (const Variant& base : variants()) {
    for (bool dropout : {false, true}) {
      ModelConfig c = base.config;
      if (dropout) c.dropout = 0.3;
      DoubleNet dn(c);
      const int64_t B = 2, D = c.sample_size();
      auto P = random_params(dn.net->layout(), 21);
      auto u = random_normal(B * D, 22), tu = random_normal(B * D, 23);
      Conditioning cond = random_cond(c, B, 24);
      cond.train = dropout;
      cond.dropout_seed = 99;
      cond.dropout_offset = 1000;
      std::vector<double> uu(u);
      uu.insert(uu.end(), tu.begin(), tu.end());
      std::vector<double> FF(2 * B * D), lv(B);
      dn.net->dual(P.data(), B, uu.data(), cond, FF.data(), lv.data(), false);
      // finite differences of F(u + h tu, t + h t_dot): x = [u; t], direction [tu; t_dot]
      std::vector<double> x(u), dir(tu);
      x.insert(x.end(), cond.t.begin(), cond.t.end());
      dir.insert(dir.end(), cond.t_dot.begin(), cond.t_dot.end());
      auto f = [&](const std::vector<double>& xv) {
        Conditioning cv = cond;
        cv.t.assign(xv.begin() + B * D, xv.end());
        return dn.forward(P, B, std::vector<double>(xv.begin(), xv.begin() + B * D), cv);
      };
      auto fd = fd_directional(f, x, dir);
      std::vector<double> J(FF.begin() + B * D, FF.end()), F(FF.begin(), FF.begin() + B * D);
      expect_close(concat(base.name, dropout ? " (dropout)" : "", " dual tangent vs FD"), J, fd, 1e-6);
      expect_close(concat(base.name, " dual primal vs forward"), F, f(x), 1e-13);
      std::vector<double> lv_fwd;
      dn.forward(P, B, u, cond, &lv_fwd);
      expect_close(concat(base.name, " dual logvar"), lv, lv_fwd, 1e-13);
    }
  }
}

SCM_TEST(network_backward_vs_finite_differences) {
  for (const Variant& base : variants()) {
    for (bool dropout : {false, true}) {
      ModelConfig c = base.config;
      if (dropout) c.dropout = 0.25;
      DoubleNet dn(c);
      const int64_t B = 2, D = c.sample_size();
      const auto& Lay = dn.net->layout();
      auto P = random_params(Lay, 31);
      auto u = random_normal(B * D, 32), R = random_normal(B * D, 33), rl = random_normal(B, 34);
      Conditioning cond = random_cond(c, B, 35);
      cond.train = dropout;
      cond.dropout_seed = 7;
      cond.dropout_offset = 3;
      // L(theta) = sum R * F + sum rl * logvar
      auto loss = [&](const std::vector<double>& Pv) {
        std::vector<double> lv;
        auto F = dn.forward(Pv, B, u, cond, &lv);
        return dot(R, F) + dot(rl, lv);
      };
      auto fd = fd_gradient(loss, P);
      // after a forward
      std::vector<double> G0 = random_normal(P.size(), 36), G(G0);
      std::vector<double> lv(B);
      dn.forward(P, B, u, cond, &lv, true);
      dn.net->backward(P.data(), R.data(), rl.data(), G.data());
      for (size_t i = 0; i < G.size(); ++i) G[i] -= G0[i];  // accumulated onto G0
      expect_close(concat(base.name, dropout ? " (dropout)" : "", " gradient after forward vs FD (", P.size(), " params)"), G, fd, 1e-6);
      // after a dual (the primal it saved must serve the backward as well)
      std::vector<double> uu(u), tu = random_normal(B * D, 37);
      uu.insert(uu.end(), tu.begin(), tu.end());
      std::vector<double> FF(2 * B * D), G2(P.size(), 0.0);
      dn.net->dual(P.data(), B, uu.data(), cond, FF.data(), lv.data(), true);
      dn.net->backward(P.data(), R.data(), rl.data(), G2.data());
      expect_close(concat(base.name, " gradient after dual vs FD"), G2, fd, 1e-6);
      // every parameter tensor receives gradient
      for (const auto& e : Lay.entries()) {
        double s = 0;
        for (size_t i = 0; i < e.count; ++i) s += std::abs(G2[e.offset + i]);
        if (!(s > 0)) fail(base.name, ": parameter ", e.name, " gets no gradient");
      }
    }
  }
}

namespace {

// The float engine on backend k against the double engine: forward, dual and backward.
void check_float_engine(const ScmKernels& k, double tol, const char* what) {
  for (const Variant& v : variants()) {
    ModelConfig c = v.config;
    c.dropout = 0.2;
    DoubleNet dn(c);
    const int64_t B = 3, D = c.sample_size();
    auto P = random_params(dn.net->layout(), 41);
    auto uu = random_normal(2 * B * D, 42), R = random_normal(B * D, 43), rl = random_normal(B, 44);
    Conditioning cond = random_cond(c, B, 45);
    cond.train = true;
    cond.dropout_seed = 5;
    std::vector<double> FF(2 * B * D), lv(B), G(P.size(), 0.0);
    dn.net->dual(P.data(), B, uu.data(), cond, FF.data(), lv.data(), true);
    dn.net->backward(P.data(), R.data(), rl.data(), G.data());

    scm::TableOps ops(k, SCM_GEMM_FP32, &k == &cpu());
    auto net = scm::make_network(ops, c);
    auto dP = scm::DeviceBuffer::from_host(k, cast<float>(P)), duu = scm::DeviceBuffer::from_host(k, cast<float>(uu));
    auto dR = scm::DeviceBuffer::from_host(k, cast<float>(R)), drl = scm::DeviceBuffer::from_host(k, cast<float>(rl));
    scm::DeviceBuffer dFF(k, FF.size() * 4), dlv(k, B * 4), dG(k, P.size() * 4);
    dFF.fill_bytes(0xFF);
    dlv.fill_bytes(0xFF);
    dG.fill_bytes(0);
    net->dual(dP.as(), B, duu.as(), cond, dFF.as(), dlv.as(), true);
    net->backward(dP.as(), dR.as(), drl.as(), dG.as());
    expect_close(concat(what, " ", v.name, " dual [F; J]"), dFF.to_vector(), FF, tol);
    expect_close(concat(what, " ", v.name, " logvar"), dlv.to_vector(), lv, tol);
    expect_close(concat(what, " ", v.name, " gradient"), dG.to_vector(), G, tol * 5);
  }
}

}  // namespace

SCM_TEST(network_float_cpu_matches_double) { check_float_engine(cpu(), 2e-5, "CPU float"); }

SCM_TEST(network_cuda_matches_double) { check_float_engine(require_cuda(), 3e-2, "CUDA"); }
