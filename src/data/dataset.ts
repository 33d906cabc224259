// The Dataset every trainer takes, and the validation of a user's own data set.
import { argumentError, shapeError } from '../errors.js';
import { checkOptions, describe } from '../validate.js';

/**
 * A training set in memory: `data` row-major with `shape` = [N, ...] (images [N, C, H, W] in
 * [-1, 1], points [N, D]), optional integer `labels` (one per sample, 0 <= label < numClasses).
 * `mean` and `std` are measured over all elements (population std, in double precision): the
 * trainer scales data by sd / std so that its std is sd (SCM.md §1).
 */
export interface Dataset {
  name: string;
  data: Float32Array;
  shape: number[];
  labels?: Int32Array;
  numClasses?: number;
  classNames?: string[];
  mean: number;
  std: number;
}

/** A user's own data set, as accepted by resolveDataset / trainDiffusion. */
export interface DatasetInput {
  data: Float32Array;
  shape: readonly number[];
  labels?: Int32Array;
  /** Default: the largest label + 1. */
  numClasses?: number;
  classNames?: readonly string[];
}

/** Mean and population standard deviation of all elements, in double precision (two passes). */
export function measure(data: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  const mean = sum / data.length;
  let sq = 0;
  for (let i = 0; i < data.length; i++) sq += (data[i] - mean) ** 2;
  return { mean, std: Math.sqrt(sq / data.length) };
}

/** Validates labels (Int32Array, one per sample, >= 0) and the class count and names. */
export function checkLabels(labels: unknown, n: number, numClasses: unknown, classNames: unknown, where: string): { labels?: Int32Array; numClasses?: number; classNames?: string[] } {
  if (labels === undefined) {
    if (numClasses !== undefined || classNames !== undefined) throw argumentError(`${where}: numClasses and classNames need labels`);
    return {};
  }
  if (!(labels instanceof Int32Array)) throw argumentError(`${where}: labels must be an Int32Array, got ${describe(labels)}`);
  if (labels.length !== n) throw shapeError(`${where}: labels has ${labels.length} elements, expected one per sample (N = ${n})`);
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) throw argumentError(`${where}: labels[${i}] is ${labels[i]}; labels must be integers >= 0`);
    if (labels[i] > max) max = labels[i];
  }
  let classes = max + 1;
  if (numClasses !== undefined) {
    if (typeof numClasses !== 'number' || !Number.isSafeInteger(numClasses) || numClasses < 1) {
      throw argumentError(`${where}: numClasses must be an integer >= 1, got ${describe(numClasses)}`);
    }
    if (numClasses <= max) throw argumentError(`${where}: labels[${labels.indexOf(max)}] is ${max}, not below numClasses = ${numClasses}`);
    classes = numClasses;
  }
  if (classNames === undefined) return { labels, numClasses: classes };
  if (!Array.isArray(classNames) || classNames.length !== classes || !classNames.every((c) => typeof c === 'string')) {
    throw argumentError(`${where}: classNames must be ${classes} strings (one per class), got ${describe(classNames)}`);
  }
  return { labels, numClasses: classes, classNames: [...classNames] };
}

/** Validates a user's data set: shape product = length, N >= 1, finite data, valid labels. */
export function checkDataset(input: unknown, where: string): Dataset {
  if (input === null || typeof input !== 'object') throw argumentError(`${where}: data set must be a name or { data, shape, labels? }, got ${describe(input)}`);
  const o = checkOptions(input, ['data', 'shape', 'labels', 'numClasses', 'classNames'], `${where}: data set`);
  if (!(o.data instanceof Float32Array)) throw argumentError(`${where}: data must be a Float32Array, got ${describe(o.data)}`);
  const data = o.data;
  if (!Array.isArray(o.shape) || o.shape.length === 0 || !o.shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1)) {
    throw argumentError(`${where}: shape must be a non-empty array of integers >= 1 ([N, ...]), got ${JSON.stringify(o.shape) ?? describe(o.shape)}`);
  }
  const shape = [...(o.shape as number[])];
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw shapeError(`${where}: data has ${data.length} elements, shape [${shape.join(', ')}] needs ${count}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw argumentError(`${where}: data[${i}] is ${data[i]} (sample ${Math.floor(i / (count / shape[0]))}); data must be finite`);
    }
  }
  return { name: 'custom', data, shape, ...checkLabels(o.labels, shape[0], o.numClasses, o.classNames, where), ...measure(data) };
}
