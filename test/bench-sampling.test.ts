// The sampling benchmark (bench/sampling.ts) end to end at minimal sizes: the --toy path (toy
// teacher + sCD student trained on the fly, energy distance / sliced Wasserstein) and the image
// path (a tiny class-conditional dit and its guided sCD student: CFG loop, classifier FD and
// class accuracy), each writing its JSON record and PNG plot; and the sampler list.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkRecord } from '../bench/record.js';
import { checkPair, referenceId, runSamplingBench, samplerSpecs } from '../bench/sampling.js';
import { trainConsistency, trainDiffusion } from '../src/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'scm-bench-sampling-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TINY = ['--batch=1,3', '--nfe=7', '--min-runs=1', '--min-time=0', '--warmup=1'];

function readRecord(out: string, prefix: string): Record<string, any> {
  const file = readdirSync(out).find((f) => f.startsWith(prefix) && f.endsWith('.json'));
  expect(file, `a ${prefix}*.json in ${out}`).toBeDefined();
  const r = JSON.parse(readFileSync(path.join(out, file!), 'utf8'));
  expect(checkRecord(r)).toEqual([]);
  expect(existsSync(path.join(out, file!.replace(/\.json$/, '.png')))).toBe(true);
  return r;
}

describe('sampler list', () => {
  test('unguided sweep + consistency model; guided adds the unguided 63-NFE loop', () => {
    const plain = samplerSpecs([7, 63], undefined, undefined);
    expect(plain.map((s) => s.id)).toEqual(['heun-7', 'heun-63', 'scm-1', 'scm-2']);
    expect(plain.map((s) => s.steps)).toEqual([4, 32, 1, 2]);
    expect(referenceId(plain)).toBe('heun-63');
    const guided = samplerSpecs([63], 1.5, 1.5);
    expect(guided.map((s) => s.id)).toEqual(['heun-63-cfg1.5', 'heun-63', 'scm-1', 'scm-2']);
    expect(guided[0].guidance).toBe(1.5);
    expect(guided[1].guidance).toBeUndefined();
    expect(referenceId(guided)).toBe('heun-63-cfg1.5');
    expect(samplerSpecs([63], 1, undefined).map((s) => s.id)).toEqual(['heun-63', 'scm-1', 'scm-2']);  // w = 1: no CFG
  });
});

describe('sampling benchmark end to end (minimal sizes)', () => {
  test('--toy: trains (or loads the cached) toy models, times every sampler at each batch, scores them, writes JSON + PNG', async () => {
    const out = path.join(dir, 'toy');
    await runSamplingBench(['--toy', '--toy-width=16', '--toy-depth=1', '--toy-steps=20,20', '--quality-n=64', `--out=${out}`, ...TINY]);
    const r = readRecord(out, 'sampling-cpu-toy-moons');
    const t = r.results.timing as { sampler: string; batch: number; nfe: number; speedup: number; perImageMs: number; summary: { runs: number } }[];
    expect(t.map((x) => `${x.sampler}@${x.batch}`)).toEqual(['heun-7@1', 'heun-63@1', 'scm-1@1', 'scm-2@1', 'heun-7@3', 'heun-63@3', 'scm-1@3', 'scm-2@3']);
    expect(t.map((x) => x.nfe)).toEqual([7, 63, 1, 2, 7, 63, 1, 2]);
    for (const x of t) {
      expect(x.perImageMs).toBeGreaterThan(0);
      expect(x.summary.runs).toBeGreaterThanOrEqual(1);
    }
    expect(t.filter((x) => x.sampler === 'heun-63').every((x) => x.speedup === 1)).toBe(true);
    const q = r.results.quality as { sampler: string; n: number; energyDistance: number; slicedWasserstein: number }[];
    expect(q.map((x) => x.sampler)).toEqual(['heun-7', 'heun-63', 'scm-1', 'scm-2']);
    for (const x of q) {
      expect(x.n).toBe(64);
      expect(Number.isFinite(x.energyDistance)).toBe(true);
      expect(x.slicedWasserstein).toBeGreaterThan(0);
    }
    expect(r.results.floor.slicedWasserstein).toBeGreaterThan(0);
    expect(r.models.toy.data).toBe('moons');
    expect(r.settings.reference).toBe('heun-63');
    expect(r.environment.load.loadavg).toHaveLength(3);
  });

  test('image models: the guided teacher loop against the guided student, classifier FD and class accuracy', async () => {
    const N = 64, data = new Float32Array(N * 784);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.731) * 0.9;
    const input = { data, shape: [N, 1, 28, 28], labels: Int32Array.from({ length: N }, (_, i) => i % 10) };
    const net = { kind: 'dit' as const, width: 16, depth: 1, heads: 2, patch: 7, timeDim: 8 };
    const teacher = await trainDiffusion({ data: input, model: net, steps: 2, batchSize: 8, labelDropout: 0.1 });
    const student = await trainConsistency({ method: 'scd', teacher, data: input, steps: 2, batchSize: 8, guidance: [1, 2] });
    const tf = path.join(dir, 'img-teacher.safetensors'), sf = path.join(dir, 'img-student.safetensors');
    await teacher.save(tf);
    await student.save(sf);
    expect(() => checkPair(teacher, teacher)).toThrow(/the student is a diffusion model/);
    teacher.dispose();
    student.dispose();
    const out = path.join(dir, 'img');
    await runSamplingBench([`--teacher=${tf}`, `--student=${sf}`, '--quality-n=20', `--out=${out}`, ...TINY.filter((f) => !f.startsWith('--batch')), '--batch=1']);
    const r = readRecord(out, 'sampling-cpu-img-student');
    expect(r.settings.guidance).toBe(1.5);
    expect(r.settings.reference).toBe('heun-63-cfg1.5');
    const t = r.results.timing as { sampler: string; nfe: number }[];
    expect(t.map((x) => [x.sampler, x.nfe])).toEqual([['heun-7-cfg1.5', 14], ['heun-63-cfg1.5', 126], ['heun-63', 63], ['scm-1', 1], ['scm-2', 2]]);
    const q = r.results.quality as { sampler: string; fd: number; accuracy: number }[];
    for (const x of q) {
      expect(x.fd).toBeGreaterThan(0);
      expect(x.accuracy).toBeGreaterThanOrEqual(0);
      expect(x.accuracy).toBeLessThanOrEqual(1);
    }
    expect(r.results.headline.find((h: { batch: number; sampler: string }) => h.batch === 1 && h.sampler === 'scm-2').speedupTarget).toBe(50);
  });
});
