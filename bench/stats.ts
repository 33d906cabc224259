// Statistics and the repeat-timing loop of the benchmark suites (bench/sampling.ts,
// bench/train.ts). Times are in milliseconds.

/** The median of xs (the mean of the two middle values for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/**
 * The q-quantile (0 <= q <= 1) of xs by linear interpolation between order statistics
 * (the "type 7" definition of R and numpy's default); NaN when empty.
 */
export function quantile(xs: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q, lo = Math.floor(h), hi = Math.ceil(h);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Median absolute deviation from the median (a robust spread); NaN when empty. */
export function mad(xs: readonly number[]): number {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
}

export interface TimeSummary {
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  p10Ms: number;
  p90Ms: number;
  /** Median absolute deviation. */
  madMs: number;
  /** Sum of the timed runs. */
  totalMs: number;
}

export function summarize(times: readonly number[]): TimeSummary {
  return {
    runs: times.length,
    medianMs: median(times),
    minMs: times.length ? Math.min(...times) : NaN,
    maxMs: times.length ? Math.max(...times) : NaN,
    meanMs: mean(times),
    p10Ms: quantile(times, 0.1),
    p90Ms: quantile(times, 0.9),
    madMs: mad(times),
    totalMs: times.reduce((a, b) => a + b, 0),
  };
}

export interface RepeatOptions {
  /** Untimed calls first. */
  warmup: number;
  /** Timed calls: at least minRuns and at least minTimeMs of timed work ... */
  minRuns: number;
  minTimeMs: number;
  /** ... but never more than maxRuns calls, and no new call once maxTimeMs of timed work is
   *  done (after at least one): the cap for slow cases, which then report fewer runs. */
  maxRuns: number;
  maxTimeMs: number;
}

export const DEFAULT_REPEAT: RepeatOptions = { warmup: 1, minRuns: 3, minTimeMs: 1000, maxRuns: 50, maxTimeMs: 30_000 };

/** When the timing loop stops, given the runs done and their total time. */
export function enoughRuns(runs: number, totalMs: number, o: RepeatOptions): boolean {
  if (runs >= o.maxRuns) return true;
  if (runs >= 1 && totalMs >= o.maxTimeMs) return true;
  return runs >= o.minRuns && totalMs >= o.minTimeMs;
}

/** Rounds over which timeInterleaved spreads each case's timed work (at least). */
export const INTERLEAVE_ROUNDS = 5;

/**
 * Times several cases in rounds, so that a slow spell of the machine (another tenant, a clock
 * change) falls on all of them instead of on whichever case ran then, and their ratios stay
 * honest. Each case gets `warmup` untimed calls first. Then every round gives each unfinished
 * case one slice: at least one call, and more while the slice holds under minTimeMs / rounds of
 * timed work and ceil(maxRuns / rounds) calls. A case is finished when enoughRuns says so for
 * its own runs and total. Returns each case's timed calls.
 */
export async function timeInterleaved(fns: readonly (() => Promise<unknown> | unknown)[], o: RepeatOptions, clock: () => number = () => performance.now(), rounds = INTERLEAVE_ROUNDS): Promise<number[][]> {
  for (const fn of fns) for (let i = 0; i < o.warmup; i++) await fn();
  const times = fns.map(() => [] as number[]);
  const totals = fns.map(() => 0);
  const sliceMs = o.minTimeMs / rounds, sliceRuns = Math.max(1, Math.ceil(o.maxRuns / rounds));
  for (;;) {
    let ran = false;
    for (let k = 0; k < fns.length; k++) {
      let calls = 0, slice = 0;
      while (!enoughRuns(times[k].length, totals[k], o) && (calls === 0 || (slice < sliceMs && calls < sliceRuns))) {
        const t0 = clock();
        await fns[k]();
        const dt = clock() - t0;
        times[k].push(dt);
        totals[k] += dt;
        slice += dt;
        calls++;
        ran = true;
      }
    }
    if (!ran) return times;
  }
}

/**
 * Calls fn `warmup` times untimed, then times calls (wall clock, performance.now unless
 * `clock` is given) until enoughRuns says stop: timeInterleaved with one case. Returns each
 * timed call's time.
 */
export async function timeRepeated(fn: () => Promise<unknown> | unknown, o: RepeatOptions, clock: () => number = () => performance.now()): Promise<number[]> {
  return (await timeInterleaved([fn], o, clock))[0];
}

/** Formats milliseconds with 3 significant digits (at least, from 1000 ms: whole ms; µs below 1 ms, s from 10 s). */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms >= 10_000) return `${(ms / 1000).toPrecision(3)} s`;
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toPrecision(3)} ms`;
}

/** A fixed-width text table (first column left-aligned, the others right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
