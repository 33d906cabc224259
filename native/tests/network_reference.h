// An independent, plainly scalar re-implementation of the two networks' forward pass, written
// from the formulas (SCM.md §1, §5; the header comments of model_mlp.cpp / model_dit.cpp), not
// from the engine's kernels. The whole-network tests check the engine's forward VALUES against
// it, so a consistent mistake in an op (a "1 +" in ADN, a sum for a mean in a norm) cannot hide
// behind finite-difference checks of the same forward.
#pragma once
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "../core/network.h"
#include "../core/philox.h"

namespace scm_test::netref {

using Vec = std::vector<double>;

struct Params {
  const scm::ParamLayout& layout;
  const std::vector<double>& values;
  const double* operator()(const std::string& name) const {
    const scm::ParamEntry* e = layout.find(name);
    if (!e) throw std::runtime_error("reference: no parameter " + name);
    return values.data() + e->offset;
  }
};

inline Vec linear(const double* W, const double* b, const Vec& x, int64_t out) {
  const int64_t in = static_cast<int64_t>(x.size());
  Vec y(out);
  for (int64_t o = 0; o < out; ++o) {
    double s = b ? b[o] : 0.0;
    for (int64_t i = 0; i < in; ++i) s += W[o * in + i] * x[i];
    y[o] = s;
  }
  return y;
}
inline double silu(double z) { return z / (1.0 + std::exp(-z)); }
inline double gelu(double z) {
  return 0.5 * z * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (z + 0.044715 * z * z * z)));
}
inline Vec layer_norm(const Vec& x, double eps) {
  double mu = 0, var = 0;
  for (double v : x) mu += v;
  mu /= x.size();
  for (double v : x) var += (v - mu) * (v - mu);
  var /= x.size();
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mu) / std::sqrt(var + eps);
  return y;
}
inline Vec pixel_norm(const Vec& a, double eps) {
  double ms = 0;
  for (double v : a) ms += v * v;
  ms /= a.size();
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] / std::sqrt(ms + eps);
  return y;
}
// ADN: LN(x) * pnorm(s) + pnorm(b); adaLN: LN(x) * (1 + s) + b.
inline Vec modulated_norm(const scm::ModelConfig& c, const Vec& x, const Vec& s, const Vec& b) {
  Vec n = layer_norm(x, c.norm_eps), y(x.size());
  if (c.modulation == scm::Modulation::Adn) {
    Vec ps = pixel_norm(s, c.pnorm_eps), pb = pixel_norm(b, c.pnorm_eps);
    for (size_t i = 0; i < y.size(); ++i) y[i] = n[i] * ps[i] + pb[i];
  } else {
    for (size_t i = 0; i < y.size(); ++i) y[i] = n[i] * (1.0 + s[i]) + b[i];
  }
  return y;
}
inline Vec slice(const Vec& v, int64_t begin, int64_t count) { return Vec(v.begin() + begin, v.begin() + begin + count); }

// Sinusoidal features of a scalar: positional [cos(x f_i), sin(x f_i)], f_i = 10000^(-i/(half-1)).
inline Vec positional(double x, int64_t dim) {
  const int64_t half = dim / 2;
  Vec e(dim);
  for (int64_t i = 0; i < half; ++i) {
    const double f = half == 1 ? 1.0 : std::pow(10000.0, -double(i) / double(half - 1));
    e[i] = std::cos(x * f);
    e[half + i] = std::sin(x * f);
  }
  return e;
}

// The conditioning vector cact and the logvar of one sample.
inline Vec conditioning(const scm::ModelConfig& c, const Params& P, double t, int32_t label, double guidance,
                        double* logvar) {
  const double cn = c.time_transform == scm::TimeTransform::EdmLog ? std::log(c.sd * std::tan(t)) : t;
  Vec temb;
  if (c.time_embedding == scm::TimeEmbedding::Positional) {
    temb = positional(cn, c.time_dim);
  } else {
    const int64_t half = c.time_dim / 2;
    temb.resize(c.time_dim);
    for (int64_t i = 0; i < half; ++i) {
      const double f = c.fourier_scale * scm::philox::normal_at(0x46F0E1E5ull, i);
      temb[i] = std::cos(2 * M_PI * f * cn);
      temb[half + i] = std::sin(2 * M_PI * f * cn);
    }
  }
  const int64_t w = c.width;
  Vec a1 = linear(P("t_embed.fc1.weight"), P("t_embed.fc1.bias"), temb, w);
  for (double& v : a1) v = silu(v);
  Vec e2 = linear(P("t_embed.fc2.weight"), P("t_embed.fc2.bias"), a1, w);
  if (c.num_classes > 0) {
    const double* emb = P("y_embed.weight") + static_cast<int64_t>(label) * w;
    for (int64_t i = 0; i < w; ++i) e2[i] += emb[i];
  }
  if (c.guidance_input) {
    Vec g = linear(P("g_embed.fc.weight"), P("g_embed.fc.bias"), positional(guidance, c.time_dim), w);
    for (int64_t i = 0; i < w; ++i) e2[i] += g[i];
  }
  for (double& v : e2) v = silu(v);
  if (logvar) *logvar = linear(P("logvar.weight"), P("logvar.bias"), temb, 1)[0];
  return e2;
}

// F [B, D] and logvar [B] of the network for a batch (no dropout).
inline Vec forward(const scm::ModelConfig& c, const scm::ParamLayout& layout, const std::vector<double>& values,
                   int64_t B, const Vec& u, const scm::Conditioning& cond, Vec* logvar) {
  Params P{layout, values};
  const int64_t w = c.width, D = c.sample_size();
  Vec F(B * D);
  if (logvar) logvar->assign(B, 0.0);
  for (int64_t b = 0; b < B; ++b) {
    const int32_t label = cond.labels.empty() ? static_cast<int32_t>(c.num_classes) : cond.labels[b];
    const double g = cond.guidance.empty() ? 0.0 : cond.guidance[b];
    Vec cact = conditioning(c, P, cond.t[b], label, g, logvar ? &(*logvar)[b] : nullptr);
    auto mod_chunk = [&](const std::string& prefix, int64_t chunk) {
      return linear(P(prefix + ".weight") + chunk * w * w, P(prefix + ".bias") + chunk * w, cact, w);
    };
    if (c.kind == scm::NetworkKind::Mlp) {
      Vec h = linear(P("x_embed.weight"), P("x_embed.bias"), slice(u, b * D, D), w);
      for (int64_t l = 0; l < c.depth; ++l) {
        const std::string pre = "blocks." + std::to_string(l) + ".";
        Vec x = modulated_norm(c, h, mod_chunk(pre + "mod", 0), mod_chunk(pre + "mod", 1));
        Vec a = linear(P(pre + "mlp.fc1.weight"), P(pre + "mlp.fc1.bias"), x, c.hidden());
        for (double& v : a) v = silu(v);
        Vec z = linear(P(pre + "mlp.fc2.weight"), P(pre + "mlp.fc2.bias"), a, w);
        for (int64_t i = 0; i < w; ++i) h[i] += z[i];
      }
      Vec xf = modulated_norm(c, h, mod_chunk("final.mod", 0), mod_chunk("final.mod", 1));
      Vec out = linear(P("final.linear.weight"), P("final.linear.bias"), xf, D);
      for (int64_t i = 0; i < D; ++i) F[b * D + i] = out[i];
      continue;
    }
    // dit
    const int64_t C = c.sample_shape[0], H = c.sample_shape[1], W = c.sample_shape[2], p = c.patch;
    const int64_t gw = W / p, L = (H / p) * gw, Pd = C * p * p, heads = c.heads, hd = c.head_dim();
    auto pixel = [&](int64_t tok, int64_t f) {  // flat index of (token, feature) in the image
      const int64_t gy = tok / gw, gx = tok % gw, ch = f / (p * p), i = (f / p) % p, j = f % p;
      return (ch * H + gy * p + i) * W + gx * p + j;
    };
    std::vector<Vec> h(L);
    for (int64_t t = 0; t < L; ++t) {
      Vec tok(Pd);
      for (int64_t f = 0; f < Pd; ++f) tok[f] = u[b * D + pixel(t, f)];
      h[t] = linear(P("x_embed.weight"), P("x_embed.bias"), tok, w);
      if (c.learned_pos_embed) {
        for (int64_t i = 0; i < w; ++i) h[t][i] += P("pos_embed")[t * w + i];
      } else {
        // fixed 2-D sinusoids: channels [0, w/2) encode the row gy, [w/2, w) the column gx, each
        // as sin(pos f_i) then cos(pos f_i), f_i = 10000^(-i/q), q = w/4
        const int64_t half = w / 2, q = std::max<int64_t>(1, half / 2);
        for (int64_t part = 0; part < 2; ++part) {
          const double pos = part == 0 ? double(t / gw) : double(t % gw);
          for (int64_t i = 0; i < q; ++i) {
            const double f = std::pow(10000.0, -double(i) / double(q));
            h[t][part * half + i] += std::sin(pos * f);
            h[t][part * half + q + i] += std::cos(pos * f);
          }
        }
      }
    }
    for (int64_t l = 0; l < c.depth; ++l) {
      const std::string pre = "blocks." + std::to_string(l) + ".";
      Vec s1 = mod_chunk(pre + "mod", 0), b1 = mod_chunk(pre + "mod", 1);
      Vec s2 = mod_chunk(pre + "mod", 2), b2 = mod_chunk(pre + "mod", 3);
      std::vector<Vec> qkv(L);
      for (int64_t t = 0; t < L; ++t)
        qkv[t] = linear(P(pre + "attn.qkv.weight"), P(pre + "attn.qkv.bias"), modulated_norm(c, h[t], s1, b1), 3 * w);
      std::vector<Vec> merged(L, Vec(w));
      for (int64_t hh = 0; hh < heads; ++hh) {
        auto rms = [&](Vec v, const double* gamma) {
          double ms = 0;
          for (double x : v) ms += x * x;
          ms /= v.size();
          for (size_t e = 0; e < v.size(); ++e) v[e] = v[e] / std::sqrt(ms + c.qk_eps) * gamma[e];
          return v;
        };
        std::vector<Vec> q(L), k(L), v(L);
        for (int64_t t = 0; t < L; ++t) {
          q[t] = rms(slice(qkv[t], hh * hd, hd), P(pre + "attn.q_norm.weight"));
          k[t] = rms(slice(qkv[t], w + hh * hd, hd), P(pre + "attn.k_norm.weight"));
          v[t] = slice(qkv[t], 2 * w + hh * hd, hd);
        }
        for (int64_t i = 0; i < L; ++i) {
          Vec s(L);
          double mx = -INFINITY, z = 0;
          for (int64_t j = 0; j < L; ++j) {
            double d = 0;
            for (int64_t e = 0; e < hd; ++e) d += q[i][e] * k[j][e];
            s[j] = d / std::sqrt(double(hd));
            mx = std::max(mx, s[j]);
          }
          for (int64_t j = 0; j < L; ++j) z += std::exp(s[j] - mx);
          for (int64_t j = 0; j < L; ++j)
            for (int64_t e = 0; e < hd; ++e) merged[i][hh * hd + e] += std::exp(s[j] - mx) / z * v[j][e];
        }
      }
      for (int64_t t = 0; t < L; ++t) {
        Vec a = linear(P(pre + "attn.proj.weight"), P(pre + "attn.proj.bias"), merged[t], w);
        for (int64_t i = 0; i < w; ++i) h[t][i] += a[i];
        Vec m = linear(P(pre + "mlp.fc1.weight"), P(pre + "mlp.fc1.bias"), modulated_norm(c, h[t], s2, b2), c.hidden());
        for (double& x : m) x = gelu(x);
        Vec z = linear(P(pre + "mlp.fc2.weight"), P(pre + "mlp.fc2.bias"), m, w);
        for (int64_t i = 0; i < w; ++i) h[t][i] += z[i];
      }
    }
    Vec sf = mod_chunk("final.mod", 0), bf = mod_chunk("final.mod", 1);
    for (int64_t t = 0; t < L; ++t) {
      Vec out = linear(P("final.linear.weight"), P("final.linear.bias"), modulated_norm(c, h[t], sf, bf), Pd);
      for (int64_t f = 0; f < Pd; ++f) F[b * D + pixel(t, f)] = out[f];
    }
  }
  return F;
}

}  // namespace scm_test::netref
