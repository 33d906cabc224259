// Samples to PNG: a grid of images ([N, C, H, W], C = 1 or 3, values in `range`, default
// [-1, 1], clamped) or a scatter plot of 2-D points ([N, 2]).
import { Canvas, checkPath, encodeCanvas, PALETTE, saveCanvas, type Rgb } from './canvas.js';
import { argumentError, shapeError } from './errors.js';
import { checkOptions, checkSize, describe } from './validate.js';

export interface Samples {
  data: Float32Array;
  shape: readonly number[];
  /** Points: colour each point by its label (images: ignored). Other fields are ignored too. */
  labels?: Int32Array;
}

export interface PngOptions {
  // Images [N, C, H, W]:
  /** Images per row of the grid; default ceil(sqrt(N)). */
  nrow?: number;
  /** Pixels between images and around the grid (before scaling); default 2. */
  padding?: number;
  /** Integer magnification of each pixel; default 1 for images. */
  scale?: number;
  /** Grey level 0..255 of the padding; default 255. */
  background?: number;
  /** The values mapped to black and white; default [-1, 1]. */
  range?: readonly [number, number];
  // Points [N, 2]:
  /** Side of the square image in pixels; default 512. */
  size?: number;
  /** [xmin, xmax, ymin, ymax] shown, or 'auto' (the points' bounding box + 5%); default [-3, 3, -3, 3]. */
  extent?: readonly [number, number, number, number] | 'auto';
  /** Radius of each point in pixels; default 1.5. */
  pointRadius?: number;
  /** Opacity of each point (overlaps darken: a density); default 0.5. */
  opacity?: number;
}

const IMAGE_KEYS = ['nrow', 'padding', 'scale', 'background', 'range'] as const;
const POINT_KEYS = ['size', 'extent', 'pointRadius', 'opacity'] as const;

function checkSamples(samples: unknown, where: string): { data: Float32Array; shape: number[]; labels?: Int32Array } {
  if (samples === null || typeof samples !== 'object') throw argumentError(`${where}: samples must be { data, shape }, got ${describe(samples)}`);
  // a data object, not options: other fields (a Dataset's name, std, ...) are ignored
  const s = samples as { data?: unknown; shape?: unknown; labels?: unknown };
  if (!(s.data instanceof Float32Array)) throw argumentError(`${where}: samples.data must be a Float32Array, got ${describe(s.data)}`);
  if (!Array.isArray(s.shape) || !s.shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1)) {
    throw argumentError(`${where}: samples.shape must be an array of integers >= 1, got ${JSON.stringify(s.shape) ?? describe(s.shape)}`);
  }
  const shape = s.shape as number[];
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== s.data.length) throw shapeError(`${where}: samples.data has ${s.data.length} elements, shape [${shape.join(', ')}] needs ${count}`);
  const isImages = shape.length === 4 && (shape[1] === 1 || shape[1] === 3);
  const isPoints = shape.length === 2 && shape[1] === 2;
  if (!isImages && !isPoints) throw shapeError(`${where}: samples.shape must be [N, C, H, W] with C = 1 or 3, or [N, 2] points, got [${shape.join(', ')}]`);
  for (let i = 0; i < s.data.length; i++) {
    if (!Number.isFinite(s.data[i])) throw argumentError(`${where}: samples.data[${i}] is ${s.data[i]}; values must be finite`);
  }
  if (s.labels === undefined || !isPoints) return { data: s.data, shape }; // images: labels not drawn
  if (!(s.labels instanceof Int32Array) || s.labels.length !== shape[0]) throw argumentError(`${where}: samples.labels must be an Int32Array of ${shape[0]} labels, got ${describe(s.labels)}`);
  return { data: s.data, shape, labels: s.labels };
}

function checkRange(value: unknown, name: string, where: string, length: number): number[] {
  if (!Array.isArray(value) || value.length !== length || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw argumentError(`${where}: ${name} must be ${length} finite numbers, got ${JSON.stringify(value) ?? describe(value)}`);
  }
  for (let i = 0; i < length; i += 2) {
    if (!(value[i] < value[i + 1])) throw argumentError(`${where}: ${name} must have ${value[i]} < ${value[i + 1]}`);
  }
  return value as number[];
}

function checkNumber(value: unknown, name: string, where: string, lo: number, hi: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi) throw argumentError(`${where}: ${name} must be a number in [${lo}, ${hi}], got ${describe(value)}`);
  return value;
}

function imageGrid(data: Float32Array, shape: number[], options: Record<string, unknown>, where: string): Canvas {
  const [n, channels, h, w] = shape;
  const nrow = options.nrow === undefined ? Math.ceil(Math.sqrt(n)) : checkSize(options.nrow, 'nrow', where, { min: 1 });
  const padding = options.padding === undefined ? 2 : checkSize(options.padding, 'padding', where);
  const scale = options.scale === undefined ? 1 : checkSize(options.scale, 'scale', where, { min: 1 });
  const background = options.background === undefined ? 255 : checkSize(options.background, 'background', where);
  if (background > 255) throw argumentError(`${where}: background must be a grey level 0..255, got ${background}`);
  const [lo, hi] = options.range === undefined ? [-1, 1] : checkRange(options.range, 'range', where, 2);
  const columns = Math.min(nrow, n), rows = Math.ceil(n / columns);
  const cellW = (w + padding) * scale, cellH = (h + padding) * scale;
  const canvas = new Canvas(columns * cellW + padding * scale, rows * cellH + padding * scale, [background, background, background], where);
  const level = (v: number) => Math.round(Math.min(1, Math.max(0, (v - lo) / (hi - lo))) * 255);
  const plane = h * w;
  const color: [number, number, number] = [0, 0, 0];
  for (let k = 0; k < n; k++) {
    const x0 = (k % columns) * cellW + padding * scale, y0 = Math.floor(k / columns) * cellH + padding * scale;
    const base = k * channels * plane;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) color[c] = level(data[base + (channels === 1 ? 0 : c) * plane + y * w + x]);
        canvas.fillRect(x0 + x * scale, y0 + y * scale, scale, scale, color);
      }
  }
  return canvas;
}

const AXIS: Rgb = [200, 200, 200];
const FRAME: Rgb = [120, 120, 120];
const POINT: Rgb = PALETTE[0];

function scatter(data: Float32Array, n: number, labels: Int32Array | undefined, options: Record<string, unknown>, where: string): Canvas {
  const size = options.size === undefined ? 512 : checkSize(options.size, 'size', where, { min: 16 });
  const radius = checkNumber(options.pointRadius, 'pointRadius', where, 0, 64, 1.5);
  const opacity = checkNumber(options.opacity, 'opacity', where, 0, 1, 0.5);
  let extent: number[];
  if (options.extent === 'auto') {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      x0 = Math.min(x0, data[2 * i]); x1 = Math.max(x1, data[2 * i]);
      y0 = Math.min(y0, data[2 * i + 1]); y1 = Math.max(y1, data[2 * i + 1]);
    }
    const mx = Math.max((x1 - x0) * 0.05, 1e-6), my = Math.max((y1 - y0) * 0.05, 1e-6);
    extent = [x0 - mx, x1 + mx, y0 - my, y1 + my];
  } else extent = options.extent === undefined ? [-3, 3, -3, 3] : checkRange(options.extent, 'extent', where, 4);
  const [xmin, xmax, ymin, ymax] = extent;
  const canvas = new Canvas(size, size, [255, 255, 255], where);
  const px = (x: number) => ((x - xmin) / (xmax - xmin)) * size - 0.5;
  const py = (y: number) => ((ymax - y) / (ymax - ymin)) * size - 0.5;
  if (xmin < 0 && xmax > 0) canvas.fillRect(Math.round(px(0)), 0, 1, size, AXIS);
  if (ymin < 0 && ymax > 0) canvas.fillRect(0, Math.round(py(0)), size, 1, AXIS);
  canvas.strokeRect(0, 0, size, size, FRAME);
  const clip = { x0: 1, y0: 1, x1: size - 1, y1: size - 1 };
  for (let i = 0; i < n; i++) {
    const x = data[2 * i], y = data[2 * i + 1];
    if (x < xmin || x > xmax || y < ymin || y > ymax) continue;
    const color = labels === undefined ? POINT : PALETTE[((labels[i] % PALETTE.length) + PALETTE.length) % PALETTE.length];
    canvas.disc(px(x), py(y), radius, color, opacity, clip);
  }
  return canvas;
}

/** The PNG bytes of `samples`: an image grid or a scatter plot (see PngOptions). */
export function encodePng(samples: Samples, options?: PngOptions): Buffer {
  return encodeCanvas(renderSamples(samples, options, 'encodePng'));
}

/** Renders samples to a canvas (internal; encodePng / savePng). */
export function renderSamples(samples: Samples, options: PngOptions | undefined, where: string): Canvas {
  const { data, shape, labels } = checkSamples(samples, where);
  if (shape.length === 4) {
    const o = checkOptions(options, IMAGE_KEYS, `${where} (images)`);
    return imageGrid(data, shape, o, where);
  }
  const o = checkOptions(options, POINT_KEYS, `${where} (points)`);
  return scatter(data, shape[0], labels, o, where);
}

/**
 * Writes samples as a PNG (atomically): images [N, C, H, W] (C = 1 or 3) as a grid, values
 * in `range` (default [-1, 1]) clamped to black..white; points [N, 2] as a scatter plot.
 */
export async function savePng(samples: Samples, path: string, options?: PngOptions): Promise<void> {
  const where = 'savePng';
  checkPath(path, where);
  await saveCanvas(renderSamples(samples, options, where), path, where);
}
