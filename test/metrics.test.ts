import { describe, expect, test } from 'vitest';
import { classAccuracy, gaussianLike } from '../src/metrics.js';
import { energyDistance, featureStatistics, frechetDistance, sampleToy, slicedWasserstein } from '../src/index.js';
import { Rng } from '../src/random.js';
import { expectScmError } from './helpers.js';

function gaussian(n: number, dim: number, seed: number, mean: number[] = [], std: number[] = []): Float64Array {
  const rng = new Rng(seed), out = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) out[i * dim + c] = (mean[c] ?? 0) + (std[c] ?? 1) * rng.normal();
  return out;
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26, |error| < 1.5e-7
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

describe('energyDistance', () => {
  test('identical sets: V = 0, U = the closed form -2 S / (n^2 (n - 1))', () => {
    const a = gaussian(300, 2, 1);
    expect(Math.abs(energyDistance(a, a, 2, { statistic: 'V' }))).toBeLessThan(1e-12);
    let s = 0;
    for (let i = 0; i < 300; i++) for (let j = 0; j < 300; j++) s += Math.hypot(a[2 * i] - a[2 * j], a[2 * i + 1] - a[2 * j + 1]);
    expect(energyDistance(a, a, 2)).toBeCloseTo((-2 * s) / (300 * 300 * 299), 12);
  });

  test('point masses: 2 |x - y|', () => {
    expect(energyDistance(new Float64Array([0, 0]), new Float64Array([3, 4]), 2, { statistic: 'V' })).toBeCloseTo(10, 12);
  });

  test('1-D N(0, 1) vs N(mu, 1): the closed form, and monotone in mu', () => {
    // E|N(mu, 2)| = (2 / sqrt(pi)) exp(-mu^2 / 4) + mu erf(mu / 2); E|X - X'| = 2 / sqrt(pi)
    const exact = (mu: number) => 2 * ((2 / Math.sqrt(Math.PI)) * Math.exp(-(mu * mu) / 4) + mu * erf(mu / 2)) - 4 / Math.sqrt(Math.PI);
    const base = gaussian(3000, 1, 2), other = gaussian(3000, 1, 3);
    let previous = -Infinity;
    for (const mu of [0, 0.25, 0.5, 1, 2]) {
      const shifted = other.map((x) => x + mu);
      const ed = energyDistance(base, shifted, 1);
      expect(Math.abs(ed - exact(mu)), `mu = ${mu}: ${ed} vs ${exact(mu)}`).toBeLessThan(0.02 + 0.03 * exact(mu));
      expect(ed).toBeGreaterThan(previous);
      previous = ed;
    }
  });

  test('two samples of one toy distribution: U ~ 0, V > 0; another distribution is far', () => {
    const a = sampleToy('moons', 1500, 1).data, b = sampleToy('moons', 1500, 2).data, c = sampleToy('spiral', 1500, 3).data;
    const same = energyDistance(a, b, 2), v = energyDistance(a, b, 2, { statistic: 'V' });
    expect(Math.abs(same)).toBeLessThan(0.005);
    expect(v).toBeGreaterThan(same);
    expect(energyDistance(a, c, 2)).toBeGreaterThan(20 * Math.abs(same) + 0.05);
  });

  test('bad arguments', async () => {
    const a = new Float64Array([0, 1, 2, 3]);
    await expectScmError(() => energyDistance(a, new Float64Array([1, 2, 3]), 2), 'E_SHAPE', /b has 3 elements, expected a multiple of dim = 2/);
    await expectScmError(() => energyDistance(a, new Float64Array([1, 2]), 2), 'E_SHAPE', /at least 2 points/);
    await expectScmError(() => energyDistance(a, new Float64Array([1, NaN, 0, 0]), 2), 'E_ARGUMENT', /b\[1\] is NaN \(point 0\)/);
    await expectScmError(() => energyDistance([0, 1] as never, a, 2), 'E_ARGUMENT', /a must be a Float32Array or Float64Array/);
    await expectScmError(() => energyDistance(a, a, 0), 'E_ARGUMENT', /dim must be an integer >= 1, got 0/);
    await expectScmError(() => energyDistance(a, a, 2, { statistic: 'W' as never }), 'E_ARGUMENT', /statistic must be one of 'U', 'V'/);
    await expectScmError(() => energyDistance(a, a, 2, { unbiased: true } as never), 'E_ARGUMENT', /unknown option 'unbiased'/);
  });
});

describe('slicedWasserstein', () => {
  test('1-D: exact W_p between empirical distributions of different sizes', () => {
    expect(slicedWasserstein(new Float64Array([0, 1]), new Float64Array([0.5]), 1)).toBeCloseTo(0.5, 14);
    // quantiles of {0, 1, 2} and {0, 2} differ by 1 on u in [1/3, 2/3): W2^2 = 1/3, W1 = 1/3
    expect(slicedWasserstein(new Float64Array([2, 0, 1]), new Float64Array([0, 2]), 1)).toBeCloseTo(Math.sqrt(1 / 3), 14);
    expect(slicedWasserstein(new Float64Array([2, 0, 1]), new Float64Array([0, 2]), 1, { p: 1 })).toBeCloseTo(1 / 3, 14);
    const a = gaussian(999, 1, 5);
    expect(slicedWasserstein(a, a.map((x) => x + 0.7), 1)).toBeCloseTo(0.7, 12); // a shift moves every quantile
  });

  test('identical sets: 0', () => {
    const a = gaussian(500, 2, 1);
    expect(slicedWasserstein(a, a, 2)).toBe(0);
  });

  test('2-D Gaussians: SW2^2 = |delta|^2 / 2 for a shift, (s1 - s2)^2 for isotropic stds; monotone', () => {
    const a = gaussian(4000, 2, 1), b = gaussian(4000, 2, 2);
    let previous = -Infinity;
    for (const scale of [0.25, 0.5, 1, 2]) {
      const delta = [1.5 * scale, 0.5 * scale];
      const shifted = b.map((x, i) => x + delta[i % 2]);
      const sw = slicedWasserstein(a, shifted, 2, { seed: 3 });
      const exact = Math.hypot(delta[0], delta[1]) / Math.SQRT2;
      expect(Math.abs(sw - exact), `scale ${scale}: ${sw} vs ${exact}`).toBeLessThan(0.04);
      expect(sw).toBeGreaterThan(previous);
      previous = sw;
    }
    expect(slicedWasserstein(a, b.map((x) => 2 * x), 2)).toBeCloseTo(1, 1);
  });

  test('3-D: random directions, SW2^2 = |delta|^2 / 3; the seed changes the directions only slightly', () => {
    const a = gaussian(3000, 3, 1), b = gaussian(3000, 3, 2, [1, 1, 1]);
    const s1 = slicedWasserstein(a, b, 3, { projections: 400, seed: 1 }), s2 = slicedWasserstein(a, b, 3, { projections: 400, seed: 2 });
    expect(s1).not.toBe(s2);
    for (const s of [s1, s2]) expect(Math.abs(s - 1)).toBeLessThan(0.05);
  });

  test('bad arguments', async () => {
    const a = new Float64Array([0, 1]);
    await expectScmError(() => slicedWasserstein(a, a, 2, { p: 0.5 }), 'E_ARGUMENT', /p must be a number >= 1, got 0.5/);
    await expectScmError(() => slicedWasserstein(a, a, 2, { projections: 0 }), 'E_ARGUMENT', /projections must be an integer >= 1, got 0/);
    await expectScmError(() => slicedWasserstein(a, a, 2, { directions: 3 } as never), 'E_ARGUMENT', /unknown option 'directions'/);
  });
});

// ---------------------------------------------------------------------------------------------

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}

/** A random orthogonal matrix by modified Gram-Schmidt of a Gaussian matrix. */
function randomOrthogonal(n: number, seed: number): Float64Array {
  const rng = new Rng(seed), q = Float64Array.from({ length: n * n }, () => rng.normal());
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += q[i * n + k] * q[j * n + k];
      for (let k = 0; k < n; k++) q[i * n + k] -= dot * q[j * n + k];
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += q[i * n + k] ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) q[i * n + k] /= norm;
  }
  return q;
}

/** Q^T diag(d) Q (rows of q orthonormal). */
function rotated(q: Float64Array, d: number[], n: number): Float64Array {
  const scaled = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) scaled[k * n + j] = d[k] * q[k * n + j];
  const qt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) qt[i * n + j] = q[j * n + i];
  return matmul(qt, scaled, n);
}

function randomSpd(n: number, seed: number): Float64Array {
  const rng = new Rng(seed), x = Float64Array.from({ length: n * 2 * n }, () => rng.normal());
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < 2 * n; k++) s += x[i * 2 * n + k] * x[j * 2 * n + k];
      c[i * n + j] = s / (2 * n) + (i === j ? 0.2 : 0);
    }
  return c;
}

/** tr((A B)^(1/2)) by the coupled Newton-Schulz iteration on the (non-symmetric) product. */
function traceSqrtNewtonSchulz(a: Float64Array, b: Float64Array, n: number): number {
  const p = matmul(a, b, n);
  let norm = 0;
  for (const x of p) norm += x * x;
  norm = Math.sqrt(norm);
  let y: Float64Array = p.map((x) => x / norm), z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) z[i * n + i] = 1;
  for (let iteration = 0; iteration < 100; iteration++) {
    const t = matmul(z, y, n).map((x) => -x);
    for (let i = 0; i < n; i++) t[i * n + i] += 3;
    y = matmul(y, t, n).map((x) => x / 2);
    z = matmul(t, z, n).map((x) => x / 2);
  }
  let trace = 0;
  for (let i = 0; i < n; i++) trace += y[i * n + i];
  return trace * Math.sqrt(norm);
}

describe('featureStatistics', () => {
  test('mean and unbiased covariance against a direct computation', () => {
    const n = 37, dim = 5, x = new Float32Array(gaussian(n, dim, 4, [1, -2, 3, 0, 5], [1, 2, 0.5, 3, 1]));
    const { mean, cov, count } = featureStatistics(x, n, dim);
    expect(count).toBe(n);
    for (let c = 0; c < dim; c++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += x[i * dim + c] / n;
      expect(mean[c]).toBeCloseTo(m, 12);
    }
    for (let r = 0; r < dim; r++)
      for (let c = 0; c < dim; c++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += (x[i * dim + r] - mean[r]) * (x[i * dim + c] - mean[c]);
        expect(cov[r * dim + c]).toBeCloseTo(s / (n - 1), 12);
      }
  });

  test('bad arguments', async () => {
    await expectScmError(() => featureStatistics(new Float32Array(10), 3, 3), 'E_SHAPE', /features has 10 elements/);
    await expectScmError(() => featureStatistics(new Float32Array(12), 3, 3), 'E_SHAPE', /expected n x dim = 3 x 3/);
    await expectScmError(() => featureStatistics(new Float32Array(3), 1, 3), 'E_ARGUMENT', /n must be an integer >= 2, got 1/);
  });
});

describe('frechetDistance', () => {
  test('identical statistics: ~0 (random SPD, dim 64)', () => {
    const cov = randomSpd(64, 1), mean = Float64Array.from({ length: 64 }, (_, i) => Math.sin(i));
    let trace = 0;
    for (let i = 0; i < 64; i++) trace += cov[i * 64 + i];
    expect(frechetDistance({ mean, cov }, { mean, cov })).toBeLessThan(1e-9 * trace);
  });

  test('diagonal covariances: sum (mu1 - mu2)^2 + sum (sqrt a - sqrt b)^2', () => {
    const n = 10, rng = new Rng(2);
    const d1 = Array.from({ length: n }, () => rng.uniform() * 3), d2 = Array.from({ length: n }, () => rng.uniform() * 3);
    const m1 = Array.from({ length: n }, () => rng.normal()), m2 = Array.from({ length: n }, () => rng.normal());
    const diag = (d: number[]) => {
      const c = new Float64Array(n * n);
      d.forEach((v, i) => (c[i * n + i] = v));
      return c;
    };
    let exact = 0;
    for (let i = 0; i < n; i++) exact += (m1[i] - m2[i]) ** 2 + (Math.sqrt(d1[i]) - Math.sqrt(d2[i])) ** 2;
    expect(frechetDistance({ mean: m1, cov: diag(d1) }, { mean: m2, cov: diag(d2) })).toBeCloseTo(exact, 10);
  });

  test('commuting covariances rotated by a random orthogonal matrix, dim 512', () => {
    const n = 512, rng = new Rng(3), q = randomOrthogonal(n, 4);
    const d1 = Array.from({ length: n }, (_, i) => (i < 20 ? 0 : 0.01 + rng.uniform() * 4)); // singular: rank 492
    const d2 = Array.from({ length: n }, () => 0.01 + rng.uniform() * 4);
    let exact = 0;
    for (let i = 0; i < n; i++) exact += (Math.sqrt(d1[i]) - Math.sqrt(d2[i])) ** 2;
    const mean = new Float64Array(n);
    const started = performance.now();
    const fd = frechetDistance({ mean, cov: rotated(q, d1, n) }, { mean, cov: rotated(q, d2, n) });
    console.log(`frechetDistance dim 512: ${(performance.now() - started).toFixed(0)} ms`);
    expect(Math.abs(fd - exact) / exact).toBeLessThan(1e-8);
  });

  test('a random non-commuting SPD pair against Newton-Schulz (dim 48); scaling Sigma2 = c^2 Sigma1', () => {
    const n = 48, c1 = randomSpd(n, 5), c2 = randomSpd(n, 6);
    const m1 = Float64Array.from({ length: n }, (_, i) => Math.cos(i)), m2 = Float64Array.from({ length: n }, (_, i) => Math.cos(i) + 0.1);
    let traces = 0, meanTerm = 0;
    for (let i = 0; i < n; i++) {
      traces += c1[i * n + i] + c2[i * n + i];
      meanTerm += (m1[i] - m2[i]) ** 2;
    }
    const exact = meanTerm + traces - 2 * traceSqrtNewtonSchulz(c1, c2, n);
    const fd = frechetDistance({ mean: m1, cov: c1 }, { mean: m2, cov: c2 });
    expect(Math.abs(fd - exact) / exact).toBeLessThan(1e-9);
    // S2 = c^2 S1: tr(S1 + c^2 S1 - 2 c S1) = (1 - c)^2 tr S1
    let trace1 = 0;
    for (let i = 0; i < n; i++) trace1 += c1[i * n + i];
    expect(frechetDistance({ mean: m1, cov: c1 }, { mean: m1, cov: c1.map((x) => x * 2.25) })).toBeCloseTo(0.25 * trace1, 8);
  });

  test('from features: singular covariance (n < dim) is fine; a shift adds |delta|^2', () => {
    const dim = 40, x = gaussian(20, dim, 7), y = x.map((v, i) => v + (i % dim === 0 ? 3 : 0));
    const s = featureStatistics(x, 20, dim), t = featureStatistics(y, 20, dim);
    let trace = 0;
    for (let i = 0; i < dim; i++) trace += s.cov[i * dim + i];
    // the square roots of the ~0 eigenvalues (rounding noise ~1e-16 * |Sigma|) limit the
    // absolute accuracy to ~1e-8 of the trace
    expect(frechetDistance(s, s)).toBeLessThan(1e-8 * trace);
    expect(Math.abs(frechetDistance(s, t) - 9)).toBeLessThan(1e-8 * trace);
    const u = featureStatistics(gaussian(20, dim, 8), 20, dim);
    expect(frechetDistance(s, u)).toBeGreaterThan(1);
    expect(Math.abs(frechetDistance(s, u) - frechetDistance(u, s))).toBeLessThan(1e-8 * trace);
  });

  test('bad arguments', async () => {
    const s = { mean: new Float64Array(2), cov: new Float64Array([1, 0, 0, 1]) };
    await expectScmError(() => frechetDistance(s, { mean: new Float64Array(3), cov: new Float64Array(9) }), 'E_SHAPE', /s1 has dimension 2, s2 has 3/);
    await expectScmError(() => frechetDistance(s, { mean: new Float64Array(2), cov: new Float64Array(3) }), 'E_SHAPE', /s2.cov has 3 elements, expected dim x dim = 2 x 2/);
    await expectScmError(() => frechetDistance(s, { mean: new Float64Array(2), cov: new Float64Array([1, 0, NaN, 1]) }), 'E_ARGUMENT', /s2.cov\[2\] is NaN/);
    await expectScmError(() => frechetDistance(null as never, s), 'E_ARGUMENT', /s1 must be \{ mean, cov \}/);
  });
});

describe('classAccuracy and gaussianLike', () => {
  test('classAccuracy', async () => {
    expect(classAccuracy(new Int32Array([1, 2, 3, 4]), new Int32Array([1, 0, 3, 0]))).toBe(0.5);
    await expectScmError(() => classAccuracy(new Int32Array(2), new Int32Array(3)), 'E_SHAPE', /predicted has 2 elements, labels 3/);
  });

  test('gaussianLike matches mean and covariance, and is farther from the toy set than fresh samples', () => {
    const train = sampleToy('gaussians-8', 4000, 1).data;
    const g = gaussianLike(train, 2, 4000, 2);
    const s = featureStatistics(train, 4000, 2), t = featureStatistics(g, 4000, 2);
    for (let i = 0; i < 2; i++) expect(Math.abs(s.mean[i] - t.mean[i])).toBeLessThan(0.05);
    for (let i = 0; i < 4; i++) expect(Math.abs(s.cov[i] - t.cov[i])).toBeLessThan(0.06);
    const fresh = sampleToy('gaussians-8', 1500, 3).data;
    const sub = train.subarray(0, 3000);
    expect(energyDistance(fresh, g.subarray(0, 3000), 2)).toBeGreaterThan(10 * Math.abs(energyDistance(fresh, sub, 2)));
    expect(slicedWasserstein(fresh, g, 2)).toBeGreaterThan(3 * slicedWasserstein(fresh, train, 2));
  });
});
