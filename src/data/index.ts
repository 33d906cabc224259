// Data sets by name or the user's own: what trainDiffusion's `data` option accepts.
import { argumentError } from '../errors.js';
import { checkOptions, describe } from '../validate.js';
import { checkDataset, type Dataset, type DatasetInput } from './dataset.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { TOY_DATASETS, toyDataset, type ToyName } from './toy.js';

export type DatasetName = 'fashion-mnist' | ToyName;
export const DATASET_NAMES: readonly DatasetName[] = ['fashion-mnist', ...TOY_DATASETS];

export interface ResolveOptions {
  /** fashion-mnist: 'train' (default) or 'test'. */
  split?: 'train' | 'test';
  /** fashion-mnist: folder of the idx files. */
  dir?: string;
  /** fashion-mnist: keep the first `limit` images. */
  limit?: number;
  /** Toy sets: training-set size (default 100 000). */
  count?: number;
  /** Toy sets: seed of the training set (default 0). */
  seed?: number;
}

/**
 * The data set `spec` names ('fashion-mnist', 'checkerboard', 'gaussians-8', 'moons', 'spiral'),
 * or the user's own { data, shape, labels?, numClasses?, classNames? } validated (its arrays are
 * used as they are, not copied). Options that do not apply to the kind of set are refused.
 */
export async function resolveDataset(spec: DatasetName | DatasetInput, options?: ResolveOptions): Promise<Dataset> {
  const where = 'resolveDataset';
  if (typeof spec === 'string') {
    if (spec === 'fashion-mnist') return loadFashionMnist(checkOptions(options, ['split', 'dir', 'limit'], `${where} ('fashion-mnist')`));
    if ((TOY_DATASETS as readonly string[]).includes(spec)) {
      return toyDataset(spec as ToyName, checkOptions(options, ['count', 'seed'], `${where} ('${spec}')`));
    }
    throw argumentError(`${where}: unknown data set ${describe(spec)} (known: ${DATASET_NAMES.join(', ')}, or { data, shape, labels? })`);
  }
  const extra = Object.keys(checkOptions(options, ['split', 'dir', 'limit', 'count', 'seed'], where));
  if (extra.length > 0) throw argumentError(`${where}: option '${extra[0]}' does not apply to your own data set`);
  return checkDataset(spec, where);
}

export { checkDataset, measure, type Dataset, type DatasetInput } from './dataset.js';
export { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist, type FashionMnistOptions } from './fashion-mnist.js';
export { sampleToy, toyDataset, TOY_CLASSES, TOY_DATASETS, type ToyDatasetOptions, type ToyName, type ToySamples } from './toy.js';
