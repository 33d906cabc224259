// Sample quality of Fashion-MNIST images, scored by the project's own classifier (shipped in
// models/classifier.safetensors with the feature statistics of the 10 000 test images):
// - fd: a classifier-feature FID, the Fréchet distance between Gaussians fitted to the samples'
//   128-d classifier features and to the test set's. Not comparable to Inception FID (another
//   network, other features, another scale); it depends on the number of samples (small-sample
//   bias: models/README.md gives the values of real images at N = 500 ... 10 000), so compare
//   numbers at one N.
// - classAccuracy: the fraction of class-conditional samples the classifier assigns to the
//   class that was asked for.
import { argumentError, shapeError } from './errors.js';
import { classAccuracy as accuracyOf, featureStatistics, frechetDistance } from './metrics.js';
import { checkImages, shippedClassifier, type ImageBatch } from './classifier/features.js';
import { argmaxRows } from './classifier/model.js';
import { describe } from './validate.js';

export type { ImageBatch } from './classifier/features.js';

export interface QualityReport {
  /** Classifier-feature FID against the Fashion-MNIST test set. */
  fd: number;
  /** Classifier accuracy against the requested labels, when labels were given. */
  accuracy?: number;
  /** The number of samples. */
  count: number;
}

function checkLabels(labels: unknown, n: number, classes: number, where: string): Int32Array {
  if (!(labels instanceof Int32Array)) throw argumentError(`${where}: labels must be an Int32Array, got ${describe(labels)}`);
  if (labels.length !== n) throw shapeError(`${where}: labels has ${labels.length} elements, expected one per sample (${n})`);
  for (let i = 0; i < n; i++) if (!(labels[i] >= 0 && labels[i] < classes)) throw argumentError(`${where}: labels[${i}] is ${labels[i]}, expected a class 0..${classes - 1}`);
  return labels;
}

/** Checks the inputs, runs the classifier once, scores what was asked for. */
async function score(samples: ImageBatch, labels: Int32Array | undefined, want: { fd: boolean; accuracy: boolean }, where: string): Promise<QualityReport> {
  const c = await shippedClassifier();
  const count = checkImages(samples, c.config.size, where, want.fd ? 2 : 1);
  if (want.accuracy) checkLabels(labels, count, c.config.classes, where);
  if (want.fd && !c.reference) throw argumentError(`${where}: the classifier holds no reference statistics`);
  const out = await c.evaluate(samples, { logits: want.accuracy, where });
  const report: QualityReport = { fd: NaN, count };
  if (want.fd) report.fd = frechetDistance(featureStatistics(out.features, count, c.featureDim), c.reference!);
  if (want.accuracy) report.accuracy = accuracyOf(argmaxRows(out.logits!, c.config.classes), labels!);
  return report;
}

/**
 * Classifier-feature FID of samples [N, 1, 28, 28] (data space [-1, 1], N >= 2) against the
 * Fashion-MNIST test set: |mu_s - mu_t|^2 + tr(S_s + S_t - 2 (S_s S_t)^(1/2)) on the shipped
 * classifier's 128-d features. Lower is better; it grows as N shrinks, so compare at one N.
 */
export async function fd(samples: ImageBatch): Promise<number> {
  return (await score(samples, undefined, { fd: true, accuracy: false }, 'fd')).fd;
}

/** The fraction of samples [N, 1, 28, 28] the shipped classifier assigns to labels[i] (0..9). */
export async function classAccuracy(samples: ImageBatch, labels: Int32Array): Promise<number> {
  return (await score(samples, labels, { fd: false, accuracy: true }, 'classAccuracy')).accuracy!;
}

/** fd, and classAccuracy when labels are given, of one set of samples (one classifier pass). */
export async function qualityReport(samples: ImageBatch, labels?: Int32Array): Promise<QualityReport> {
  return score(samples, labels, { fd: true, accuracy: labels !== undefined }, 'qualityReport');
}
