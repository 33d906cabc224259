import { describe, expect, test } from 'vitest';
import { matmul, symmetricEigen } from '../src/linalg.js';
import { Rng } from '../src/random.js';

function randomSymmetric(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Rng(seed), a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = scale * rng.normal();
  return a;
}

/** Eigenvalues by cyclic Jacobi rotations: an independent algorithm for the comparison. */
function jacobiEigenvalues(input: Float64Array, n: number): number[] {
  const a = Float64Array.from(input);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]).sort((x, y) => x - y);
}

function checkDecomposition(a: Float64Array, n: number): { residual: number; orthogonality: number } {
  const { values, vectors } = symmetricEigen(a, n, { vectors: true });
  let norm = 0;
  for (const x of a) norm = Math.max(norm, Math.abs(x));
  let residual = 0, orthogonality = 0;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * vectors![k * n + j];
      residual = Math.max(residual, Math.abs(s - values[k] * vectors![k * n + i]) / Math.max(norm, 1e-300));
    }
    for (let l = k; l < n; l++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += vectors![k * n + j] * vectors![l * n + j];
      orthogonality = Math.max(orthogonality, Math.abs(dot - (k === l ? 1 : 0)));
    }
  }
  for (let k = 1; k < n; k++) expect(values[k]).toBeGreaterThanOrEqual(values[k - 1]);
  return { residual, orthogonality };
}

describe('symmetricEigen', () => {
  for (const n of [1, 2, 3, 7, 33, 120])
    test(`random symmetric n=${n}: A v = lambda v, orthonormal, eigenvalues as Jacobi's`, () => {
      const a = randomSymmetric(n, n);
      const { residual, orthogonality } = checkDecomposition(a, n);
      expect(residual).toBeLessThan(1e-12 * n);
      expect(orthogonality).toBeLessThan(1e-12 * n);
      const values = symmetricEigen(a, n).values, reference = jacobiEigenvalues(a, n);
      for (let i = 0; i < n; i++) expect(Math.abs(values[i] - reference[i])).toBeLessThan(1e-11 * n);
    });

  test('degenerate and structured matrices: identity, zero, diagonal, repeated eigenvalues, rank one, tiny and huge scales', () => {
    const n = 20;
    const identity = new Float64Array(n * n);
    for (let i = 0; i < n; i++) identity[i * n + i] = 1;
    expect(Array.from(symmetricEigen(identity, n).values)).toEqual(new Array(n).fill(1));
    expect(Array.from(symmetricEigen(new Float64Array(n * n), n).values)).toEqual(new Array(n).fill(0));
    const diagonal = new Float64Array(n * n);
    for (let i = 0; i < n; i++) diagonal[i * n + i] = ((i * 7) % n) - 5;
    expect(Array.from(symmetricEigen(diagonal, n).values)).toEqual(Array.from({ length: n }, (_, i) => i - 5));
    const rng = new Rng(3), u = Array.from({ length: n }, () => rng.normal());
    const rankOne = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rankOne[i * n + j] = u[i] * u[j];
    const values = symmetricEigen(rankOne, n).values;
    expect(values[n - 1]).toBeCloseTo(u.reduce((s, x) => s + x * x, 0), 10);
    for (let i = 0; i < n - 1; i++) expect(Math.abs(values[i])).toBeLessThan(1e-12);
    // Q diag(1,1,1,2,2,...) Q^T from a random rotation: repeated eigenvalues
    const q = symmetricEigen(randomSymmetric(n, 9), n, { vectors: true }).vectors!;
    const repeated = new Float64Array(n * n);
    for (let k = 0; k < n; k++) {
      const lambda = k < n / 2 ? 1 : 2;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) repeated[i * n + j] += lambda * q[k * n + i] * q[k * n + j];
    }
    const rep = checkDecomposition(repeated, n);
    expect(rep.residual).toBeLessThan(1e-12);
    expect(rep.orthogonality).toBeLessThan(1e-12);
    for (const scale of [1e-150, 1e150]) {
      const scaled = randomSymmetric(12, 4, scale);
      const r = checkDecomposition(scaled, 12);
      expect(r.residual).toBeLessThan(1e-12);
      expect(r.orthogonality).toBeLessThan(1e-12);
    }
  });

  test('reads only the lower triangle', () => {
    const a = randomSymmetric(6, 2), b = Float64Array.from(a);
    for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) b[i * 6 + j] = 1e9;
    expect(Array.from(symmetricEigen(b, 6).values)).toEqual(Array.from(symmetricEigen(a, 6).values));
  });
});

describe('matmul', () => {
  test('against a triple loop, non-square and odd sizes', () => {
    const rng = new Rng(1);
    for (const [n, k, m] of [[1, 1, 1], [3, 5, 2], [7, 9, 11], [16, 13, 4]]) {
      const a = Float64Array.from({ length: n * k }, () => rng.normal()), b = Float64Array.from({ length: k * m }, () => rng.normal());
      const c = matmul(a, b, n, k, m);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < m; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * m + j];
          expect(Math.abs(c[i * m + j] - s)).toBeLessThan(1e-13);
        }
    }
  });
});
