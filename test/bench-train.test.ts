// The training benchmark (bench/train.ts) at minimal sizes, the target verdicts, and the
// PyTorch peer (bench/peers/train_torch.py): its torch-free self-test (python3), the check that
// it computes our forward and JVP (torch), and one timed case through the serve protocol.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { startTrainPeer, torchImportable, TRAIN_PEER } from '../bench/peer.js';
import { checkRecord } from '../bench/record.js';
import { caseConfig, dumpPeerCheck, judgeTargets, runTrainBench, timeOurStep, trainCases, type TrainRow } from '../bench/train.js';
import { readSafetensors, writeSafetensors } from '../src/index.js';
import { parameterCount } from '../src/model-config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'scm-bench-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasPython = spawnSync('python3', ['--version']).status === 0;
const torch = torchImportable();
const rep = { warmup: 1, minRuns: 2, minTimeMs: 0, maxRuns: 3, maxTimeMs: 10_000 };

describe('train benchmark cases', () => {
  test('cases per model, precision and step; scd-cfg only for class-conditional models; configs as the trainers build them', () => {
    const cs = trainCases(['mlp-s', 'dit-xs'], ['diffusion', 'scd-cfg'], ['fp32']);
    expect(cs.map((c) => `${c.model} ${c.objective} ${c.batch}`)).toEqual(['mlp-s diffusion 256', 'dit-xs diffusion 128', 'dit-xs scd-cfg 128']);
    expect(caseConfig({ model: 'dit-xs', objective: 'sct' }).dropout).toBe(0.2);
    expect(caseConfig({ model: 'dit-xs', objective: 'scd-cfg' }).guidanceInput).toBe(true);
    expect(caseConfig({ model: 'dit-xs', objective: 'scd' }).numClasses).toBe(10);
    expect(caseConfig({ model: 'mlp-s', objective: 'scd' }).sampleShape).toEqual([2]);
  });

  test('timeOurStep: the real trainer, warm-up untimed, at least minRuns timed steps', async () => {
    for (const objective of ['diffusion', 'sct', 'scd'] as const) {
      const r = await timeOurStep({ model: 'mlp-s', objective, precision: 'fp32', batch: 8 }, rep, 'cpu');
      expect(r.times.length).toBeGreaterThanOrEqual(2);
      expect(r.times.length).toBeLessThanOrEqual(3);
      expect(r.summary.medianMs).toBeGreaterThan(0);
      expect(r.samplesPerSecond).toBeCloseTo(8 / (r.summary.medianMs / 1000), 6);
      expect(Number.isFinite(r.loss)).toBe(true);
    }
  });

  test('judgeTargets: the issue targets from the medians', () => {
    const row = (objective: TrainRow['objective'], ours: number, torchMs?: number): TrainRow => ({
      model: 'mlp-s', objective, precision: 'fp32', batch: 4, config: caseConfig({ model: 'mlp-s', objective }), parameters: 0,
      ours: { summary: { medianMs: ours } as TrainRow['ours']['summary'], times: [], samplesPerSecond: 0, loss: 0, warmupMs: 0, load: { at: '', loadavg: [0, 0, 0] } },
      torch: torchMs === undefined ? undefined : { summary: { medianMs: torchMs } as TrainRow['ours']['summary'], times: [], samplesPerSecond: 0, loss: 0, compile: false, paramCount: 0, optimizer: '', attention: '', warmupMs: 0, load: { at: '', loadavg: [0, 0, 0] }, policy: 'passive' },
    });
    const v = judgeTargets([row('diffusion', 10, 12), row('scd', 30, 20)]);
    const get = (s: string) => v.find((x) => x.target.startsWith(s))!;
    expect(get('teacher step >=')).toMatchObject({ value: 1.2, met: true });
    expect(get('sCD step <= 2.5x')).toMatchObject({ value: 3, met: false });
    expect(get('sCD step >= PyTorch')).toMatchObject({ met: false });
    expect(judgeTargets([row('diffusion', 10)])[0]).toMatchObject({ value: null, met: null });
  });

  test('end to end without the peer: JSON record with every row and the targets', async () => {
    await runTrainBench(['--models=mlp-s', '--batch=8', '--steps=diffusion,scd', '--precision=fp32', '--warmup=1', '--min-runs=1', '--min-time=0', '--no-torch', `--out=${dir}`, '--backend=cpu']);
    const file = readdirSync(dir).find((f) => f.startsWith('train-cpu-'))!;
    const r = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    expect(checkRecord(r)).toEqual([]);
    expect(r.results.map((x: TrainRow) => x.objective)).toEqual(['diffusion', 'scd']);
    expect(r.results[0].parameters).toBe(parameterCount(caseConfig({ model: 'mlp-s', objective: 'diffusion' })));
    expect(r.torch).toEqual({ unavailable: 'skipped (--no-torch)' });
    expect(r.targets.find((t: { target: string }) => t.target.startsWith('sCD step <= 2.5x')).met).not.toBeNull();
  });
});

describe('PyTorch peer', () => {
  test.skipIf(!hasPython)('torch-free self-test (case parsing, safetensors header, time frequencies, repeat rule)', () => {
    const r = spawnSync('python3', [TRAIN_PEER, 'selftest'], { encoding: 'utf8' });
    expect(r.stdout).toContain('selftest passed');
    expect(r.status).toBe(0);
  });

  test.skipIf(!torch.ok)(`computes our forward, logvar and JVP (float64 peer vs our float32; ${torch.reason}), and notices a wrong J`, async () => {
    const check = path.join(dir, 'check');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(check);
    const cases = await dumpPeerCheck(check);
    const run = () => spawnSync('python3', [TRAIN_PEER, 'check', check], { encoding: 'utf8' });
    const good = run();
    expect(good.status, good.stderr).toBe(0);
    const rep = JSON.parse(good.stdout.trim().split('\n').pop()!);
    expect(rep.pass).toBe(true);
    expect(rep.cases.map((c: { name: string }) => c.name)).toEqual(cases.map((c) => c.name));
    for (const c of rep.cases) for (const k of ['F', 'logvar', 'J']) expect(c.f64[k]).toBeLessThan(1e-4);
    // flip the tangent of one case: the check must fail
    const io = path.join(check, cases[2].io);
    const st = await readSafetensors(io);
    const J = st.tensors.get('J')!;
    const bad = Float32Array.from(J.data as Float32Array, (x) => -x);
    await writeSafetensors(io, new Map([...st.tensors].map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: k === 'J' ? bad : t.data }])));
    const wrong = run();
    expect(wrong.status).toBe(1);
    expect(JSON.parse(wrong.stdout.trim().split('\n').pop()!).cases[2].pass).toBe(false);
  });

  test.skipIf(!torch.ok)('serve: times one tiny sCD step with the same parameter count as ours; refuses a bad case', async () => {
    const started = await startTrainPeer(1);
    if ('unavailable' in started) throw new Error(started.unavailable);
    try {
      const config = caseConfig({ model: 'mlp-s', objective: 'scd' });
      const r = await started.peer.request<{ ok: boolean; result: { times: number[]; paramCount: number; loss: number } }>({ op: 'time', case: { config, objective: 'scd', batch: 4, repeat: rep } });
      expect(r!.ok).toBe(true);
      expect(r!.result.times.length).toBeGreaterThanOrEqual(2);
      expect(r!.result.paramCount).toBe(parameterCount(config));
      expect(Number.isFinite(r!.result.loss)).toBe(true);
      const bad = await started.peer.request<{ ok: boolean; error: string }>({ op: 'time', case: { config, objective: 'ect', batch: 4 } });
      expect(bad).toMatchObject({ ok: false });
      expect(bad!.error).toMatch(/objective must be one of/);
    } finally {
      await started.peer.close();
    }
  });
});
