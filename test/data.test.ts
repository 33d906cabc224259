import { existsSync, mkdirSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { FASHION_MNIST_DIR, resolveDataset, TOY_DATASETS, toyDataset, type ToyName } from '../src/data/index.js';
import { loadFashionMnist, sampleToy } from '../src/index.js';
import { Rng } from '../src/random.js';
import { expectScmError, randomFloats } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'scm-data-'));
let dirCounter = 0;

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x0800 + dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

/** A folder with a small Fashion-MNIST-like split: random pixels, labels 0..9. */
function fakeSplit(n: number, { prefix = 't10k', gz = false, seed = 1 } = {}): { dir: string; pixels: Uint8Array; labels: Uint8Array } {
  const dir = join(root, `fake-${++dirCounter}`);
  mkdirSync(dir);
  const rng = new Rng(seed);
  const pixels = new Uint8Array(n * 784).map(() => rng.int(256));
  const labels = new Uint8Array(n).map(() => rng.int(10));
  const write = (name: string, bytes: Buffer) => writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  write(`${prefix}-images-idx3-ubyte`, idx([n, 28, 28], pixels));
  write(`${prefix}-labels-idx1-ubyte`, idx([n], labels));
  return { dir, pixels, labels };
}

const haveFashionMnist = existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz')) || existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte'));

describe('Fashion-MNIST', () => {
  test.skipIf(!haveFashionMnist)('test split from the Debian package: shape, scaling, labels, measured std', async () => {
    const ds = await loadFashionMnist({ split: 'test' });
    expect(ds.shape).toEqual([10000, 1, 28, 28]);
    expect(ds.data.length).toBe(10000 * 784);
    expect(ds.numClasses).toBe(10);
    expect(ds.classNames![9]).toBe('Ankle boot');
    // independent decode of the raw file: pixel p -> p / 127.5 - 1
    const raw = gunzipSync(readFileSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz')));
    const rawLabels = gunzipSync(readFileSync(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz')));
    const rng = new Rng(4);
    for (let k = 0; k < 2000; k++) {
      const i = rng.int(ds.data.length);
      if (ds.data[i] !== Math.fround(raw[16 + i] / 127.5 - 1)) throw new Error(`pixel ${i}: ${ds.data[i]} vs raw ${raw[16 + i]}`);
    }
    expect(Array.from(ds.labels!.slice(0, 20))).toEqual(Array.from(rawLabels.subarray(8, 28)));
    let min = Infinity, max = -Infinity, sum = 0, sq = 0;
    for (const v of ds.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    const mean = sum / ds.data.length;
    for (const v of ds.data) sq += (v - mean) ** 2;
    expect(min).toBe(-1);
    expect(max).toBe(1);
    expect(ds.mean).toBeCloseTo(mean, 10);
    expect(ds.std).toBeCloseTo(Math.sqrt(sq / ds.data.length), 10);
    expect(ds.std).toBeGreaterThan(0.6); // published: pixel std ~0.35 of [0, 1] -> ~0.7 of [-1, 1]
    expect(ds.std).toBeLessThan(0.8);
    const perClass = new Array(10).fill(0);
    for (const l of ds.labels!) perClass[l]++;
    expect(perClass).toEqual(new Array(10).fill(1000)); // the test split is balanced
  });

  test.skipIf(!haveFashionMnist)('train split: 60 000 images, 6 000 per class; limit', async () => {
    const ds = await loadFashionMnist();
    expect(ds.shape).toEqual([60000, 1, 28, 28]);
    const perClass = new Array(10).fill(0);
    for (const l of ds.labels!) perClass[l]++;
    expect(perClass).toEqual(new Array(10).fill(6000));
    const few = await loadFashionMnist({ limit: 7 });
    expect(few.shape).toEqual([7, 1, 28, 28]);
    expect(Array.from(few.data)).toEqual(Array.from(ds.data.subarray(0, 7 * 784)));
    expect(Array.from(few.labels!)).toEqual(Array.from(ds.labels!.subarray(0, 7)));
  });

  for (const gz of [false, true])
    test(`a user folder with ${gz ? 'gzipped' : 'plain'} idx files`, async () => {
      const { dir, pixels, labels } = fakeSplit(5, { gz, prefix: 'train' });
      const ds = await loadFashionMnist({ dir });
      expect(ds.shape).toEqual([5, 1, 28, 28]);
      expect(Array.from(ds.data)).toEqual(Array.from(pixels, (p) => Math.fround(p / 127.5 - 1)));
      expect(Array.from(ds.labels!)).toEqual(Array.from(labels));
      await expectScmError(loadFashionMnist({ dir, split: 'test' }), 'E_IO', /t10k-images-idx3-ubyte\(\.gz\) not found/);
    });

  test('the plain file wins over the .gz one when both are there', async () => {
    const { dir, pixels } = fakeSplit(3, { seed: 1 });
    const other = fakeSplit(3, { seed: 2, gz: true });
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), readFileSync(join(other.dir, 't10k-images-idx3-ubyte.gz')));
    const ds = await loadFashionMnist({ dir, split: 'test' });
    expect(ds.data[100]).toBe(Math.fround(pixels[100] / 127.5 - 1));
  });

  test('missing files name the file and the Debian package', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expectScmError(loadFashionMnist({ dir: empty }), 'E_IO', new RegExp(`${empty}/train-images-idx3-ubyte\\(\\.gz\\) not found\\. Install the Debian package dataset-fashion-mnist`));
    const onlyImages = fakeSplit(2);
    unlinkSync(join(onlyImages.dir, 't10k-labels-idx1-ubyte'));
    await expectScmError(loadFashionMnist({ dir: onlyImages.dir, split: 'test' }), 'E_IO', /t10k-labels-idx1-ubyte\(\.gz\) not found.*dataset-fashion-mnist/);
  });

  test('malformed files: E_IO naming the file and the problem', async () => {
    const cases: [string, (dir: string) => void, RegExp][] = [
      ['labels file in place of images', (d) => writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx([20], new Uint8Array(20))), /t10k-images-idx3-ubyte is not a valid idx file: magic number 0x00000801, expected 0x00000803/],
      ['int32 data type', (d) => writeFileSync(join(d, 't10k-images-idx3-ubyte'), Buffer.from(idx([2, 28, 28], new Uint8Array(1568))).fill(0x0c, 2, 3)), /magic number 0x00000c03/],
      ['truncated', (d) => writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx([2, 28, 28], new Uint8Array(1500))), /dimensions 2 x 28 x 28 need 1584 bytes, the file has 1516/],
      ['extra bytes', (d) => writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx([2], new Uint8Array(3))), /t10k-labels-idx1-ubyte is not a valid idx file: dimensions 2 need 10 bytes, the file has 11/],
      ['shorter than the header', (d) => writeFileSync(join(d, 't10k-images-idx3-ubyte'), Buffer.from([0, 0, 8])), /3 bytes, shorter than its 16-byte header/],
      ['count mismatch', (d) => writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx([3], new Uint8Array(3))), /has 2 images but .*t10k-labels-idx1-ubyte has 3 labels/],
      ['label out of range', (d) => writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx([2], new Uint8Array([3, 10]))), /t10k-labels-idx1-ubyte: label 1 is 10, expected 0\.\.9/],
      ['not 28 x 28', (d) => writeFileSync(join(d, 't10k-images-idx3-ubyte'), idx([2, 32, 32], new Uint8Array(2048))), /holds 32 x 32 images, Fashion-MNIST's are 28 x 28/],
      ['corrupt gzip', (d) => writeFileSync(join(d, 't10k-images-idx3-ubyte'), Buffer.concat([gzipSync(idx([2, 28, 28], new Uint8Array(1568))).subarray(0, 30)])), /cannot decompress .*t10k-images-idx3-ubyte/],
    ];
    for (const [name, corrupt, pattern] of cases) {
      const { dir } = fakeSplit(2);
      corrupt(dir);
      await expectScmError(loadFashionMnist({ dir, split: 'test' }), 'E_IO', pattern).catch((e) => {
        throw new Error(`${name}: ${e.message}`);
      });
    }
  });

  test('bad options', async () => {
    await expectScmError(loadFashionMnist({ split: 'valid' as never }), 'E_ARGUMENT', /split must be one of 'train', 'test', got "valid"/);
    await expectScmError(loadFashionMnist({ limit: 0 }), 'E_ARGUMENT', /limit must be an integer >= 1, got 0/);
    await expectScmError(loadFashionMnist({ dir: 3 as never }), 'E_ARGUMENT', /dir must be a non-empty string/);
    await expectScmError(loadFashionMnist({ path: '/x' } as never), 'E_ARGUMENT', /unknown option 'path'/);
  });
});

// ---------------------------------------------------------------------------------------------

function moments(data: Float32Array): { mean: [number, number]; std: [number, number] } {
  const n = data.length / 2, mean: [number, number] = [0, 0], std: [number, number] = [0, 0];
  for (let i = 0; i < n; i++) for (let c = 0; c < 2; c++) mean[c] += data[2 * i + c] / n;
  for (let i = 0; i < n; i++) for (let c = 0; c < 2; c++) std[c] += (data[2 * i + c] - mean[c]) ** 2 / n;
  return { mean, std: [Math.sqrt(std[0]), Math.sqrt(std[1])] };
}

// Exact per-coordinate std of each toy distribution, from its definition.
const varMoonX = 0.5 + 0.25, varMoonY = 0.5 - 4 / Math.PI ** 2 + (2 / Math.PI - 0.25) ** 2;
const EXACT_STD: Record<ToyName, [number, number]> = {
  checkerboard: [2 / Math.sqrt(3), 2 / Math.sqrt(3)],
  'gaussians-8': [Math.sqrt(1.01), Math.sqrt(1.01)],
  moons: [Math.sqrt(1.44 * varMoonX + 0.0064), Math.sqrt(1.44 * varMoonY + 0.0064)],
  // E[(2r cos(3 pi r))^2] with r = sqrt(u): 4 E[u (1 + cos 2 phi) / 2] = 1 + 2 E[u cos(6 pi sqrt(u))] (below)
  spiral: [NaN, NaN],
};
{
  // E[u cos(6 pi sqrt u)]: midpoint rule over u, 1e6 points
  let c = 0;
  const m = 1_000_000;
  for (let k = 0; k < m; k++) {
    const u = (k + 0.5) / m;
    c += (u * Math.cos(6 * Math.PI * Math.sqrt(u))) / m;
  }
  EXACT_STD.spiral = [Math.sqrt(1 + 2 * c + 0.0064), Math.sqrt(1 - 2 * c + 0.0064)];
}

describe('toy data sets', () => {
  for (const name of TOY_DATASETS)
    test(`${name}: shape, labels, determinism, prefix property, mean 0 and the exact std`, () => {
      const a = sampleToy(name, 40_000, 3);
      expect(a.shape).toEqual([40_000, 2]);
      expect(a.data.length).toBe(80_000);
      expect(a.labels.length).toBe(40_000);
      expect(Array.from(sampleToy(name, 100, 3).data)).toEqual(Array.from(a.data.subarray(0, 200)));
      expect(Array.from(sampleToy(name, 100, 4).data)).not.toEqual(Array.from(a.data.subarray(0, 200)));
      const { mean, std } = moments(a.data);
      for (let c = 0; c < 2; c++) {
        expect(Math.abs(mean[c]), `${name} mean[${c}]`).toBeLessThan(0.03);
        expect(Math.abs(std[c] - EXACT_STD[name][c]), `${name} std[${c}] ${std[c]} vs ${EXACT_STD[name][c]}`).toBeLessThan(0.02);
      }
      const classes = name === 'moons' || name === 'spiral' ? 2 : 8;
      const counts = new Array(classes).fill(0);
      for (const l of a.labels) counts[l]++;
      const chi = counts.reduce((acc, c) => acc + (c - 40_000 / classes) ** 2 / (40_000 / classes), 0);
      expect(chi).toBeLessThan(classes === 2 ? 10.83 : 24.32); // 0.1% critical values
    });

  test('checkerboard: every point in a filled cell of its label, uniform within cells', () => {
    const { data, labels } = sampleToy('checkerboard', 20_000, 1);
    const cellOf = new Map<number, string>();
    let outside = 0;
    const inCell = new Array(10).fill(0);
    for (let i = 0; i < labels.length; i++) {
      const x = data[2 * i], y = data[2 * i + 1];
      const ci = Math.floor(x), cj = Math.floor(y);
      if (ci < -2 || ci > 1 || cj < -2 || cj > 1 || (ci + cj) % 2 !== 0) outside++;
      const key = `${ci},${cj}`;
      if (cellOf.has(labels[i]) && cellOf.get(labels[i]) !== key) outside++;
      cellOf.set(labels[i], key);
      inCell[Math.floor((x - ci) * 10)]++;
    }
    expect(outside).toBe(0);
    expect(cellOf.size).toBe(8);
    const chi = inCell.reduce((acc, c) => acc + (c - 2000) ** 2 / 2000, 0);
    expect(chi).toBeLessThan(27.88);
  });

  test('gaussians-8: the label is the component; distance to its centre ~ Rayleigh(0.1)', () => {
    const { data, labels } = sampleToy('gaussians-8', 20_000, 2);
    let sumR = 0, sumR2 = 0;
    for (let i = 0; i < labels.length; i++) {
      const a = (2 * Math.PI * labels[i]) / 8;
      const r2 = (data[2 * i] - Math.SQRT2 * Math.cos(a)) ** 2 + (data[2 * i + 1] - Math.SQRT2 * Math.sin(a)) ** 2;
      sumR += Math.sqrt(r2);
      sumR2 += r2;
    }
    expect(sumR / labels.length).toBeCloseTo(0.1 * Math.sqrt(Math.PI / 2), 2);
    expect(sumR2 / labels.length).toBeCloseTo(0.02, 3); // E r^2 = 2 sigma^2
  });

  test('moons and spiral: points lie near their curve (within the 0.08 noise)', () => {
    const moons = sampleToy('moons', 5000, 5);
    let moonResidual = 0;
    for (let i = 0; i < 5000; i++) {
      // undo the affine map, then the distance to the unit circle centred at the moon's centre
      const mx = moons.data[2 * i] / 1.2 + 0.5, my = moons.data[2 * i + 1] / 1.2 + 0.25;
      const [cx, cy] = moons.labels[i] === 0 ? [0, 0] : [1, 0.5];
      moonResidual += (1.2 * (Math.hypot(mx - cx, my - cy) - 1)) ** 2 / 5000;
    }
    expect(Math.sqrt(moonResidual)).toBeLessThan(0.09); // noise 0.08 per coordinate: radial residual ~0.08
    expect(Math.sqrt(moonResidual)).toBeGreaterThan(0.06);
    const spiral = sampleToy('spiral', 1500, 6);
    let far = 0;
    for (let i = 0; i < 1500; i++) {
      const sign = spiral.labels[i] === 0 ? 1 : -1;
      const x = sign * spiral.data[2 * i], y = sign * spiral.data[2 * i + 1];
      let best = Infinity;
      for (let k = 0; k <= 2000; k++) {
        const r = k / 2000, phi = 3 * Math.PI * r;
        best = Math.min(best, Math.hypot(x - 2 * r * Math.cos(phi), y - 2 * r * Math.sin(phi)));
      }
      if (best > 0.4) far++;
    }
    expect(far).toBe(0); // 5 sigma of the noise
  });

  test('toyDataset: a fixed training set, not the sampleToy draw of the same seed', () => {
    const ds = toyDataset('moons', { count: 1000, seed: 3 });
    expect(ds.name).toBe('moons');
    expect(ds.shape).toEqual([1000, 2]);
    expect(ds.numClasses).toBe(2);
    expect(Array.from(toyDataset('moons', { count: 1000, seed: 3 }).data)).toEqual(Array.from(ds.data));
    expect(Array.from(sampleToy('moons', 1000, 3).data)).not.toEqual(Array.from(ds.data));
    const m = moments(ds.data);
    expect(ds.std).toBeCloseTo(Math.sqrt((m.std[0] ** 2 + m.std[1] ** 2 + m.mean[0] ** 2 + m.mean[1] ** 2) / 2 - ((m.mean[0] + m.mean[1]) / 2) ** 2), 6);
    expect(toyDataset('spiral').shape).toEqual([100_000, 2]);
  });

  test('bad arguments', async () => {
    await expectScmError(() => sampleToy('circles' as never, 10, 1), 'E_ARGUMENT', /unknown toy data set "circles" \(known: checkerboard, gaussians-8, moons, spiral\)/);
    await expectScmError(() => sampleToy('moons', 0, 1), 'E_ARGUMENT', /count must be an integer >= 1, got 0/);
    await expectScmError(() => sampleToy('moons', 10, -1), 'E_ARGUMENT', /seed must be an integer >= 0, got -1/);
    await expectScmError(() => toyDataset('moons', { n: 3 } as never), 'E_ARGUMENT', /unknown option 'n'/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('resolveDataset', () => {
  test('names: toy sets with count/seed, fashion-mnist with dir/split/limit', async () => {
    const toy = await resolveDataset('gaussians-8', { count: 500, seed: 2 });
    expect(toy.shape).toEqual([500, 2]);
    expect(Array.from(toy.data)).toEqual(Array.from(toyDataset('gaussians-8', { count: 500, seed: 2 }).data));
    const { dir } = fakeSplit(4);
    const fm = await resolveDataset('fashion-mnist', { dir, split: 'test', limit: 2 });
    expect(fm.shape).toEqual([2, 1, 28, 28]);
    await expectScmError(resolveDataset('fashion-mnist', { count: 5 } as never), 'E_ARGUMENT', /resolveDataset \('fashion-mnist'\): unknown option 'count'/);
    await expectScmError(resolveDataset('moons', { split: 'test' }), 'E_ARGUMENT', /resolveDataset \('moons'\): unknown option 'split'/);
    await expectScmError(resolveDataset('mnist' as never), 'E_ARGUMENT', /unknown data set "mnist" \(known: fashion-mnist, checkerboard, gaussians-8, moons, spiral/);
  });

  test('own data: validated, measured, arrays used as they are', async () => {
    const data = randomFloats(3 * 4, 8), labels = new Int32Array([0, 2, 1]);
    const ds = await resolveDataset({ data, shape: [3, 4], labels });
    expect(ds.data).toBe(data);
    expect(ds.labels).toBe(labels);
    expect(ds.numClasses).toBe(3);
    expect(ds.name).toBe('custom');
    const mean = data.reduce((a, b) => a + b, 0) / 12;
    expect(ds.mean).toBeCloseTo(mean, 12);
    expect(ds.std).toBeCloseTo(Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / 12), 12);
    const named = await resolveDataset({ data, shape: [3, 2, 2], labels, numClasses: 4, classNames: ['a', 'b', 'c', 'd'] });
    expect(named.numClasses).toBe(4);
    expect(named.classNames).toEqual(['a', 'b', 'c', 'd']);
    expect((await resolveDataset({ data, shape: [12] })).labels).toBeUndefined();
  });

  test('own data: every problem named', async () => {
    const data = randomFloats(12, 9);
    const nan = data.slice();
    nan[7] = NaN;
    const inf = data.slice();
    inf[11] = -Infinity;
    const cases: [unknown, string, RegExp][] = [
      [{ data, shape: [5, 2] }, 'E_SHAPE', /data has 12 elements, shape \[5, 2\] needs 10/],
      [{ data, shape: [] }, 'E_ARGUMENT', /shape must be a non-empty array of integers >= 1/],
      [{ data, shape: [12, 0] }, 'E_ARGUMENT', /shape must be/],
      [{ data, shape: [3, 4.5] }, 'E_ARGUMENT', /shape must be/],
      [{ data: Array.from(data), shape: [12] }, 'E_ARGUMENT', /data must be a Float32Array, got an array of 12/],
      [{ data: nan, shape: [3, 4] }, 'E_ARGUMENT', /data\[7\] is NaN \(sample 1\); data must be finite/],
      [{ data: inf, shape: [3, 4] }, 'E_ARGUMENT', /data\[11\] is -Infinity \(sample 2\)/],
      [{ data, shape: [3, 4], labels: new Int32Array([0, 1]) }, 'E_SHAPE', /labels has 2 elements, expected one per sample \(N = 3\)/],
      [{ data, shape: [3, 4], labels: new Int32Array([0, -1, 2]) }, 'E_ARGUMENT', /labels\[1\] is -1; labels must be integers >= 0/],
      [{ data, shape: [3, 4], labels: [0, 1, 2] }, 'E_ARGUMENT', /labels must be an Int32Array, got an array of 3/],
      [{ data, shape: [3, 4], labels: new Int32Array([0, 5, 2]), numClasses: 3 }, 'E_ARGUMENT', /labels\[1\] is 5, not below numClasses = 3/],
      [{ data, shape: [3, 4], labels: new Int32Array([0, 1, 2]), classNames: ['a'] }, 'E_ARGUMENT', /classNames must be 3 strings/],
      [{ data, shape: [3, 4], numClasses: 3 }, 'E_ARGUMENT', /numClasses and classNames need labels/],
      [{ data, shape: [3, 4], label: new Int32Array(3) }, 'E_ARGUMENT', /data set: unknown option 'label'/],
      [null, 'E_ARGUMENT', /data set must be a name or \{ data, shape, labels\? \}, got null/],
    ];
    for (const [spec, code, pattern] of cases) await expectScmError(resolveDataset(spec as never), code, pattern);
    await expectScmError(resolveDataset({ data, shape: [12] }, { count: 3 }), 'E_ARGUMENT', /option 'count' does not apply to your own data set/);
  });
});
