// The benchmark's JSON record (bench/record.ts): environment fields, the writer, the field check.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkRecord, ENVIRONMENT_FIELDS, environment, loadNow, RECORD_FIELDS, RECORD_SCHEMA, REPO_ROOT, writeRecord } from '../bench/record.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'scm-bench-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('benchmark records', () => {
  test('environment: device, backend, CPU GEMM, threads, commit, date, load', () => {
    const env = environment();
    for (const f of ENVIRONMENT_FIELDS) expect(env[f], f).toBeDefined();
    expect(env.commit).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(Date.parse(env.date)).not.toBeNaN();
    expect(env.cpuThreads).toBeGreaterThanOrEqual(1);
    expect(env.cpuGemm.length).toBeGreaterThan(0);
    expect(['cpu', 'cuda']).toContain(env.backend.active);
    expect(env.load.loadavg).toHaveLength(3);
    expect(REPO_ROOT).toBe(path.resolve(path.dirname(new URL(import.meta.url).pathname), '..'));
  });

  test('writeRecord writes every field (non-finite numbers as strings, typed arrays as arrays) and refuses an incomplete record', () => {
    const record = {
      schema: RECORD_SCHEMA, suite: 'demo', command: 'npm run bench -- demo', environment: environment(), settings: { a: 1 },
      load: { before: loadNow(), after: loadNow() }, results: [{ x: Infinity, y: NaN, z: new Float32Array([1.5, 2]) }],
    };
    const file = writeRecord(record, 'demo-cpu', dir);
    expect(path.basename(file)).toBe(`demo-cpu-${record.environment.date.slice(0, 10)}.json`);
    const back = JSON.parse(readFileSync(file, 'utf8'));
    expect(checkRecord(back)).toEqual([]);
    for (const f of RECORD_FIELDS) expect(back[f], f).toBeDefined();
    expect(back.results[0]).toEqual({ x: 'Infinity', y: 'NaN', z: [1.5, 2] });
    const { settings: _s, ...noSettings } = record;
    expect(() => writeRecord(noSettings as unknown as typeof record, 'demo', dir)).toThrow(/lacks settings/);
    expect(checkRecord({ ...record, schema: 'other/1', environment: { date: 'x' } })).toEqual(expect.arrayContaining(['schema (other/1 is not scm-native-bench/1)', 'environment.commit', 'environment.load']));
    expect(checkRecord(null)).toEqual(['(not an object)']);
  });
});
