// Toy 2-D data sets with exact samplers: the distribution of each is defined by the sampler
// below, so a model's samples can be compared with fresh true samples. All are roughly
// unit-scale (mean ~0, std per coordinate ~1). Each sample draws, in order, its label (the
// mixture component) then its coordinates from Rng(seed, stream), so the first k samples of a
// larger draw equal a draw of k.
//
// - 'checkerboard': uniform on the 8 cells [i, i+1) x [j, j+1), i, j in {-2, -1, 0, 1},
//   i + j even, of a 4 x 4 board over [-2, 2)^2. Label: the cell (0..7, in row-major order of
//   (j, i)). Marginals uniform on [-2, 2): mean 0, std 2/sqrt(3) = 1.155.
// - 'gaussians-8': equal mixture of 8 isotropic Gaussians, std 0.1, centred at
//   sqrt(2) (cos(2 pi k / 8), sin(2 pi k / 8)), k = label 0..7. Mean 0, std per coordinate
//   sqrt(1 + 0.01) = 1.005.
// - 'moons': label c in {0, 1} equally likely, theta ~ U[0, pi],
//   m = (cos theta, sin theta) for c = 0, (1 - cos theta, 1/2 - sin theta) for c = 1 (the two
//   interleaved half circles of scikit-learn's make_moons), x = 1.2 (m - (1/2, 1/4)) + 0.08 n,
//   n ~ N(0, I). Mean 0; std sqrt(1.44 var(m) + 0.0064) = 1.042 in x, 0.598 in y.
// - 'spiral': two arms, label c in {0, 1} equally likely, u ~ U[0, 1], r = sqrt(u),
//   phi = 3 pi r, x = (-1)^c 2 r (cos phi, sin phi) + 0.08 n, n ~ N(0, I). Mean 0; radius up to
//   2 (1.5 turns), E|x|^2 = 2 + 2 (0.08)^2.
import { argumentError } from '../errors.js';
import { Rng } from '../random.js';
import { checkOptions, checkSize, describe } from '../validate.js';
import { measure, type Dataset } from './dataset.js';

export type ToyName = 'checkerboard' | 'gaussians-8' | 'moons' | 'spiral';
export const TOY_DATASETS: readonly ToyName[] = ['checkerboard', 'gaussians-8', 'moons', 'spiral'];

/** Number of labels (mixture components) of each toy set. */
export const TOY_CLASSES: Record<ToyName, number> = { checkerboard: 8, 'gaussians-8': 8, moons: 2, spiral: 2 };

export interface ToySamples {
  /** [count, 2], row-major (x, y). */
  data: Float32Array;
  shape: [number, 2];
  /** The mixture component of each sample (see TOY_CLASSES). */
  labels: Int32Array;
}

/** The 8 filled cells (i, j) of the checkerboard, in row-major order of (j, i). */
const CELLS: [number, number][] = [];
for (let j = -2; j <= 1; j++) for (let i = -2; i <= 1; i++) if ((((i + j) % 2) + 2) % 2 === 0) CELLS.push([i, j]);

type Sampler = (rng: Rng, label: number, out: Float32Array, at: number) => void;

const SAMPLERS: Record<ToyName, Sampler> = {
  checkerboard(rng, label, out, at) {
    const [i, j] = CELLS[label];
    out[at] = i + rng.uniform();
    out[at + 1] = j + rng.uniform();
  },
  'gaussians-8'(rng, label, out, at) {
    const angle = (2 * Math.PI * label) / 8;
    out[at] = Math.SQRT2 * Math.cos(angle) + 0.1 * rng.normal();
    out[at + 1] = Math.SQRT2 * Math.sin(angle) + 0.1 * rng.normal();
  },
  moons(rng, label, out, at) {
    const theta = Math.PI * rng.uniform();
    const mx = label === 0 ? Math.cos(theta) : 1 - Math.cos(theta);
    const my = label === 0 ? Math.sin(theta) : 0.5 - Math.sin(theta);
    out[at] = 1.2 * (mx - 0.5) + 0.08 * rng.normal();
    out[at + 1] = 1.2 * (my - 0.25) + 0.08 * rng.normal();
  },
  spiral(rng, label, out, at) {
    const r = Math.sqrt(rng.uniform()), phi = 3 * Math.PI * r, sign = label === 0 ? 1 : -1;
    out[at] = sign * 2 * r * Math.cos(phi) + 0.08 * rng.normal();
    out[at + 1] = sign * 2 * r * Math.sin(phi) + 0.08 * rng.normal();
  },
};

function checkName(name: unknown, where: string): ToyName {
  if (typeof name !== 'string' || !(TOY_DATASETS as readonly string[]).includes(name)) {
    throw argumentError(`${where}: unknown toy data set ${describe(name)} (known: ${TOY_DATASETS.join(', ')})`);
  }
  return name as ToyName;
}

function draw(name: ToyName, count: number, seed: number, stream: number): ToySamples {
  const rng = new Rng(seed, stream), sampler = SAMPLERS[name], classes = TOY_CLASSES[name];
  const data = new Float32Array(2 * count), labels = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    labels[s] = rng.int(classes);
    sampler(rng, labels[s], data, 2 * s);
  }
  return { data, shape: [count, 2], labels };
}

/** `count` exact samples of a toy distribution (stream 0 of `seed`). */
export function sampleToy(name: ToyName, count: number, seed: number): ToySamples {
  const where = 'sampleToy';
  const toy = checkName(name, where);
  checkSize(count, 'count', where, { min: 1 });
  checkSize(seed, 'seed', where);
  return draw(toy, count, seed, 0);
}

export interface ToyDatasetOptions {
  /** Number of training samples, default 100 000. */
  count?: number;
  /** Default 0. */
  seed?: number;
}

/**
 * A fixed training set of a toy distribution. It is drawn from stream 1 of `seed`, so it never
 * equals sampleToy(name, count, seed) (stream 0): evaluation samples of the same seed are fresh.
 */
export function toyDataset(name: ToyName, options?: ToyDatasetOptions): Dataset {
  const where = 'toyDataset';
  const toy = checkName(name, where);
  const o = checkOptions(options, ['count', 'seed'], where);
  const count = o.count === undefined ? 100_000 : checkSize(o.count, 'count', where, { min: 1 });
  const seed = o.seed === undefined ? 0 : checkSize(o.seed, 'seed', where);
  const { data, shape, labels } = draw(toy, count, seed, 1);
  return { name: toy, data, shape: [...shape], labels, numClasses: TOY_CLASSES[toy], ...measure(data) };
}
