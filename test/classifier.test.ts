// The classifier's network: backward against finite differences in double precision, forward
// (float32 through ops.gemm, and double) against an independent direct implementation, im2col /
// col2im adjointness, the augmentation, determinism of training, learning on real data, and the
// file format.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadFashionMnist, readSafetensors, writeSafetensors } from '../src/index.js';
import { Classifier, loadClassifier, saveClassifier } from '../src/classifier/features.js';
import {
  argmaxRows, backward, col2im, cpuEngine, DEFAULT_CONFIG, forward, im2col, PARAM_NAMES, paramCount, paramShapes, softmaxCrossEntropy,
  type ClassifierConfig, type Engine, type Params,
} from '../src/classifier/model.js';
import { augment, initParams, trainClassifier } from '../src/classifier/train.js';
import { matmul } from '../src/linalg.js';
import { Rng } from '../src/random.js';
import { expectScmError, relL2 } from './helpers.js';

/** Double precision, products by linalg.matmul (transposes formed explicitly). */
const doubleEngine: Engine<Float64Array> = {
  zeros: (n) => new Float64Array(n),
  async matmul(a, b, { m, n, k, transA, transB }) {
    const t = (x: Float64Array, rows: number, cols: number) => {
      const out = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
      return out;
    };
    return matmul(transA ? t(a, k, m) : a, transB ? t(b, n, k) : b, m, k, n);
  },
};

/** He-like random weights, positive biases (0.5 +- 0.2) so that few units are dead. */
function randomParams<A extends Float32Array | Float64Array>(c: ClassifierConfig, seed: number, make: (n: number) => A, scale = 1): Params<A> {
  const rng = new Rng(seed, 7);
  const shapes = paramShapes(c);
  const p = {} as Params<A>;
  for (const name of PARAM_NAMES) {
    const shape = shapes[name];
    const data = make(shape.reduce((a, b) => a * b, 1));
    const fanIn = name.endsWith('.weight') ? data.length / shape[shape.length - 1] : 1;
    for (let i = 0; i < data.length; i++) data[i] = name.endsWith('.bias') ? 0.5 + 0.2 * rng.normal() : (scale * rng.normal()) / Math.sqrt(fanIn);
    p[name] = data;
  }
  return p;
}

function randomImages<A extends Float32Array | Float64Array>(count: number, pixels: number, seed: number, make: (n: number) => A): A {
  const rng = new Rng(seed, 9);
  const x = make(count * pixels);
  for (let i = 0; i < x.length; i++) x[i] = 2 * rng.uniform() - 1;
  return x;
}

/**
 * The network written out directly: NCHW, convolution as the 3x3 sum with the border value
 * (-1 for the image, 0 inside), bias, ReLU, 2x2 max pool, then the two dense layers. The weight
 * layouts follow the file format: conv [ky][kx][cin][cout], fc1 rows in (y, x, c) order.
 */
function directForward(c: ClassifierConfig, p: Params<Float32Array> | Params<Float64Array>, x: ArrayLike<number>, batch: number): { features: Float64Array; logits: Float64Array } {
  const conv = (src: Float64Array, cin: number, cout: number, s: number, w: ArrayLike<number>, bias: ArrayLike<number>, border: number) => {
    const out = new Float64Array(cout * s * s);
    for (let co = 0; co < cout; co++) for (let y = 0; y < s; y++) for (let xx = 0; xx < s; xx++) {
      let sum = bias[co];
      for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) for (let ci = 0; ci < cin; ci++) {
        const yy = y + ky - 1, xs = xx + kx - 1;
        const v = yy < 0 || yy >= s || xs < 0 || xs >= s ? border : src[(ci * s + yy) * s + xs];
        sum += v * w[((ky * 3 + kx) * cin + ci) * cout + co];
      }
      out[(co * s + y) * s + xx] = Math.max(sum, 0);
    }
    return out;
  };
  const pool = (src: Float64Array, ch: number, s: number) => {
    const h = s / 2, out = new Float64Array(ch * h * h);
    for (let ci = 0; ci < ch; ci++) for (let y = 0; y < h; y++) for (let xx = 0; xx < h; xx++) {
      const at = (dy: number, dx: number) => src[(ci * s + 2 * y + dy) * s + 2 * xx + dx];
      out[(ci * h + y) * h + xx] = Math.max(at(0, 0), at(0, 1), at(1, 0), at(1, 1));
    }
    return out;
  };
  const s = c.size, q = s / 4, flat = q * q * c.c2;
  const features = new Float64Array(batch * c.hidden), logits = new Float64Array(batch * c.classes);
  for (let b = 0; b < batch; b++) {
    const img = Float64Array.from({ length: s * s }, (_, i) => x[b * s * s + i]);
    const a1 = pool(conv(img, 1, c.c1, s, p['conv1.weight'], p['conv1.bias'], -1), c.c1, s);
    const a2 = pool(conv(a1, c.c1, c.c2, s / 2, p['conv2.weight'], p['conv2.bias'], 0), c.c2, s / 2);
    const v = new Float64Array(flat); // (y, x, c) order
    for (let ci = 0; ci < c.c2; ci++) for (let y = 0; y < q; y++) for (let xx = 0; xx < q; xx++) v[(y * q + xx) * c.c2 + ci] = a2[(ci * q + y) * q + xx];
    for (let j = 0; j < c.hidden; j++) {
      let sum = p['fc1.bias'][j];
      for (let i = 0; i < flat; i++) sum += v[i] * p['fc1.weight'][i * c.hidden + j];
      features[b * c.hidden + j] = Math.max(sum, 0);
    }
    for (let j = 0; j < c.classes; j++) {
      let sum = p['fc2.bias'][j];
      for (let i = 0; i < c.hidden; i++) sum += features[b * c.hidden + i] * p['fc2.weight'][i * c.classes + j];
      logits[b * c.classes + j] = sum;
    }
  }
  return { features, logits };
}

const TINY: ClassifierConfig = { size: 8, c1: 2, c2: 3, hidden: 4, classes: 3 };

describe('classifier network', () => {
  test('backward matches central finite differences of the cross-entropy, every parameter, in double', async () => {
    const batch = 4, labels = new Int32Array([0, 2, 1, 1]);
    const p = randomParams(TINY, 1, (n) => new Float64Array(n));
    const x = randomImages(batch, TINY.size * TINY.size, 2, (n) => new Float64Array(n));
    // centre each feature unit's pre-activation over the batch, so that every unit is active on
    // some images and inactive on others (random weights alone leave most units dead)
    const f0 = await forward(doubleEngine, TINY, p, x, batch);
    const z3 = await doubleEngine.matmul(f0.act2, p['fc1.weight'], { m: batch, n: TINY.hidden, k: f0.act2.length / batch });
    for (let j = 0; j < TINY.hidden; j++) {
      const column = Array.from({ length: batch }, (_, b) => z3[b * TINY.hidden + j]).sort((u, v) => u - v);
      p['fc1.bias'][j] = -0.5 * (column[1] + column[2]);
    }
    const lossAt = async () => softmaxCrossEntropy((await forward(doubleEngine, TINY, p, x, batch)).logits, labels, TINY.classes, doubleEngine).loss;
    const f = await forward(doubleEngine, TINY, p, x, batch);
    const g = await backward(doubleEngine, TINY, p, f, softmaxCrossEntropy(f.logits, labels, TINY.classes, doubleEngine).dLogits);
    const h = 1e-6;
    let checked = 0, nonzero = 0, worst = 0;
    for (const name of PARAM_NAMES) {
      expect(g[name].length, name).toBe(p[name].length);
      for (let i = 0; i < p[name].length; i++) {
        const keep = p[name][i];
        p[name][i] = keep + h;
        const up = await lossAt();
        p[name][i] = keep - h;
        const down = await lossAt();
        p[name][i] = keep;
        const fd = (up - down) / (2 * h);
        const err = Math.abs(g[name][i] - fd);
        worst = Math.max(worst, err / (1e-6 + Math.abs(fd)));
        expect(err, `${name}[${i}]: backward ${g[name][i]}, finite differences ${fd}`).toBeLessThan(1e-8 + 1e-6 * Math.abs(fd));
        checked++;
        if (Math.abs(fd) > 1e-6) nonzero++;
      }
    }
    expect(checked).toBe(paramCount(TINY));
    expect(nonzero / checked, 'most gradients are non-zero (the check is not vacuous)').toBeGreaterThan(0.8);
    expect(worst).toBeLessThan(1e-5);
  });

  test('forward (float32, ops.gemm on the CPU) and forward (double) match the direct implementation', async () => {
    const c = DEFAULT_CONFIG, batch = 5, pixels = c.size * c.size;
    const p32 = randomParams(c, 3, (n) => new Float32Array(n));
    const x32 = randomImages(batch, pixels, 4, (n) => new Float32Array(n));
    const ref = directForward(c, p32, x32, batch);
    const f32 = await forward(cpuEngine, c, p32, x32, batch);
    expect(relL2(f32.features, ref.features)).toBeLessThan(1e-5);
    expect(relL2(f32.logits, ref.logits)).toBeLessThan(1e-5);
    expect(Array.from(argmaxRows(f32.logits, c.classes))).toEqual(Array.from(argmaxRows(ref.logits, c.classes)));
    let active = 0;
    for (const v of ref.features) if (v > 0) active++;
    expect(active / ref.features.length, 'features are not all zero').toBeGreaterThan(0.2);
    const p64 = {} as Params<Float64Array>;
    for (const name of PARAM_NAMES) p64[name] = Float64Array.from(p32[name]);
    const f64 = await forward(doubleEngine, c, p64, Float64Array.from(x32), batch);
    expect(relL2(f64.logits, ref.logits)).toBeLessThan(1e-12);
    // upTo 'features' stops early with the same features
    const early = await forward(cpuEngine, c, p32, x32, batch, 'features');
    expect(Array.from(early.features)).toEqual(Array.from(f32.features));
    expect(early.logits.length).toBe(0);
  });

  test('col2im is the adjoint of im2col (padding 0)', () => {
    const batch = 2, s = 6, ch = 3;
    const x = randomImages(batch, s * s * ch, 5, (n) => new Float64Array(n));
    const y = randomImages(batch, s * s * ch * 9, 6, (n) => new Float64Array(n));
    const cols = im2col(x, batch, s, ch, 0, new Float64Array(y.length));
    const back = col2im(y, batch, s, ch, new Float64Array(x.length));
    let lhs = 0, rhs = 0;
    for (let i = 0; i < y.length; i++) lhs += cols[i] * y[i];
    for (let i = 0; i < x.length; i++) rhs += x[i] * back[i];
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10 * Math.abs(lhs));
    // border value: the corner row of a 1-channel im2col has 5 padded entries
    const one = im2col(new Float64Array(16).fill(0.5), 1, 4, 1, -1, new Float64Array(16 * 9));
    expect(Array.from(one.subarray(0, 9))).toEqual([-1, -1, -1, -1, 0.5, 0.5, -1, 0.5, 0.5]);
  });

  test('augmentation: shifts move pixels, uncovered border is -1; flips mirror', () => {
    const s = 4, src = Float32Array.from({ length: 16 }, (_, i) => i / 16);
    const dst = new Float32Array(16);
    augment(src, 0, dst, 0, s, 1, 0, false); // one pixel right
    expect(Array.from(dst.subarray(0, 4))).toEqual([-1, 0, 1 / 16, 2 / 16]);
    augment(src, 0, dst, 0, s, 0, -1, false); // one pixel up
    expect(Array.from(dst.subarray(0, 4))).toEqual([4 / 16, 5 / 16, 6 / 16, 7 / 16]);
    expect(Array.from(dst.subarray(12))).toEqual([-1, -1, -1, -1]);
    augment(src, 0, dst, 0, s, 0, 0, true);
    expect(Array.from(dst.subarray(0, 4))).toEqual([3 / 16, 2 / 16, 1 / 16, 0]);
  });

  test('training is deterministic given the seed, and the seed matters', async () => {
    const n = 96, images = randomImages(n, 64, 8, (k) => new Float32Array(k));
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const run = (seed: number) => trainClassifier(images, labels, { seed, epochs: 2, batchSize: 32, config: TINY });
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    for (const name of PARAM_NAMES) expect(Buffer.from(a.params[name].buffer).equals(Buffer.from(b.params[name].buffer)), name).toBe(true);
    expect(Buffer.from(a.params['fc1.weight'].buffer).equals(Buffer.from(c.params['fc1.weight'].buffer))).toBe(false);
    expect(a.history).toHaveLength(2);
    const init = initParams(TINY, 5);
    expect(relL2(a.params['conv2.weight'], init['conv2.weight'])).toBeGreaterThan(1e-3);
  });

  test('learns Fashion-MNIST: 3000 training images, 2 epochs, > 75% on 1000 test images', async () => {
    const train = await loadFashionMnist({ split: 'train', limit: 3000 });
    const test_ = await loadFashionMnist({ split: 'test', limit: 1000 });
    const config = { size: 28, c1: 8, c2: 16, hidden: 32, classes: 10 };
    const r = await trainClassifier(train.data, train.labels!, { seed: 2, epochs: 2, batchSize: 32, shift: 0, flip: false, config });
    expect(r.history[1].loss).toBeLessThan(r.history[0].loss);
    const c = new Classifier(r.config, r.params);
    const predicted = await c.classify({ data: test_.data, shape: test_.shape });
    let hits = 0;
    for (let i = 0; i < predicted.length; i++) if (predicted[i] === test_.labels![i]) hits++;
    expect(hits / predicted.length).toBeGreaterThan(0.75);
  });

  test('argument checks of trainClassifier', async () => {
    const images = new Float32Array(2 * 64), labels = new Int32Array([0, 1]);
    await expectScmError(trainClassifier(images, new Int32Array([0, 1, 2]), { config: TINY }), 'E_SHAPE', /expected labels.length x 8 x 8/);
    await expectScmError(trainClassifier(images, new Int32Array([0, 3]), { config: TINY }), 'E_ARGUMENT', /labels\[1\] is 3, expected 0..2/);
    await expectScmError(trainClassifier(images, labels, { config: { ...TINY, size: 6 } }), 'E_ARGUMENT', /multiple of 4/);
    await expectScmError(trainClassifier(images, labels, { config: TINY, lr: -1 }), 'E_ARGUMENT', /lr must be a positive number/);
    await expectScmError(trainClassifier(images, labels, { config: TINY, epoch: 3 } as never), 'E_ARGUMENT', /unknown option 'epoch'/);
    const bad = images.slice();
    bad[5] = NaN;
    await expectScmError(trainClassifier(bad, labels, { config: TINY }), 'E_ARGUMENT', /images\[5\] is NaN/);
  });
});

describe('classifier file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scm-classifier-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const params = randomParams(TINY, 11, (n) => new Float32Array(n));
  const reference = { mean: Float64Array.from({ length: 4 }, (_, i) => i / 3), cov: Float64Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0.1)), count: 50 };

  test('round trip: F32 exact, BF16 rounded, reference statistics in F64', async () => {
    const file = join(dir, 'c.safetensors');
    await saveClassifier(file, { config: TINY, params }, reference, { seed: '3' });
    const c = await loadClassifier(file);
    expect(c.config).toEqual(TINY);
    for (const name of PARAM_NAMES) expect(Array.from(c.params[name])).toEqual(Array.from(params[name]));
    expect(Array.from(c.reference!.mean)).toEqual(Array.from(reference.mean));
    expect(Array.from(c.reference!.cov)).toEqual(Array.from(reference.cov));
    expect(c.reference!.count).toBe(50);
    expect(c.metadata.seed).toBe('3');
    const half = join(dir, 'h.safetensors');
    await saveClassifier(half, { config: TINY, params }, undefined, {}, 'BF16');
    const h = await loadClassifier(half);
    expect(h.reference).toBeUndefined();
    const w = h.params['fc1.weight'];
    expect(relL2(w, params['fc1.weight'])).toBeLessThan(4e-3);
    expect(relL2(w, params['fc1.weight'])).toBeGreaterThan(0);
    expect((await readSafetensors(half)).tensors.get('fc1.weight')!.dtype).toBe('BF16');
  });

  test('bad files: E_BAD_CHECKPOINT naming the problem', async () => {
    const good = await readSafetensors(join(dir, 'c.safetensors'));
    const variant = async (name: string, edit: (t: Map<string, { dtype?: string; shape: number[]; data: Float32Array | Float64Array }>, m: Record<string, string>) => void) => {
      const tensors = new Map(Array.from(good.tensors, ([k, t]) => [k, { dtype: t.dtype, shape: [...t.shape], data: t.data as Float32Array }]));
      const metadata = { ...good.metadata };
      edit(tensors as never, metadata);
      const file = join(dir, `${name}.safetensors`);
      await writeSafetensors(file, tensors as never, metadata);
      return file;
    };
    await expectScmError(loadClassifier(await variant('format', (_, m) => { m.format = 'other'; })), 'E_BAD_CHECKPOINT', /format is "other"/);
    await expectScmError(loadClassifier(await variant('config', (_, m) => { m.config = '{"size":8}'; })), 'E_BAD_CHECKPOINT', /not a classifier config/);
    await expectScmError(loadClassifier(await variant('missing', (t) => { t.delete('conv2.bias'); })), 'E_BAD_CHECKPOINT', /tensor conv2.bias is missing/);
    await expectScmError(loadClassifier(await variant('shape', (t) => { t.set('fc2.bias', { shape: [2], data: new Float32Array(2) }); })), 'E_BAD_CHECKPOINT', /fc2.bias has shape \[2\], expected \[3\]/);
    await expectScmError(loadClassifier(await variant('dtype', (t) => { t.set('reference.mean', { shape: [4], data: new Float32Array(4) }); })), 'E_BAD_CHECKPOINT', /reference.mean is F32, expected F64/);
    await expectScmError(loadClassifier(await variant('nan', (t) => { const w = new Float32Array(9 * 2); w[4] = NaN; t.set('conv1.weight', { shape: [3, 3, 1, 2], data: w }); })), 'E_BAD_CHECKPOINT', /conv1.weight\[4\] is NaN/);
    await expectScmError(loadClassifier(await variant('count', (_, m) => { m.reference_count = 'x'; })), 'E_BAD_CHECKPOINT', /reference_count/);
    await expectScmError(loadClassifier(join(dir, 'absent.safetensors')), 'E_IO');
  });
});
