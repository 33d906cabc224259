// The linear layer: the CPU reference in double against finite differences, and the
// engine's table-based linear (one GEMM for the stacked dual) against the reference.
#include "framework.h"
#include "../core/linear.h"
#include "../cpu/linear.h"

using namespace scm_test;

namespace {

struct Case { int64_t rows, in, out; bool bias; };
const Case kCases[] = {{1, 1, 1, true}, {3, 7, 5, true}, {4, 33, 17, false}, {9, 16, 31, true}};

std::vector<double> forward_d(const Case& c, const std::vector<double>& x, const std::vector<double>& W, const std::vector<double>& b) {
  std::vector<double> y(c.rows * c.out);
  scm::cpu::linear_forward<double>(c.rows, c.in, c.out, x.data(), W.data(), c.bias ? b.data() : nullptr, y.data());
  return y;
}

}  // namespace

SCM_TEST(linear_reference_dual_vs_fd) {
  for (const Case& c : kCases) {
    auto x = random_uniform(c.rows * c.in, 1), tx = random_uniform(c.rows * c.in, 2);
    auto W = random_uniform(c.out * c.in, 3), b = random_uniform(c.out, 4);
    std::vector<double> y(c.rows * c.out), ty(c.rows * c.out);
    scm::cpu::linear_dual<double>(c.rows, c.in, c.out, x.data(), tx.data(), W.data(), c.bias ? b.data() : nullptr, y.data(), ty.data());
    auto fd = fd_directional([&](const std::vector<double>& xv) { return forward_d(c, xv, W, b); }, x, tx);
    expect_close(concat("dual ", c.rows, "x", c.in, "->", c.out), ty, fd, 1e-6);
    expect_close("dual primal", y, forward_d(c, x, W, b), 1e-15);
  }
}

SCM_TEST(linear_reference_backward_vs_fd) {
  for (const Case& c : kCases) {
    auto x = random_uniform(c.rows * c.in, 5), W = random_uniform(c.out * c.in, 6), b = random_uniform(c.out, 7);
    auto dy = random_uniform(c.rows * c.out, 8);
    // accumulate onto non-zero gradients: the result must be initial + gradient
    auto dW0 = random_uniform(c.out * c.in, 9), db0 = random_uniform(c.out, 10);
    std::vector<double> dx(c.rows * c.in), dW = dW0, db = db0;
    scm::cpu::linear_backward<double>(c.rows, c.in, c.out, x.data(), W.data(), dy.data(), dx.data(), dW.data(), c.bias ? db.data() : nullptr);
    auto L = [&](const std::vector<double>& xv, const std::vector<double>& Wv, const std::vector<double>& bv) {
      return dot(dy, forward_d(c, xv, Wv, bv));
    };
    expect_close("dx", dx, fd_gradient([&](const std::vector<double>& v) { return L(v, W, b); }, x), 1e-6);
    auto gW = fd_gradient([&](const std::vector<double>& v) { return L(x, v, b); }, W);
    for (size_t i = 0; i < gW.size(); ++i) gW[i] += dW0[i];
    expect_close("dW (accumulated)", dW, gW, 1e-6);
    if (!c.bias) continue;
    auto gb = fd_gradient([&](const std::vector<double>& v) { return L(x, W, v); }, b);
    for (size_t i = 0; i < gb.size(); ++i) gb[i] += db0[i];
    expect_close("db (accumulated)", db, gb, 1e-6);
  }
}

namespace {

// The table-based linear on backend k against the double reference.
void check_engine_linear(const ScmKernels& k, double tol, int precision) {
  for (const Case& c : kCases) {
    scm::LinearShape s{c.rows, c.in, c.out};
    auto x = random_uniform(c.rows * c.in, 11), tx = random_uniform(c.rows * c.in, 12);
    auto W = random_uniform(c.out * c.in, 13), b = random_uniform(c.out, 14), dy = random_uniform(c.rows * c.out, 15);
    auto dW0 = random_uniform(c.out * c.in, 16), db0 = random_uniform(c.out, 17);
    std::vector<double> xx(x);
    xx.insert(xx.end(), tx.begin(), tx.end());
    auto dxx = scm::DeviceBuffer::from_host(k, cast<float>(xx)), dWb = scm::DeviceBuffer::from_host(k, cast<float>(W));
    auto dbb = scm::DeviceBuffer::from_host(k, cast<float>(b)), ddy = scm::DeviceBuffer::from_host(k, cast<float>(dy));
    scm::DeviceBuffer y(k, c.rows * c.out * 4), yy(k, 2 * c.rows * c.out * 4), dx(k, c.rows * c.in * 4), scratch(k, c.rows * c.out * 4);
    auto dW = scm::DeviceBuffer::from_host(k, cast<float>(dW0)), db = scm::DeviceBuffer::from_host(k, cast<float>(db0));
    y.fill_bytes(0xFF); yy.fill_bytes(0xFF); dx.fill_bytes(0xFF);
    const float* bias = c.bias ? dbb.as() : nullptr;
    scm::linear_forward(k, s, dxx.as(), dWb.as(), bias, y.as(), precision);
    scm::linear_dual(k, s, dxx.as(), dWb.as(), bias, yy.as(), precision);
    scm::linear_backward(k, s, dxx.as(), dWb.as(), ddy.as(), dx.as(), dW.as(), c.bias ? db.as() : nullptr, scratch.as(), precision);

    std::vector<double> ry(c.rows * c.out), rty(c.rows * c.out), rdx(c.rows * c.in), rdW = dW0, rdb = db0;
    scm::cpu::linear_dual<double>(c.rows, c.in, c.out, x.data(), tx.data(), W.data(), c.bias ? b.data() : nullptr, ry.data(), rty.data());
    scm::cpu::linear_backward<double>(c.rows, c.in, c.out, x.data(), W.data(), dy.data(), rdx.data(), rdW.data(), c.bias ? rdb.data() : nullptr);
    std::vector<double> ryy(ry);
    ryy.insert(ryy.end(), rty.begin(), rty.end());
    std::string tag = concat(c.rows, "x", c.in, "->", c.out);
    expect_close("forward " + tag, y.to_vector<float>(), ry, tol);
    expect_close("dual (one gemm) " + tag, yy.to_vector<float>(), ryy, tol);
    expect_close("dx " + tag, dx.to_vector<float>(), rdx, tol);
    expect_close("dW " + tag, dW.to_vector<float>(), rdW, tol);
    if (c.bias) expect_close("db " + tag, db.to_vector<float>(), rdb, tol);
  }
}

}  // namespace

SCM_TEST(linear_engine_cpu_matches_reference) { check_engine_linear(cpu(), 1e-6, SCM_GEMM_FP32); }

SCM_TEST(linear_engine_cuda_matches_reference) {
  const ScmKernels& k = require_cuda();
  check_engine_linear(k, 1e-5, SCM_GEMM_FP32);
  check_engine_linear(k, 1e-3, SCM_GEMM_TF32);
  check_engine_linear(k, 1e-2, SCM_GEMM_BF16);
}
