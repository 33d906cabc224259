import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { Canvas, PALETTE } from '../src/canvas.js';
import { ADVANCE, drawText, glyph, glyphCharacters, GLYPH_HEIGHT, GLYPH_WIDTH, textWidth } from '../src/font.js';
import { encodePng } from '../src/image.js';
import { savePng, sampleToy } from '../src/index.js';
import { Rng } from '../src/random.js';
import { expectScmError, randomFloats } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'scm-image-'));

function decode(bytes: Buffer): { width: number; height: number; pixel: (x: number, y: number) => [number, number, number, number] } {
  const png = PNG.sync.read(bytes);
  return {
    width: png.width,
    height: png.height,
    pixel: (x, y) => {
      const i = (y * png.width + x) * 4;
      return [png.data[i], png.data[i + 1], png.data[i + 2], png.data[i + 3]];
    },
  };
}

const level = (v: number) => Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255);

describe('image grids', () => {
  test('greyscale [N, 1, H, W]: grid size, every pixel value, clamping, padding colour', () => {
    const n = 7, h = 5, w = 4;
    const data = randomFloats(n * h * w, 3).map((x) => x * 1.3); // some values beyond [-1, 1]
    const png = decode(encodePng({ data, shape: [n, 1, h, w] }, { nrow: 3, padding: 2 }));
    expect([png.width, png.height]).toEqual([3 * (w + 2) + 2, 3 * (h + 2) + 2]);
    let mismatches = 0;
    for (let k = 0; k < n; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const px = (k % 3) * (w + 2) + 2 + x, py = Math.floor(k / 3) * (h + 2) + 2 + y;
          const v = level(data[k * h * w + y * w + x]);
          const p = png.pixel(px, py);
          if (p[0] !== v || p[1] !== v || p[2] !== v || p[3] !== 255) mismatches++;
        }
    expect(mismatches).toBe(0);
    expect(png.pixel(0, 0)).toEqual([255, 255, 255, 255]); // padding
    expect(png.pixel(png.width - 1, png.height - 1)).toEqual([255, 255, 255, 255]); // the empty 9th cell
    expect(Array.from(data).some((v) => v > 1) && Array.from(data).some((v) => v < -1)).toBe(true);
  });

  test('RGB [N, 3, H, W], scale, background, range', () => {
    const n = 2, h = 3, w = 3, plane = h * w;
    const data = randomFloats(n * 3 * plane, 5).map((x) => x * 0.5 + 0.5); // in [0, 1]
    const png = decode(encodePng({ data, shape: [n, 3, h, w] }, { scale: 3, padding: 1, background: 40, range: [0, 1] }));
    expect([png.width, png.height]).toEqual([2 * (w + 1) * 3 + 3, (h + 1) * 3 + 3]);
    const k = 1, x = 2, y = 1;
    const expected = [0, 1, 2].map((c) => Math.round(Math.min(1, Math.max(0, data[k * 3 * plane + c * plane + y * w + x])) * 255));
    for (let dy = 0; dy < 3; dy++)
      for (let dx = 0; dx < 3; dx++) {
        const p = png.pixel((w + 1) * 3 + 3 + x * 3 + dx, 3 + y * 3 + dy);
        expect(p.slice(0, 3)).toEqual(expected);
      }
    expect(png.pixel(1, 1)).toEqual([40, 40, 40, 255]);
  });

  test('a Dataset (extra fields, labels) is drawn as its images', () => {
    const data = randomFloats(3 * 4, 2);
    const plain = encodePng({ data, shape: [3, 1, 2, 2] });
    expect(encodePng({ data, shape: [3, 1, 2, 2], labels: new Int32Array([0, 1, 2]), name: 'custom', std: 0.5 } as never).equals(plain)).toBe(true);
  });

  test('default nrow: ceil(sqrt(N)) columns', () => {
    const png = decode(encodePng({ data: randomFloats(10 * 4, 1), shape: [10, 1, 2, 2] }, { padding: 0 }));
    expect([png.width, png.height]).toEqual([4 * 2, 3 * 2]);
  });

  test('savePng writes the file atomically', async () => {
    const path = join(dir, 'grid.png');
    const samples = { data: randomFloats(4 * 28 * 28, 2), shape: [4, 1, 28, 28] };
    await savePng(samples, path);
    expect(readFileSync(path).equals(encodePng(samples))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await expectScmError(savePng(samples, join(dir, 'missing', 'x.png')), 'E_IO', /savePng: cannot write .*directory .*missing does not exist/);
  });

  test('bad samples and options', async () => {
    const data = randomFloats(12, 1);
    const cases: [unknown, unknown, string, RegExp][] = [
      [{ data, shape: [3, 2, 2] }, undefined, 'E_SHAPE', /samples.shape must be \[N, C, H, W\] with C = 1 or 3, or \[N, 2\] points, got \[3, 2, 2\]/],
      [{ data, shape: [1, 2, 2, 3] }, undefined, 'E_SHAPE', /C = 1 or 3/],
      [{ data, shape: [2, 1, 2, 2] }, undefined, 'E_SHAPE', /samples.data has 12 elements, shape \[2, 1, 2, 2\] needs 8/],
      [{ data: Array.from(data), shape: [3, 1, 2, 2] }, undefined, 'E_ARGUMENT', /samples.data must be a Float32Array/],
      [{ data: data.map((v, i) => (i === 5 ? NaN : v)), shape: [3, 1, 2, 2] }, undefined, 'E_ARGUMENT', /samples.data\[5\] is NaN/],
      [{ data, shape: [3, 1, 2, 2] }, { size: 100 }, 'E_ARGUMENT', /encodePng \(images\): unknown option 'size'/],
      [{ data, shape: [6, 2] }, { nrow: 2 }, 'E_ARGUMENT', /encodePng \(points\): unknown option 'nrow'/],
      [{ data, shape: [3, 1, 2, 2] }, { nrow: 0 }, 'E_ARGUMENT', /nrow must be an integer >= 1, got 0/],
      [{ data, shape: [3, 1, 2, 2] }, { range: [1, 1] }, 'E_ARGUMENT', /range must have 1 < 1/],
      [{ data, shape: [3, 1, 2, 2] }, { background: 300 }, 'E_ARGUMENT', /background must be a grey level 0..255, got 300/],
      [{ data, shape: [6, 2], labels: new Int32Array(5) }, undefined, 'E_ARGUMENT', /labels must be an Int32Array of 6 labels/],
      [{ data, shape: [6, 2] }, { extent: [0, 1, 2] }, 'E_ARGUMENT', /extent must be 4 finite numbers/],
      [{ data, shape: [6, 2] }, { opacity: 2 }, 'E_ARGUMENT', /opacity must be a number in \[0, 1\], got 2/],
      [{ data: new Float32Array(4), shape: [1, 1, 2, 2] }, { scale: 20000 }, 'E_ARGUMENT', /out of range/],
    ];
    for (const [samples, options, code, pattern] of cases) await expectScmError(() => encodePng(samples as never, options as never), code, pattern);
    await expectScmError(savePng({ data, shape: [12, 1, 1, 1] }, '' as never), 'E_ARGUMENT', /savePng: path must be a non-empty string/);
  });
});

describe('scatter plots of points', () => {
  test('a point lands at its pixel; the extent and the frame', () => {
    const data = new Float32Array([1, 2, -2.5, -1]);
    const png = decode(encodePng({ data, shape: [2, 2] }, { size: 200, extent: [-3, 3, -3, 3], pointRadius: 1, opacity: 1 }));
    expect([png.width, png.height]).toEqual([200, 200]);
    const at = (x: number, y: number) => [Math.round(((x + 3) / 6) * 200 - 0.5), Math.round(((3 - y) / 6) * 200 - 0.5)];
    for (const [x, y] of [[1, 2], [-2.5, -1]]) {
      const [px, py] = at(x, y);
      expect(png.pixel(px, py).slice(0, 3)).toEqual(Array.from(PALETTE[0]));
    }
    expect(png.pixel(150, 20).slice(0, 3)).toEqual([255, 255, 255]);
    expect(png.pixel(0, 77).slice(0, 3)).toEqual([120, 120, 120]); // frame
    expect(png.pixel(100, 30).slice(0, 3)).toEqual([200, 200, 200]); // the y axis at x = 0
  });

  test('labels colour the points; points outside the extent are skipped; overlaps darken', () => {
    const data = new Float32Array([0.5, 0.5, -0.5, -0.5, 10, 10]);
    const png = decode(encodePng({ data, shape: [3, 2], labels: new Int32Array([0, 3, 1]) }, { size: 100, extent: [-1, 1, -1, 1], opacity: 1 }));
    expect(png.pixel(74, 24).slice(0, 3)).toEqual(Array.from(PALETTE[0]));
    expect(png.pixel(24, 74).slice(0, 3)).toEqual(Array.from(PALETTE[3]));
    const stacked = decode(encodePng({ data: new Float32Array([0.3, 0.3, 0.3, 0.3]), shape: [2, 2] }, { size: 100, extent: [-1, 1, -1, 1], opacity: 0.5 }));
    const single = decode(encodePng({ data: new Float32Array([0.3, 0.3]), shape: [1, 2] }, { size: 100, extent: [-1, 1, -1, 1], opacity: 0.5 }));
    const [px, py] = [Math.round(1.3 * 50 - 0.5), Math.round(0.7 * 50 - 0.5)];
    expect(stacked.pixel(px, py)[0]).toBeLessThan(single.pixel(px, py)[0]);
    expect(single.pixel(px, py)[0]).toBeLessThan(255);
  });

  test("extent 'auto' covers every point; a toy data set renders its shape", () => {
    const toy = sampleToy('gaussians-8', 4000, 1);
    const png = decode(encodePng(toy, { size: 256, extent: 'auto' }));
    let inked = 0;
    for (let y = 1; y < 255; y++) for (let x = 1; x < 255; x++) if (png.pixel(x, y)[0] < 200) inked++;
    expect(inked).toBeGreaterThan(500);
    // the centre of the ring is empty: the 8 components sit at radius sqrt(2)
    expect(png.pixel(128, 128)[0] === 255 || png.pixel(128, 128)[0] === 200).toBe(true);
  });
});

describe('font', () => {
  test('every printable ASCII character has its own glyph', () => {
    const chars = glyphCharacters();
    for (let c = 32; c < 127; c++) expect(chars).toContain(String.fromCharCode(c));
    const shapes = new Set(chars.map((c) => glyph(c).join('')));
    expect(shapes.size).toBe(chars.length); // all distinct
    for (const c of chars) expect(glyph(c).length).toBe(GLYPH_WIDTH * GLYPH_HEIGHT);
    expect(glyph('é').join('')).toBe(glyph('\u{1F600}').join('')); // missing: the same box
    expect(chars).toContain('µ');
  });

  test('drawText puts each glyph pixel at its place, at scale 1 and 3, and vertically', () => {
    for (const scale of [1, 3]) {
      const text = 'Ag5%', canvas = new Canvas(100, 40, [255, 255, 255]);
      drawText(canvas, text, 4, 6, [0, 0, 0], { scale });
      let mismatches = 0;
      Array.from(text).forEach((c, k) => {
        const g = glyph(c);
        for (let row = 0; row < GLYPH_HEIGHT; row++)
          for (let col = 0; col < GLYPH_WIDTH; col++)
            for (let d = 0; d < scale; d++) {
              const x = 4 + (k * ADVANCE + col) * scale + d, y = 6 + row * scale + d;
              if ((canvas.get(x, y)[0] === 0 ? 1 : 0) !== g[row * GLYPH_WIDTH + col]) mismatches++;
            }
      });
      expect(mismatches).toBe(0);
      expect(textWidth(text, scale)).toBe((4 * 6 - 1) * scale);
    }
    const canvas = new Canvas(20, 40, [255, 255, 255]);
    drawText(canvas, 'L', 2, 3, [0, 0, 0], { vertical: true });
    // 'L' rotated counter-clockwise: its left stem becomes the bottom row, its foot the right column
    const g = glyph('L');
    let mismatches = 0;
    for (let row = 0; row < GLYPH_HEIGHT; row++) for (let col = 0; col < GLYPH_WIDTH; col++) if ((canvas.get(2 + row, 3 + GLYPH_WIDTH - 1 - col)[0] === 0 ? 1 : 0) !== g[row * GLYPH_WIDTH + col]) mismatches++;
    expect(mismatches).toBe(0);
    expect(canvas.get(2, 3 + 4)[0]).toBe(0); // stem, top row of the glyph, at the bottom-left
  });

  test('random text renders exactly its glyphs (no overlap between characters)', () => {
    const rng = new Rng(2), chars = glyphCharacters();
    const text = Array.from({ length: 30 }, () => chars[rng.int(chars.length)]).join('');
    const canvas = new Canvas(textWidth(text, 2), GLYPH_HEIGHT * 2, [255, 255, 255]);
    drawText(canvas, text, 0, 0, [0, 0, 0], { scale: 2 });
    let ink = 0, expected = 0;
    for (let y = 0; y < canvas.height; y++) for (let x = 0; x < canvas.width; x++) if (canvas.get(x, y)[0] === 0) ink++;
    for (const c of text) expected += glyph(c).reduce((a, b) => a + b, 0) * 4;
    expect(ink).toBe(expected);
  });
});
