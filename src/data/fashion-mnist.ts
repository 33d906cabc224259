// Fashion-MNIST (Xiao et al. 2017) from its idx files: 60 000 training and 10 000 test images,
// 28 x 28 grey levels, 10 classes. Debian ships them in the package dataset-fashion-mnist.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { argumentError, ScmError } from '../errors.js';
import { checkOneOf, checkOptions, checkSize, describe } from '../validate.js';
import { measure, type Dataset } from './dataset.js';
import { parseIdx, readIdxBytes } from './idx.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_PACKAGE = 'dataset-fashion-mnist';
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

export interface FashionMnistOptions {
  /** 'train' (60 000 images, default) or 'test' (10 000). */
  split?: 'train' | 'test';
  /** Folder with the idx files (plain or .gz); default /usr/share/datasets/fashion-mnist. */
  dir?: string;
  /** Keep only the first `limit` images. */
  limit?: number;
}

const KEYS = ['split', 'dir', 'limit'] as const;

/** The file for `stem` in `dir`: the plain idx file if present, else the .gz one. */
async function findFile(dir: string, stem: string, where: string): Promise<string> {
  for (const name of [stem, `${stem}.gz`]) {
    const path = join(dir, name);
    if (await access(path).then(() => true, () => false)) return path;
  }
  throw new ScmError(
    `${where}: ${join(dir, stem)}(.gz) not found. Install the Debian package ${FASHION_MNIST_PACKAGE} ` +
      `(apt-get install ${FASHION_MNIST_PACKAGE}, files in ${FASHION_MNIST_DIR}) or pass { dir } naming a folder with the Fashion-MNIST idx files`,
    'E_IO',
  );
}

/**
 * Loads a Fashion-MNIST split: data [N, 1, 28, 28] with pixel p (0..255) mapped to p / 127.5 - 1
 * in [-1, 1], labels 0..9 (FASHION_MNIST_CLASSES), and the measured mean and std of the pixels.
 * Missing files: E_IO naming the file and the Debian package; malformed files: E_IO naming the file.
 */
export async function loadFashionMnist(options?: FashionMnistOptions): Promise<Dataset> {
  const where = 'loadFashionMnist';
  const o = checkOptions(options, KEYS, where);
  const split = checkOneOf(o.split, ['train', 'test'] as const, 'split', where, 'train');
  if (o.dir !== undefined && (typeof o.dir !== 'string' || o.dir.length === 0)) throw argumentError(`${where}: dir must be a non-empty string, got ${describe(o.dir)}`);
  const dir = (o.dir as string | undefined) ?? FASHION_MNIST_DIR;
  const limit = o.limit === undefined ? undefined : checkSize(o.limit, 'limit', where, { min: 1 });
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = await findFile(dir, `${prefix}-images-idx3-ubyte`, where);
  const labelsPath = await findFile(dir, `${prefix}-labels-idx1-ubyte`, where);
  const images = parseIdx(await readIdxBytes(imagesPath, where), 3, imagesPath, where);
  const labels = parseIdx(await readIdxBytes(labelsPath, where), 1, labelsPath, where);
  const [count, rows, cols] = images.dims;
  if (rows !== 28 || cols !== 28) throw new ScmError(`${where}: ${imagesPath} holds ${rows} x ${cols} images, Fashion-MNIST's are 28 x 28`, 'E_IO');
  if (labels.dims[0] !== count) throw new ScmError(`${where}: ${imagesPath} has ${count} images but ${labelsPath} has ${labels.dims[0]} labels`, 'E_IO');
  if (count === 0) throw new ScmError(`${where}: ${imagesPath} holds no images`, 'E_IO');
  const n = limit === undefined ? count : Math.min(limit, count);
  const pixels = rows * cols;
  const data = new Float32Array(n * pixels);
  for (let i = 0; i < data.length; i++) data[i] = images.data[i] / 127.5 - 1;
  const bad = labels.data.findIndex((label) => label >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new ScmError(`${where}: ${labelsPath}: label ${bad} is ${labels.data[bad]}, expected 0..9`, 'E_IO');
  const out = Int32Array.from(labels.data.subarray(0, n));
  return {
    name: 'fashion-mnist',
    data,
    shape: [n, 1, rows, cols],
    labels: out,
    numClasses: FASHION_MNIST_CLASSES.length,
    classNames: [...FASHION_MNIST_CLASSES],
    ...measure(data),
  };
}
