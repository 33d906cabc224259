// The configuration of a network (mlp or dit), fully resolved: the TypeScript side turns a
// preset name or a partial user config into this, and checkpoints store it. validate() refuses
// anything the networks cannot build.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace scm {

enum class NetworkKind { Mlp = 0, Dit = 1 };
// c_noise(t) (SCM.md §5): identity (the paper's) or EDM's log(sd * tan t) (an ablation).
enum class TimeTransform { Identity = 0, EdmLog = 1 };
// Time features: transformer-style sinusoids of c (positional, the paper's) or random Fourier
// features cos/sin(2 pi f_i c) with f_i ~ N(0, fourier_scale^2) fixed (an ablation).
enum class TimeEmbedding { Positional = 0, Fourier = 1 };
// Conditioning of the norms (SCM.md §5): ADN y = LN(x) pnorm(s) + pnorm(b) (the paper's), or
// adaLN y = LN(x) (1 + s) + b (an ablation; no gates).
enum class Modulation { Adn = 0, AdaLn = 1 };

struct ModelConfig {
  NetworkKind kind = NetworkKind::Mlp;
  std::vector<int64_t> sample_shape;  // mlp: [D]; dit: [C, H, W]
  double sd = 0.5;                    // sigma_d
  int64_t num_classes = 0;            // 0: unconditional; else labels 0..K-1, K = the null label
  bool guidance_input = false;        // the guidance scale is an input (sCD students of CFG teachers)
  int64_t width = 256;
  int64_t depth = 4;
  int64_t heads = 4;                  // dit
  int64_t patch = 2;                  // dit
  int64_t mlp_ratio = 4;              // hidden width = mlp_ratio * width
  int64_t time_dim = 256;             // size of the time (and guidance) features
  bool learned_pos_embed = true;      // dit: learned, else fixed 2-D sinusoids
  double dropout = 0.0;               // on the hidden activations of each MLP, training only
  TimeTransform time_transform = TimeTransform::Identity;
  TimeEmbedding time_embedding = TimeEmbedding::Positional;
  double fourier_scale = 16.0;
  Modulation modulation = Modulation::Adn;
  double norm_eps = 1e-6;             // layer norms (ADN's inner LN)
  double pnorm_eps = 1e-8;            // ADN's pixel norms (SCM.md §5)
  double qk_eps = 1e-6;               // QK-norm

  int64_t sample_size() const;  // D = product of sample_shape
  int64_t tokens() const;       // dit: (H/p)(W/p); mlp: 1
  int64_t token_dim() const;    // dit: C p^2; mlp: D
  int64_t hidden() const { return mlp_ratio * width; }
  int64_t head_dim() const { return width / heads; }
  void validate() const;        // throws scm::Error E_ARGUMENT naming the bad field
};

// c_noise(t) and its derivative dc/dt (host, double).
double time_transform(const ModelConfig& c, double t);
double time_transform_derivative(const ModelConfig& c, double t);

}  // namespace scm
