#!/usr/bin/env node
// The reference points of the classifier-feature FID (the table in models/README.md): real
// Fashion-MNIST training images at several N (disjoint subsets of the first 10 000, mean and
// spread), Gaussian-blurred copies of them and uniform noise, all against the shipped test-set
// statistics; and the classifier's accuracy on the real images.
//
//   npm run build:ts && node dist/scripts/quality-baselines.js [--classifier FILE] [--data DIR]
import { runScript } from './run-script.js';
import { loadFashionMnist, ScmError } from '../src/index.js';
import { blurImages, noiseImages } from '../src/classifier/baselines.js';
import { loadClassifier, type Classifier } from '../src/classifier/features.js';
import { argmaxRows } from '../src/classifier/model.js';
import { classAccuracy, featureStatistics, frechetDistance } from '../src/metrics.js';

async function fdOf(c: Classifier, data: Float32Array): Promise<number> {
  const n = data.length / 784;
  const { features } = await c.evaluate({ data, shape: [n, 1, 28, 28] }, { logits: false });
  return frechetDistance(featureStatistics(features, n, c.featureDim), c.reference!);
}

function spread(values: number[]): string {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length === 1) return mean.toFixed(3);
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  return `${mean.toFixed(3)} ± ${sd.toFixed(3)} (${values.length} disjoint subsets)`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let file: string | undefined, dir: string | undefined;
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] !== '--classifier' && argv[i] !== '--data') throw new ScmError(`quality-baselines: unknown argument '${argv[i]}' (--classifier FILE, --data DIR)`, 'E_ARGUMENT');
    if (!argv[i + 1]) throw new ScmError(`quality-baselines: ${argv[i]} needs a value`, 'E_ARGUMENT');
    if (argv[i] === '--classifier') file = argv[i + 1];
    else dir = argv[i + 1];
  }
  const started = performance.now();
  const c = await loadClassifier(file);
  const train = await loadFashionMnist({ split: 'train', limit: 10000, ...(dir ? { dir } : {}) });
  const px = 784, rows: [string, number, string][] = [];
  for (const n of [10000, 5000, 2000, 1000, 500]) {
    const subsets = Math.min(5, 10000 / n), values: number[] = [];
    for (let k = 0; k < subsets; k++) values.push(await fdOf(c, train.data.subarray(k * n * px, (k + 1) * n * px)));
    rows.push(['real training images', n, spread(values)]);
  }
  for (const sigma of [0.5, 1, 2]) {
    const blurred = blurImages(train.data, 10000, 28, sigma);
    for (const n of [10000, 1000]) rows.push([`real, Gaussian blur sigma ${sigma} px`, n, (await fdOf(c, blurred.subarray(0, n * px))).toFixed(3)]);
  }
  const noise = noiseImages(10000, 28, 1);
  for (const n of [10000, 1000]) rows.push(['uniform noise in [-1, 1]', n, (await fdOf(c, noise.subarray(0, n * px))).toFixed(3)]);
  const { logits } = await c.evaluate({ data: train.data, shape: [10000, 1, 28, 28] });
  const accuracy = classAccuracy(argmaxRows(logits!, 10), train.labels!);
  console.log('| images | N | FD vs test-set statistics |\n| --- | ---: | ---: |');
  for (const [what, n, v] of rows) console.log(`| ${what} | ${n} | ${v} |`);
  console.log(`\nclassifier accuracy on the first 10 000 training images: ${(100 * accuracy).toFixed(2)}%; test accuracy (stored): ${(100 * Number(c.metadata.test_accuracy)).toFixed(2)}%`);
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

runScript(main);
