// The native samplers against a plain re-implementation written here from the EDM side (SCM.md §1
// "Multi-step samplers", §6), not from the engine's TrigFlow kernels: the probability-flow ODE
// dx~/dsigma = (x~ - D(x~)) / sigma in EDM variables x~ = x / cos t, sigma = sd tan t, with the
// denoiser D = cos t x - sin t sd F, Euler and Heun (final step Euler) on the rho = 7 grid, CFG
// F = F_u + w (F_c - F_u), and the consistency model's steps with re-noising. The network is
// evaluated through the engine's single forward (modelForward), the noise comes from the Philox
// streams the sampler documents (native/core/sample.h), everything else is in double here.
//
// Random weights (never the trained-from-zero output layers), class labels, a CFG scale, a batch
// size that splits `count` unevenly, and distinct params / EMA weights (the samplers use the EMA).
import { afterAll, describe, expect, test } from 'vitest';
import { ops, sample, trainConsistency, trainDiffusion, type Model } from '../src/index.js';
import { native } from '../src/native.js';
import { randomFloats, relL2 } from './helpers.js';

const MASK = (1n << 64n) - 1n;
/** native/core/sample.cpp sample_seed, in BigInt: the Philox seed of sampling stage `stage`. */
function sampleSeed(seed: number, stage: number): bigint {
  let z = BigInt(seed) ^ ((BigInt(stage + 1) * 0xd1b54a32d192ed03n) & MASK);
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return z ^ (z >> 31n);
}

/** EDM's rho schedule (Karras et al. 2022, eq. 5) mapped to TrigFlow time. */
function edmTimes(steps: number, sd: number): number[] {
  const a = 80 ** (1 / 7), b = 0.002 ** (1 / 7);
  return Array.from({ length: steps }, (_, i) => Math.atan((a + (steps === 1 ? 0 : i / (steps - 1)) * (b - a)) ** 7 / sd));
}

/** Numbers per sample. */
const sampleSize = (m: Model) => m.config.sampleShape.reduce((a, b) => a * b, 1);

/** F(x / sd, t) from the engine's forward with the EMA weights, per sample; CFG when w !== 1. */
async function network(m: Model, x: Float64Array, t: number, labels: Int32Array | undefined, w: number, guidanceInput?: number): Promise<Float64Array> {
  const B = x.length / sampleSize(m);
  const u = Float32Array.from(x, (v) => v / m.config.sd);
  const run = async (l: Int32Array | undefined) => {
    const [F] = await native().modelForward(m.live('t'), { u, t: new Array(B).fill(t), labels: l, guidance: guidanceInput === undefined ? undefined : new Array(B).fill(guidanceInput), useEma: true, batch: B });
    return Float64Array.from(F);
  };
  const Fc = await run(labels);
  if (w === 1) return Fc;
  const Fu = await run(new Int32Array(B).fill(m.config.numClasses));
  return Fc.map((c, i) => Fu[i] + w * (c - Fu[i]));
}

async function noise(seed: number, stage: number, n: number): Promise<Float64Array> {
  return Float64Array.from(await ops.randn(n, { seed: sampleSeed(seed, stage) }));
}

/** The diffusion samplers in EDM variables. */
async function diffusionReference(m: Model, count: number, times: number[], solver: 'euler' | 'heun', labels: Int32Array, w: number, seed: number): Promise<Float64Array> {
  const sd = m.config.sd, D = sampleSize(m);
  const sigma = (t: number) => sd * Math.tan(t);
  const denoise = async (xt: Float64Array, t: number) => {
    const F = await network(m, xt, t, labels, w);
    return xt.map((v, i) => Math.cos(t) * v - Math.sin(t) * sd * F[i]);
  };
  const eps = await noise(seed, 0, count * D);
  // x~ at sigma_max: sigma_0 eps; x = cos t_0 x~
  let xe = eps.map((e) => sigma(times[0]) * e);
  for (let i = 0; i < times.length; i++) {
    const t = times[i], s0 = sigma(t);
    const tn = i + 1 < times.length ? times[i + 1] : 0, s1 = tn > 0 ? sigma(tn) : 0;
    const Dx = await denoise(xe.map((v) => Math.cos(t) * v), t);
    const d = xe.map((v, k) => (v - Dx[k]) / s0);
    const euler = xe.map((v, k) => v + (s1 - s0) * d[k]);
    if (solver === 'heun' && s1 > 0) {
      const D1 = await denoise(euler.map((v) => Math.cos(tn) * v), tn);
      xe = xe.map((v, k) => v + (s1 - s0) * 0.5 * (d[k] + (euler[k] - D1[k]) / s1));
    } else {
      xe = euler;
    }
  }
  return xe; // at sigma = 0, x = x~
}

/** Consistency sampling (SCM.md §6): x0 = cos t x - sin t sd F, re-noised to the next time. */
async function consistencyReference(m: Model, count: number, times: number[], labels: Int32Array, g: number | undefined, seed: number): Promise<Float64Array> {
  const sd = m.config.sd, D = sampleSize(m);
  let x = (await noise(seed, 0, count * D)).map((e) => sd * e);
  let x0 = x;
  for (let j = 0; j < times.length; j++) {
    const t = times[j];
    const F = await network(m, x, t, labels, 1, g);
    x0 = x.map((v, i) => Math.cos(t) * v - Math.sin(t) * sd * F[i]);
    if (j + 1 < times.length) {
      const z = await noise(seed, j + 1, count * D), tn = times[j + 1];
      x = x0.map((v, i) => Math.cos(tn) * v + Math.sin(tn) * sd * z[i]);
    }
  }
  return x0;
}

function randomise(m: Model, seed: number, scale: number): void {
  const n = m.readWeights('params').length;
  m.writeWeights('params', randomFloats(n, seed).map((v) => v * scale));
  m.writeWeights('ema', randomFloats(n, seed + 1).map((v) => v * scale));
}

/** Data space -> model space, in double. */
const modelSpace = (m: Model, data: Float32Array) => Float64Array.from(data, (v) => v * m.data.scale);

const images = { data: randomFloats(6 * 64, 5), shape: [6, 1, 8, 8], labels: new Int32Array([0, 1, 2, 0, 1, 2]) };
const models: Model[] = [];
afterAll(() => models.forEach((m) => m.dispose()));

const cases = [
  { name: 'mlp on gaussians-8', data: 'gaussians-8' as const, model: { kind: 'mlp' as const, width: 16, depth: 2, mlpRatio: 2, timeDim: 16 }, scale: 0.6 },
  { name: 'dit on 8x8 images', data: images, model: { preset: 'dit-xs' as const, width: 24, heads: 2, depth: 2, patch: 4 }, scale: 0.3 },
];

describe.each(cases)('samplers on $name, random weights, against the EDM-form reference', ({ data, model, scale }) => {
  let teacher: Model;
  test('diffusion: Euler and Heun, with and without CFG, on the rho-7 grid and on given times', async () => {
    teacher = await trainDiffusion({ data, model, steps: 1, batchSize: 4, seed: 2, labelDropout: 0.1 });
    models.push(teacher);
    randomise(teacher, 31, scale);
    const count = 5, K = teacher.config.numClasses;
    expect(K).toBeGreaterThan(1);
    const labels = Int32Array.from({ length: count }, (_, i) => (i * 2) % K);
    const runs = [
      { solver: 'heun' as const, steps: 4, guidance: 1.7 },
      { solver: 'heun' as const, steps: 3, guidance: 1 },
      { solver: 'euler' as const, steps: 4, guidance: 2.5 },
      { solver: 'heun' as const, times: [1.4, 0.9, 0.3], guidance: 0 },
    ];
    for (const r of runs) {
      const times = r.times ?? edmTimes(r.steps!, teacher.config.sd);
      const got = await sample(teacher, { count, labels, seed: 13, batchSize: 2, solver: r.solver, guidance: r.guidance, ...(r.times ? { times: r.times } : { steps: r.steps }) });
      const ref = await diffusionReference(teacher, count, times, r.solver, labels, r.guidance, 13);
      const cfg = r.guidance !== 1 ? 2 : 1;
      expect(got.nfe, JSON.stringify(r)).toBe(cfg * (r.solver === 'heun' ? 2 * times.length - 1 : times.length));
      expect(relL2(modelSpace(teacher, got.data), ref), JSON.stringify(r)).toBeLessThan(2e-4);
      // not a degenerate comparison: the samples move away from the initial noise and differ per class
      expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(1e-3);
    }
    // the guidance scale matters (a sampler ignoring it would pass a w = 1 check alone)
    const a = await sample(teacher, { count, labels, seed: 13, steps: 4, guidance: 1 });
    const b = await sample(teacher, { count, labels, seed: 13, steps: 4, guidance: 2 });
    expect(relL2(b.data, a.data)).toBeGreaterThan(1e-3);
  });

  test('consistency: 1 step, 2 steps and given times, with a guidance input', async () => {
    const student = await trainConsistency({ method: 'scd', teacher, data, steps: 1, batchSize: 4, seed: 3, guidance: [1, 2] });
    models.push(student);
    expect(student.config.guidanceInput).toBe(true);
    randomise(student, 47, scale);
    const count = 5, K = student.config.numClasses;
    const labels = Int32Array.from({ length: count }, (_, i) => (i + 1) % K);
    const tmax = Math.atan(80 / student.config.sd);
    for (const r of [{ steps: 1, times: [tmax], g: 1.25 }, { steps: 2, times: [tmax, 1.1], g: 1.9 }, { times: [1.5, 1.0, 0.4], g: 1 }]) {
      const got = await sample(student, { count, labels, seed: 21, batchSize: 3, guidance: r.g, ...(r.steps ? { steps: r.steps } : { times: r.times }) });
      expect(got.nfe).toBe(r.times.length);
      const ref = await consistencyReference(student, count, r.times, labels, r.g, 21);
      expect(relL2(modelSpace(student, got.data), ref), JSON.stringify(r)).toBeLessThan(2e-4);
    }
    // the guidance input reaches the network
    const a = await sample(student, { count, labels, seed: 21, guidance: 1 });
    const b = await sample(student, { count, labels, seed: 21, guidance: 2 });
    expect(relL2(b.data, a.data)).toBeGreaterThan(1e-4);
  });
});
