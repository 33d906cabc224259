import { describe, expect, test } from 'vitest';
import { ops } from '../src/index.js';
import { cudaUsable, expectScmError, randomFloats, relL2 } from './helpers.js';

function reference(g: Float32Array, batch: number, c: number): Float64Array {
  const D = g.length / batch, out = new Float64Array(g.length);
  for (let b = 0; b < batch; b++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += g[b * D + i] ** 2;
    const scale = 1 / (Math.sqrt(ss) + c);
    for (let i = 0; i < D; i++) out[b * D + i] = g[b * D + i] * scale;
  }
  return out;
}

describe('ops.tangentNormalize', () => {
  for (const [batch, D] of [[1, 1], [3, 7], [5, 1031]] as const)
    test(`normalize batch=${batch} D=${D}`, async () => {
      const g = randomFloats(batch * D, batch + D).map((x) => x * 10);
      const out = await ops.tangentNormalize(g, { batch, backend: 'cpu' });
      expect(relL2(out, reference(g, batch, 0.1))).toBeLessThanOrEqual(1e-6);
      const out2 = await ops.tangentNormalize(g, { batch, c: 2.5, backend: 'cpu' });
      expect(relL2(out2, reference(g, batch, 2.5))).toBeLessThanOrEqual(1e-6);
    });

  test('clip mode clamps to [-1, 1]', async () => {
    const g = randomFloats(64, 3).map((x) => x * 4);
    const out = await ops.tangentNormalize(g, { batch: 4, mode: 'clip' });
    expect(Array.from(out)).toEqual(Array.from(g).map((x) => Math.fround(Math.min(1, Math.max(-1, x)))));
  });

  test('CUDA matches the CPU (GPU test mode)', async (ctx) => {
    if (!cudaUsable()) return ctx.skip('CUDA unavailable');
    const g = randomFloats(7 * 100_003, 9);
    const cpu = await ops.tangentNormalize(g, { batch: 7, backend: 'cpu' });
    expect(relL2(await ops.tangentNormalize(g, { batch: 7, backend: 'cuda' }), cpu)).toBeLessThanOrEqual(1e-5);
  });

  test('bad input', async () => {
    const g = randomFloats(10, 1);
    await expectScmError(ops.tangentNormalize(g, { batch: 3 }), 'E_SHAPE', /g has 10 elements, expected a positive multiple of batch = 3/);
    await expectScmError(ops.tangentNormalize(g, { batch: 2, c: -1 }), 'E_ARGUMENT', /c must be >= 0, got -1/);
    await expectScmError(ops.tangentNormalize(g, { batch: 2, mode: 'scale' as never }), 'E_ARGUMENT', /mode must be one of/);
    await expectScmError(ops.tangentNormalize(g, { batch: 2, eps: 1 } as never), 'E_ARGUMENT', /unknown option 'eps'/);
    await expectScmError(ops.tangentNormalize(g, undefined as never), 'E_ARGUMENT', /required/);
  });
});
