// Training benchmark (`npm run bench -- train`): samples/s of one training step of the real
// trainers, with the PyTorch peer of the same model and step timed in the same run.
//
// Steps (native/core/train*.cpp), each on a throwaway model of a preset:
//   diffusion  the TrigFlow teacher step: forward, MSE, backward, Adam + EMA (trainDiffusion;
//              class-conditional models with label dropout 0.1)
//   sct        sCT: dual (JVP) pass of the student along (cos t sin t v_t/sd, cos t sin t),
//              tangent target + normalisation + adaptive weight, backward from the dual's saved
//              primal, Adam + EMA (trainConsistency, method 'sct', its default dropout 0.2)
//   scd        sCD: the teacher's forward (no gradient) for dx/dt, then as sct (dropout 0)
//   scd-cfg    sCD with classifier-free guidance w ~ U[1, 2] (teacher on 2B rows, guidance
//              input to the student); class-conditional models only
// Models and batches: mlp-s at batch 256 on 2-D points (moons, unconditional), dit-xs at
// batch 128 on 1x28x28 images (synthetic pixels, 10 classes); dit-s and dit-b (1x28x28,
// batch 128) are added on CUDA. The data values do not change the work.
//
// Timing: trainDiffusion / trainConsistency with progressEvery 1; a step's time is the wall
// time between two progress callbacks (the native step plus the loop's batch assembly, what a
// user's run spends per step). The first `warmup` steps (>= 1: the first holds the model's
// creation) are not timed; then steps are timed until --min-runs and --min-time are reached
// (capped by --max-runs / --max-time) and the run is stopped through its AbortSignal.
// Median step time and samples/s = batch / median.
//
// PyTorch peer (bench/peers/train_torch.py serve): the same network (parameter names and
// count checked equal) and the same step (torch.func.jvp for the dual, Adam(fused) + EMA),
// fp32 eager and bf16 autocast, in long-lived processes; ours and the peer's runs of each case
// alternate so both see the same machine load. PyTorch runs once with the environment's
// OMP_WAIT_POLICY and once with PASSIVE (its OpenMP threads spin between ops by default, which an
// oversubscribed machine punishes: several times slower and erratic), and is compared at the
// faster of the two (--torch-wait-policy; --quick: PASSIVE only). Before timing, the peer is checked to be
// the same function: tiny random mlp / dit models and inputs are dumped (weights through the
// model's named tensors as safetensors) and the peer recomputes our forward F, logvar and the
// dual's J in float64 (`--check` does only this).
//
// Precision: fp32, plus bf16 (GEMM operands in bf16, fp32 accumulation) when the CPU GEMM has
// native bf16 (backendInfo().cpuGemmBf16 === 'native') or on CUDA; `--precision=fp32,bf16`
// forces it (on an fp32-only CPU GEMM our bf16 rounds operands and computes in fp32).
//
// Targets (issues 8, 9): teacher step >= PyTorch fp32 eager, and faster with bf16; sCD step
// <= 2.5x our own teacher step (same model and precision) and >= the PyTorch peer.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backendInfo, ops, sampleToy, setCpuThreads, trainConsistency, trainDiffusion, writeSafetensors, type Model } from '../src/index.js';
import { ScmError } from '../src/errors.js';
import { createModel } from '../src/model.js';
import { parameterCount, PRESET_NAMES, resolveNetworkConfig, type NetworkConfig, type PresetName } from '../src/model-config.js';
import { native, type BackendName } from '../src/native.js';
import { flagHelp, parseFlags, type FlagSpec } from './args.js';
import { JsonLinesPeer, startTrainPeer, TRAIN_PEER, type PeerHello } from './peer.js';
import { describeEnvironment, environment, loadNow, RESULTS_DIR, writeRecord, type LoadSample } from './record.js';
import { enoughRuns, summarize, table, type RepeatOptions, type TimeSummary } from './stats.js';

export const TRAIN_OBJECTIVES = ['diffusion', 'sct', 'scd', 'scd-cfg'] as const;
export type TrainObjective = (typeof TRAIN_OBJECTIVES)[number];
type Precision = 'fp32' | 'bf16';

export const TRAIN_FLAGS = {
  models: { type: 'strings', choices: PRESET_NAMES, help: 'presets to time (default mlp-s,dit-xs; + dit-s,dit-b on CUDA)' },
  steps: { type: 'strings', choices: TRAIN_OBJECTIVES, value: 'diffusion,sct,scd,scd-cfg', help: 'which steps (default all; scd-cfg only for class-conditional models)' },
  batch: { type: 'int', min: 1, help: 'batch size of every model (default: mlp-s 256, dit-* 128)' },
  precision: { type: 'strings', choices: ['fp32', 'bf16'], help: "GEMM precisions (default fp32, + bf16 when the CPU GEMM has native bf16 or on CUDA)" },
  warmup: { type: 'int', min: 1, help: 'untimed steps first (default 2; >= 1)' },
  'min-runs': { type: 'int', min: 1, help: 'timed steps, at least (default 5)' },
  'min-time': { type: 'number', min: 0, help: 'timed milliseconds, at least (default 2000)' },
  'max-runs': { type: 'int', min: 1, help: 'timed steps, at most (default 50)' },
  'max-time': { type: 'number', min: 0, help: 'no new timed step after this many ms (default 60000)' },
  'no-torch': { type: 'boolean', help: 'skip the PyTorch peer' },
  'torch-compile': { type: 'boolean', help: 'also time the peer under torch.compile (slow to compile on a CPU)' },
  'torch-attention': { type: 'string', choices: ['sdpa', 'math'], help: "the peer's attention outside the JVP (default sdpa; the JVP is always math)" },
  'torch-wait-policy': { type: 'string', choices: ['both', 'default', 'passive', 'active'], help: "OMP_WAIT_POLICY of the peer: 'both' (default; one peer with the environment's policy, one with PASSIVE, compared at its faster), 'default', 'passive' (--quick), 'active'" },
  'no-check': { type: 'boolean', help: 'skip checking the peer against our forward and JVP before timing' },
  check: { type: 'boolean', help: 'only check the peer against our forward and JVP (tiny models), then exit' },
  quick: { type: 'boolean', help: 'short run: warmup 1, min-runs 2, min-time 0, max-time 20000' },
  threads: { type: 'int', min: 1, help: 'CPU threads for us and the peer (default: backendInfo().cpuThreads)' },
  backend: { type: 'string', choices: ['auto', 'cpu', 'cuda'], help: 'backend (default auto)' },
  out: { type: 'string', value: 'DIR', help: 'results folder (default bench/results)' },
} as const satisfies FlagSpec;

export interface TrainCase {
  model: PresetName;
  objective: TrainObjective;
  precision: Precision;
  batch: number;
}

interface Timed {
  summary: TimeSummary;
  times: number[];
  samplesPerSecond: number;
  loss: number;
  error?: string;
}

export type TorchTimed = Timed & { compile: boolean; paramCount: number; optimizer: string; attention: string; warmupMs: number; load: LoadSample; policy: string };

export interface TrainRow extends TrainCase {
  config: NetworkConfig;
  parameters: number;
  ours: Timed & { warmupMs: number; load: LoadSample };
  /** The peer's run at its faster OpenMP wait policy (see torchByPolicy). */
  torch?: TorchTimed | { error: string; policy?: string };
  /** Every policy's run. */
  torchByPolicy?: Record<string, TorchTimed | { error: string; policy?: string }>;
  torchCompile?: TrainRow['torch'];
}

/** The data of a preset: 2-D points for the mlp, 1x28x28 images with 10 classes for the dits. */
export function benchData(model: PresetName, count: number): { data: Float32Array; shape: number[]; labels?: Int32Array } {
  if (model === 'mlp-s') return { data: sampleToy('moons', count, 1).data, shape: [count, 2] };
  const D = 28 * 28, data = new Float32Array(count * D);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  return { data, shape: [count, 1, 28, 28], labels: Int32Array.from({ length: count }, (_, i) => i % 10) };
}

/** The student's (or teacher's) network of a case, as the trainers build it. */
export function caseConfig(c: Pick<TrainCase, 'model' | 'objective'>): NetworkConfig {
  const d = benchData(c.model, 1);
  const cfg = resolveNetworkConfig(c.model, { sampleShape: d.shape.slice(1), numClasses: d.labels ? 10 : 0 }, 'train bench');
  cfg.dropout = c.objective === 'sct' ? 0.2 : 0;  // trainConsistency's defaults
  cfg.guidanceInput = c.objective === 'scd-cfg';
  return cfg;
}

export function defaultBatch(model: PresetName): number {
  return model === 'mlp-s' ? 256 : 128;
}

/** The cases of a run, in order (a model's steps together). */
export function trainCases(models: PresetName[], objectives: readonly TrainObjective[], precisions: Precision[], batch?: number): TrainCase[] {
  const out: TrainCase[] = [];
  for (const model of models)
    for (const precision of precisions)
      for (const objective of objectives) {
        if (objective === 'scd-cfg' && caseConfig({ model, objective: 'diffusion' }).numClasses === 0) continue;
        out.push({ model, objective, precision, batch: batch ?? defaultBatch(model) });
      }
  return out;
}

/** Times our step of a case with the real trainer (see the header). */
export async function timeOurStep(c: TrainCase, rep: RepeatOptions, backend: BackendName = 'auto'): Promise<TrainRow['ours']> {
  if (rep.warmup < 1) throw new ScmError('train bench: warmup must be >= 1 (the first step holds the model creation)', 'E_ARGUMENT');
  const load = loadNow();
  const count = Math.max(1024, c.batch * 8);
  const input = benchData(c.model, count);
  const common = { data: input, steps: rep.warmup + rep.maxRuns + 1, batchSize: c.batch, precision: c.precision, backend, seed: 3, progressEvery: 1 };
  let teacher: Model | undefined;
  const stamps: number[] = [];
  let loss = NaN;
  const ac = new AbortController();
  let last = performance.now();
  const onProgress = (p: { loss: number }) => {
    const now = performance.now();
    stamps.push(now - last);
    last = now;
    loss = p.loss;
    const timed = stamps.slice(rep.warmup);
    if (enoughRuns(timed.length, timed.reduce((a, b) => a + b, 0), rep)) ac.abort();
  };
  try {
    if (c.objective === 'diffusion') {
      last = performance.now();
      (await trainDiffusion({ ...common, model: c.model, labelDropout: input.labels ? 0.1 : 0, onProgress, signal: ac.signal })).dispose();
    } else {
      teacher = await trainDiffusion({ data: input, model: c.model, steps: 1, batchSize: Math.min(8, c.batch), precision: c.precision, backend, seed: 2 });
      const method = c.objective === 'sct' ? 'sct' : 'scd';
      last = performance.now();
      (await trainConsistency({ ...common, method, teacher, guidance: c.objective === 'scd-cfg' ? [1, 2] : undefined, onProgress, signal: ac.signal })).dispose();
    }
  } catch (e) {
    if (!(e instanceof ScmError && e.code === 'E_ABORTED')) throw e;
  } finally {
    teacher?.dispose();
  }
  const times = stamps.slice(rep.warmup);
  const summary = summarize(times);
  return { summary, times, samplesPerSecond: c.batch / (summary.medianMs / 1000), loss, warmupMs: stamps.slice(0, rep.warmup).reduce((a, b) => a + b, 0), load };
}

interface PeerTimeResult { times: number[]; paramCount: number; loss: number; optimizer: string; attention: string; warmupMs: number; compile: boolean }

async function timeTorchStep(peer: JsonLinesPeer, policy: string, c: TrainCase, rep: RepeatOptions, compile: boolean, attention: string): Promise<NonNullable<TrainRow['torch']>> {
  const load = loadNow();
  const r = await peer.request<{ ok: boolean; error?: string; result?: PeerTimeResult }>({
    op: 'time',
    case: { config: caseConfig(c), objective: c.objective, batch: c.batch, precision: c.precision, compile, attention, repeat: rep, seed: 0 },
  });
  if (r === null) return { policy, error: `the PyTorch peer exited (${peer.exitCode}): ${peer.errorText.split('\n').slice(-3).join(' ')}` };
  if (!r.ok || !r.result) return { policy, error: r.error ?? 'no result' };
  const summary = summarize(r.result.times);
  return { ...r.result, summary, samplesPerSecond: c.batch / (summary.medianMs / 1000), load, policy };
}

// ---------------------------------------------------------------- peer check

export interface PeerCheckCase {
  name: string;
  batch: number;
  /** Relative paths: the model (safetensors with the config in its metadata) and the inputs/outputs. */
  model: string;
  io: string;
}

/** Tiny networks covering every branch the peer implements (labels, null label, guidance input, learned and fixed positions, a non-square image). */
export function peerCheckConfigs(): { name: string; config: NetworkConfig }[] {
  const w = 'peer check';
  return [
    { name: 'mlp-labels-guidance', config: resolveNetworkConfig({ kind: 'mlp', width: 16, depth: 2, mlpRatio: 2, timeDim: 8, guidanceInput: true }, { sampleShape: [3], numClasses: 3 }, w) },
    { name: 'mlp-unconditional', config: resolveNetworkConfig({ kind: 'mlp', width: 12, depth: 1, mlpRatio: 3, timeDim: 6 }, { sampleShape: [2], numClasses: 0 }, w) },
    { name: 'dit-labels-learned-pos', config: resolveNetworkConfig({ kind: 'dit', width: 16, depth: 2, heads: 2, patch: 2, mlpRatio: 2, timeDim: 8 }, { sampleShape: [2, 4, 6], numClasses: 4 }, w) },
    { name: 'dit-fixed-pos-guidance', config: resolveNetworkConfig({ kind: 'dit', width: 24, depth: 1, heads: 3, patch: 2, mlpRatio: 2, timeDim: 10, learnedPosEmbed: false, guidanceInput: true }, { sampleShape: [1, 6, 4], numClasses: 2 }, w) },
  ];
}

/**
 * Writes tiny random models and inputs with our forward (F, logvar) and dual ([F; J]) outputs
 * under `dir` (manifest.json + safetensors) for `train_torch.py check`.
 */
export async function dumpPeerCheck(dir: string): Promise<PeerCheckCase[]> {
  const cases: PeerCheckCase[] = [];
  let seed = 101;
  for (const { name, config } of peerCheckConfigs()) {
    const model = createModel('diffusion', config, { name: 'custom', scale: 1 }, {}, { backend: 'cpu', seed: 1 });
    try {
      // every weight random (the zero-initialised ones would hide terms), QK gains around 1
      const w = await ops.randn(model.parameterCount, { seed: seed++, backend: 'cpu' });
      for (let i = 0; i < w.length; i++) w[i] *= 0.4;
      for (const [n, t] of model.tensors) if (n.endsWith('norm.weight')) for (let i = 0; i < t.shape[0]; i++) w[t.offset + i] = 1 + 0.5 * w[t.offset + i];
      model.writeWeights('params', w);
      const B = 3, D = config.sampleShape.reduce((a, b) => a * b, 1);
      const u = await ops.randn(B * D, { seed: seed++, backend: 'cpu' });
      const uDot = await ops.randn(B * D, { seed: seed++, backend: 'cpu' });
      const t = [0.05, 0.8, 1.5];
      const tDot = t.map((x) => Math.cos(x) * Math.sin(x));
      const labels = config.numClasses > 0 ? Int32Array.from([0, config.numClasses - 1, config.numClasses]) : undefined;
      const guidance = config.guidanceInput ? [1, 1.5, 2.25] : undefined;
      const h = model.live('peer check');
      const [F, logvar] = await native().modelForward(h, { u, t, labels, guidance, batch: B });
      const uu = new Float32Array(2 * B * D);
      uu.set(u);
      uu.set(uDot, B * D);
      const [FF] = await native().modelForward(h, { u: uu, t, tDot, labels, guidance, batch: B });
      const io = new Map<string, { dtype: 'F32' | 'F64' | 'I32'; shape: number[]; data: Float32Array | Float64Array | Int32Array }>([
        ['u', { dtype: 'F32', shape: [B, D], data: u }],
        ['uDot', { dtype: 'F32', shape: [B, D], data: uDot }],
        ['t', { dtype: 'F64', shape: [B], data: Float64Array.from(t) }],
        ['tDot', { dtype: 'F64', shape: [B], data: Float64Array.from(tDot) }],
        ['F', { dtype: 'F32', shape: [B, D], data: F }],
        ['logvar', { dtype: 'F32', shape: [B], data: logvar }],
        ['dualF', { dtype: 'F32', shape: [B, D], data: FF.slice(0, B * D) }],
        ['J', { dtype: 'F32', shape: [B, D], data: FF.slice(B * D) }],
      ]);
      if (labels) io.set('labels', { dtype: 'I32', shape: [B], data: labels });
      if (guidance) io.set('guidance', { dtype: 'F64', shape: [B], data: Float64Array.from(guidance) });
      await model.save(path.join(dir, `${name}.model.safetensors`));
      await writeSafetensors(path.join(dir, `${name}.io.safetensors`), io);
      cases.push({ name, batch: B, model: `${name}.model.safetensors`, io: `${name}.io.safetensors` });
    } finally {
      model.dispose();
    }
  }
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ format: 'scm-train-peer-check/1', cases }, null, 2) + '\n');
  return cases;
}

export interface PeerCheckReport {
  pass: boolean;
  torch?: string;
  tolerance?: number;
  cases?: { name: string; kind: string; pass: boolean; f64: Record<string, number>; f32: Record<string, number> }[];
  unavailable?: string;
  error?: string;
}

/** Dumps the check models and runs `train_torch.py check` on them. */
export async function runPeerCheck(): Promise<PeerCheckReport> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'scm-peer-check-'));
  try {
    await dumpPeerCheck(dir);
    const r = spawnSync('python3', [TRAIN_PEER, 'check', dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.error) return { pass: false, unavailable: `python3 cannot run (${r.error.message})` };
    if (r.status === 3) return { pass: false, unavailable: r.stderr.trim() || 'torch not installed' };
    const last = r.stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as PeerCheckReport;
    } catch {
      return { pass: false, error: `the peer check failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-4).join(' ')}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printCheck(rep: PeerCheckReport): void {
  if (rep.unavailable || rep.error) {
    console.log(`peer check: ${rep.unavailable ?? rep.error}`);
    return;
  }
  console.log(`peer check (torch ${rep.torch}): our float32 forward / JVP against the peer in float64, relative L2 (tolerance ${rep.tolerance}):`);
  const f = (x: number) => x.toExponential(1);
  console.log(table(['case', 'F', 'logvar', 'J', 'f32 peer: F', 'J', 'sdpa vs math', 'result'],
    (rep.cases ?? []).map((c) => [c.name, f(c.f64.F), f(c.f64.logvar), f(c.f64.J), f(c.f32.F), f(c.f32.J), f(c.f32.sdpaVsMath), c.pass ? 'same function' : 'MISMATCH'])));
}

// ---------------------------------------------------------------- the suite

function repeatOptions(o: ReturnType<typeof parseTrainFlags>): RepeatOptions {
  const quick = o.quick === true;
  return {
    warmup: o.warmup ?? (quick ? 1 : 2),
    minRuns: o['min-runs'] ?? (quick ? 2 : 5),
    minTimeMs: o['min-time'] ?? (quick ? 0 : 2000),
    maxRuns: o['max-runs'] ?? 50,
    maxTimeMs: o['max-time'] ?? (quick ? 20_000 : 60_000),
  };
}

export function parseTrainFlags(flags: readonly string[]) {
  return parseFlags('train bench', flags, TRAIN_FLAGS);
}

export function trainHelp(): string {
  return `npm run bench -- train [flags]: samples/s of the diffusion, sCT and sCD training steps, ours and PyTorch's\n${flagHelp(TRAIN_FLAGS)}`;
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : '-');
const rate = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 100 ? 1 : 0) : '-');

function rowCells(r: TrainRow): string[] {
  const t = r.torch && !('error' in r.torch) ? r.torch : undefined;
  const tc = r.torchCompile && !('error' in r.torchCompile) ? r.torchCompile : undefined;
  return [
    `${r.model} ${r.objective}`, r.precision, String(r.batch),
    ms(r.ours.summary.medianMs), rate(r.ours.samplesPerSecond), String(r.ours.summary.runs),
    t ? ms(t.summary.medianMs) : r.torch ? 'failed' : '-', t ? rate(t.samplesPerSecond) : '-',
    t ? (t.summary.medianMs / r.ours.summary.medianMs).toFixed(2) : '-',
    tc ? ms(tc.summary.medianMs) : '-',
    `${r.ours.load.loadavg[0]}`,
    t ? t.policy : '-',
  ];
}

const HEADER = ['case', 'prec', 'batch', 'ours ms', 'ours samp/s', 'runs', 'torch ms', 'torch samp/s', 'torch/ours', 'compile ms', 'load', 'torch OMP wait'];

export interface TargetVerdict { target: string; model: string; precision: string; value: number | null; met: boolean | null; note?: string }

/** The issue targets, judged on the medians of a run's rows. */
export function judgeTargets(rows: TrainRow[]): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  const find = (m: string, o: string, p: string) => rows.find((r) => r.model === m && r.objective === o && r.precision === p);
  const torchMs = (r?: TrainRow) => (r?.torch && !('error' in r.torch) ? r.torch.summary.medianMs : undefined);
  for (const m of [...new Set(rows.map((r) => r.model))]) {
    for (const p of ['fp32', 'bf16'] as const) {
      const teacher = find(m, 'diffusion', p), scd = find(m, 'scd', p);
      if (teacher) {
        const tf = torchMs(find(m, 'diffusion', 'fp32'));
        const v = tf === undefined ? null : tf / teacher.ours.summary.medianMs;
        out.push({ target: p === 'fp32' ? 'teacher step >= PyTorch fp32 eager (torch/ours time >= 1)' : 'bf16 teacher step faster than PyTorch fp32 eager', model: m, precision: p, value: v, met: v === null ? null : p === 'fp32' ? v >= 1 : v > 1 });
        if (p === 'bf16') {
          const tb = torchMs(teacher);
          const vb = tb === undefined ? null : tb / teacher.ours.summary.medianMs;
          out.push({ target: 'bf16 teacher step >= PyTorch bf16 autocast', model: m, precision: p, value: vb, met: vb === null ? null : vb >= 1 });
        }
      }
      if (scd && teacher) {
        const v = scd.ours.summary.medianMs / teacher.ours.summary.medianMs;
        out.push({ target: 'sCD step <= 2.5x our teacher step', model: m, precision: p, value: v, met: v <= 2.5 });
      }
      if (scd) {
        const ts = torchMs(scd);
        const v = ts === undefined ? null : ts / scd.ours.summary.medianMs;
        out.push({ target: 'sCD step >= PyTorch peer (torch/ours time >= 1)', model: m, precision: p, value: v, met: v === null ? null : v >= 1 });
      }
    }
  }
  return out;
}

export async function runTrainBench(flags: string[]): Promise<void> {
  const o = parseTrainFlags(flags);
  if (o.threads !== undefined) setCpuThreads(o.threads);
  if (o.check) {
    const rep = await runPeerCheck();
    printCheck(rep);
    if (!rep.pass && !rep.unavailable) process.exitCode = 1;
    return;
  }
  const env = environment();
  const info = backendInfo();
  const backend = (o.backend ?? 'auto') as BackendName;
  const onCuda = backend === 'cuda' || (backend === 'auto' && info.active === 'cuda');
  const models = (o.models ?? (onCuda ? ['mlp-s', 'dit-xs', 'dit-s', 'dit-b'] : ['mlp-s', 'dit-xs'])) as PresetName[];
  const bf16Native = onCuda || info.cpuGemmBf16 === 'native';
  const precisions = (o.precision ?? (bf16Native ? ['fp32', 'bf16'] : ['fp32'])) as Precision[];
  const rep = repeatOptions(o);
  const objectives = (o.steps ?? TRAIN_OBJECTIVES) as TrainObjective[];
  const cases = trainCases(models, objectives, precisions, o.batch);
  console.log(`train benchmark on ${describeEnvironment(env)}`);
  if (!o.precision && !bf16Native) console.log(`bf16 not timed: the CPU GEMM computes bf16 in fp32 (backendInfo().cpuGemmBf16 = '${info.cpuGemmBf16}'); --precision=fp32,bf16 forces it`);
  console.log(`timing: ${rep.warmup} untimed step(s), then >= ${rep.minRuns} steps and >= ${rep.minTimeMs} ms (at most ${rep.maxRuns} steps / ${rep.maxTimeMs} ms); median step time`);

  // PyTorch's OpenMP threads spin-wait between ops by default; on a shared or oversubscribed
  // machine that can make its steps several times slower and erratic (measured here: 0.3 s
  // with PASSIVE, 0.5 to 5 s by default, same step). The fair comparison is with its faster policy.
  const policies = o['torch-wait-policy'] === 'both' || (o['torch-wait-policy'] === undefined && o.quick !== true) ? ['default', 'passive'] : [o['torch-wait-policy'] ?? 'passive'];
  const peers: { policy: string; peer: JsonLinesPeer; hello: PeerHello }[] = [];
  let torchNote: string | undefined;
  let check: PeerCheckReport | undefined;
  const threads = o.threads ?? info.cpuThreads;
  if (o['no-torch']) torchNote = 'skipped (--no-torch)';
  else {
    for (const policy of policies) {
      const started = await startTrainPeer(threads, policy === 'default' ? undefined : (policy as 'passive' | 'active'));
      if ('unavailable' in started) {
        torchNote = started.unavailable;
        break;
      }
      peers.push({ policy, ...started });
    }
    if (torchNote) console.log(`PyTorch peer: ${torchNote}; continuing without it`);
    else {
      const h = peers[0].hello;
      console.log(`PyTorch peer: torch ${h.torch}, ${h.threads} threads (mkldnn bf16: ${h.mkldnnBf16}), bench/peers/train_torch.py; OMP_WAIT_POLICY: ${peers.map((p) => (p.policy === 'default' ? `${p.hello.ompWaitPolicy ?? 'unset'} (environment)` : p.hello.ompWaitPolicy)).join(' and ')}${peers.length > 1 ? ', compared at the faster' : ''}`);
      if (!o['no-check']) {
        check = await runPeerCheck();
        printCheck(check);
        if (!check.pass) console.log('WARNING: the peer does not compute our function: its timings are not a like-for-like comparison');
      }
    }
  }
  const loadBefore = loadNow();
  const rows: TrainRow[] = [];
  try {
    for (const c of cases) {
      const config = caseConfig(c);
      const row: TrainRow = { ...c, config, parameters: parameterCount(config), ours: await timeOurStep(c, rep, backend) };
      if (peers.length) {
        const attention = o['torch-attention'] ?? 'sdpa';
        row.torchByPolicy = {};
        for (const p of peers) {
          const t = await timeTorchStep(p.peer, p.policy, c, rep, false, attention);
          if (!('error' in t) && t.paramCount !== row.parameters) row.torchByPolicy[p.policy] = { policy: p.policy, error: `parameter count ${t.paramCount} differs from ours ${row.parameters}` };
          else row.torchByPolicy[p.policy] = t;
        }
        const ok = Object.values(row.torchByPolicy).filter((t): t is TorchTimed => !('error' in t));
        row.torch = ok.length ? ok.reduce((a, b) => (b.summary.medianMs < a.summary.medianMs ? b : a)) : Object.values(row.torchByPolicy)[0];
        if (o['torch-compile']) {
          const best = peers.find((p) => p.policy === row.torch!.policy) ?? peers[0];
          row.torchCompile = await timeTorchStep(best.peer, best.policy, c, rep, true, attention);
        }
      }
      rows.push(row);
      const cells = rowCells(row);
      const byPolicy = Object.values(row.torchByPolicy ?? {}).map((t) => `${t.policy} ${'error' in t ? 'failed' : ms(t.summary.medianMs)}`).join(', ');
      console.log(`${cells[0]} ${cells[1]} batch ${cells[2]}: ours ${cells[3]} ms (${cells[4]} samples/s, ${cells[5]} steps), torch ${cells[6]} ms${byPolicy ? ` (${byPolicy})` : ''}${cells[9] !== '-' ? `, torch.compile ${cells[9]} ms` : ''}, torch/ours ${cells[8]} (load ${cells[10]})`);
      for (const t of Object.values(row.torchByPolicy ?? {})) if ('error' in t) console.log(`  torch (${t.policy}): ${t.error}`);
    }
  } finally {
    for (const p of peers) await p.peer.close();
  }
  console.log('\n' + table(HEADER, rows.map(rowCells)));
  const verdicts = judgeTargets(rows);
  console.log('\ntargets (medians of this run):');
  for (const v of verdicts) console.log(`  ${v.model} ${v.precision}: ${v.target}: ${v.value === null ? 'no PyTorch number' : v.value.toFixed(2)} -> ${v.met === null ? 'not judged' : v.met ? 'met' : 'NOT met'}`);
  const record = {
    schema: 'scm-native-bench/1' as const,
    suite: 'train',
    command: `npm run bench -- train${flags.length ? ' ' + flags.join(' ') : ''}`,
    environment: env,
    settings: { models, objectives, precisions, batch: o.batch ?? 'per model (mlp-s 256, dit-* 128)', repeat: rep, backend, threads, torchCompile: o['torch-compile'] === true, torchAttention: o['torch-attention'] ?? 'sdpa', torchWaitPolicies: policies,
      timing: 'wall time between progress callbacks of trainDiffusion/trainConsistency (progressEvery 1); first warmup steps untimed; stopped by AbortSignal',
      data: 'mlp-s: moons points (unconditional); dit-*: synthetic 1x28x28 pixels in [-1, 1], labels i mod 10' },
    load: { before: loadBefore, after: loadNow() },
    torch: peers.length ? { ...peers[0].hello, ompWaitPolicies: peers.map((p) => ({ policy: p.policy, OMP_WAIT_POLICY: p.hello.ompWaitPolicy })), comparedAt: 'the faster policy per case', script: 'bench/peers/train_torch.py' } : { unavailable: torchNote },
    peerCheck: check ?? null,
    results: rows,
    targets: verdicts,
  };
  const file = writeRecord(record, `train-${env.backend.active}`, o.out ?? RESULTS_DIR);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
