#include "network.h"

#include "model_dit.h"
#include "model_mlp.h"

namespace scm {

template <class Ops>
std::unique_ptr<Network<Ops>> make_network(const Ops& ops, const ModelConfig& config) {
  config.validate();
  if (config.kind == NetworkKind::Dit) return std::make_unique<Dit<Ops>>(ops, config);
  return std::make_unique<Mlp<Ops>>(ops, config);
}

ParamLayout network_layout(const ModelConfig& config) { return make_network(ReferenceOps{}, config)->layout(); }

template std::unique_ptr<Network<TableOps>> make_network(const TableOps&, const ModelConfig&);
template std::unique_ptr<Network<ReferenceOps>> make_network(const ReferenceOps&, const ModelConfig&);

}  // namespace scm
