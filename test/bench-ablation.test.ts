// The stabiliser ablation (bench/ablation.ts) at --quick sizes: the JSON record and the
// Markdown table it writes (schema, not the numbers), the hand-written reading kept when the
// file is rewritten, the settings and flags, and the stability statistics on made-up steps.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ablationSettings, READING_END, READING_START, runAblationBench, stability, VARIANT_IDS } from '../bench/ablation.js';
import { checkRecord } from '../bench/record.js';
import type { TrainProgress } from '../src/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'scm-bench-ablation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const QUALITY_KEYS = ['energyDistance', 'slicedWasserstein', 'nonFinite'];
const STABILITY_KEYS = ['steps', 'tangentNormMax', 'tangentNormMean', 'tangentNormMaxLast', 'gradNormMax', 'gradNormMean', 'gradNormFirst', 'gradNormLast', 'lossFirst', 'lossLast', 'lossMax', 'dropped', 'skipped', 'nonFiniteLoss', 'nonFiniteGradNorm', 'logvarMin', 'logvarMax'];

function files(): { json: string; md: string } {
  const names = readdirSync(dir);
  const json = names.find((f) => /^ablation-quick-\d{4}-\d\d-\d\d\.json$/.test(f));
  const md = names.find((f) => /^ablation-quick-\d{4}-\d\d-\d\d\.md$/.test(f));
  expect(json).toBeDefined();
  expect(md).toBeDefined();
  return { json: path.join(dir, json!), md: path.join(dir, md!) };
}

describe('ablation bench --quick', () => {
  test('every variant x method runs; the record and the table have every field', async () => {
    await runAblationBench(['--quick', `--out=${dir}`]);
    const f = files();
    const r = JSON.parse(readFileSync(f.json, 'utf8'));
    expect(checkRecord(r)).toEqual([]);
    expect(r.suite).toBe('ablation-quick');
    expect(r.command).toContain('npm run bench -- ablation --quick');
    expect(r.settings.complete).toBe(true);
    expect(r.environment.cpuGemm).toBeTypeOf('string');
    expect(r.load.before.loadavg).toHaveLength(3);
    expect(r.totalSeconds).toBeGreaterThan(0);
    // one teacher per network, references per data set
    expect(r.teachers.map((t: any) => t.arch)).toEqual(['baseline', 'edm-log', 'fourier-16', 'adaln']);
    for (const t of r.teachers) {
      for (const q of [t.nfe63, t.untrained1]) expect(Object.keys(q).sort()).toEqual([...QUALITY_KEYS].sort());
      expect(t.wallSeconds).toBeGreaterThan(0);
    }
    expect(r.teachers[1].network.timeTransform).toBe('edm-log');
    expect(r.teachers[2].network).toMatchObject({ timeEmbedding: 'fourier', fourierScale: 16 });
    expect(r.teachers[3].network.modulation).toBe('adaln');
    expect(Object.keys(r.floor)).toEqual(['moons']);
    // runs: every variant, both methods, one seed
    expect(r.runs).toHaveLength(VARIANT_IDS.length * 2);
    expect(new Set(r.runs.map((x: any) => `${x.method} ${x.variant}`)).size).toBe(VARIANT_IDS.length * 2);
    for (const run of r.runs) {
      expect(run.error).toBeNull();
      for (const q of [run.oneStep, run.twoStep]) expect(Object.keys(q).sort()).toEqual([...QUALITY_KEYS].sort());
      expect(Object.keys(run.stability).sort()).toEqual([...STABILITY_KEYS].sort());
      expect(run.stability.steps).toBe(20);  // every step's statistics
      expect(typeof run.diverged).toBe('boolean');
      expect(Array.isArray(run.divergedWhy)).toBe(true);
      expect(run.trace.length).toBeGreaterThan(0);
      expect(run.trace[0]).toHaveLength(8);
      expect(run.wallSeconds).toBeGreaterThan(0);
    }
    const byVariant = (v: string) => r.runs.find((x: any) => x.variant === v && x.method === 'scd');
    expect(byVariant('tangent-none').options.tangent).toBe('none');
    expect(byVariant('tangent-clip').options.tangent).toBe('clip');
    expect(byVariant('no-adaptive-weighting').options.adaptiveWeighting).toBe(false);
    expect(byVariant('no-warmup').options.warmupSteps).toBe(0);
    expect(byVariant('baseline').options.warmupSteps).toBe(10);
    expect(byVariant('fourier-16').options.timeEmbedding).toEqual({ fourierScale: 16 });
    // summary rows, baseline-relative verdicts
    expect(r.summary).toHaveLength(VARIANT_IDS.length * 2);
    for (const row of r.summary) {
      if (row.variant === 'baseline') expect(row.versus).toBeNull();
      else expect(row.versus.ed1Verdict).toBe('1 seed: no noise estimate');
      expect(row.ed1.n).toBe(1);
    }
    const md = readFileSync(f.md, 'utf8');
    expect(md).toContain('Produced by `npm run bench -- ablation --quick');
    expect(md).not.toContain('partial');
    for (const v of VARIANT_IDS) expect(md).toContain(`| scd | ${v} |`);
    expect(md).toContain('| ED 1-step | ED 2-step |');
    expect(md).toContain(READING_START);
    expect(md).toContain(READING_END);
  }, 120_000);

  test('a rerun rewrites the tables and keeps the hand-written reading', async () => {
    const f = files();
    const md = readFileSync(f.md, 'utf8');
    const edited = md.slice(0, md.indexOf(READING_START) + READING_START.length) + '\nmy reading\n' + md.slice(md.indexOf(READING_END));
    writeFileSync(f.md, edited);
    await runAblationBench(['--quick', `--out=${dir}`, '--variants=no-warmup', '--methods=sct']);
    const again = readFileSync(f.md, 'utf8');
    expect(again).toContain(`${READING_START}\nmy reading\n${READING_END}`);
    expect(again).toContain('| sct | no-warmup |');
    expect(again).not.toContain('| scd |');
    const r = JSON.parse(readFileSync(f.json, 'utf8'));
    expect(r.runs.map((x: any) => x.variant)).toEqual(['baseline', 'no-warmup']);  // the baseline is always run
    expect(r.teachers).toHaveLength(1);
  }, 60_000);
});

describe('ablation settings and statistics', () => {
  test('defaults: the full sizes; --quick: tiny; bad flags are refused', () => {
    const full = ablationSettings([]);
    expect(full).toMatchObject({ quick: false, datasets: ['moons', 'checkerboard'], seeds: [1, 2, 3], methods: ['scd', 'sct'], evalCount: 2000 });
    expect(full.variants).toEqual(VARIANT_IDS);
    expect(full.teacher).toMatchObject({ steps: 500, batchSize: 256 });
    expect(full.student).toMatchObject({ steps: 1000, batchSize: 256, warmupSteps: 400 });
    const quick = ablationSettings(['--quick', '--seeds=2']);
    expect(quick.seeds).toEqual([1, 2]);
    expect(quick.student.steps).toBeLessThan(50);
    expect(() => ablationSettings(['--variants=no-such'])).toThrow(/must be one of/);
    expect(() => ablationSettings(['--nope'])).toThrow(/unknown flag/);
  });

  test('stability(): maxima, means, first/last tenths, counts of dropped, skipped and non-finite steps', () => {
    const steps: TrainProgress[] = Array.from({ length: 20 }, (_, i) => ({
      step: i + 1, loss: i === 7 ? NaN : i, gradNorm: i < 2 ? 1 : i >= 18 ? 10 : 5, lr: 1, dropped: i === 3 ? 2 : 0, skipped: i === 5, r: 1,
      tangentNormMean: 1, tangentNormMax: i === 19 ? 100 : 2, logvarMin: -1, logvarMax: 1, steps: 20, samplesPerSecond: 1, elapsedSeconds: 1, etaSeconds: 0,
    }));
    const s = stability(steps);
    expect(s).toMatchObject({ steps: 20, tangentNormMax: 100, tangentNormMaxLast: 100, tangentNormMean: 1, gradNormMax: 10, gradNormFirst: 1, gradNormLast: 10, dropped: 2, skipped: 1, nonFiniteLoss: 1, nonFiniteGradNorm: 0, lossMax: 19, lossFirst: 0.5, lossLast: 18.5 });
  });
});
