import { describe, expect, test } from 'vitest';
import { ops, ScmError } from '../src/index.js';
import { cudaUsable, expectScmError, randomFloats, relL2 } from './helpers.js';

function naiveGemm(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transA: boolean, transB: boolean, batch = 1): Float64Array {
  const c = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[bi * m * k + p * m + i] : a[bi * m * k + i * k + p];
          const bv = transB ? b[bi * k * n + j * k + p] : b[bi * k * n + p * n + j];
          s += av * bv;
        }
        c[bi * m * n + i * n + j] = s;
      }
  return c;
}

describe('ops.gemm', () => {
  const sizes: [number, number, number][] = [[1, 1, 1], [17, 33, 65], [256, 384, 1152]];
  for (const [m, n, k] of sizes)
    for (const transA of [false, true])
      for (const transB of [false, true])
        test(`${m}x${n}x${k} transA=${transA} transB=${transB} matches a double reference (CPU, rel <= 1e-5)`, async () => {
          const a = randomFloats(m * k, m * 7 + k), b = randomFloats(k * n, n * 13 + k);
          const c = await ops.gemm(a, b, { m, n, k, transA, transB, backend: 'cpu' });
          expect(c.length).toBe(m * n);
          expect(relL2(c, naiveGemm(a, b, m, n, k, transA, transB))).toBeLessThanOrEqual(1e-5);
        });

  test('batched with alpha', async () => {
    const [m, n, k, batch] = [5, 6, 7, 3];
    const a = randomFloats(batch * m * k, 1), b = randomFloats(batch * k * n, 2);
    const c = await ops.gemm(a, b, { m, n, k, batch, alpha: -2, backend: 'cpu' });
    const ref = naiveGemm(a, b, m, n, k, false, false, batch).map((x) => -2 * x);
    expect(relL2(c, ref)).toBeLessThanOrEqual(1e-6);
  });

  test('CUDA matches the CPU (GPU test mode)', async (ctx) => {
    if (!cudaUsable()) return ctx.skip('CUDA unavailable');
    const a = randomFloats(256 * 1152, 3), b = randomFloats(1152 * 384, 4);
    const opts = { m: 256, n: 384, k: 1152 };
    const ref = await ops.gemm(a, b, { ...opts, backend: 'cpu' });
    expect(relL2(await ops.gemm(a, b, { ...opts, backend: 'cuda' }), ref)).toBeLessThanOrEqual(1e-5);
    expect(relL2(await ops.gemm(a, b, { ...opts, backend: 'cuda', precision: 'tf32' }), ref)).toBeLessThanOrEqual(1e-3);
    expect(relL2(await ops.gemm(a, b, { ...opts, backend: 'cuda', precision: 'bf16' }), ref)).toBeLessThanOrEqual(1e-2);
  });

  test('bad input gets ScmError with the right code, and the process keeps running', async () => {
    const a = randomFloats(6, 1), b = randomFloats(6, 2);
    await expectScmError(ops.gemm(a, b, { m: 2, n: 3, k: 3 }), 'E_SHAPE', /b has 6 elements, expected 9 \(batch x k x n = 1x3x3\)/);
    await expectScmError(ops.gemm(a, randomFloats(5, 3), { m: 2, n: 2, k: 3 }), 'E_SHAPE', /b has 5 elements, expected 6/);
    await expectScmError(ops.gemm(randomFloats(7, 1), b, { m: 2, n: 2, k: 3 }), 'E_SHAPE', /a has 7 elements, expected 6/);
    await expectScmError(ops.gemm(a, b, { m: 2.5, n: 2, k: 3 }), 'E_ARGUMENT', /m must be an integer >= 0, got 2.5/);
    await expectScmError(ops.gemm(a, b, { m: -2, n: 2, k: 3 }), 'E_ARGUMENT', /m must be an integer >= 0, got -2/);
    await expectScmError(ops.gemm(a, b, { m: NaN, n: 2, k: 3 }), 'E_ARGUMENT', /got NaN/);
    await expectScmError(ops.gemm(a, b, { m: 2, n: 3, k: 3, backend: 'tpu' as never }), 'E_ARGUMENT', /unknown backend "tpu"/);
    await expectScmError(ops.gemm(a, b, { m: 2, n: 3, k: 3, tranA: true } as never), 'E_ARGUMENT', /unknown option 'tranA'/);
    await expectScmError(ops.gemm([1, 2] as never, b, { m: 1, n: 3, k: 2 }), 'E_ARGUMENT', /a must be a Float32Array/);
    await expectScmError(ops.gemm(a, b, undefined as never), 'E_ARGUMENT', /required/);
    await expectScmError(ops.gemm(a, b, { m: 2, n: 3, k: 3, precision: 'fp8' as never }), 'E_ARGUMENT', /precision/);
    // still alive and correct afterwards
    const c = await ops.gemm(a, b, { m: 2, n: 2, k: 3 });
    expect(c.length).toBe(4);
  });

  test('errors are instances of the exported ScmError', async () => {
    const err = await ops.gemm(new Float32Array(1), new Float32Array(1), { m: 1, n: 1, k: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(ScmError);
    expect(err.code).toBe('E_SHAPE');
  });

  test('the native layer validates too (defence in depth)', async () => {
    const { native } = await import('../src/native.js');
    const err = await Promise.resolve()
      .then(() => native().gemm(new Float32Array(3), new Float32Array(4), { m: 2, n: 2, k: 2 }, 'cpu'))
      .catch((e) => e);
    expect(err).toBeInstanceOf(ScmError);
    expect(err.code).toBe('E_SHAPE');
    expect(err.message).toMatch(/a has 3 elements, expected 4/);
  });

  test('an aborted signal rejects with E_ABORTED', async () => {
    const controller = new AbortController();
    controller.abort();
    await expectScmError(ops.gemm(randomFloats(4, 1), randomFloats(4, 2), { m: 2, n: 2, k: 2, signal: controller.signal }), 'E_ABORTED');
    const late = new AbortController();
    const a = randomFloats(512 * 512, 1);
    const pending = ops.gemm(a, a, { m: 512, n: 512, k: 512, signal: late.signal });
    late.abort();
    await expectScmError(pending, 'E_ABORTED', /aborted/);
  });
});

describe('ops.randn / ops.rand (Philox4x32-10)', () => {
  test('same seed and offset give the same numbers; offsets continue the stream', async () => {
    const whole = await ops.randn(1000, { seed: 7 });
    const tail = await ops.randn(500, { seed: 7, offset: 500 });
    expect(Array.from(tail)).toEqual(Array.from(whole.subarray(500)));
    const other = await ops.randn(1000, { seed: 8 });
    expect(Array.from(other)).not.toEqual(Array.from(whole));
    expect(await ops.randn(10, { seed: 7n })).toEqual(whole.subarray(0, 10));
  });

  test('normal moments and uniform range', async () => {
    const z = await ops.randn(200_000, { seed: 1 });
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const variance = z.reduce((s, x) => s + x * x, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    const u = await ops.rand(100_000, { seed: 2 });
    expect(Math.min(...u)).toBeGreaterThan(0);
    expect(Math.max(...u)).toBeLessThan(1);
  });

  test('CUDA streams are bit-identical to the CPU (GPU test mode)', async (ctx) => {
    if (!cudaUsable()) return ctx.skip('CUDA unavailable');
    for (const fn of [ops.randn, ops.rand]) {
      const cpu = await fn(100_003, { seed: 99, offset: 5, backend: 'cpu' });
      const gpu = await fn(100_003, { seed: 99, offset: 5, backend: 'cuda' });
      expect(Buffer.from(gpu.buffer).equals(Buffer.from(cpu.buffer))).toBe(true);
    }
  });

  test('bad arguments', async () => {
    await expectScmError(ops.randn(-1, { seed: 1 }), 'E_ARGUMENT', /count must be an integer >= 0, got -1/);
    await expectScmError(ops.randn(1.5, { seed: 1 }), 'E_ARGUMENT', /count/);
    await expectScmError(ops.randn(4, {} as never), 'E_ARGUMENT', /seed/);
    await expectScmError(ops.randn(4, { seed: -3 }), 'E_ARGUMENT', /seed must be an integer >= 0, got -3/);
    await expectScmError(ops.randn(4, { seed: 1n << 64n }), 'E_ARGUMENT', /seed must be in/);
    await expectScmError(ops.rand(4, { seed: 1, backend: 'metal' as never }), 'E_ARGUMENT', /unknown backend/);
    await expectScmError(ops.rand(4, { seed: 1, sead: 2 } as never), 'E_ARGUMENT', /unknown option 'sead'/);
  });
});
