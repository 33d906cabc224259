// Training progress in the terminal: a bar redrawn in place on a TTY (step/steps, loss,
// samples/s, ETA; for consistency training also r and ||g||), plain periodic lines otherwise
// (CI logs), nothing with 'none'. The caller prints the final summary.
import type { TrainProgress } from '../train.js';

export type ProgressMode = 'bar' | 'lines' | 'none';

/** A stream the reporter writes to (process.stdout, or a test's collector). */
export interface ProgressStream {
  write(text: string): unknown;
  columns?: number;
}

/** '0.84s', '12.3s', '3m12s', '1h02m' ('?' when unknown). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(2)}s`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** 950, 9.5k, 12k, 1.2M. */
export function formatCount(x: number): string {
  if (!Number.isFinite(x)) return '?';
  const a = Math.abs(x);
  if (a < 1000) return a < 10 ? x.toFixed(1) : Math.round(x).toString();
  if (a < 1e6) return a < 1e4 ? `${(x / 1e3).toFixed(1)}k` : `${Math.round(x / 1e3)}k`;
  return a < 1e7 ? `${(x / 1e6).toFixed(1)}M` : `${Math.round(x / 1e6)}M`;
}

/** Four significant digits, exponent notation for very small or large magnitudes. */
export function formatValue(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
  return x.toPrecision(4);
}

const WINDOW = 50;

export interface ReporterOptions {
  mode: ProgressMode;
  /** Lines mode: a line every `logEvery` steps (and at the last step). */
  logEvery: number;
  /** Lines mode: also a line when this many seconds passed since the last one (default 60). */
  logSeconds?: number;
  /** Show the consistency statistics (r, ||g||, w_phi). */
  consistency: boolean;
  /** Bar mode: minimum milliseconds between redraws (default 100). */
  redrawMs?: number;
  now?: () => number;
}

export class TrainingReporter {
  private readonly losses: number[] = [];
  private sinceLine = { sum: 0, n: 0 };
  private lastDraw = -Infinity;
  private lastLine: number;
  private barShown = false;
  /** Non-finite samples dropped and steps skipped so far (this run). */
  dropped = 0;
  skipped = 0;
  /** The latest report. */
  last: TrainProgress | undefined;
  private readonly now: () => number;

  constructor(private readonly out: ProgressStream, private readonly o: ReporterOptions) {
    this.now = o.now ?? Date.now;
    this.lastLine = this.now();
  }

  /** Mean loss of the last (up to) 50 steps. */
  get recentLoss(): number {
    return this.losses.length ? this.losses.reduce((a, b) => a + b, 0) / this.losses.length : NaN;
  }

  update(p: TrainProgress): void {
    this.last = p;
    this.dropped += p.dropped;
    if (p.skipped) this.skipped++;
    if (Number.isFinite(p.loss)) {
      this.losses.push(p.loss);
      if (this.losses.length > WINDOW) this.losses.shift();
      this.sinceLine.sum += p.loss;
      this.sinceLine.n++;
    }
    const final = p.step >= p.steps;
    if (this.o.mode === 'bar') {
      const t = this.now();
      if (final || t - this.lastDraw >= (this.o.redrawMs ?? 100)) {
        this.lastDraw = t;
        this.drawBar(p);
      }
    } else if (this.o.mode === 'lines') {
      const t = this.now();
      if (final || p.step % this.o.logEvery === 0 || t - this.lastLine >= (this.o.logSeconds ?? 60) * 1000) {
        this.lastLine = t;
        this.out.write(this.line(p) + '\n');
        this.sinceLine = { sum: 0, n: 0 };
      }
    }
  }

  /** Ends the bar's line (before the summary or a message). */
  end(): void {
    if (this.barShown) this.out.write('\n');
    this.barShown = false;
  }

  private consistencyParts(p: TrainProgress, pad = false): string[] {
    if (!this.o.consistency) return [];
    const f = (x: number) => (pad ? formatValue(x).padStart(8) : formatValue(x));
    return [`r ${p.r.toFixed(3)}`, `‖g‖ ${f(p.tangentNormMean)} (max ${f(p.tangentNormMax)})`];
  }

  /** One plain line (lines mode): the loss is the mean since the previous line. */
  line(p: TrainProgress): string {
    const loss = this.sinceLine.n ? this.sinceLine.sum / this.sinceLine.n : p.loss;
    const width = String(p.steps).length;
    const parts = [
      `step ${String(p.step).padStart(width)}/${p.steps}`,
      `loss ${formatValue(loss)}`,
      `${formatCount(p.samplesPerSecond)} samples/s`,
      `elapsed ${formatDuration(p.elapsedSeconds)}`,
      `ETA ${formatDuration(p.etaSeconds)}`,
      `lr ${p.lr.toExponential(2)}`,
      `grad ${formatValue(p.gradNorm)}`,
      ...this.consistencyParts(p),
    ];
    if (this.o.consistency) parts.push(`w_φ [${formatValue(p.logvarMin)}, ${formatValue(p.logvarMax)}]`);
    if (this.dropped > 0) parts.push(`dropped ${this.dropped}`);
    return parts.join('  ');
  }

  /** The bar (bar mode): the loss is the mean of the last 50 steps. */
  barText(p: TrainProgress, columns: number): string {
    const frac = Math.min(1, p.step / Math.max(p.steps, 1));
    // fixed-width fields, so that the bar does not jump from one redraw to the next
    const right = [
      `${(frac * 100).toFixed(0).padStart(3)}%`,
      `loss ${formatValue(this.recentLoss).padStart(9)}`,
      `${formatCount(p.samplesPerSecond).padStart(4)} samples/s`,
      `ETA ${formatDuration(p.etaSeconds).padStart(6)}`,
      ...this.consistencyParts(p, true),
    ];
    if (this.dropped > 0) right.push(`dropped ${this.dropped}`);
    const counter = `${String(p.step).padStart(String(p.steps).length)}/${p.steps}`;
    const tail = right.join('  ');
    const room = columns - 1 - counter.length - tail.length - 2;
    const barWidth = room >= 8 ? Math.min(30, room) : 0;
    const filled = Math.round(frac * barWidth);
    const bar = barWidth > 0 ? ` ${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)} ` : '  ';
    const text = `${counter}${bar}${tail}`;
    return text.length > columns - 1 ? text.slice(0, Math.max(columns - 2, 1)) + '…' : text;
  }

  private drawBar(p: TrainProgress): void {
    this.out.write(`\r\x1b[K${this.barText(p, this.out.columns ?? 100)}`);
    this.barShown = true;
  }
}
