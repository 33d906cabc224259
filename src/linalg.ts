// Dense symmetric linear algebra in double precision for the quality metrics: the symmetric
// eigen-decomposition (Householder reduction to tridiagonal form, then implicit QL iterations
// with Wilkinson shifts) and a plain matrix product. Matrices are row-major Float64Arrays.
import { ScmError } from './errors.js';

export interface SymmetricEigen {
  /** Ascending. */
  values: Float64Array;
  /** Row i is the unit eigenvector of values[i] (n x n, row-major); only when asked for. */
  vectors?: Float64Array;
}

/** Dot product of x[xo .. xo + length) and y[yo .. yo + length), four partial sums. */
export function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, length: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, p = 0;
  for (; p + 3 < length; p += 4) {
    s0 += x[xo + p] * y[yo + p];
    s1 += x[xo + p + 1] * y[yo + p + 1];
    s2 += x[xo + p + 2] * y[yo + p + 2];
    s3 += x[xo + p + 3] * y[yo + p + 3];
  }
  for (; p < length; p++) s0 += x[xo + p] * y[yo + p];
  return s0 + s1 + s2 + s3;
}

/** c = a (n x k) times b (k x m), row-major (dot products against the transposed b). */
export function matmul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const bt = new Float64Array(k * m);
  for (let p = 0; p < k; p++) for (let j = 0; j < m; j++) bt[j * k + p] = b[p * m + j];
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) c[i * m + j] = dot(a, i * k, bt, j * k, k);
  return c;
}

/**
 * Householder reduction of the symmetric matrix `a` (n x n, lower triangle read and overwritten) to tridiagonal form
 * T = Q^T A Q: returns the diagonal d, the subdiagonal e (e[i] couples i and i + 1) and, when
 * asked, Q^T (row-major).
 */
function tridiagonalize(a: Float64Array, n: number, wantQ: boolean): { d: Float64Array; e: Float64Array; qt?: Float64Array } {
  const d = new Float64Array(n), e = new Float64Array(n);
  const reflectors: Float64Array[] = [];
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    // reflect the column below the diagonal, x = a[k+1.., k], onto alpha e1
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += a[i * n + k] ** 2;
    const x0 = a[(k + 1) * n + k];
    const tail2 = norm2 - x0 * x0;
    if (tail2 <= 1e-300 * Math.max(norm2, 1e-300)) {
      reflectors.push(new Float64Array(0));
      continue; // already tridiagonal in this column
    }
    const alpha = x0 > 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    const v = new Float64Array(n);
    for (let i = k + 1; i < n; i++) v[i] = a[i * n + k];
    v[k + 1] -= alpha;
    let vn = 0;
    for (let i = k + 1; i < n; i++) vn += v[i] * v[i];
    vn = Math.sqrt(vn);
    for (let i = k + 1; i < n; i++) v[i] /= vn;
    // H A H on the trailing block with H = I - 2 v v^T: A - 2 v w^T - 2 w v^T, w = p - (v.p) v,
    // p = A v; only the lower triangle of the trailing block is read and kept up to date
    p.fill(0, k + 1);
    for (let i = k + 1; i < n; i++) {
      const row = i * n, vi = v[i];
      let s = 0;
      for (let j = k + 1; j < i; j++) {
        s += a[row + j] * v[j];
        p[j] += a[row + j] * vi;
      }
      p[i] += s + a[row + i] * vi;
    }
    let vp = 0;
    for (let i = k + 1; i < n; i++) vp += v[i] * p[i];
    for (let i = k + 1; i < n; i++) p[i] -= vp * v[i];
    for (let i = k + 1; i < n; i++) {
      const row = i * n, vi = v[i], wi = p[i];
      for (let j = k + 1; j <= i; j++) a[row + j] -= 2 * (vi * p[j] + wi * v[j]);
    }
    a[(k + 1) * n + k] = alpha;
    for (let i = k + 2; i < n; i++) a[i * n + k] = 0;
    reflectors.push(v);
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
  for (let i = 0; i + 1 < n; i++) e[i] = a[(i + 1) * n + i];
  if (!wantQ) return { d, e };
  // Q^T = H_last ... H_1 H_0 (each H symmetric): apply H_0 first to the identity
  const qt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) qt[i * n + i] = 1;
  const s = new Float64Array(n);
  reflectors.forEach((v, k) => {
    if (v.length === 0) return;
    s.fill(0);
    for (let i = k + 1; i < n; i++) {
      const vi = v[i], row = i * n;
      for (let j = 0; j < n; j++) s[j] += vi * qt[row + j];
    }
    for (let i = k + 1; i < n; i++) {
      const f = 2 * v[i], row = i * n;
      for (let j = 0; j < n; j++) qt[row + j] -= f * s[j];
    }
  });
  return { d, e, qt };
}

/**
 * Eigenvalues (and optionally eigenvectors, as rows) of the symmetric tridiagonal matrix (d, e)
 * by implicit QL with Wilkinson shifts; `z` (rows = vectors so far) is rotated along.
 */
function tridiagonalQl(d: Float64Array, e: Float64Array, z: Float64Array | undefined, n: number): void {
  for (let l = 0; l < n; l++) {
    for (let iteration = 0; ; iteration++) {
      let m = l;
      while (m + 1 < n) {
        const scale = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * scale || Math.abs(e[m]) < 1e-300) break;
        m++;
      }
      if (m === l) break;
      if (iteration >= 100) throw new ScmError(`symmetric eigen-solver: no convergence for eigenvalue ${l} of ${n}`, 'E_INTERNAL');
      // Wilkinson shift from the leading 2 x 2 block
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i], b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // an exact zero appeared: split here and start again
          d[i + 1] -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        if (z !== undefined) {
          const rowI = i * n, rowJ = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const zi = z[rowI + k], zj = z[rowJ + k];
            z[rowJ + k] = s * zi + c * zj;
            z[rowI + k] = c * zi - s * zj;
          }
        }
      }
      if (deflated) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/** Eigen-decomposition of the symmetric n x n matrix `a` (not modified; only its lower triangle is read). */
export function symmetricEigen(a: Float64Array, n: number, { vectors = false }: { vectors?: boolean } = {}): SymmetricEigen {
  const work = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) work[i * n + j] = a[i * n + j];
  const { d, e, qt } = tridiagonalize(work, n, vectors);
  tridiagonalQl(d, e, qt, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y]);
  const values = Float64Array.from(order, (i) => d[i]);
  if (!vectors) return { values };
  const sorted = new Float64Array(n * n);
  order.forEach((from, to) => sorted.set(qt!.subarray(from * n, from * n + n), to * n));
  return { values, vectors: sorted };
}
