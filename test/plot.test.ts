import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { Canvas, PALETTE } from '../src/canvas.js';
import { drawText, GLYPH_HEIGHT, textWidth } from '../src/font.js';
import { plotPng } from '../src/index.js';
import { encodePlot, formatTick, linearTicks, logTicks, renderPlot, type Series } from '../src/plot.js';
import { expectScmError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'scm-plot-'));

const series: Series[] = [
  { name: 'sCM 1-step', points: [[2, 30], [5, 12], [40, 8]] },
  { name: 'teacher Heun', points: [[30, 40], [120, 9], [700, 4.5], [1400, 4.1]] },
  { name: 'sCM 2-step', points: [[4, 6]] },
];

function sameColor(c: Canvas, x: number, y: number, rgb: readonly number[], radius = 0): boolean {
  for (let dy = -radius; dy <= radius; dy++)
    for (let dx = -radius; dx <= radius; dx++) {
      const p = c.get(x + dx, y + dy);
      if (p[0] === rgb[0] && p[1] === rgb[1] && p[2] === rgb[2]) return true;
    }
  return false;
}

function countColor(c: Canvas, rgb: readonly number[], box = { x0: 0, y0: 0, x1: c.width, y1: c.height }): number {
  let n = 0;
  for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) if (sameColor(c, x, y, rgb)) n++;
  return n;
}

describe('ticks', () => {
  test('linear ticks: 1-2-5 steps inside the range', () => {
    expect(linearTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(linearTicks(-0.13, 0.92)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(linearTicks(1003, 1004.1)).toEqual([1003, 1003.2, 1003.4, 1003.6, 1003.8, 1004]);
    expect(linearTicks(-55, 40)).toEqual([-40, -20, 0, 20, 40]);
  });

  test('log ticks: decades, with 2 and 5 for short ranges', () => {
    expect(logTicks(0.5, 2000)).toEqual([1, 10, 100, 1000]);
    expect(logTicks(3, 70)).toEqual([5, 10, 20, 50]);
    expect(logTicks(1.5, 3.5)).toEqual([2, 3]);
  });

  test('tick labels', () => {
    expect([0, 0.2, 1.4, -3].map((v) => formatTick(v, 0.2))).toEqual(['0', '0.2', '1.4', '-3.0']);
    expect(formatTick(2000, 500)).toBe('2000');
    expect(formatTick(0.001, 0.001)).toBe('0.001');
    expect(formatTick(2e6, 5e5)).toBe('2e6');
    expect(formatTick(2.5e6, 5e5)).toBe('2.5e6');
    expect(formatTick(1e-5, 1e-5)).toBe('1e-5');
  });
});

describe('plotPng', () => {
  test('points land at their mapped pixels in their colours; lines join them; legend and text are drawn', () => {
    const { canvas, layout } = renderPlot(series, { title: 'Quality vs time', xLabel: 'ms per image', yLabel: 'FD', logX: true });
    expect([canvas.width, canvas.height]).toEqual([800, 500]);
    series.forEach((s, i) => {
      for (const [x, y] of s.points) {
        const px = Math.round(layout.x(x)), py = Math.round(layout.y(y));
        // under the legend box a marker may be hidden; every point here is outside it
        expect(sameColor(canvas, px, py, PALETTE[i], 1), `${s.name} at (${x}, ${y})`).toBe(true);
      }
    });
    // a line pixel halfway (in pixels) between two points of series 0
    const [a, b] = series[0].points;
    const mx = Math.round((layout.x(a[0]) + layout.x(b[0])) / 2), my = Math.round((layout.y(a[1]) + layout.y(b[1])) / 2);
    expect(sameColor(canvas, mx, my, PALETTE[0], 1)).toBe(true);
    // log axis: x = 10 is halfway between 1 and 100
    expect(layout.x(10) - layout.x(1)).toBeCloseTo(layout.x(100) - layout.x(10), 9);
    // legend: a swatch of each colour in the top-right box
    const legend = { x0: layout.left + layout.width / 2, y0: layout.top, x1: layout.left + layout.width, y1: layout.top + 100 };
    for (let i = 0; i < series.length; i++) expect(countColor(canvas, PALETTE[i], legend), `legend ${i}`).toBeGreaterThan(20);
    // the title is the font's rendering of the text, centred above the plot
    const scale = 2, w = textWidth('Quality vs time', scale);
    const reference = new Canvas(w, GLYPH_HEIGHT * scale, [255, 255, 255]);
    drawText(reference, 'Quality vs time', 0, 0, [40, 40, 40], { scale });
    const tx = Math.round(layout.left + layout.width / 2 - w / 2);
    let mismatches = 0;
    for (let y = 0; y < reference.height; y++) for (let x = 0; x < w; x++) if (canvas.get(tx + x, 10 + y)[0] !== reference.get(x, y)[0]) mismatches++;
    expect(mismatches).toBe(0);
    // y label drawn vertically at the left edge: ink in a tall narrow strip
    let ink = 0;
    for (let y = 0; y < 500; y++) for (let x = 10; x < 10 + GLYPH_HEIGHT * 2; x++) if (canvas.get(x, y)[0] === 40) ink++;
    expect(ink).toBeGreaterThan(30);
  });

  test('linear axes include the data; markers only; ranges given', () => {
    const { canvas, layout } = renderPlot([{ name: 'a', points: [[0, 0], [1, 1]] }], { markers: true, lines: false, xRange: [-1, 2], yRange: [-1, 2], width: 400, height: 300 });
    expect([canvas.width, canvas.height]).toEqual([400, 300]);
    expect(layout.x(-1)).toBe(layout.left);
    expect(layout.x(2)).toBe(layout.left + layout.width - 1);
    expect(layout.y(2)).toBe(layout.top);
    const mid = [Math.round(layout.x(0.5)), Math.round(layout.y(0.5))];
    expect(sameColor(canvas, mid[0], mid[1], PALETTE[0])).toBe(false); // no line
    expect(sameColor(canvas, Math.round(layout.x(1)), Math.round(layout.y(1)), PALETTE[0])).toBe(true);
  });

  test('a single point and a flat series get a usable range', () => {
    const { layout } = renderPlot([{ name: 'one', points: [[5, 5]] }], {});
    expect(layout.x(5)).toBeGreaterThan(layout.left);
    expect(layout.x(5)).toBeLessThan(layout.left + layout.width);
    const flat = renderPlot([{ name: 'flat', points: [[1, 3], [2, 3]] }], { logY: true }).layout;
    expect(flat.y(3)).toBeGreaterThan(flat.top);
  });

  test('writes a PNG that decodes to the rendered pixels', async () => {
    const path = join(dir, 'plot.png');
    await plotPng(series, { title: 'x', logX: true }, path);
    const png = PNG.sync.read(readFileSync(path));
    const { canvas } = renderPlot(series, { title: 'x', logX: true });
    expect([png.width, png.height]).toEqual([canvas.width, canvas.height]);
    let mismatches = 0;
    for (let i = 0; i < canvas.width * canvas.height; i++) for (let c = 0; c < 3; c++) if (png.data[4 * i + c] !== canvas.rgb[3 * i + c]) mismatches++;
    expect(mismatches).toBe(0);
    expect(encodePlot(series, { title: 'x', logX: true }).equals(readFileSync(path))).toBe(true);
  });

  test('bad series and options', async () => {
    const cases: [unknown, unknown, RegExp][] = [
      [[], {}, /series must be a non-empty array/],
      [[{ name: 'a', points: [] }], {}, /series\[0\] \(a\): points must be a non-empty array/],
      [[{ name: 'a', points: [[1, NaN]] }], {}, /points\[0\] must be \[x, y\] with finite numbers/],
      [[{ name: 'a', points: [[0, 1]] }], { logX: true }, /points\[0\] = \[0, 1\] is not positive on a logarithmic axis/],
      [[{ name: 3, points: [[0, 1]] }], {}, /series\[0\].name must be a string/],
      [[{ name: 'a', points: [[0, 1]], color: 'red' }], {}, /series\[0\]: unknown option 'color'/],
      [series, { xlabel: 'x' }, /unknown option 'xlabel'/],
      [series, { logX: 'yes' }, /logX must be a boolean/],
      [series, { xRange: [3, 1] }, /xRange must be \[min, max\] with min < max/],
      [series, { width: 50 }, /width must be an integer >= 200, got 50/],
      [series, { title: 5 }, /title must be a string/],
    ];
    for (const [s, options, pattern] of cases) await expectScmError(() => renderPlot(s as never, options as never), 'E_ARGUMENT', pattern);
    await expectScmError(plotPng(series, {}, join(dir, 'nope', 'p.png')), 'E_IO', /plotPng: cannot write/);
  });
});
