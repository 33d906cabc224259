// The CPU GEMM library as the TypeScript API sees it: backendInfo() names it, setCpuThreads
// governs it, and precision 'bf16' computes on bf16-rounded operands on the CPU. (Every path
// against double references on awkward shapes: native/tests/gemm_test.cpp.)
import { describe, expect, test } from 'vitest';
import { backendInfo, ops, setCpuThreads } from '../src/index.js';
import { randomFloats, relL2 } from './helpers.js';

/** x rounded to the nearest bf16 (ties to even), as a double. */
function bf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = ((u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16) << 16;
  return f[0];
}

function gemmRef(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, k: number, transB: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * (transB ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = s;
    }
  return c;
}

describe('CPU GEMM library', () => {
  test('backendInfo() names the CPU GEMM and how bf16 computes', () => {
    const info = backendInfo();
    expect(info.cpuGemm).toMatch(/^(onednn|openblas) \d+\.\d+\.\d+$|^builtin$/);
    expect(['native', 'fp32']).toContain(info.cpuGemmBf16);
    if (info.cpuGemm === 'builtin' || info.cpuGemm.startsWith('openblas')) expect(info.cpuGemmBf16).toBe('fp32');
  });

  test("precision 'bf16' on the CPU: the double reference on the rounded operands (tight), not the fp32 result", async () => {
    const [m, n, k] = [37, 70, 300];
    const a = randomFloats(m * k, 71), b = randomFloats(n * k, 72);
    const c16 = await ops.gemm(a, b, { m, n, k, transB: true, precision: 'bf16', backend: 'cpu' });
    const c32 = await ops.gemm(a, b, { m, n, k, transB: true, backend: 'cpu' });
    const refRounded = gemmRef(Array.from(a, bf16), Array.from(b, bf16), m, n, k, true);
    const refExact = gemmRef(a, b, m, n, k, true);
    expect(relL2(c16, refRounded)).toBeLessThanOrEqual(1e-5);
    expect(relL2(c32, refExact)).toBeLessThanOrEqual(1e-5);
    // The operands really were rounded: bf16 keeps 8 significant bits.
    const e16 = relL2(c16, refExact);
    expect(e16).toBeGreaterThan(1e-4);
    expect(e16).toBeLessThanOrEqual(2e-2);
  });

  test('setCpuThreads governs the GEMM threads (1 thread and back give the same result)', async () => {
    const before = backendInfo().cpuThreads;
    const [m, n, k] = [300, 200, 150];
    const a = randomFloats(m * k, 5), b = randomFloats(k * n, 6);
    const ref = gemmRef(a, b, m, n, k, false);
    try {
      setCpuThreads(1);
      expect(backendInfo().cpuThreads).toBe(1);
      expect(relL2(await ops.gemm(a, b, { m, n, k, backend: 'cpu' }), ref)).toBeLessThanOrEqual(1e-5);
      setCpuThreads(3);
      expect(backendInfo().cpuThreads).toBe(3);
      expect(relL2(await ops.gemm(a, b, { m, n, k, backend: 'cpu' }), ref)).toBeLessThanOrEqual(1e-5);
    } finally {
      setCpuThreads(before);
    }
  });

  test('concurrent ops.gemm calls (several libuv workers) all compute correctly', async () => {
    const shapes = [[200, 64, 96], [64, 300, 80], [128, 128, 128], [90, 70, 333]] as const;
    const cases = shapes.map(([m, n, k], i) => ({ m, n, k, a: randomFloats(m * k, 40 + i), b: randomFloats(k * n, 50 + i) }));
    const results = await Promise.all(cases.flatMap((c) => [0, 1].map(() => ops.gemm(c.a, c.b, { m: c.m, n: c.n, k: c.k, backend: 'cpu' }))));
    results.forEach((r, i) => {
      const c = cases[Math.floor(i / 2)];
      expect(relL2(r, gemmRef(c.a, c.b, c.m, c.n, c.k, false))).toBeLessThanOrEqual(1e-5);
    });
  });
});
