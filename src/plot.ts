// Line / scatter plots as PNG for the benchmarks: axes with ticks (linear or logarithmic),
// grid, title and axis labels in the built-in bitmap font, one colour and marker shape per
// series, and a legend.
import { Canvas, checkPath, encodeCanvas, PALETTE, saveCanvas, type Clip, type Rgb } from './canvas.js';
import { argumentError } from './errors.js';
import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';
import { checkBoolean, checkOptions, checkSize, describe } from './validate.js';

export interface Series {
  name: string;
  /** [x, y] pairs, drawn in this order. */
  points: readonly (readonly [number, number])[];
}

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic x axis (every x > 0). */
  logX?: boolean;
  /** Logarithmic y axis (every y > 0). */
  logY?: boolean;
  /** Image size in pixels; default 800 x 500. */
  width?: number;
  height?: number;
  /** Axis ranges [min, max]; default: the data's, with a 5% margin. */
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
  /** Connect the points of a series (default true) / draw a marker at each (default true). */
  lines?: boolean;
  markers?: boolean;
  /** Magnification of the 5 x 7 font; default 2. */
  textScale?: number;
}

const KEYS = ['title', 'xLabel', 'yLabel', 'logX', 'logY', 'width', 'height', 'xRange', 'yRange', 'lines', 'markers', 'textScale'] as const;

const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [232, 232, 232];
const FRAME: Rgb = [110, 110, 110];
const WHITE: Rgb = [255, 255, 255];
export const MARKER_SHAPES = ['disc', 'square', 'diamond', 'triangle'] as const;

/** Tick values in [lo, hi] at steps of 1, 2 or 5 times a power of ten, about `target` of them. */
export function linearTicks(lo: number, hi: number, target = 6): number[] {
  const raw = (hi - lo) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * 0.999)!;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** Ticks of a logarithmic axis over [lo, hi] (values > 0): powers of ten, with 2 and 5 when that gives too few. */
export function logTicks(lo: number, hi: number): number[] {
  const within = (v: number) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const first = Math.floor(Math.log10(lo)), last = Math.ceil(Math.log10(hi));
  for (const multiples of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks: number[] = [];
    for (let e = first; e <= last; e++) for (const m of multiples) if (within(m * 10 ** e)) ticks.push(Number((m * 10 ** e).toPrecision(12)));
    if (ticks.length >= 3 || multiples.length === 9) return ticks.length >= 2 ? ticks : linearTicks(lo, hi);
  }
  return linearTicks(lo, hi);
}

/** A short label for a tick value. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(Math.max(0, Math.min(6, Math.round(Math.log10(a) - Math.log10(Math.abs(step)))))).replace(/\.?0+e/, 'e').replace('e+', 'e');
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(Math.abs(step)) + 1e-9)));
  return v.toFixed(decimals);
}

interface Axis {
  log: boolean;
  lo: number;
  hi: number;
  ticks: number[];
}

function axis(values: number[], log: boolean, range: unknown, name: string, where: string): Axis {
  let lo: number, hi: number;
  if (range !== undefined) {
    if (!Array.isArray(range) || range.length !== 2 || !range.every((v) => typeof v === 'number' && Number.isFinite(v)) || !(range[0] < range[1])) {
      throw argumentError(`${where}: ${name} must be [min, max] with min < max, got ${JSON.stringify(range) ?? describe(range)}`);
    }
    if (log && range[0] <= 0) throw argumentError(`${where}: ${name} must be positive on a logarithmic axis, got [${range[0]}, ${range[1]}]`);
    [lo, hi] = range as number[];
  } else {
    const t = values.map((v) => (log ? Math.log10(v) : v));
    let min = Math.min(...t), max = Math.max(...t);
    if (max - min < 1e-12 * Math.max(1, Math.abs(max))) {
      const pad = log ? 0.5 : Math.max(Math.abs(max) * 0.1, 1);
      min -= pad;
      max += pad;
    } else {
      const pad = (max - min) * 0.05;
      min -= pad;
      max += pad;
    }
    [lo, hi] = log ? [10 ** min, 10 ** max] : [min, max];
  }
  return { log, lo, hi, ticks: log ? logTicks(lo, hi) : linearTicks(lo, hi) };
}

export interface PlotLayout {
  left: number;
  top: number;
  width: number;
  height: number;
  /** Data -> pixel coordinates (not rounded). */
  x(v: number): number;
  y(v: number): number;
}

function marker(canvas: Canvas, shape: (typeof MARKER_SHAPES)[number], cx: number, cy: number, r: number, color: Rgb, clip?: Clip): void {
  const x0 = Math.floor(cx - r), x1 = Math.ceil(cx + r), y0 = Math.floor(cy - r), y1 = Math.ceil(cy + r);
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const dx = x - cx, dy = y - cy;
      const inShape =
        shape === 'disc' ? dx * dx + dy * dy <= r * r + 0.25
          : shape === 'square' ? Math.abs(dx) <= r * 0.85 && Math.abs(dy) <= r * 0.85
            : shape === 'diamond' ? Math.abs(dx) + Math.abs(dy) <= r * 1.2
              : dy <= r * 0.8 && dy >= -r && Math.abs(dx) <= ((dy + r) / (1.8 * r)) * r;
      if (inShape && (clip === undefined || (x >= clip.x0 && x < clip.x1 && y >= clip.y0 && y < clip.y1))) canvas.set(x, y, color);
    }
}

function checkSeries(series: unknown, logX: boolean, logY: boolean, where: string): Series[] {
  if (!Array.isArray(series) || series.length === 0) throw argumentError(`${where}: series must be a non-empty array of { name, points }, got ${describe(series)}`);
  return series.map((s, i) => {
    if (s === null || typeof s !== 'object') throw argumentError(`${where}: series[${i}] must be { name, points }, got ${describe(s)}`);
    const o = checkOptions(s, ['name', 'points'], `${where}: series[${i}]`);
    if (typeof o.name !== 'string') throw argumentError(`${where}: series[${i}].name must be a string, got ${describe(o.name)}`);
    if (!Array.isArray(o.points) || o.points.length === 0) throw argumentError(`${where}: series[${i}] (${o.name}): points must be a non-empty array of [x, y], got ${describe(o.points)}`);
    o.points.forEach((p: unknown, k: number) => {
      if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw argumentError(`${where}: series[${i}] (${o.name}): points[${k}] must be [x, y] with finite numbers, got ${JSON.stringify(p) ?? describe(p)}`);
      }
      if ((logX && p[0] <= 0) || (logY && p[1] <= 0)) throw argumentError(`${where}: series[${i}] (${o.name}): points[${k}] = [${p[0]}, ${p[1]}] is not positive on a logarithmic axis`);
    });
    return { name: o.name, points: o.points as [number, number][] };
  });
}

/** Draws the plot (internal: encodePlot and plotPng encode it; tests read the layout). */
export function renderPlot(series: Series[], options: PlotOptions | undefined, where = 'plotPng'): { canvas: Canvas; layout: PlotLayout } {
  const o = checkOptions(options, KEYS, where);
  for (const key of ['title', 'xLabel', 'yLabel'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'string') throw argumentError(`${where}: ${key} must be a string, got ${describe(o[key])}`);
  }
  const title = (o.title as string | undefined) ?? '', xLabel = (o.xLabel as string | undefined) ?? '', yLabel = (o.yLabel as string | undefined) ?? '';
  const logX = checkBoolean(o.logX, 'logX', where), logY = checkBoolean(o.logY, 'logY', where);
  const lines = o.lines === undefined ? true : checkBoolean(o.lines, 'lines', where);
  const markers = o.markers === undefined ? true : checkBoolean(o.markers, 'markers', where);
  const width = o.width === undefined ? 800 : checkSize(o.width, 'width', where, { min: 200 });
  const height = o.height === undefined ? 500 : checkSize(o.height, 'height', where, { min: 150 });
  const s = o.textScale === undefined ? 2 : checkSize(o.textScale, 'textScale', where, { min: 1 });
  if (s > 8) throw argumentError(`${where}: textScale must be at most 8, got ${s}`);
  const all = checkSeries(series, logX, logY, where);
  const xAxis = axis(all.flatMap((q) => q.points.map((p) => p[0])), logX, o.xRange, 'xRange', where);
  const yAxis = axis(all.flatMap((q) => q.points.map((p) => p[1])), logY, o.yRange, 'yRange', where);
  const xStep = xAxis.ticks.length > 1 ? xAxis.ticks[1] - xAxis.ticks[0] : xAxis.hi - xAxis.lo;
  const yStep = yAxis.ticks.length > 1 ? yAxis.ticks[1] - yAxis.ticks[0] : yAxis.hi - yAxis.lo;
  const xLabels = xAxis.ticks.map((t) => formatTick(t, logX ? t : xStep));
  const yLabels = yAxis.ticks.map((t) => formatTick(t, logY ? t : yStep));
  const charH = GLYPH_HEIGHT * s, tick = 5;

  const top = 10 + (title ? charH + 10 : 0);
  const bottom = 10 + (xLabel ? charH + 8 : 0) + charH + 6 + tick;
  const left = 10 + (yLabel ? charH + 8 : 0) + Math.max(...yLabels.map((l) => textWidth(l, s))) + 6 + tick;
  const right = 10 + Math.ceil(textWidth(xLabels[xLabels.length - 1] ?? '', s) / 2);
  const plotW = width - left - right, plotH = height - top - bottom;
  if (plotW < 40 || plotH < 40) throw argumentError(`${where}: a ${width} x ${height} image leaves no room for the plot at textScale ${s}`);
  const canvas = new Canvas(width, height, WHITE, where);
  const tx = (a: Axis, v: number) => (a.log ? (Math.log10(v) - Math.log10(a.lo)) / (Math.log10(a.hi) - Math.log10(a.lo)) : (v - a.lo) / (a.hi - a.lo));
  const layout: PlotLayout = {
    left, top, width: plotW, height: plotH,
    x: (v) => left + tx(xAxis, v) * (plotW - 1),
    y: (v) => top + (1 - tx(yAxis, v)) * (plotH - 1),
  };
  const clip: Clip = { x0: left, y0: top, x1: left + plotW, y1: top + plotH };

  // grid, frame, ticks and their labels
  xAxis.ticks.forEach((t, k) => {
    const x = Math.round(layout.x(t));
    canvas.fillRect(x, top, 1, plotH, GRID);
    canvas.fillRect(x, top + plotH, 1, tick, FRAME);
    const label = xLabels[k];
    drawText(canvas, label, Math.round(x - textWidth(label, s) / 2), top + plotH + tick + 4, INK, { scale: s });
  });
  yAxis.ticks.forEach((t, k) => {
    const y = Math.round(layout.y(t));
    canvas.fillRect(left, y, plotW, 1, GRID);
    canvas.fillRect(left - tick, y, tick, 1, FRAME);
    const label = yLabels[k];
    drawText(canvas, label, left - tick - 4 - textWidth(label, s), Math.round(y - charH / 2), INK, { scale: s });
  });
  canvas.strokeRect(left - 1, top - 1, plotW + 2, plotH + 2, FRAME);
  if (title) drawText(canvas, title, Math.round(left + plotW / 2 - textWidth(title, s) / 2), 10, INK, { scale: s });
  if (xLabel) drawText(canvas, xLabel, Math.round(left + plotW / 2 - textWidth(xLabel, s) / 2), height - 10 - charH, INK, { scale: s });
  if (yLabel) drawText(canvas, yLabel, 10, Math.round(top + plotH / 2 - textWidth(yLabel, s) / 2), INK, { scale: s, vertical: true });

  // the series
  const radius = 1.5 + s;
  all.forEach((q, i) => {
    const color = PALETTE[i % PALETTE.length], shape = MARKER_SHAPES[i % MARKER_SHAPES.length];
    if (lines) {
      for (let k = 1; k < q.points.length; k++) {
        const [a, b] = [q.points[k - 1], q.points[k]];
        canvas.line(layout.x(a[0]), layout.y(a[1]), layout.x(b[0]), layout.y(b[1]), color, 2, clip);
      }
    }
    if (markers) for (const [x, y] of q.points) marker(canvas, shape, layout.x(x), layout.y(y), radius, color, clip);
  });

  // legend, top right inside the plot
  const rowH = charH + 6, swatch = 24;
  const boxW = 8 + swatch + 6 + Math.max(...all.map((q) => textWidth(q.name, s))) + 8, boxH = all.length * rowH + 8;
  const bx = left + plotW - boxW - 8, by = top + 8;
  canvas.fillRect(bx, by, boxW, boxH, WHITE);
  canvas.strokeRect(bx, by, boxW, boxH, FRAME);
  all.forEach((q, i) => {
    const color = PALETTE[i % PALETTE.length], cy = by + 4 + i * rowH + Math.floor(rowH / 2);
    if (lines) canvas.line(bx + 8, cy, bx + 8 + swatch - 1, cy, color, 2);
    if (markers || !lines) marker(canvas, MARKER_SHAPES[i % MARKER_SHAPES.length], bx + 8 + swatch / 2, cy, radius, color);
    drawText(canvas, q.name, bx + 8 + swatch + 6, cy - Math.floor(charH / 2), INK, { scale: s });
  });
  return { canvas, layout };
}

/** The PNG bytes of a plot (see plotPng). */
export function encodePlot(series: Series[], options?: PlotOptions): Buffer {
  return encodeCanvas(renderPlot(series, options, 'encodePlot').canvas);
}

/**
 * Writes a line/scatter plot of `series` as a PNG (atomically): one colour and marker shape
 * per series, a legend, ticked axes (logarithmic with logX / logY), title and axis labels.
 */
export async function plotPng(series: Series[], options: PlotOptions | undefined, path: string): Promise<void> {
  const where = 'plotPng';
  checkPath(path, where);
  await saveCanvas(renderPlot(series, options, where).canvas, path, where);
}
