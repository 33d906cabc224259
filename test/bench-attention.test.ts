// The attention benchmark's native timer (benchAttention), its --dump output and the
// numpy path of the PyTorch peer (bench/peers/attention_jvp_torch.py).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { CUDA_ROWS, benchAttentionNative, cudaBatchHeads, dumpAttentionJvp, dumpShapes } from '../bench/attention.js';
import { cudaUsable, expectScmError } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const peer = path.join(root, 'bench', 'peers', 'attention_jvp_torch.py');
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

const tiny = { batch: 1, heads: 2, lenQ: 7, lenK: 5, headDim: 3 };

function expectTimes(r: { medianMs: number; minMs: number; runs: number; callsPerRun: number; totalMs: number; backend: string }, minRuns: number, backend: string) {
  for (const v of [r.medianMs, r.minMs, r.totalMs]) {
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThan(0);
  }
  expect(r.minMs).toBeLessThanOrEqual(r.medianMs);
  expect(Number.isInteger(r.runs)).toBe(true);
  expect(r.runs).toBeGreaterThanOrEqual(minRuns);
  expect(Number.isInteger(r.callsPerRun)).toBe(true);
  expect(r.callsPerRun).toBeGreaterThanOrEqual(1);
  expect(r.backend).toBe(backend);
}

describe('benchAttention (native timer of the attention benchmark)', () => {
  for (const pass of ['forward', 'jvp', 'backward'] as const)
    for (const implementation of ['flash', 'naive'] as const)
      test(`CPU ${pass} ${implementation} at a tiny odd size returns finite positive times`, async () => {
        const r = await benchAttentionNative()(tiny, pass, implementation, 3, 5, 'cpu');
        expectTimes(r, 3, 'cpu');
      });

  test('runs at least minRuns samples and at least minMs of timed work', async () => {
    const shape = { batch: 1, heads: 1, lenQ: 1, lenK: 1, headDim: 1 };
    const many = await benchAttentionNative()(shape, 'jvp', 'flash', 57, 0, 'cpu');
    expectTimes(many, 57, 'cpu');
    const long = await benchAttentionNative()({ batch: 2, heads: 3, lenQ: 33, lenK: 17, headDim: 16 }, 'forward', 'naive', 1, 40, 'cpu');
    expectTimes(long, 1, 'cpu');
    expect(long.totalMs).toBeGreaterThanOrEqual(40);
    // every sample holds callsPerRun calls, none faster than minMs per call
    expect(long.totalMs).toBeGreaterThanOrEqual(long.runs * long.callsPerRun * long.minMs * 0.999);
  });

  test('refuses bad arguments with ScmError codes', async () => {
    const b = benchAttentionNative();
    const call = (...args: unknown[]) => () => (b as unknown as (...a: unknown[]) => Promise<unknown>)(...args);
    await expectScmError(call(undefined, 'jvp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /desc must be an object/);
    await expectScmError(call({ ...tiny, batch: 0 }, 'jvp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /batch must be at least 1/);
    await expectScmError(call({ ...tiny, lenK: 0 }, 'jvp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /lenK must be at least 1/);
    await expectScmError(call({ batch: 1, heads: 1, lenQ: 4, headDim: 8 }, 'jvp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /'lenK' is required/);
    await expectScmError(call({ ...tiny, heads: 1.5 }, 'jvp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /heads/);
    await expectScmError(call({ ...tiny, precision: 'fp8' }, 'jvp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /unknown precision 'fp8'/);
    await expectScmError(call({ ...tiny, keyLengths: new Int32Array([3]) }, 'jvp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /keyLengths/);
    await expectScmError(call({ ...tiny, implementation: 'naive' }, 'jvp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /differs/);
    await expectScmError(call(tiny, 'jvpp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /unknown pass 'jvpp'/);
    await expectScmError(call(tiny, undefined, 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /pass must be a string/);
    await expectScmError(call(tiny, 'jvp', 'fast', 3, 0, 'cpu'), 'E_ARGUMENT', /unknown implementation 'fast'/);
    await expectScmError(call(tiny, 'jvp', 'flash', 0, 0, 'cpu'), 'E_ARGUMENT', /minRuns/);
    await expectScmError(call(tiny, 'jvp', 'flash', 2.5, 0, 'cpu'), 'E_ARGUMENT', /minRuns/);
    await expectScmError(call(tiny, 'jvp', 'flash', '3', 0, 'cpu'), 'E_ARGUMENT', /minRuns must be a number/);
    await expectScmError(call(tiny, 'jvp', 'flash', 3, -1, 'cpu'), 'E_ARGUMENT', /minMs/);
    await expectScmError(call(tiny, 'jvp', 'flash', 3, Number.NaN, 'cpu'), 'E_ARGUMENT', /minMs/);
    await expectScmError(call(tiny, 'jvp', 'flash', 3, 0, 'tpu'), 'E_ARGUMENT', /unknown backend 'tpu'/);
    await expectScmError(call({ ...tiny, batch: 2 ** 20, heads: 2 ** 20 }, 'jvp', 'flash', 3, 0, 'cpu'), 'E_ARGUMENT', /too large/);
    if (!cudaUsable()) await expectScmError(call(tiny, 'jvp', 'flash', 3, 0, 'cuda'), 'E_BACKEND_UNAVAILABLE');
  });

  test.skipIf(!cudaUsable())('CUDA flash and naive bf16 JVP / forward return finite positive times', async () => {
    const shape = { batch: 2, heads: 3, lenQ: 130, lenK: 77, headDim: 64, precision: 'bf16' as const };
    for (const pass of ['forward', 'jvp', 'backward'] as const)
      for (const implementation of ['flash', 'naive'] as const) {
        expectTimes(await benchAttentionNative()(shape, pass, implementation, 3, 5, 'cuda'), 3, 'cuda');
      }
  });
});

describe('attention benchmark shapes and --dump', () => {
  test('CUDA cases fill batch·heads·L = CUDA_ROWS at every length', () => {
    for (const L of [256, 512, 1024, 2048, 4096, 8192]) {
      const { batch, heads } = cudaBatchHeads(L);
      expect(batch * heads * L).toBe(CUDA_ROWS);
      expect(heads).toBeLessThanOrEqual(16);
    }
  });

  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('dumpAttentionJvp writes inputs and outputs that the numpy peer checks (and a wrong one fails)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'scm-attn-dump-'));
    dirs.push(dir);
    const manifest = await dumpAttentionJvp(dir, 'cpu');
    expect(manifest.cases.length).toBe(dumpShapes('cpu').length);
    const onDisk = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(onDisk.format).toBe('scm-attention-jvp-dump/1');
    for (const c of manifest.cases) {
      const nq = c.batch * c.heads * c.lenQ * c.headDim, nk = c.batch * c.heads * c.lenK * c.headDim;
      const expected = { q: nq, k: nk, v: nk, tq: nq, tk: nk, tv: nk, out: nq, tangentOut: nq, lse: c.batch * c.heads * c.lenQ };
      for (const [key, n] of Object.entries(expected)) expect(statSync(path.join(dir, c.files[key as keyof typeof c.files])).size).toBe(4 * n);
      const q = new Float32Array(readFileSync(path.join(dir, c.files.q)).buffer.slice(0));
      expect(q.some((x) => x !== 0)).toBe(true);
      expect(q.every(Number.isFinite)).toBe(true);
    }
    if (!hasNumpy) return; // the peer needs python3 + numpy (checked below when present)
    const ok = spawnSync('python3', [peer, 'compare', dir], { encoding: 'utf8' });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`${manifest.cases.length}/${manifest.cases.length} cases within tolerance`));
    // a wrong tangent output (one element changed by a lot) must fail the comparison
    const c0 = manifest.cases[0];
    const file = path.join(dir, c0.files.tangentOut);
    const to = new Float32Array(readFileSync(file).buffer.slice(0));
    to[Math.floor(to.length / 2)] += 1000;
    writeFileSync(file, new Uint8Array(to.buffer));
    const bad = spawnSync('python3', [peer, 'compare', dir], { encoding: 'utf8' });
    expect(bad.status, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(/FAIL/);
  });

  test.skipIf(!hasNumpy)('the numpy reference of the peer passes its self-test (JVP vs central differences)', () => {
    const r = spawnSync('python3', [peer, 'selftest'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/JVP vs central differences/);
  });
});
