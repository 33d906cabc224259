// A network F_theta(u, c) (SCM.md §1) with its three passes, on an Ops flavour (ops.h).
//
//   forward   u [B, D] -> F [B, D] (and the adaptive-weight head w_phi(t) [B] when asked);
//   dual      stacked uu = [u; u_dot] [2B, D] with the time tangent t_dot [B] -> stacked
//             FF = [F; F_dot] [2B, D]: forward-mode JVP, weights have zero tangent, labels and
//             the guidance input have zero tangent (SCM.md §2.1);
//   backward  after a forward or a dual with save = true: dF [B, D] (and dlogvar [B]) ->
//             parameter gradients ACCUMULATED into grads [P]. The dual saves the same primal
//             activations as the forward, so a dual followed by backward needs no second
//             forward (SCM.md §2.1, last paragraph).
// Pointers are the Ops' memory; Conditioning is host data. One network object serves one
// thread at a time (its activation workspace is reused between calls).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "model_config.h"
#include "params.h"

namespace scm {

struct Conditioning {
  std::vector<double> t;         // [B] TrigFlow times in (0, pi/2)
  std::vector<double> t_dot;     // [B] tangent of t (dual only)
  std::vector<int32_t> labels;   // [B] in [0, K]; K = the null label. Empty: all null.
  std::vector<double> guidance;  // [B] guidance-scale input (required iff config.guidance_input)
  bool train = false;            // dropout active (when config.dropout > 0)
  uint64_t dropout_seed = 0;     // masks: Philox uniforms (dropout_seed, dropout_offset + ...),
  uint64_t dropout_offset = 0;   //   identical in a dual and the backward after it
};

template <class Ops>
class Network {
 public:
  using T = typename Ops::T;
  virtual ~Network() = default;
  virtual const ModelConfig& config() const = 0;
  virtual const ParamLayout& layout() const = 0;
  // logvar nullable. B >= 1.
  virtual void forward(const T* params, int64_t B, const T* u, const Conditioning& cond, T* F, T* logvar,
                       bool save) = 0;
  // uu, FF [2B, D] stacked; cond.t_dot required. logvar (primal) nullable.
  virtual void dual(const T* params, int64_t B, const T* uu, const Conditioning& cond, T* FF, T* logvar,
                    bool save) = 0;
  // dF [B, D]; dlogvar [B] nullable. grads [P] accumulated.
  virtual void backward(const T* params, const T* dF, const T* dlogvar, T* grads) = 0;
};

// The parameter layout of a config (names, shapes, initialisation), without building a network.
ParamLayout network_layout(const ModelConfig& config);

template <class Ops>
std::unique_ptr<Network<Ops>> make_network(const Ops& ops, const ModelConfig& config);

}  // namespace scm
