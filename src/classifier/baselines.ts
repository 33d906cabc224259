// Reference points for reading classifier-feature FIDs: degraded copies of real images (Gaussian
// blur) and pure noise. Used by scripts/quality-baselines.ts (the table in models/README.md) and
// by the tests of the metric's ordering (real << blurred << noise).
import { argumentError } from '../errors.js';
import { Rng } from '../random.js';
import { checkSize } from '../validate.js';

/**
 * Gaussian blur (standard deviation `sigma` pixels, kernel radius ceil(3 sigma), separable) of
 * `count` single-channel images size x size; the border is extended with the background -1.
 */
export function blurImages(data: Float32Array, count: number, size: number, sigma: number): Float32Array {
  if (!(sigma > 0 && Number.isFinite(sigma))) throw argumentError(`blurImages: sigma must be a positive number, got ${sigma}`);
  const r = Math.ceil(3 * sigma);
  const kernel = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const norm = kernel.reduce((a, b) => a + b, 0);
  for (let i = 0; i < kernel.length; i++) kernel[i] /= norm;
  const px = size * size, out = new Float32Array(count * px), tmp = new Float64Array(px);
  const at = (src: ArrayLike<number>, o: number, y: number, x: number) => (y < 0 || y >= size || x < 0 || x >= size ? -1 : src[o + y * size + x]);
  for (let n = 0; n < count; n++) {
    const o = n * px;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += kernel[k + r] * at(data, o, y, x + k);
      tmp[y * size + x] = s;
    }
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += kernel[k + r] * at(tmp, 0, y + k, x);
      out[o + y * size + x] = s;
    }
  }
  return out;
}

/** `count` images size x size of independent uniform noise in [-1, 1), from Rng(seed, 0). */
export function noiseImages(count: number, size: number, seed: number): Float32Array {
  checkSize(count, 'count', 'noiseImages', { min: 1 });
  const rng = new Rng(seed, 0), out = new Float32Array(count * size * size);
  for (let i = 0; i < out.length; i++) out[i] = 2 * rng.uniform() - 1;
  return out;
}
