#include "params.h"

#include <cmath>
#include "error.h"
#include "philox.h"

namespace scm {

size_t ParamLayout::add(const std::string& name, std::vector<int64_t> shape, ParamInit init, double scale) {
  require(find(name) == nullptr, SCM_E_INTERNAL, "parameter '", name, "' defined twice");
  ParamEntry e;
  e.name = name;
  e.count = 1;
  for (int64_t d : shape) e.count *= static_cast<size_t>(d);
  e.shape = std::move(shape);
  e.offset = total_;
  e.init = init;
  e.scale = scale;
  total_ += e.count;
  entries_.push_back(std::move(e));
  return entries_.back().offset;
}

const ParamEntry* ParamLayout::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::vector<float> ParamLayout::initial_values(uint64_t seed) const {
  std::vector<float> v(total_);
  for (const auto& e : entries_) {
    for (size_t i = 0; i < e.count; ++i) {
      const uint64_t at = 2 * static_cast<uint64_t>(e.offset + i);
      double x = 0;
      switch (e.init) {
        case ParamInit::Zero: x = 0; break;
        case ParamInit::One: x = 1; break;
        case ParamInit::XavierUniform: {
          const double fan_out = static_cast<double>(e.shape[0]);
          const double fan_in = e.shape.size() > 1 ? static_cast<double>(e.count) / fan_out : 1.0;
          const double a = std::sqrt(6.0 / (fan_in + fan_out));
          x = a * (2.0 * philox::uniform_at(seed, at) - 1.0);
          break;
        }
        case ParamInit::Normal: x = e.scale * philox::normal_at(seed, at); break;
      }
      v[e.offset + i] = static_cast<float>(x);
    }
  }
  return v;
}

}  // namespace scm
