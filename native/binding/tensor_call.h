// Runs one kernel-table call on host tensors: on the CPU the host vectors are used in place;
// on CUDA the inputs are uploaded, the outputs allocated (and poisoned with NaN, so an
// unwritten element cannot pass for a result) and downloaded afterwards.
#pragma once
#include <functional>
#include <vector>
#include "../core/backend.h"
#include "../core/device_buffer.h"

namespace scm_binding {

struct KernelIo {
  std::vector<const float*> in;
  std::vector<float*> out;
  const int32_t* ints = nullptr;  // optional int32 side input (e.g. key lengths)
};

inline std::vector<std::vector<float>> call_with_tensors(
    scm::BackendKind backend, const std::vector<const std::vector<float>*>& inputs,
    const std::vector<size_t>& output_sizes, const std::vector<int32_t>* ints,
    const std::function<int(const ScmKernels&, const KernelIo&)>& fn, const char* what) {
  const ScmKernels& k = scm::kernels_for(backend);
  std::vector<std::vector<float>> outputs;
  for (size_t n : output_sizes) outputs.emplace_back(n);
  KernelIo io;
  if (backend == scm::BackendKind::Cpu) {
    for (auto* v : inputs) io.in.push_back(v->data());
    for (auto& v : outputs) io.out.push_back(v.data());
    if (ints) io.ints = ints->data();
    scm::check(k, fn(k, io), what);
    return outputs;
  }
  std::vector<scm::DeviceBuffer> din, dout;
  for (auto* v : inputs) {
    din.push_back(scm::DeviceBuffer::from_host(k, *v));
    io.in.push_back(din.back().as());
  }
  for (size_t n : output_sizes) {
    dout.emplace_back(k, n * sizeof(float));
    dout.back().fill_bytes(0xFF);
    io.out.push_back(dout.back().as());
  }
  scm::DeviceBuffer dints;
  if (ints) {
    dints = scm::DeviceBuffer::from_host(k, *ints);
    io.ints = dints.as<int32_t>();
  }
  scm::check(k, fn(k, io), what);
  for (size_t i = 0; i < outputs.size(); ++i) dout[i].download(outputs[i].data(), outputs[i].size());
  return outputs;
}

}  // namespace scm_binding
