// Sample-quality metrics, all computed in double precision:
// - energyDistance / slicedWasserstein: distances between two point sets (toy 2-D data against
//   fresh true samples);
// - featureStatistics / frechetDistance: the Fréchet distance between Gaussians fitted to
//   feature vectors (FID-style, on the features of whichever network produced them);
// - classAccuracy; gaussianLike (the "same mean and covariance" baseline for a point set).
import { argumentError, shapeError } from './errors.js';
import { dot, matmul, symmetricEigen } from './linalg.js';
import { Rng } from './random.js';
import { checkOneOf, checkOptions, checkSize, describe } from './validate.js';

export type Points = Float32Array | Float64Array;

function checkPoints(x: unknown, name: string, dim: number, where: string, min: number): number {
  if (!(x instanceof Float32Array || x instanceof Float64Array)) throw argumentError(`${where}: ${name} must be a Float32Array or Float64Array, got ${describe(x)}`);
  if (x.length % dim !== 0 || x.length / dim < min) {
    throw shapeError(`${where}: ${name} has ${x.length} elements, expected a multiple of dim = ${dim} with at least ${min} points`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw argumentError(`${where}: ${name}[${i}] is ${x[i]} (point ${Math.floor(i / dim)}); points must be finite`);
  }
  return x.length / dim;
}

function distance(x: Points, i: number, y: Points, j: number, dim: number): number {
  let s = 0;
  for (let c = 0; c < dim; c++) {
    const d = x[i * dim + c] - y[j * dim + c];
    s += d * d;
  }
  return Math.sqrt(s);
}

/** Sum of |x_i - x_j| over i < j. */
function withinSum(x: Points, n: number, dim: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += distance(x, i, x, j, dim);
  return s;
}

export interface EnergyDistanceOptions {
  /** 'U' (default): unbiased, within-set means over distinct pairs (its expectation is the
   *  population energy distance; two samples of one distribution give ~0, possibly < 0).
   *  'V': all pairs including i = j, always >= 0, 0 for identical sets. */
  statistic?: 'U' | 'V';
}

/**
 * Energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| between the point sets a (n x dim) and
 * b (m x dim), Euclidean, as the U- or V-statistic (see options). In squared-length units; it
 * is 0 exactly when the two distributions are equal (for the population value).
 */
export function energyDistance(a: Points, b: Points, dim: number, options?: EnergyDistanceOptions): number {
  const where = 'energyDistance';
  checkSize(dim, 'dim', where, { min: 1 });
  const o = checkOptions(options, ['statistic'], where);
  const statistic = checkOneOf(o.statistic, ['U', 'V'] as const, 'statistic', where, 'U');
  const min = statistic === 'U' ? 2 : 1;
  const n = checkPoints(a, 'a', dim, where, min), m = checkPoints(b, 'b', dim, where, min);
  let cross = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) cross += distance(a, i, b, j, dim);
  const wa = 2 * withinSum(a, n, dim), wb = 2 * withinSum(b, m, dim); // ordered pairs
  const pa = statistic === 'U' ? n * (n - 1) : n * n, pb = statistic === 'U' ? m * (m - 1) : m * m;
  return (2 * cross) / (n * m) - wa / pa - wb / pb;
}

/** W_p^p between the empirical distributions of sorted x (n) and sorted y (m): the integral of
 *  |F^-1(u) - G^-1(u)|^p over u, exact (the quantile functions are step functions). */
function wassersteinSorted1d(x: Float64Array, y: Float64Array, p: number): number {
  const n = x.length, m = y.length;
  let i = 0, j = 0, u = 0, total = 0;
  while (i < n && j < m) {
    const ai = (i + 1) * m, bj = (j + 1) * n; // breakpoints (i+1)/n, (j+1)/m over n*m
    const next = Math.min(ai, bj);
    total += (next - u) * Math.abs(x[i] - y[j]) ** p;
    u = next;
    if (ai === next) i++;
    if (bj === next) j++;
  }
  return total / (n * m);
}

export interface SlicedWassersteinOptions {
  /** Number of directions, default 256. */
  projections?: number;
  /** Seed of the directions, default 0. */
  seed?: number;
  /** The order p >= 1 of W_p, default 2. */
  p?: number;
}

/**
 * Sliced Wasserstein distance (mean over directions theta of W_p^p(theta.a, theta.b))^(1/p)
 * between point sets a (n x dim) and b (m x dim); the 1-D distances are exact for empirical
 * distributions of any sizes. Directions: for dim = 1 the axis (so this is W_p itself); for
 * dim = 2 the angles pi (k + u) / K, k < K, with one random offset u (stratified); otherwise K
 * random Gaussian directions, normalised. Same unit as the data.
 */
export function slicedWasserstein(a: Points, b: Points, dim: number, options?: SlicedWassersteinOptions): number {
  const where = 'slicedWasserstein';
  checkSize(dim, 'dim', where, { min: 1 });
  const o = checkOptions(options, ['projections', 'seed', 'p'], where);
  const projections = dim === 1 ? 1 : o.projections === undefined ? 256 : checkSize(o.projections, 'projections', where, { min: 1 });
  const seed = o.seed === undefined ? 0 : checkSize(o.seed, 'seed', where);
  const p = o.p === undefined ? 2 : (o.p as number);
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 1) throw argumentError(`${where}: p must be a number >= 1, got ${describe(o.p)}`);
  const n = checkPoints(a, 'a', dim, where, 1), m = checkPoints(b, 'b', dim, where, 1);
  const rng = new Rng(seed);
  const offset = rng.uniform();
  const theta = new Float64Array(dim), pa = new Float64Array(n), pb = new Float64Array(m);
  let total = 0;
  for (let k = 0; k < projections; k++) {
    if (dim === 1) theta[0] = 1;
    else if (dim === 2) {
      const angle = (Math.PI * (k + offset)) / projections;
      theta[0] = Math.cos(angle);
      theta[1] = Math.sin(angle);
    } else {
      let norm = 0;
      for (let c = 0; c < dim; c++) norm += (theta[c] = rng.normal()) ** 2;
      norm = Math.sqrt(norm);
      for (let c = 0; c < dim; c++) theta[c] /= norm;
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += a[i * dim + c] * theta[c];
      pa[i] = s;
    }
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += b[j * dim + c] * theta[c];
      pb[j] = s;
    }
    pa.sort();
    pb.sort();
    total += wassersteinSorted1d(pa, pb, p);
  }
  return (total / projections) ** (1 / p);
}

export interface FeatureStatistics {
  /** [dim] */
  mean: Float64Array;
  /** [dim, dim] row-major, unbiased (divided by n - 1, as numpy.cov). */
  cov: Float64Array;
  /** The number of feature vectors. */
  count: number;
}

/** Mean and covariance of n feature vectors of length dim (row-major), in double precision. */
export function featureStatistics(features: Points, n: number, dim: number): FeatureStatistics {
  const where = 'featureStatistics';
  checkSize(n, 'n', where, { min: 2 });
  checkSize(dim, 'dim', where, { min: 1 });
  if (checkPoints(features, 'features', dim, where, 2) !== n) throw shapeError(`${where}: features has ${features.length} elements, expected n x dim = ${n} x ${dim}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) mean[c] += features[i * dim + c];
  for (let c = 0; c < dim; c++) mean[c] /= n;
  // centred columns, contiguous: cov[i][j] is a dot product of columns i and j
  const columns = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) columns[c * n + i] = features[i * dim + c] - mean[c];
  const cov = new Float64Array(dim * dim);
  for (let r = 0; r < dim; r++) for (let c = r; c < dim; c++) cov[r * dim + c] = cov[c * dim + r] = dot(columns, r * n, columns, c * n, n) / (n - 1);
  return { mean, cov, count: n };
}

function checkStatistics(s: unknown, name: string, where: string): { mean: ArrayLike<number>; cov: ArrayLike<number> } {
  if (s === null || typeof s !== 'object') throw argumentError(`${where}: ${name} must be { mean, cov }, got ${describe(s)}`);
  const { mean, cov } = s as { mean: unknown; cov: unknown };
  const isArray = (x: unknown) => x instanceof Float64Array || x instanceof Float32Array || Array.isArray(x);
  if (!isArray(mean) || !isArray(cov)) throw argumentError(`${where}: ${name}.mean and ${name}.cov must be arrays of numbers`);
  const m = mean as ArrayLike<number>, c = cov as ArrayLike<number>;
  if (m.length === 0 || c.length !== m.length * m.length) {
    throw shapeError(`${where}: ${name}.cov has ${c.length} elements, expected dim x dim = ${m.length} x ${m.length}`);
  }
  for (const [label, x] of [['mean', m], ['cov', c]] as const) {
    for (let i = 0; i < x.length; i++) {
      if (typeof x[i] !== 'number' || !Number.isFinite(x[i])) throw argumentError(`${where}: ${name}.${label}[${i}] is ${describe(x[i])}, must be finite`);
    }
  }
  return { mean: m, cov: c };
}

/**
 * Fréchet distance between N(mu1, S1) and N(mu2, S2):
 * |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)). tr((S1 S2)^(1/2)) is the sum of the square
 * roots of the eigenvalues of S1^(1/2) S2 S1^(1/2), computed as D^(1/2) (V^T S2 V) D^(1/2) with
 * S1 = V D V^T (symmetric eigen-solver in double precision; tiny negative eigenvalues of the
 * positive semi-definite matrices are clamped to 0, so singular covariances are fine). The
 * covariances are symmetrised first; the result is clamped at 0.
 */
export function frechetDistance(s1: { mean: ArrayLike<number>; cov: ArrayLike<number> }, s2: { mean: ArrayLike<number>; cov: ArrayLike<number> }): number {
  const where = 'frechetDistance';
  const a = checkStatistics(s1, 's1', where), b = checkStatistics(s2, 's2', where);
  const dim = a.mean.length;
  if (b.mean.length !== dim) throw shapeError(`${where}: s1 has dimension ${dim}, s2 has ${b.mean.length}`);
  const sym = (c: ArrayLike<number>) => {
    const out = new Float64Array(dim * dim);
    for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = 0.5 * (c[i * dim + j] + c[j * dim + i]);
    return out;
  };
  const c1 = sym(a.cov), c2 = sym(b.cov);
  let meanTerm = 0, traces = 0;
  for (let i = 0; i < dim; i++) {
    meanTerm += (a.mean[i] - b.mean[i]) ** 2;
    traces += c1[i * dim + i] + c2[i * dim + i];
  }
  const { values, vectors } = symmetricEigen(c1, dim, { vectors: true });
  const vt = vectors!; // rows: eigenvectors, so V = vt^T
  const vtT = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) vtT[j * dim + i] = vt[i * dim + j];
  const inner = matmul(matmul(vt, c2, dim, dim, dim), vtT, dim, dim, dim); // V^T S2 V
  const root = Float64Array.from(values, (v) => Math.sqrt(Math.max(v, 0)));
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) inner[i * dim + j] *= root[i] * root[j];
  let traceRoot = 0;
  for (const mu of symmetricEigen(inner, dim).values) traceRoot += Math.sqrt(Math.max(mu, 0));
  return Math.max(0, meanTerm + traces - 2 * traceRoot);
}

/** The fraction of predictions equal to their labels. */
export function classAccuracy(predicted: Int32Array, labels: Int32Array): number {
  const where = 'classAccuracy';
  if (!(predicted instanceof Int32Array) || !(labels instanceof Int32Array)) throw argumentError(`${where}: predicted and labels must be Int32Arrays, got ${describe(predicted)} and ${describe(labels)}`);
  if (predicted.length !== labels.length || labels.length === 0) throw shapeError(`${where}: predicted has ${predicted.length} elements, labels ${labels.length}; expected the same number, at least 1`);
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hits++;
  return hits / labels.length;
}

/**
 * `count` samples of the Gaussian with the mean and (population) covariance of the point set
 * `points` (n x dim): the baseline a generative model of that set must beat. Float32Array [count, dim].
 */
export function gaussianLike(points: Points, dim: number, count: number, seed: number): Float32Array {
  const where = 'gaussianLike';
  checkSize(dim, 'dim', where, { min: 1 });
  checkSize(count, 'count', where, { min: 1 });
  checkSize(seed, 'seed', where);
  const n = checkPoints(points, 'points', dim, where, 2);
  const { mean, cov } = featureStatistics(points, n, dim);
  for (let i = 0; i < cov.length; i++) cov[i] *= (n - 1) / n;
  // S = V D V^T: x = mean + V D^(1/2) z works for singular S too
  const { values, vectors } = symmetricEigen(cov, dim, { vectors: true });
  const rng = new Rng(seed), z = new Float64Array(dim), out = new Float32Array(count * dim);
  for (let s = 0; s < count; s++) {
    for (let k = 0; k < dim; k++) z[k] = Math.sqrt(Math.max(values[k], 0)) * rng.normal();
    for (let c = 0; c < dim; c++) {
      let x = mean[c];
      for (let k = 0; k < dim; k++) x += vectors![k * dim + c] * z[k];
      out[s * dim + c] = x;
    }
  }
  return out;
}
