// The benchmark suites' statistics and repeat-timing loop (bench/stats.ts).
import { describe, expect, test } from 'vitest';
import { enoughRuns, formatMs, mad, mean, median, quantile, summarize, table, timeInterleaved, timeRepeated } from '../bench/stats.js';

describe('statistics', () => {
  test('median of odd and even counts, unsorted input left untouched', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  test('quantiles interpolate linearly between order statistics (numpy default)', () => {
    const xs = [10, 20, 30, 40, 50];
    expect(quantile(xs, 0)).toBe(10);
    expect(quantile(xs, 1)).toBe(50);
    expect(quantile(xs, 0.1)).toBeCloseTo(14, 12);
    expect(quantile(xs, 0.9)).toBeCloseTo(46, 12);
    expect(quantile([1, 2], 0.25)).toBeCloseTo(1.25, 12);
    expect(() => quantile(xs, 1.5)).toThrow(RangeError);
  });

  test('mean, median absolute deviation, summary', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(mad([1, 2, 3, 4, 100])).toBe(1);
    const s = summarize([4, 2, 8, 6]);
    expect(s).toEqual({ runs: 4, medianMs: 5, minMs: 2, maxMs: 8, meanMs: 5, p10Ms: quantile([2, 4, 6, 8], 0.1), p90Ms: quantile([2, 4, 6, 8], 0.9), madMs: 2, totalMs: 20 });
    const empty = summarize([]);
    expect(empty.runs).toBe(0);
    expect(empty.medianMs).toBeNaN();
  });
});

describe('repeat loop', () => {
  const rep = { warmup: 2, minRuns: 3, minTimeMs: 100, maxRuns: 10, maxTimeMs: 1000 };

  test('enoughRuns: min runs and min time, capped by max runs and max time (after one run)', () => {
    expect(enoughRuns(2, 500, rep)).toBe(false);
    expect(enoughRuns(3, 99, rep)).toBe(false);
    expect(enoughRuns(3, 100, rep)).toBe(true);
    expect(enoughRuns(10, 1, rep)).toBe(true);
    expect(enoughRuns(1, 1000, rep)).toBe(true);
    expect(enoughRuns(0, 5000, rep)).toBe(false);
  });

  test('timeRepeated: warm-up calls untimed, then the rule above on a fake clock', async () => {
    let now = 0, calls = 0;
    const step = [5, 5, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30];
    const times = await timeRepeated(() => { now += step[calls++]; }, rep, () => now);
    expect(calls).toBe(2 + 4);  // 2 warm-up; 3 runs give 90 ms < 100, the 4th reaches 120
    expect(times).toEqual([30, 30, 30, 30]);
  });

  test('timeRepeated: one slow call past maxTimeMs is enough; maxRuns caps fast calls', async () => {
    let now = 0;
    expect(await timeRepeated(() => { now += 5000; }, { ...rep, warmup: 0 }, () => now)).toEqual([5000]);
    let n = 0;
    expect((await timeRepeated(() => { n++; }, { ...rep, warmup: 0, minTimeMs: 1e9 }, () => 0)).length).toBe(10);
    expect(n).toBe(10);
  });
});

describe('interleaved timing', () => {
  test('timeInterleaved: each case stops by its own rule, its calls spread over the rounds', async () => {
    // >= 3 runs and >= 100 ms, at most 10 runs; 5 rounds: slices of 20 ms and at most 2 calls
    const o = { warmup: 1, minRuns: 3, minTimeMs: 100, maxRuns: 10, maxTimeMs: 1000 };
    let now = 0;
    const order: string[] = [];
    const slow = () => { order.push('s'); now += 60; };  // one call fills a slice; done after 3 (180 ms)
    const fast = () => { order.push('f'); now += 1; };   // 2 calls a slice; done at maxRuns = 10
    const times = await timeInterleaved([slow, fast], o, () => now);
    expect(order.join('')).toBe('sf' + 'sff' + 'sff' + 'sff' + 'ff' + 'ff');  // warm-ups, then 5 rounds
    expect(times[0]).toEqual([60, 60, 60]);
    expect(times[1]).toEqual(new Array(10).fill(1));
    // one call past maxTimeMs finishes a case in its first slice
    now = 0;
    const long = await timeInterleaved([() => { now += 5000; }, () => { now += 1; }], { ...o, warmup: 0 }, () => now);
    expect(long[0]).toEqual([5000]);
    expect(long[1]).toHaveLength(10);
  });
});

describe('formatting', () => {
  test('formatMs picks the unit', () => {
    expect(formatMs(0.0123)).toBe('12.3 µs');
    expect(formatMs(12.345)).toBe('12.3 ms');
    expect(formatMs(12345)).toBe('12.3 s');
    expect(formatMs(1080.4)).toBe('1080 ms');
    expect(formatMs(999.6)).toBe('1000 ms');
    expect(formatMs(NaN)).toBe('NaN');
  });

  test('table pads columns (first left, others right)', () => {
    const t = table(['a', 'bb'], [['xyz', '1'], ['q', '22']]).split('\n');
    expect(t).toEqual(['a    bb', '---  --', 'xyz   1', 'q    22']);
  });
});
