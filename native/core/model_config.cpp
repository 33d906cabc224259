#include "model_config.h"

#include <cmath>
#include "error.h"

namespace scm {

int64_t ModelConfig::sample_size() const {
  int64_t n = 1;
  for (int64_t d : sample_shape) n *= d;
  return n;
}

int64_t ModelConfig::tokens() const {
  if (kind == NetworkKind::Mlp) return 1;
  return (sample_shape[1] / patch) * (sample_shape[2] / patch);
}

int64_t ModelConfig::token_dim() const {
  if (kind == NetworkKind::Mlp) return sample_size();
  return sample_shape[0] * patch * patch;
}

void ModelConfig::validate() const {
  const char* w = "model config";
  auto positive = [&](int64_t v, const char* name, int64_t max) {
    require(v >= 1 && v <= max, SCM_E_ARGUMENT, w, ": ", name, "=", v, " must be in [1, ", max, "]");
  };
  if (kind == NetworkKind::Mlp) {
    require(sample_shape.size() == 1, SCM_E_ARGUMENT, w, ": an mlp takes samples of shape [D], got ",
            sample_shape.size(), " dimensions");
    positive(sample_shape[0], "sampleShape[0]", 1 << 20);
  } else {
    require(sample_shape.size() == 3, SCM_E_ARGUMENT, w, ": a dit takes images of shape [C, H, W], got ",
            sample_shape.size(), " dimensions");
    positive(sample_shape[0], "channels", 64);
    positive(sample_shape[1], "height", 4096);
    positive(sample_shape[2], "width of the image", 4096);
    positive(patch, "patch", 64);
    require(sample_shape[1] % patch == 0 && sample_shape[2] % patch == 0, SCM_E_ARGUMENT, w, ": image ",
            sample_shape[1], "x", sample_shape[2], " is not a multiple of the patch size ", patch);
    positive(heads, "heads", 256);
    require(width % heads == 0, SCM_E_ARGUMENT, w, ": width ", width, " is not a multiple of heads ", heads);
    require(head_dim() % 2 == 0 || head_dim() == 1, SCM_E_ARGUMENT, w, ": head dim ", head_dim(), " must be even");
  }
  positive(width, "width", 1 << 16);
  positive(depth, "depth", 256);
  positive(mlp_ratio, "mlpRatio", 64);
  positive(time_dim, "timeDim", 1 << 14);
  require(time_dim % 2 == 0, SCM_E_ARGUMENT, w, ": timeDim ", time_dim, " must be even");
  require(num_classes >= 0 && num_classes <= (1 << 20), SCM_E_ARGUMENT, w, ": numClasses=", num_classes,
          " out of range");
  require(std::isfinite(sd) && sd > 0, SCM_E_ARGUMENT, w, ": sd=", sd, " must be positive");
  require(dropout >= 0 && dropout < 1, SCM_E_ARGUMENT, w, ": dropout=", dropout, " must be in [0, 1)");
  require(std::isfinite(fourier_scale) && fourier_scale > 0, SCM_E_ARGUMENT, w, ": fourierScale=", fourier_scale,
          " must be positive");
  require(norm_eps > 0 && pnorm_eps > 0 && qk_eps > 0, SCM_E_ARGUMENT, w, ": eps values must be positive");
}

double time_transform(const ModelConfig& c, double t) {
  if (c.time_transform == TimeTransform::EdmLog) return std::log(c.sd * std::tan(t));
  return t;
}

double time_transform_derivative(const ModelConfig& c, double t) {
  // d/dt log(sd tan t) = 1 / (sin t cos t)
  if (c.time_transform == TimeTransform::EdmLog) return 1.0 / (std::sin(t) * std::cos(t));
  return 1.0;
}

}  // namespace scm
