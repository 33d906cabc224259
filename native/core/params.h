// Named parameter tensors laid out in one flat array (so the optimizer, the EMA and the
// gradient-norm clip each run as one call over all of them), with their initialisation.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace scm {

enum class ParamInit {
  Zero,           // 0
  One,            // 1
  XavierUniform,  // U(-a, a), a = sqrt(6 / (fan_in + fan_out)); shape [out, in]
  Normal          // N(0, scale^2)
};

struct ParamEntry {
  std::string name;            // e.g. "blocks.0.attn.qkv.weight"
  std::vector<int64_t> shape;  // row-major
  size_t offset = 0;           // in elements, into the flat array
  size_t count = 0;
  ParamInit init = ParamInit::Zero;
  double scale = 0.0;          // Normal: the standard deviation
};

class ParamLayout {
 public:
  // Appends a tensor; returns its offset into the flat array.
  size_t add(const std::string& name, std::vector<int64_t> shape, ParamInit init, double scale = 0.0);
  const std::vector<ParamEntry>& entries() const { return entries_; }
  size_t total() const { return total_; }
  // The entry with this name, or nullptr.
  const ParamEntry* find(const std::string& name) const;

  // Deterministic initial values (host), from the Philox stream `seed`: element i of the flat
  // array uses stream elements 2i and 2i + 1, so each tensor's values do not depend on the others.
  std::vector<float> initial_values(uint64_t seed) const;

 private:
  std::vector<ParamEntry> entries_;
  size_t total_ = 0;
};

}  // namespace scm
