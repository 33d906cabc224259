// Training of the classifier: mini-batch Adam on the softmax cross-entropy, seeded He-normal
// initialisation, a per-epoch shuffle (random.ts `permutation`), light augmentation (random
// shifts of up to `shift` pixels filled with the background -1, random horizontal flips), a
// linear warm-up then cosine learning-rate decay. Deterministic given the seed (and the engine's
// arithmetic: ops.gemm on the CPU).
import { argumentError, shapeError } from '../errors.js';
import { permutation, Rng } from '../random.js';
import { checkOptions, checkSize, describe } from '../validate.js';
import { backward, cpuEngine, DEFAULT_CONFIG, forward, PARAM_NAMES, paramShapes, softmaxCrossEntropy, type ClassifierConfig, type Engine, type Params } from './model.js';

export interface TrainClassifierOptions {
  seed?: number;
  /** Default 8. */
  epochs?: number;
  /** Default 128. */
  batchSize?: number;
  /** Peak Adam learning rate, default 2e-3. */
  lr?: number;
  /** Largest random shift in pixels (each axis), default 2; 0 turns shifts off. */
  shift?: number;
  /** Random horizontal flips, default true. */
  flip?: boolean;
  config?: ClassifierConfig;
  /** Called after each epoch. */
  onEpoch?: (e: EpochLog) => void;
}

export interface EpochLog {
  epoch: number;
  /** Mean training loss of the epoch (on the augmented batches). */
  loss: number;
  /** Training accuracy of the epoch (augmented batches, weights as they were at each step). */
  accuracy: number;
  seconds: number;
}

export interface TrainedClassifier {
  config: ClassifierConfig;
  params: Params;
  history: EpochLog[];
  hyper: { seed: number; epochs: number; batchSize: number; lr: number; shift: number; flip: boolean; warmupSteps: number; adam: { beta1: number; beta2: number; eps: number } };
}

const KEYS = ['seed', 'epochs', 'batchSize', 'lr', 'shift', 'flip', 'config', 'onEpoch'] as const;
const BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

/** He-normal weights (std sqrt(2 / fan_in)) from Rng(seed, 0), zero biases. */
export function initParams(config: ClassifierConfig, seed: number): Params {
  const rng = new Rng(seed, 0);
  const shapes = paramShapes(config);
  const p = {} as Params;
  for (const name of PARAM_NAMES) {
    const shape = shapes[name];
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('.weight')) {
      const fanIn = data.length / shape[shape.length - 1];
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
    }
    p[name] = data;
  }
  return p;
}

export function checkConfig(value: unknown, where: string): ClassifierConfig {
  if (value === null || typeof value !== 'object') throw argumentError(`${where}: config must be an object, got ${describe(value)}`);
  const o = checkOptions(value, ['size', 'c1', 'c2', 'hidden', 'classes'], where);
  const config = {} as ClassifierConfig;
  for (const key of ['size', 'c1', 'c2', 'hidden', 'classes'] as const) config[key] = checkSize(o[key], `config.${key}`, where, { min: 1 });
  if (config.size % 4 !== 0) throw argumentError(`${where}: config.size must be a multiple of 4, got ${config.size}`);
  if (config.classes < 2) throw argumentError(`${where}: config.classes must be >= 2, got ${config.classes}`);
  return config;
}

/**
 * Copies image `src` (s x s) into `dst`, shifted by (dx, dy) (pixels moved right / down), the
 * uncovered border set to -1, mirrored left-right first when `flip`.
 */
export function augment(src: Float32Array, so: number, dst: Float32Array, d0: number, s: number, dx: number, dy: number, flip: boolean): void {
  for (let y = 0; y < s; y++) {
    const sy = y - dy;
    for (let x = 0; x < s; x++) {
      const sx0 = x - dx;
      const sx = flip ? s - 1 - sx0 : sx0;
      dst[d0 + y * s + x] = sy >= 0 && sy < s && sx0 >= 0 && sx0 < s ? src[so + sy * s + sx] : -1;
    }
  }
}

/**
 * Trains a classifier on `count` images [count, 1, s, s] (data space [-1, 1]) with labels
 * 0..classes-1. Products run through `engine` (default: ops.gemm on the CPU, float32).
 */
export async function trainClassifier(images: Float32Array, labels: Int32Array, options?: TrainClassifierOptions, engine: Engine<Float32Array> = cpuEngine): Promise<TrainedClassifier> {
  const where = 'trainClassifier';
  const o = checkOptions(options, KEYS, where);
  const config = o.config === undefined ? { ...DEFAULT_CONFIG } : checkConfig(o.config, where);
  const seed = o.seed === undefined ? 1 : checkSize(o.seed, 'seed', where);
  const epochs = o.epochs === undefined ? 8 : checkSize(o.epochs, 'epochs', where, { min: 1 });
  const batchSize = o.batchSize === undefined ? 128 : checkSize(o.batchSize, 'batchSize', where, { min: 1 });
  const shift = o.shift === undefined ? 2 : checkSize(o.shift, 'shift', where);
  const lr = o.lr === undefined ? 2e-3 : (o.lr as number);
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0) throw argumentError(`${where}: lr must be a positive number, got ${describe(o.lr)}`);
  if (o.flip !== undefined && typeof o.flip !== 'boolean') throw argumentError(`${where}: flip must be a boolean, got ${describe(o.flip)}`);
  const flip = o.flip === undefined ? true : (o.flip as boolean);
  if (o.onEpoch !== undefined && typeof o.onEpoch !== 'function') throw argumentError(`${where}: onEpoch must be a function`);
  const onEpoch = o.onEpoch as ((e: EpochLog) => void) | undefined;
  if (!(images instanceof Float32Array)) throw argumentError(`${where}: images must be a Float32Array, got ${describe(images)}`);
  if (!(labels instanceof Int32Array)) throw argumentError(`${where}: labels must be an Int32Array, got ${describe(labels)}`);
  const s = config.size, pixels = s * s, n = labels.length;
  if (n === 0 || images.length !== n * pixels) throw shapeError(`${where}: images has ${images.length} elements, expected labels.length x ${s} x ${s} = ${n} x ${pixels} (at least one image)`);
  for (let i = 0; i < n; i++) if (!(labels[i] >= 0 && labels[i] < config.classes)) throw argumentError(`${where}: labels[${i}] is ${labels[i]}, expected 0..${config.classes - 1}`);
  for (let i = 0; i < images.length; i++) if (!Number.isFinite(images[i])) throw argumentError(`${where}: images[${i}] is ${images[i]}; images must be finite`);

  const params = initParams(config, seed);
  const m = {} as Params, v = {} as Params;
  for (const name of PARAM_NAMES) {
    m[name] = new Float32Array(params[name].length);
    v[name] = new Float32Array(params[name].length);
  }
  const stepsPerEpoch = Math.ceil(n / batchSize), totalSteps = epochs * stepsPerEpoch;
  const warmupSteps = Math.min(100, Math.floor(totalSteps / 10));
  const rng = new Rng(seed, 1); // augmentation
  const batchX = new Float32Array(batchSize * pixels), batchY = new Int32Array(batchSize);
  const history: EpochLog[] = [];
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const start = performance.now();
    const order = permutation(seed, epoch, n);
    let lossSum = 0, correct = 0;
    for (let first = 0; first < n; first += batchSize) {
      const B = Math.min(batchSize, n - first);
      for (let b = 0; b < B; b++) {
        const i = order[first + b];
        const dx = shift ? rng.int(2 * shift + 1) - shift : 0, dy = shift ? rng.int(2 * shift + 1) - shift : 0;
        const mirror = flip ? rng.int(2) === 1 : false;
        augment(images, i * pixels, batchX, b * pixels, s, dx, dy, mirror);
        batchY[b] = labels[i];
      }
      const x = B === batchSize ? batchX : batchX.subarray(0, B * pixels);
      const y = batchY.subarray(0, B);
      const f = await forward(engine, config, params, x, B);
      const { loss, dLogits, correct: hits } = softmaxCrossEntropy(f.logits, y, config.classes, engine);
      if (!Number.isFinite(loss)) throw new Error(`${where}: the loss became ${loss} at epoch ${epoch}, step ${step}`);
      lossSum += loss * B;
      correct += hits;
      const g = await backward(engine, config, params, f, dLogits);
      step++;
      const rate = step <= warmupSteps ? (lr * step) / warmupSteps : 0.5 * lr * (1 + Math.cos((Math.PI * (step - warmupSteps)) / Math.max(1, totalSteps - warmupSteps)));
      const c1 = 1 - BETA1 ** step, c2 = 1 - BETA2 ** step;
      for (const name of PARAM_NAMES) adam(params[name], g[name], m[name], v[name], rate, c1, c2);
    }
    const log = { epoch: epoch + 1, loss: lossSum / n, accuracy: correct / n, seconds: (performance.now() - start) / 1000 };
    history.push(log);
    onEpoch?.(log);
  }
  return { config, params, history, hyper: { seed, epochs, batchSize, lr, shift, flip, warmupSteps, adam: { beta1: BETA1, beta2: BETA2, eps: EPS } } };
}

function adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, rate: number, c1: number, c2: number): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = (m[i] = BETA1 * m[i] + (1 - BETA1) * gi);
    const vi = (v[i] = BETA2 * v[i] + (1 - BETA2) * gi * gi);
    p[i] -= (rate * (mi / c1)) / (Math.sqrt(vi / c2) + EPS);
  }
}
