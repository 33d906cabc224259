// A network with its weights in backend memory: the parameters and (optionally) their EMA.
// The native model handle of the API; trainers and samplers work on it.
#pragma once
#include <memory>
#include <vector>

#include "network.h"
#include "ops.h"

namespace scm {

template <class Ops>
class ModelState {
 public:
  using T = typename Ops::T;
  // Parameters initialised from `seed` (params.h); no EMA until set_ema or a trainer creates it.
  ModelState(const Ops& ops, const ModelConfig& config, uint64_t seed)
      : ops_(ops), net_(make_network(ops, config)) {
    params_ = ops_.alloc(param_count());
    const std::vector<float> init = net_->layout().initial_values(seed);
    ops_.upload(params_.data(), init.data(), init.size());
  }

  const Ops& ops() const { return ops_; }
  const ModelConfig& config() const { return net_->config(); }
  const ParamLayout& layout() const { return net_->layout(); }
  Network<Ops>& network() { return *net_; }
  size_t param_count() const { return net_->layout().total(); }

  T* params() { return params_.data(); }
  bool has_ema() const { return ema_.size() > 0; }
  T* ema() { return ema_.data(); }
  // The weights for evaluation: the EMA when present and wanted, else the parameters.
  T* weights(bool prefer_ema) { return prefer_ema && has_ema() ? ema_.data() : params_.data(); }
  // Creates the EMA buffer as a copy of the parameters (no-op when it exists).
  void ensure_ema() {
    if (has_ema()) return;
    ema_ = ops_.alloc(param_count());
    ops_.copy(ema_.data(), params_.data(), param_count());
  }
  void drop_ema() { ema_ = typename Ops::Buffer(); }

 private:
  Ops ops_;
  std::unique_ptr<Network<Ops>> net_;
  typename Ops::Buffer params_, ema_;
};

}  // namespace scm
