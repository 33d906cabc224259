// The quality metric on the shipped classifier (models/classifier.safetensors): the file and its
// provenance, its test accuracy and reference statistics reproduced from the Fashion-MNIST test
// set, the ordering real << blurred << noise, classAccuracy, qualityReport, argument checks,
// and loading from the compiled package and from an installed copy.
// Needs the Debian package dataset-fashion-mnist (installed by CI): without it these tests fail
// with loadFashionMnist's E_IO message naming the package.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { classAccuracy, fd, loadFashionMnist, qualityReport, type Dataset } from '../src/index.js';
import { blurImages, noiseImages } from '../src/classifier/baselines.js';
import { classify, classifierFeatures, defaultClassifierPath, shippedClassifier } from '../src/classifier/features.js';
import { argmaxRows } from '../src/classifier/model.js';
import { featureStatistics, frechetDistance } from '../src/metrics.js';
import { expectScmError } from './helpers.js';

const ROOT = resolve(__dirname, '..');
const N = 1000; // the subset size of the ordering checks

let train: Dataset, test_: Dataset;
beforeAll(async () => {
  train = await loadFashionMnist({ split: 'train', limit: N });
  test_ = await loadFashionMnist({ split: 'test' });
});

const batch = (data: Float32Array, n = data.length / 784) => ({ data, shape: [n, 1, 28, 28] });

describe('shipped classifier', () => {
  test('the file: models/classifier.safetensors, <= 3 MB, with its provenance', async () => {
    const file = defaultClassifierPath();
    expect(file).toBe(join(ROOT, 'models', 'classifier.safetensors'));
    expect(statSync(file).size).toBeLessThan(3 * 2 ** 20);
    const c = await shippedClassifier();
    expect(c.config).toEqual({ size: 28, c1: 16, c2: 32, hidden: 128, classes: 10 });
    for (const key of ['command', 'seed', 'epochs', 'wall_seconds', 'date', 'machine', 'test_accuracy', 'hyper', 'history']) expect(c.metadata[key], key).toBeTruthy();
    expect(c.metadata.command).toMatch(/^node dist\/scripts\/train-classifier\.js --out \S+ --seed \d+/);
    expect(c.reference!.count).toBe(10000);
  });

  test('test accuracy and reference statistics reproduce from the 10 000 test images', async () => {
    const c = await shippedClassifier();
    const { features, logits } = await c.evaluate(batch(test_.data));
    const predicted = argmaxRows(logits!, 10);
    let hits = 0;
    for (let i = 0; i < predicted.length; i++) hits += predicted[i] === test_.labels![i] ? 1 : 0;
    const accuracy = hits / predicted.length;
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    // the stored value (4 decimals), up to a few near-ties a different GEMM could flip
    expect(Math.abs(accuracy - Number(c.metadata.test_accuracy))).toBeLessThanOrEqual(5e-4);
    expect(logits!.length).toBe(10000 * 10);
    const stats = featureStatistics(features, 10000, 128);
    let meanErr = 0, meanNorm = 0;
    for (let i = 0; i < 128; i++) {
      meanErr = Math.max(meanErr, Math.abs(stats.mean[i] - c.reference!.mean[i]));
      meanNorm = Math.max(meanNorm, Math.abs(c.reference!.mean[i]));
    }
    expect(meanErr).toBeLessThan(1e-4 * meanNorm);
    // the test set scored against itself
    expect(frechetDistance(stats, c.reference!)).toBeLessThan(1e-3);
    expect(await fd(batch(test_.data))).toBeLessThan(1e-3);
  });

  test(`ordering on ${N} images: real train << blurred (sigma 1) << uniform noise`, async () => {
    const real = await fd(batch(train.data));
    const blurred = await fd(batch(blurImages(train.data, N, 28, 1)));
    const noise = await fd(batch(noiseImages(N, 28, 1)));
    // measured (models/README.md): real 1.64 +- 0.14, blurred 110.5, noise 375.1
    expect(real).toBeGreaterThan(0);
    expect(real).toBeLessThan(3);
    expect(blurred).toBeGreaterThan(20 * real);
    expect(noise).toBeGreaterThan(2 * blurred);
    // more samples, less small-sample bias
    expect(await fd(batch(train.data.subarray(0, 200 * 784)))).toBeGreaterThan(real);
  });

  test('classAccuracy and qualityReport', async () => {
    const labels = train.labels!;
    const right = await classAccuracy(batch(train.data), labels);
    expect(right).toBeGreaterThan(0.9);
    const wrong = await classAccuracy(batch(train.data), Int32Array.from(labels, (l) => (l + 1) % 10));
    expect(wrong).toBeLessThan(0.1);
    const report = await qualityReport(batch(train.data), labels);
    expect(report).toEqual({ fd: await fd(batch(train.data)), accuracy: right, count: N });
    expect(await qualityReport(batch(train.data))).toEqual({ fd: report.fd, count: N });
    const predicted = await classify(batch(train.data));
    expect(predicted.length).toBe(N);
    expect(predicted.filter((p, i) => p === labels[i]).length / N).toBe(right);
    const features = await classifierFeatures(batch(train.data.subarray(0, 3 * 784)));
    expect(features.length).toBe(3 * 128);
    expect(features.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
  });

  test('values outside [-1, 1] are clamped', async () => {
    const x = train.data.slice(0, 20 * 784);
    const scaled = Float32Array.from(x, (v) => 3 * v);
    const clamped = Float32Array.from(scaled, (v) => Math.min(1, Math.max(-1, v)));
    expect(await classifierFeatures(batch(scaled))).toEqual(await classifierFeatures(batch(clamped)));
  });

  test('argument checks: typed ScmErrors naming the problem', async () => {
    const x = new Float32Array(3 * 784);
    await expectScmError(fd({ data: x, shape: [3, 28, 28] }), 'E_SHAPE', /fd: samples.shape is \[3, 28, 28\], expected \[N, 1, 28, 28\]/);
    await expectScmError(fd({ data: x, shape: [1, 3, 28, 28] }), 'E_SHAPE', /samples.shape is \[1, 3, 28, 28\]/);
    await expectScmError(fd({ data: x, shape: [4, 1, 28, 28] }), 'E_SHAPE', /samples.data has 2352 elements, expected 4 x 1 x 28 x 28 = 3136/);
    await expectScmError(fd(batch(x.subarray(0, 784))), 'E_SHAPE', /fd: 1 samples, at least 2 needed/);
    await expectScmError(fd({ data: Array.from(x), shape: [3, 1, 28, 28] } as never), 'E_ARGUMENT', /samples.data must be a Float32Array, got an array of 2352/);
    await expectScmError(fd(null as never), 'E_ARGUMENT', /samples must be \{ data: Float32Array, shape: \[N, 1, 28, 28\] \}/);
    await expectScmError(fd({ data: x, shape: [3, 1, 28, 28.5] }), 'E_ARGUMENT', /shape must be an array of non-negative integers/);
    const bad = x.slice();
    bad[800] = NaN;
    await expectScmError(fd(batch(bad)), 'E_NONFINITE', /samples.data\[800\] is NaN \(sample 1\)/);
    await expectScmError(classAccuracy(batch(x), new Int32Array(2)), 'E_SHAPE', /classAccuracy: labels has 2 elements, expected one per sample \(3\)/);
    await expectScmError(classAccuracy(batch(x), new Int32Array([0, 10, 1])), 'E_ARGUMENT', /labels\[1\] is 10, expected a class 0..9/);
    await expectScmError(classAccuracy(batch(x), [0, 1, 2] as never), 'E_ARGUMENT', /labels must be an Int32Array/);
    await expectScmError(qualityReport(batch(x), new Int32Array(1)), 'E_SHAPE', /qualityReport: labels has 1 elements/);
    await expectScmError(classifierFeatures({ data: x, shape: [3, 1, 32, 32] }), 'E_SHAPE', /classifierFeatures: samples.shape is \[3, 1, 32, 32\]/);
    // one sample is enough for classAccuracy
    expect(await classAccuracy(batch(train.data.subarray(0, 784)), train.labels!.subarray(0, 1))).toBe(1);
  });
});

describe('loading from the compiled package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scm-quality-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const probe = (specifier: string) => `import { fd, classAccuracy } from '${specifier}';
const x = new Float32Array(2 * 784).fill(-1);
console.log(JSON.stringify({ fd: await fd({ data: x, shape: [2, 1, 28, 28] }), acc: await classAccuracy({ data: x, shape: [2, 1, 28, 28] }, new Int32Array([0, 0])) }));`;
  const run = (cwd: string, specifier: string) => {
    writeFileSync(join(cwd, 'probe.mjs'), probe(specifier));
    const r = spawnSync(process.execPath, ['probe.mjs'], { cwd, encoding: 'utf8', env: { ...process.env, SCM_BACKEND: 'cpu' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as { fd: number; acc: number };
  };

  test('from dist/ (npm run build:ts) and from node_modules/scm-native (an installed copy) alike', async () => {
    if (!existsSync(join(ROOT, 'dist/src/quality.js'))) throw new Error('dist/src/quality.js is missing: run npm run build:ts first (npm test does)');
    // dist/ of this checkout
    const here = run(dir, pathToFileURL(join(ROOT, 'dist/src/index.js')).href);
    expect(here.fd).toBeGreaterThan(0);
    // an installed layout: package.json, dist/, models/ copied; addon and dependencies linked
    const pkg = join(dir, 'node_modules', 'scm-native');
    mkdirSync(pkg, { recursive: true });
    for (const part of ['package.json', 'dist', 'models']) cpSync(join(ROOT, part), join(pkg, part), { recursive: true });
    symlinkSync(join(ROOT, 'build'), join(pkg, 'build'));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const installed = run(dir, 'scm-native');
    expect(installed).toEqual(here);
    // the shipped classifier is what both use
    const mine = await fd(batch(new Float32Array(2 * 784).fill(-1)));
    expect(Math.abs(installed.fd - mine)).toBeLessThan(1e-6 * mine);
  });
});
