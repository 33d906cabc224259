// A small RGB raster for the PNG writers: pixels, rectangles, lines, discs, alpha blending,
// and PNG encoding (pngjs) / atomic saving.
import { PNG } from 'pngjs';
import { writeFileAtomic } from './atomic-file.js';
import { argumentError } from './errors.js';
import { describe } from './validate.js';

export type Rgb = readonly [number, number, number];

/** The largest canvas side and pixel count the writers accept. */
export const MAX_SIDE = 16384;
export const MAX_PIXELS = 1 << 27;

export class Canvas {
  readonly width: number;
  readonly height: number;
  /** RGB, row-major, 3 bytes per pixel. */
  readonly rgb: Uint8Array;

  constructor(width: number, height: number, background: Rgb, where = 'Canvas') {
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
      throw argumentError(`${where}: an image of ${width} x ${height} pixels is out of range (1..${MAX_SIDE} per side, at most ${MAX_PIXELS} pixels)`);
    }
    this.width = width;
    this.height = height;
    this.rgb = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  /** Sets pixel (x, y) (integers; outside the canvas: ignored). */
  set(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.rgb[i] = c[0];
    this.rgb[i + 1] = c[1];
    this.rgb[i + 2] = c[2];
  }

  get(x: number, y: number): [number, number, number] {
    const i = (y * this.width + x) * 3;
    return [this.rgb[i], this.rgb[i + 1], this.rgb[i + 2]];
  }

  /** Mixes colour c into pixel (x, y) with opacity alpha in [0, 1]. */
  blend(x: number, y: number, c: Rgb, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    for (let k = 0; k < 3; k++) this.rgb[i + k] = Math.round(this.rgb[i + k] + (c[k] - this.rgb[i + k]) * alpha);
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, x), y0 = Math.max(0, y), x1 = Math.min(this.width, x + w), y1 = Math.min(this.height, y + h);
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.set(xx, yy, c);
  }

  /** Outline of the rectangle [x, x + w) x [y, y + h). */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.fillRect(x, y, w, 1, c);
    this.fillRect(x, y + h - 1, w, 1, c);
    this.fillRect(x, y, 1, h, c);
    this.fillRect(x + w - 1, y, 1, h, c);
  }

  /** Filled disc of radius r around (cx, cy), optionally only inside `clip`. */
  disc(cx: number, cy: number, r: number, c: Rgb, alpha = 1, clip?: Clip): void {
    const x0 = Math.floor(cx - r), x1 = Math.ceil(cx + r), y0 = Math.floor(cy - r), y1 = Math.ceil(cy + r);
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 > r * r + 0.25) continue;
        if (clip !== undefined && !inside(clip, x, y)) continue;
        if (alpha >= 1) this.set(x, y, c);
        else this.blend(x, y, c, alpha);
      }
  }

  /** A line of the given thickness (square pen) from (x0, y0) to (x1, y1), Bresenham, clipped. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1, clip?: Clip): void {
    x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    const before = Math.floor((thickness - 1) / 2), after = thickness - 1 - before;
    let err = dx + dy;
    for (let steps = 0; steps <= dx - dy; steps++) {
      for (let oy = -before; oy <= after; oy++)
        for (let ox = -before; ox <= after; ox++) if (clip === undefined || inside(clip, x0 + ox, y0 + oy)) this.set(x0 + ox, y0 + oy, c);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }
}

/** A clipping rectangle [x0, x1) x [y0, y1). */
export interface Clip {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function inside(clip: Clip, x: number, y: number): boolean {
  return x >= clip.x0 && x < clip.x1 && y >= clip.y0 && y < clip.y1;
}

/** The canvas as an 8-bit RGB PNG. */
export function encodeCanvas(canvas: Canvas): Buffer {
  const png = new PNG({ width: canvas.width, height: canvas.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(canvas.rgb.buffer, canvas.rgb.byteOffset, canvas.rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Distinct colours (Tableau 10) for series and labels. */
export const PALETTE: readonly Rgb[] = [
  [78, 121, 167], [242, 142, 43], [225, 87, 89], [118, 183, 178], [89, 161, 79],
  [237, 201, 72], [176, 122, 161], [255, 157, 167], [156, 117, 95], [186, 176, 172],
];

export function checkPath(path: unknown, where: string): string {
  if (typeof path !== 'string' || path.length === 0) throw argumentError(`${where}: path must be a non-empty string, got ${describe(path)}`);
  return path;
}

/** Writes the canvas as a PNG to `path` atomically (E_IO on failure). */
export async function saveCanvas(canvas: Canvas, path: string, where: string): Promise<void> {
  await writeFileAtomic(path, [encodeCanvas(canvas)], where);
}
