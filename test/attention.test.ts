import { describe, expect, test } from 'vitest';
import { ops } from '../src/index.js';
import { cudaUsable, expectScmError, randomFloats, relL2 } from './helpers.js';

// Double-precision reference: per (batch, head), S = scale q kᵀ, P = softmax(S), O = P v,
// Ȯ = (P ⊙ Ṡ) v − rowsum(P ⊙ Ṡ) ⊙ O + P v̇ (SCM.md §3), lse = log Σ exp S.
function reference(q: Float32Array, k: Float32Array, v: Float32Array, tq: Float32Array, tk: Float32Array, tv: Float32Array,
  B: number, H: number, Lq: number, Lk: number, d: number) {
  const scale = 1 / Math.sqrt(d);
  const out = new Float64Array(B * H * Lq * d), tout = new Float64Array(B * H * Lq * d), lse = new Float64Array(B * H * Lq);
  for (let bh = 0; bh < B * H; bh++) {
    const qo = bh * Lq * d, ko = bh * Lk * d;
    for (let i = 0; i < Lq; i++) {
      const s = new Float64Array(Lk), sd = new Float64Array(Lk);
      let m = -Infinity;
      for (let j = 0; j < Lk; j++) {
        let a = 0, b = 0;
        for (let c = 0; c < d; c++) {
          a += q[qo + i * d + c] * k[ko + j * d + c];
          b += tq[qo + i * d + c] * k[ko + j * d + c] + q[qo + i * d + c] * tk[ko + j * d + c];
        }
        s[j] = scale * a;
        sd[j] = scale * b;
        m = Math.max(m, s[j]);
      }
      let l = 0;
      for (let j = 0; j < Lk; j++) l += Math.exp(s[j] - m);
      lse[bh * Lq + i] = m + Math.log(l);
      let mu = 0;
      for (let j = 0; j < Lk; j++) mu += (Math.exp(s[j] - m) / l) * sd[j];
      for (let c = 0; c < d; c++) {
        let o = 0, t = 0;
        for (let j = 0; j < Lk; j++) {
          const p = Math.exp(s[j] - m) / l;
          o += p * v[ko + j * d + c];
          t += p * sd[j] * v[ko + j * d + c] + p * tv[ko + j * d + c];
        }
        out[qo + i * d + c] = o;
        tout[qo + i * d + c] = t - mu * o;
      }
    }
  }
  return { out, tout, lse };
}

describe('ops.attention / attentionJvp / attentionBackward (CPU)', () => {
  const cases: [number, number, number, number, number][] = [
    [1, 1, 1, 1, 16],
    [2, 3, 15, 33, 32],
    [1, 2, 70, 65, 64],
  ];
  for (const [B, H, Lq, Lk, d] of cases)
    for (const implementation of ['flash', 'naive'] as const)
      test(`${implementation} B=${B} H=${H} Lq=${Lq} Lk=${Lk} d=${d} matches a double reference`, async () => {
        const nq = B * H * Lq * d, nk = B * H * Lk * d;
        const [q, tq] = [randomFloats(nq, 1), randomFloats(nq, 2)];
        const [k, v, tk, tv] = [3, 4, 5, 6].map((s) => randomFloats(nk, s));
        const ref = reference(q, k, v, tq, tk, tv, B, H, Lq, Lk, d);
        const shape = { batch: B, heads: H, lenQ: Lq, lenK: Lk, headDim: d, implementation, backend: 'cpu' as const };
        const fwd = await ops.attention(q, k, v, shape);
        expect(relL2(fwd.out, ref.out)).toBeLessThanOrEqual(1e-5);
        expect(relL2(fwd.lse, ref.lse)).toBeLessThanOrEqual(1e-5);
        const jvp = await ops.attentionJvp(q, k, v, tq, tk, tv, shape);
        expect(relL2(jvp.out, ref.out)).toBeLessThanOrEqual(1e-5);
        expect(relL2(jvp.tangentOut, ref.tout)).toBeLessThanOrEqual(1e-5);
        // backward: <gradOut, dO> along (tq, tk, tv) equals <gq,tq> + <gk,tk> + <gv,tv>
        const gradOut = randomFloats(nq, 7);
        const g = await ops.attentionBackward(q, k, v, fwd.out, fwd.lse, gradOut, shape);
        let lhs = 0, rhs = 0;
        for (let i = 0; i < nq; i++) lhs += gradOut[i] * ref.tout[i];
        for (let i = 0; i < nq; i++) rhs += g.gq[i] * tq[i];
        for (let i = 0; i < nk; i++) rhs += g.gk[i] * tk[i] + g.gv[i] * tv[i];
        expect(Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), 1e-6)).toBeLessThanOrEqual(1e-4);
      });

  test('a batch item with no valid key gives zeros and -Infinity, never NaN', async () => {
    const [B, H, L, d] = [2, 1, 5, 8];
    const q = randomFloats(B * H * L * d, 1), k = randomFloats(B * H * L * d, 2), v = randomFloats(B * H * L * d, 3);
    const r = await ops.attention(q, k, v, { batch: B, heads: H, lenQ: L, lenK: L, headDim: d, keyLengths: new Int32Array([0, 3]), backend: 'cpu' });
    expect(Array.from(r.out.subarray(0, L * d)).every((x) => x === 0)).toBe(true);
    expect(Array.from(r.lse.subarray(0, L)).every((x) => x === -Infinity)).toBe(true);
    expect(r.out.every((x) => Number.isFinite(x))).toBe(true);
  });

  test('CUDA matches the CPU (GPU test mode)', async (ctx) => {
    if (!cudaUsable()) return ctx.skip('CUDA unavailable');
    const [B, H, Lq, Lk, d] = [2, 2, 515, 999, 64];
    const q = randomFloats(B * H * Lq * d, 1), tq = randomFloats(B * H * Lq * d, 2);
    const [k, v, tk, tv] = [3, 4, 5, 6].map((s) => randomFloats(B * H * Lk * d, s));
    const shape = { batch: B, heads: H, lenQ: Lq, lenK: Lk, headDim: d };
    const cpu = await ops.attentionJvp(q, k, v, tq, tk, tv, { ...shape, backend: 'cpu' });
    for (const [precision, tol] of [['bf16', 1e-2], ['fp16', 5e-3]] as const) {
      const gpu = await ops.attentionJvp(q, k, v, tq, tk, tv, { ...shape, backend: 'cuda', precision });
      expect(relL2(gpu.out, cpu.out)).toBeLessThanOrEqual(tol);
      expect(relL2(gpu.tangentOut, cpu.tangentOut)).toBeLessThanOrEqual(tol);
    }
  });

  test('shape mismatches name the argument and the expected size', async () => {
    const shape = { batch: 1, heads: 2, lenQ: 3, lenK: 4, headDim: 5 };
    const q = randomFloats(30, 1), kv = randomFloats(40, 2);
    await expectScmError(ops.attention(randomFloats(29, 1), kv, kv, shape), 'E_SHAPE', /q has 29 elements, expected 30 \(batch x heads x lenQ x headDim = 1x2x3x5\)/);
    await expectScmError(ops.attention(q, kv, randomFloats(41, 3), shape), 'E_SHAPE', /v has 41 elements, expected 40/);
    await expectScmError(ops.attentionJvp(q, kv, kv, q, kv, randomFloats(3, 1), shape), 'E_SHAPE', /tv has 3 elements, expected 40/);
    await expectScmError(ops.attentionBackward(q, kv, kv, q, randomFloats(5, 1), q, shape), 'E_SHAPE', /lse has 5 elements, expected 6/);
    await expectScmError(ops.attention(q, kv, kv, { ...shape, headDim: 0 }), 'E_ARGUMENT', /headDim must be an integer >= 1, got 0/);
    await expectScmError(ops.attention(q, kv, kv, { ...shape, lenQ: 1.5 }), 'E_ARGUMENT', /lenQ/);
    await expectScmError(ops.attention(q, kv, kv, { ...shape, keyLengths: new Int32Array([9]) }), 'E_ARGUMENT', /keyLengths entry 9 is outside/);
    await expectScmError(ops.attention(q, kv, kv, { ...shape, causal: true } as never), 'E_ARGUMENT', /unknown option 'causal'/);
    await expectScmError(ops.attention(q, kv, kv, { ...shape, backend: 'opencl' as never }), 'E_ARGUMENT', /unknown backend/);
  });
});
