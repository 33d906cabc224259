// The model / training / sampling API: checkpoints (bit-exact round trip, hostile files), resume
// with the identical continuation, abort, sampler argument checks, typed errors for bad options.
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadModel, sample, trainConsistency, trainDiffusion, writeSafetensors, type Model } from '../src/index.js';
import { readSafetensors } from '../src/checkpoint.js';
import { parameterCount, resolveNetworkConfig } from '../src/model-config.js';
import { expectScmError } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'scm-model-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const NET = { kind: 'mlp' as const, width: 16, depth: 2, mlpRatio: 2, timeDim: 16 };
const tiny = (o: Record<string, unknown> = {}) => ({ data: 'gaussians-8' as const, model: NET, steps: 6, batchSize: 16, lr: 1e-2, seed: 3, ...o });

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('checkpoints', () => {
  test('save / loadModel round trip is bit-exact (weights, EMA, config) and samples identically', async () => {
    const m = await trainDiffusion(tiny());
    const file = path.join(dir, 'rt.safetensors');
    await m.save(file);
    const back = await loadModel(file);
    expect(back.kind).toBe('diffusion');
    expect(back.config).toEqual(m.config);
    expect(back.data).toEqual(m.data);
    expect(sameBits(back.readWeights('params'), m.readWeights('params'))).toBe(true);
    expect(sameBits(back.readWeights('ema'), m.readWeights('ema'))).toBe(true);
    const a = await sample(m, { count: 8, steps: 4, seed: 1 }), b = await sample(back, { count: 8, steps: 4, seed: 1 });
    expect(sameBits(a.data, b.data)).toBe(true);
    m.dispose();
    back.dispose();
  });

  test('the parameter count of a config matches the engine', async () => {
    const images = { data: new Float32Array(4 * 64).map((_, i) => Math.sin(i * 0.37)), shape: [4, 1, 8, 8], labels: new Int32Array([0, 1, 2, 0]) };
    const cases = [
      { data: 'moons' as const, model: 'mlp-s' as const, shape: [2], classes: 2 },
      { data: 'moons' as const, model: NET, shape: [2], classes: 2 },
      { data: images, model: { preset: 'dit-xs' as const, width: 24, heads: 2, depth: 2 }, shape: [1, 8, 8], classes: 3 },
      { data: images, model: { preset: 'dit-xs' as const, width: 24, heads: 2, depth: 1, patch: 2, learnedPosEmbed: false }, shape: [1, 8, 8], classes: 3 },
    ];
    for (const c of cases) {
      const cfg = resolveNetworkConfig(c.model, { sampleShape: c.shape, numClasses: c.classes }, 't');
      const m = await trainDiffusion({ data: c.data, model: c.model, steps: 1, batchSize: 2, seed: 1 });
      expect(m.parameterCount).toBe(parameterCount(cfg));
      m.dispose();
    }
  });

  test('a truncated, corrupted or mismatched checkpoint is refused with E_BAD_CHECKPOINT', async () => {
    const m = await trainDiffusion(tiny());
    const file = path.join(dir, 'good.safetensors');
    await m.save(file);
    const bytes = readFileSync(file);
    const truncated = path.join(dir, 'truncated.safetensors');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 17));
    await expectScmError(loadModel(truncated), 'E_BAD_CHECKPOINT');
    const hostile = path.join(dir, 'hostile.safetensors');
    const h = Buffer.from(bytes);
    h.writeBigUInt64LE(1n << 60n, 0);  // claims an exabyte header
    writeFileSync(hostile, h);
    await expectScmError(loadModel(hostile), 'E_BAD_CHECKPOINT');
    // valid safetensors, wrong content: a tensor of the wrong shape, an unknown tensor, NaN weights
    const st = await readSafetensors(file);
    const entries = new Map([...st.tensors].map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.shape, data: v.data as Float32Array }]));
    const first = [...entries.keys()][0];
    const wrong = new Map(entries);
    wrong.set(first, { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    await writeSafetensors(path.join(dir, 'shape.safetensors'), wrong, st.metadata);
    await expectScmError(loadModel(path.join(dir, 'shape.safetensors')), 'E_BAD_CHECKPOINT', /shape/);
    const extra = new Map(entries);
    extra.set('not.a.parameter', { dtype: 'F32', shape: [2], data: new Float32Array(2) });
    await writeSafetensors(path.join(dir, 'extra.safetensors'), extra, st.metadata);
    await expectScmError(loadModel(path.join(dir, 'extra.safetensors')), 'E_BAD_CHECKPOINT', /unexpected tensor/);
    const nan = new Map(entries);
    const d = new Float32Array(entries.get(first)!.data);
    d[0] = NaN;
    nan.set(first, { ...entries.get(first)!, data: d });
    await writeSafetensors(path.join(dir, 'nan.safetensors'), nan, st.metadata);
    await expectScmError(loadModel(path.join(dir, 'nan.safetensors')), 'E_BAD_CHECKPOINT', /non-finite/);
    await writeSafetensors(path.join(dir, 'meta.safetensors'), entries, { ...st.metadata, config: '{"kind":"mlp"' });
    await expectScmError(loadModel(path.join(dir, 'meta.safetensors')), 'E_BAD_CHECKPOINT', /config/);
    await expectScmError(loadModel(path.join(dir, 'missing.safetensors')), 'E_IO');
    m.dispose();
  });
});

describe('resume', () => {
  test.each(['diffusion', 'sct'] as const)('%s: a run interrupted and resumed from its checkpoint equals the uninterrupted run bit for bit', async (kind) => {
    const train = (o: Record<string, unknown>) =>
      kind === 'diffusion'
        ? trainDiffusion(tiny({ dropout: 0.1, labelDropout: 0.2, ...o }))
        : trainConsistency({ method: 'sct', data: 'gaussians-8', model: NET, batchSize: 16, lr: 1e-2, seed: 3, warmupSteps: 4, ...o } as Parameters<typeof trainConsistency>[0]);
    const whole = await train({ steps: 12 });
    const file = path.join(dir, `resume-${kind}.safetensors`);
    const first = await train({ steps: 5, checkpoint: { path: file, every: 100 } });
    first.dispose();
    const resumed = await train({ steps: 12, checkpoint: { path: file, every: 100 } });
    expect(resumed.training.stepsDone).toBe(12);
    expect(sameBits(resumed.readWeights('params'), whole.readWeights('params'))).toBe(true);
    expect(sameBits(resumed.readWeights('ema'), whole.readWeights('ema'))).toBe(true);
    // a checkpoint of another run is refused, not silently continued
    await expectScmError(train({ steps: 14, seed: 4, checkpoint: { path: file } }), 'E_ARGUMENT', /seed/);
    whole.dispose();
    resumed.dispose();
  });

  test('abort stops cleanly with E_ABORTED, keeps a loadable checkpoint, and the run resumes from it', async () => {
    const file = path.join(dir, 'abort.safetensors');
    const ac = new AbortController();
    await expectScmError(
      trainDiffusion(tiny({ steps: 400, checkpoint: { path: file, every: 1000 }, progressEvery: 1, onProgress: (p: { step: number }) => { if (p.step === 3) ac.abort(); }, signal: ac.signal })),
      'E_ABORTED',
    );
    expect(existsSync(file)).toBe(true);
    const back = await loadModel(file);
    expect(back.training.stepsDone).toBe(3);
    back.dispose();
    const done = await trainDiffusion(tiny({ steps: 5, checkpoint: { path: file } }));
    expect(done.training.stepsDone).toBe(5);
    done.dispose();
  });
});

describe('argument checks', () => {
  let model: Model;
  test('bad training options are ScmErrors naming the option', async () => {
    await expectScmError(trainDiffusion(tiny({ stepz: 3 })), 'E_ARGUMENT', /unknown option 'stepz'/);
    await expectScmError(trainDiffusion(tiny({ steps: 0 })), 'E_ARGUMENT', /steps/);
    await expectScmError(trainDiffusion(tiny({ model: 'dit-xs' })), 'E_ARGUMENT', /cannot take samples/);
    await expectScmError(trainDiffusion(tiny({ data: 'swiss-roll' })), 'E_ARGUMENT', /unknown data set/);
    await expectScmError(trainDiffusion(tiny({ proposal: { mean: 0, std: -1 } })), 'E_ARGUMENT', /proposal/);
    model = await trainDiffusion(tiny());
    await expectScmError(trainConsistency({ method: 'ict' as 'sct', teacher: model, data: 'gaussians-8', steps: 2 }), 'E_ARGUMENT', /method/);
    await expectScmError(trainConsistency({ method: 'scd', data: 'gaussians-8', steps: 2 }), 'E_ARGUMENT', /teacher/);
    await expectScmError(trainConsistency({ method: 'scd', teacher: model, data: 'gaussians-8', steps: -1 }), 'E_ARGUMENT', /steps/);
    // a teacher of another shape (3-D data vs the 2-D teacher)
    const data3 = { data: new Float32Array(30).map((_, i) => Math.sin(i)), shape: [10, 3] };
    await expectScmError(trainConsistency({ method: 'scd', teacher: model, data: data3, steps: 2 }), 'E_ARGUMENT', /shape/);
    await expectScmError(trainConsistency({ method: 'scd', teacher: model, data: 'gaussians-8', steps: 2, modulation: 'adaln' }), 'E_ARGUMENT', /modulation/);
  });

  test('samplers refuse bad times: at or above pi/2, increasing, or non-finite', async () => {
    await expectScmError(sample(model, { count: 2, times: [Math.PI / 2, 1] }), 'E_ARGUMENT', /pi\/2/);
    await expectScmError(sample(model, { count: 2, times: [1.6, 1] }), 'E_ARGUMENT', /pi\/2/);
    await expectScmError(sample(model, { count: 2, times: [0.5, 1] }), 'E_ARGUMENT', /decrease/);
    await expectScmError(sample(model, { count: 2, times: [NaN] }), 'E_ARGUMENT', /finite/);
    await expectScmError(sample(model, { count: 0 }), 'E_ARGUMENT', /count/);
    await expectScmError(sample(model, { count: 2, solver: 'rk4' as 'heun' }), 'E_ARGUMENT', /solver/);
    const s = await sample(model, { count: 3, times: [1.5, 0.8, 0.1], solver: 'euler' });
    expect(s.nfe).toBe(3);
    expect(s.shape).toEqual([3, 2]);
    model.dispose();
    await expectScmError(sample(model, { count: 2 }), 'E_ARGUMENT', /disposed/);
  });
});

describe('learning-rate schedule', () => {
  test('linear warm-up, then the linear cool-down over the last lrCooldownSteps of steps', async () => {
    const lrs: number[] = [];
    const m = await trainDiffusion(tiny({ steps: 10, lr: 0.01, lrWarmupSteps: 2, lrCooldownSteps: 4, progressEvery: 1, onProgress: (p: { lr: number }) => lrs.push(p.lr) }));
    m.dispose();
    // step 1: warm-up 1/2; steps 7..10: (10 - s + 1) / 4 of the peak
    const want = [0.005, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.0075, 0.005, 0.0025];
    expect(lrs.length).toBe(10);
    lrs.forEach((lr, i) => expect(lr).toBeCloseTo(want[i], 12));
  });

  test('a cool-down longer than the run is refused', async () => {
    await expectScmError(trainDiffusion(tiny({ steps: 5, lrCooldownSteps: 6 })), 'E_ARGUMENT', /lrCooldownSteps = 6 is more than steps = 5/);
  });
});
