// The models shipped in models/ (models/README.md): they load by name, say what they are, and
// sample recognisable Fashion-MNIST classes: the 2-step sCD student through sample() and through
// the README's main command, the diffusion teacher through its guided Heun loop. The class
// accuracy thresholds sit well below what the shipped files measure (models/README.md) so that a
// different CPU GEMM library or thread count (other rounding) cannot fail them, while an
// untrained, mis-loaded or wrongly conditioned model (accuracy near 0.1) does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { BUNDLED_MODELS, classAccuracy, loadModel, sample, trainConsistency } from '../src/index.js';
import { expectScmError, relL2 } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function perClass(k: number): Int32Array {
  return Int32Array.from({ length: 10 * k }, (_, i) => Math.floor(i / k));
}

describe('bundled models', () => {
  test('both files are in models/ and listed by name', () => {
    expect([...BUNDLED_MODELS].sort()).toEqual(['fashion-mnist', 'fashion-mnist-teacher']);
    expect(existsSync(join(root, 'models/fashion-mnist-scm.safetensors'))).toBe(true);
    expect(existsSync(join(root, 'models/fashion-mnist-teacher.safetensors'))).toBe(true);
  });

  test("loadModel('fashion-mnist'): the guided sCD student of loadModel('fashion-mnist-teacher'), same network", async () => {
    const student = await loadModel('fashion-mnist', { backend: 'cpu' });
    const teacher = await loadModel('fashion-mnist-teacher', { backend: 'cpu' });
    try {
      expect(student.kind).toBe('consistency');
      expect(teacher.kind).toBe('diffusion');
      for (const m of [student, teacher]) {
        expect(m.data.name).toBe('fashion-mnist');
        expect(m.data.classNames).toHaveLength(10);
        expect(m.config.kind).toBe('dit');
        expect(m.hasEma).toBe(false);  // saved ema-only: the stored weights are the EMA weights
      }
      expect(student.config.guidanceInput).toBe(true);
      expect(student.training.method).toBe('scd');
      expect(student.training.guidanceDefault).toBe(1.5);
      const { guidanceInput: _s, ...studentNet } = student.config as unknown as Record<string, unknown>;
      const { guidanceInput: _t, ...teacherNet } = teacher.config as unknown as Record<string, unknown>;
      expect(studentNet).toEqual(teacherNet);
      expect(student.training.steps).toBeGreaterThan(0);
      expect(teacher.training.steps).toBeGreaterThan(0);
    } finally {
      student.dispose();
      teacher.dispose();
    }
  });

  test("sample('fashion-mnist', { count, steps: 2, labels, seed }): finite images of the asked classes, reproducible by seed", async () => {
    const labels = perClass(10);
    const a = await sample('fashion-mnist', { count: labels.length, steps: 2, labels, seed: 11, backend: 'cpu' });
    expect(a.shape).toEqual([100, 1, 28, 28]);
    expect(a.nfe).toBe(2);
    expect(Array.from(a.labels ?? [])).toEqual(Array.from(labels));
    expect(a.data.every(Number.isFinite)).toBe(true);
    // images: mostly dark background near -1, not noise and not a constant
    let low = 0;
    for (const v of a.data) if (v < -0.8) low++;
    expect(low / a.data.length).toBeGreaterThan(0.3);
    expect(low / a.data.length).toBeLessThan(0.95);
    expect(await classAccuracy({ data: a.data, shape: a.shape }, labels)).toBeGreaterThanOrEqual(0.65);
    // the same call again: bit-identical
    const again = await sample('fashion-mnist', { count: labels.length, steps: 2, labels, seed: 11, backend: 'cpu' });
    expect(again.data).toEqual(a.data);
    // the first 20 alone: the same noise (drawn by sample index), so the same images up to the
    // rounding of a smaller GEMM
    const first = await sample('fashion-mnist', { count: 20, steps: 2, labels: labels.subarray(0, 20), seed: 11, backend: 'cpu' });
    expect(relL2(first.data, a.data.subarray(0, 20 * 784))).toBeLessThan(1e-4);
    const other = await sample('fashion-mnist', { count: 20, steps: 2, labels: labels.subarray(0, 20), seed: 12, backend: 'cpu' });
    expect(relL2(other.data, first.data)).toBeGreaterThan(0.1);
    // 1 step works too and is still mostly of the right class
    const one = await sample('fashion-mnist', { count: labels.length, steps: 1, labels, seed: 11, backend: 'cpu' });
    expect(one.nfe).toBe(1);
    expect(await classAccuracy({ data: one.data, shape: one.shape }, labels)).toBeGreaterThanOrEqual(0.5);
  });

  test('the teacher: a guided Heun loop gives the asked classes', async () => {
    const labels = perClass(3);
    const s = await sample('fashion-mnist-teacher', { count: labels.length, steps: 16, guidance: 1.5, labels, seed: 5, backend: 'cpu' });
    expect(s.nfe).toBe(31 * 2);
    expect(s.data.every(Number.isFinite)).toBe(true);
    expect(await classAccuracy({ data: s.data, shape: s.shape }, labels)).toBeGreaterThanOrEqual(0.6);
  });

  test("the README's main command writes a PNG with one row of 10 per class", () => {
    const dir = mkdtempSync(join(tmpdir(), 'scm-bundled-'));
    const out = join(dir, 'samples.png');
    const r = spawnSync(process.execPath, [join(root, 'dist/src/cli.js'), 'sample', '--model', 'fashion-mnist', '--per-class', '10', '--out', out], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('NFE 2 per sample');
    expect(r.stdout).toContain('10 rows of 10, one row per class');
    const png = PNG.sync.read(readFileSync(out));
    // cells of 28 + 2 padding, plus the outer padding, at scale 1
    expect([png.width, png.height]).toEqual([10 * 30 + 2, 10 * 30 + 2]);
  });
});

describe('a model name that is neither a file nor a bundled model', () => {
  test('loadModel, sample and trainConsistency say so and list the bundled models', async () => {
    const names = /no such file, and not a bundled model \(fashion-mnist, fashion-mnist-teacher\)/;
    await expectScmError(loadModel('fashion-mnst'), 'E_IO', new RegExp(`^loadModel: fashion-mnst: ${names.source}`));
    await expectScmError(sample('fashion-mnst', { count: 2 }), 'E_IO', new RegExp(`^sample: fashion-mnst: ${names.source}`));
    await expectScmError(trainConsistency({ method: 'scd', teacher: 'teacher-typo', data: 'moons', steps: 1 }), 'E_IO', new RegExp(`^trainConsistency: teacher teacher-typo: ${names.source}`));
  });
});
