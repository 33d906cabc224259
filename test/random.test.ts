import { describe, expect, test } from 'vitest';
import { Rng, permutation, philox4x32 } from '../src/random.js';
import { expectScmError } from './helpers.js';

// Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7).
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2, t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Kolmogorov-Smirnov statistic of samples against a CDF. */
function ks(samples: Float64Array, cdf: (x: number) => number): number {
  const s = Float64Array.from(samples).sort();
  let d = 0;
  for (let i = 0; i < s.length; i++) {
    const f = cdf(s[i]);
    d = Math.max(d, Math.abs(f - i / s.length), Math.abs((i + 1) / s.length - f));
  }
  return d;
}

function chiSquare(counts: number[], expected: number): number {
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

describe('Philox4x32-10', () => {
  test('known answers (Random123 kat_vectors)', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out);
    expect(Array.from(out)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
    expect(Array.from(out)).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    expect(Array.from(out)).toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });

  // Golden values from an independent big-integer Python implementation of the documented layout.
  test('stream layout pinned (seed, stream, position) -> words', () => {
    const a = new Rng(1, 0);
    expect(Array.from({ length: 6 }, () => a.uint32())).toEqual([3722604110, 392589115, 4229913402, 2209120349, 1131254576, 1061205704]);
    const b = new Rng(2 ** 53 - 1, 2 ** 40 + 5);
    expect(Array.from({ length: 4 }, () => b.uint32())).toEqual([1463040331, 2181103380, 852809006, 418249990]);
    expect(new Rng(42, 7).uniform()).toBe(0.10341917743784834);
    expect(Array.from(permutation(3, 2, 10))).toEqual([2, 6, 0, 9, 3, 7, 5, 1, 8, 4]);
  });

  test('Rng streams never repeat the engine noise stream of the same seed (counter words 2, 3 = 0)', () => {
    const engine = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 1, 0, engine);
    const rng = new Rng(1, 0);
    const ours = Array.from({ length: 4 }, () => rng.uint32());
    expect(ours).not.toEqual(Array.from(engine));
  });
});

describe('Rng', () => {
  test('determinism: same (seed, stream) gives the same numbers; other seeds/streams differ', () => {
    const draw = (r: Rng) => [r.uniform(), r.normal(), r.int(1000), r.uint32(), ...r.permutation(7)];
    expect(draw(new Rng(7, 3))).toEqual(draw(new Rng(7, 3)));
    expect(draw(new Rng(7, 3))).not.toEqual(draw(new Rng(7, 4)));
    expect(draw(new Rng(7, 3))).not.toEqual(draw(new Rng(8, 3)));
    expect(new Rng(5).stream).toBe(0);
  });

  test('state/restore continues identically (resume)', () => {
    const a = new Rng(123, 9);
    for (let i = 0; i < 37; i++) a.normal();
    a.int(7); // an odd number of words consumed: position mid-block
    const saved = JSON.parse(JSON.stringify(a.state()));
    const b = Rng.restore(saved);
    const seqA = Array.from({ length: 50 }, () => a.uniform());
    const seqB = Array.from({ length: 50 }, () => b.uniform());
    expect(seqB).toEqual(seqA);
    expect(b.state()).toEqual(a.state());
  });

  test('uniform: range, moments and Kolmogorov-Smirnov', () => {
    const r = new Rng(2024, 1), n = 200_000;
    const u = new Float64Array(n);
    let sum = 0, sq = 0, outside = 0;
    for (let i = 0; i < n; i++) {
      u[i] = r.uniform();
      if (!(u[i] >= 0 && u[i] < 1)) outside++;
      sum += u[i];
      sq += u[i] * u[i];
    }
    const mean = sum / n, variance = sq / n - mean * mean;
    expect(outside).toBe(0);
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
    expect(ks(u, (x) => Math.min(1, Math.max(0, x)))).toBeLessThan(1.95 / Math.sqrt(n));
    // fine structure: 53 random bits, not a float32 grid
    expect(Array.from(u.slice(0, 1000)).some((x) => Math.fround(x) !== x)).toBe(true);
  });

  test('normal: moments and Kolmogorov-Smirnov', () => {
    const r = new Rng(99), n = 200_000;
    const z = new Float64Array(n);
    let m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (let i = 0; i < n; i++) {
      const x = (z[i] = r.normal());
      m1 += x; m2 += x * x; m3 += x ** 3; m4 += x ** 4;
    }
    expect(Math.abs(m1 / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(m2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(m3 / n)).toBeLessThan(5 * Math.sqrt(15 / n));
    expect(Math.abs(m4 / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    expect(ks(z, normalCdf)).toBeLessThan(1.95 / Math.sqrt(n));
  });

  test('int(n): uniform over [0, n) (chi-square), including n not a power of two and n near 2^32', () => {
    const r = new Rng(5, 5);
    for (const k of [2, 3, 10, 37]) {
      const counts = new Array(k).fill(0), n = 20_000 * k;
      for (let i = 0; i < n; i++) counts[r.int(k)]++; // an out-of-range value would make a NaN count
      expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
      // 0.1% critical values of chi-square with k-1 degrees of freedom
      const critical = { 2: 10.83, 3: 13.82, 10: 27.88, 37: 67.99 }[k]!;
      expect(chiSquare(counts, n / k)).toBeLessThan(critical);
    }
    // n = 2^31 + 1 rejects about half of all words; the result must still be uniform
    const big = 2 ** 31 + 1;
    let upper = 0, bad = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = r.int(big);
      if (!(Number.isInteger(v) && v >= 0 && v < big)) bad++;
      if (v >= big / 2) upper++;
    }
    expect(bad).toBe(0);
    expect(Math.abs(upper / 20_000 - 0.5)).toBeLessThan(0.02);
    expect(r.int(1)).toBe(0);
    const full = r.int(2 ** 32);
    expect(full >= 0 && full < 2 ** 32).toBe(true);
  });

  test('permutation(n): a permutation, all 120 orders of 5 equally likely', () => {
    const r = new Rng(11);
    const p = r.permutation(1000);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(p)).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const counts = new Map<string, number>();
    const trials = 60_000;
    for (let t = 0; t < trials; t++) {
      const key = r.permutation(5).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(120);
    expect(chiSquare(Array.from(counts.values()), trials / 120)).toBeLessThan(173.6); // 0.1%, 119 dof
    expect(r.permutation(0).length).toBe(0);
    expect(Array.from(r.permutation(1))).toEqual([0]);
  });

  test('streams are uncorrelated', () => {
    const a = new Rng(3, 0), b = new Rng(3, 1), n = 50_000;
    let sab = 0;
    for (let i = 0; i < n; i++) sab += (a.uniform() - 0.5) * (b.uniform() - 0.5);
    expect(Math.abs(sab / n) * 12).toBeLessThan(5 / Math.sqrt(n));
  });

  test('bad arguments', async () => {
    await expectScmError(() => new Rng(-1), 'E_ARGUMENT', /Rng: seed must be an integer in \[0, 2\^53\), got -1/);
    await expectScmError(() => new Rng(1.5), 'E_ARGUMENT', /seed .* got 1.5/);
    await expectScmError(() => new Rng(2 ** 53), 'E_ARGUMENT', /seed/);
    await expectScmError(() => new Rng(1, -2), 'E_ARGUMENT', /stream must be an integer .* got -2/);
    await expectScmError(() => new Rng('1' as never), 'E_ARGUMENT', /got "1"/);
    const r = new Rng(1);
    await expectScmError(() => r.int(0), 'E_ARGUMENT', /Rng.int: n must be an integer in \[1, 2\^32\], got 0/);
    await expectScmError(() => r.int(2 ** 32 + 1), 'E_ARGUMENT', /n must be/);
    await expectScmError(() => r.int(2.5), 'E_ARGUMENT', /got 2.5/);
    await expectScmError(() => r.permutation(-1), 'E_ARGUMENT', /Rng.permutation: n must be .* got -1/);
    await expectScmError(() => Rng.restore(null as never), 'E_ARGUMENT', /state must be an object/);
    await expectScmError(() => Rng.restore({ seed: 1, stream: 0, position: -3 }), 'E_ARGUMENT', /state.position .* got -3/);
  });
});

describe('permutation(seed, epoch, n)', () => {
  test('pure: the same epoch gives the same order, other epochs and seeds differ', () => {
    const p = permutation(17, 4, 500);
    expect(Array.from(permutation(17, 4, 500))).toEqual(Array.from(p));
    expect(Array.from(permutation(17, 5, 500))).not.toEqual(Array.from(p));
    expect(Array.from(permutation(18, 4, 500))).not.toEqual(Array.from(p));
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    // not the Rng stream of the same numbers
    expect(Array.from(new Rng(17, 4).permutation(500))).not.toEqual(Array.from(p));
  });

  test('position of an item over epochs is uniform', () => {
    const n = 8, epochs = 16_000, counts = new Array(n).fill(0);
    for (let e = 0; e < epochs; e++) counts[permutation(1, e, n).indexOf(0)]++;
    expect(chiSquare(counts, epochs / n)).toBeLessThan(24.32); // 0.1%, 7 dof
  });

  test('bad arguments', async () => {
    await expectScmError(() => permutation(1, -1, 5), 'E_ARGUMENT', /permutation: epoch must be an integer .* got -1/);
    await expectScmError(() => permutation(1, 0, 1.5), 'E_ARGUMENT', /n must be .* got 1.5/);
  });
});
