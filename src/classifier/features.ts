// The shipped classifier (models/classifier.safetensors): its file format, loading it lazily
// from the package folder, and its outputs on images: feature vectors and predicted classes.
//
// File: tensors  conv1.weight [3, 3, 1, c1], conv1.bias, conv2.weight [3, 3, c1, c2], conv2.bias,
//                fc1.weight [(s/4)^2 c2, hidden], fc1.bias, fc2.weight [hidden, classes], fc2.bias
//                (F32 or BF16), reference.mean [hidden] and reference.cov [hidden, hidden] (F64):
//                the feature statistics of the reference images (the Fashion-MNIST test set);
//        metadata format = 'scm-native-classifier/1', config (ClassifierConfig JSON),
//                reference_count, reference_split, test_accuracy, and how it was trained
//                (command, seed, epochs, wall_seconds, date, machine, hyper, history).
import path from 'node:path';
import { modelsDir } from '../package-root.js';
import { readSafetensors, writeSafetensors, type TensorEntry } from '../checkpoint.js';
import { argumentError, ScmError, shapeError } from '../errors.js';
import { describe } from '../validate.js';
import { argmaxRows, cpuEngine, forward, PARAM_NAMES, paramShapes, type ClassifierConfig, type Params } from './model.js';
import { checkConfig } from './train.js';

export const CLASSIFIER_FORMAT = 'scm-native-classifier/1';
export const CLASSIFIER_FILE = 'classifier.safetensors';

/** Images [N, 1, H, W] in data space [-1, 1], row-major. */
export interface ImageBatch {
  data: Float32Array;
  shape: readonly number[];
}

/** Feature statistics of the reference set (the Fashion-MNIST test set for the shipped file). */
export interface ReferenceStatistics {
  mean: Float64Array;
  cov: Float64Array;
  count: number;
}

/** Images per forward pass when computing features (bounds the im2col buffers to ~30 MB). */
const CHUNK = 256;

/**
 * Checks `images` against the classifier's input: an object { data: Float32Array, shape }
 * with shape [N, 1, size, size], N >= min, data.length matching and every value finite.
 * Returns N.
 */
export function checkImages(images: unknown, size: number, where: string, min = 1): number {
  if (images === null || typeof images !== 'object') throw argumentError(`${where}: samples must be { data: Float32Array, shape: [N, 1, ${size}, ${size}] }, got ${describe(images)}`);
  const { data, shape } = images as { data: unknown; shape: unknown };
  if (!(data instanceof Float32Array)) throw argumentError(`${where}: samples.data must be a Float32Array, got ${describe(data)}`);
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw argumentError(`${where}: samples.shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (shape.length !== 4 || shape[1] !== 1 || shape[2] !== size || shape[3] !== size) {
    throw shapeError(`${where}: samples.shape is [${shape.join(', ')}], expected [N, 1, ${size}, ${size}] (Fashion-MNIST images)`);
  }
  const n = shape[0] as number;
  if (n < min) throw shapeError(`${where}: ${n} samples, at least ${min} needed`);
  if (data.length !== n * size * size) throw shapeError(`${where}: samples.data has ${data.length} elements, expected ${n} x 1 x ${size} x ${size} = ${n * size * size}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new ScmError(`${where}: samples.data[${i}] is ${data[i]} (sample ${Math.floor(i / (size * size))}); samples must be finite`, 'E_NONFINITE');
  }
  return n;
}

export class Classifier {
  readonly config: Readonly<ClassifierConfig>;
  /** @internal */
  readonly params: Params;
  /** Feature statistics of the reference set, when the file holds them. */
  readonly reference: ReferenceStatistics | undefined;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(config: ClassifierConfig, params: Params, reference?: ReferenceStatistics, metadata: Record<string, string> = {}) {
    this.config = Object.freeze({ ...config });
    this.params = params;
    this.reference = reference;
    this.metadata = Object.freeze({ ...metadata });
  }

  /** The feature width (the penultimate layer). */
  get featureDim(): number {
    return this.config.hidden;
  }

  /**
   * Runs the network over images [N, 1, s, s] in data space [-1, 1] (values outside are
   * clamped, as they are when an image is saved), in chunks: the features [N, hidden] (the
   * penultimate activation) and, when asked for, the logits [N, classes].
   */
  async evaluate(images: ImageBatch, { logits = true, where = 'Classifier.evaluate' } = {}): Promise<{ features: Float32Array; logits?: Float32Array; count: number }> {
    const s = this.config.size, pixels = s * s, { hidden, classes } = this.config;
    const n = checkImages(images, s, where);
    const features = new Float32Array(n * hidden), out = logits ? new Float32Array(n * classes) : undefined;
    const x = new Float32Array(Math.min(CHUNK, n) * pixels);
    for (let first = 0; first < n; first += CHUNK) {
      const B = Math.min(CHUNK, n - first);
      const chunk = B === CHUNK ? x : x.subarray(0, B * pixels);
      const src = images.data.subarray(first * pixels, (first + B) * pixels);
      for (let i = 0; i < chunk.length; i++) chunk[i] = src[i] < -1 ? -1 : src[i] > 1 ? 1 : src[i];
      const f = await forward(cpuEngine, this.config, this.params, chunk, B, logits ? 'logits' : 'features');
      features.set(f.features, first * hidden);
      out?.set(f.logits, first * classes);
    }
    return { features, logits: out, count: n };
  }

  /** Feature vectors of images [N, 1, s, s]: Float32Array [N, hidden]. */
  async features(images: ImageBatch): Promise<Float32Array> {
    return (await this.evaluate(images, { logits: false, where: 'classifierFeatures' })).features;
  }

  /** The predicted class of each image (the largest logit): Int32Array [N]. */
  async classify(images: ImageBatch): Promise<Int32Array> {
    return argmaxRows((await this.evaluate(images, { where: 'classify' })).logits!, this.config.classes);
  }
}

/** Writes a classifier file (see the format above); weights as F32 (exact) or BF16. */
export async function saveClassifier(
  file: string,
  classifier: { config: ClassifierConfig; params: Params },
  reference: ReferenceStatistics | undefined,
  metadata: Record<string, string>,
  dtype: 'F32' | 'BF16' = 'F32',
): Promise<void> {
  const shapes = paramShapes(classifier.config);
  const tensors = new Map<string, TensorEntry>();
  for (const name of PARAM_NAMES) tensors.set(name, { dtype, shape: shapes[name], data: classifier.params[name] });
  if (reference) {
    const d = classifier.config.hidden;
    tensors.set('reference.mean', { dtype: 'F64', shape: [d], data: reference.mean });
    tensors.set('reference.cov', { dtype: 'F64', shape: [d, d], data: reference.cov });
  }
  const meta: Record<string, string> = { ...metadata, format: CLASSIFIER_FORMAT, config: JSON.stringify(classifier.config) };
  if (reference) meta.reference_count = String(reference.count);
  await writeSafetensors(file, tensors, meta);
}

function badFile(file: string, message: string): ScmError {
  return new ScmError(`loadClassifier: ${file}: ${message}`, 'E_BAD_CHECKPOINT');
}

/** Reads and validates a classifier file. */
export async function loadClassifier(file: string = defaultClassifierPath()): Promise<Classifier> {
  if (typeof file !== 'string' || file.length === 0) throw argumentError(`loadClassifier: file must be a non-empty string, got ${describe(file)}`);
  const { tensors, metadata } = await readSafetensors(file);
  if (metadata.format !== CLASSIFIER_FORMAT) throw badFile(file, `format is ${describe(metadata.format)}, expected '${CLASSIFIER_FORMAT}'`);
  let config: ClassifierConfig;
  try {
    config = checkConfig(JSON.parse(metadata.config ?? 'null'), 'loadClassifier');
  } catch (e) {
    throw badFile(file, `metadata config ${describe(metadata.config)} is not a classifier config (${(e as Error).message})`);
  }
  const shapes = paramShapes(config);
  const take = (name: string, shape: number[], dtypes: string[]): Float32Array | Float64Array => {
    const t = tensors.get(name);
    if (!t) throw badFile(file, `tensor ${name} is missing`);
    if (!dtypes.includes(t.dtype)) throw badFile(file, `tensor ${name} is ${t.dtype}, expected ${dtypes.join(' or ')}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw badFile(file, `tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    const data = t.data as Float32Array | Float64Array;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw badFile(file, `tensor ${name}[${i}] is ${data[i]}`);
    return data;
  };
  const params = {} as Params;
  for (const name of PARAM_NAMES) params[name] = take(name, shapes[name], ['F32', 'BF16']) as Float32Array;
  let reference: ReferenceStatistics | undefined;
  if (tensors.has('reference.mean') || tensors.has('reference.cov')) {
    const count = Number(metadata.reference_count);
    if (!Number.isSafeInteger(count) || count < 2) throw badFile(file, `metadata reference_count is ${describe(metadata.reference_count)}, expected an integer >= 2`);
    const d = config.hidden;
    reference = { mean: take('reference.mean', [d], ['F64']) as Float64Array, cov: take('reference.cov', [d, d], ['F64']) as Float64Array, count };
  }
  return new Classifier(config, params, reference, metadata);
}

/**
 * models/classifier.safetensors at the package root, found from this module's folder: src/classifier
 * (sources), dist/src/classifier (compiled), node_modules/scm-native/dist/src/classifier (installed).
 */
export function defaultClassifierPath(): string {
  return path.join(modelsDir(), CLASSIFIER_FILE);
}

let shipped: Promise<Classifier> | undefined;

/** The shipped classifier, loaded on first use (a failed load is retried on the next call). */
export function shippedClassifier(): Promise<Classifier> {
  if (!shipped) {
    shipped = loadClassifier().catch((e) => {
      shipped = undefined;
      if (e instanceof ScmError && e.code === 'E_IO') throw new ScmError(`the shipped classifier cannot be read: ${e.message} (it belongs in models/${CLASSIFIER_FILE} of the scm-native package)`, 'E_IO');
      throw e;
    });
  }
  return shipped;
}

/** Features of images [N, 1, 28, 28] (data space) from the shipped classifier: Float32Array [N, 128]. */
export async function classifierFeatures(images: ImageBatch): Promise<Float32Array> {
  return (await shippedClassifier()).features(images);
}

/** The shipped classifier's predicted class (0..9, FASHION_MNIST_CLASSES) of each image. */
export async function classify(images: ImageBatch): Promise<Int32Array> {
  return (await shippedClassifier()).classify(images);
}
