// Stabiliser ablation (`npm run bench -- ablation`): sCD and sCT on toy 2-D sets with the
// paper's defaults (the baseline) and with each stabiliser of SCM.md §2, §4, §5 switched off in
// turn, recording final quality and training stability per run (issue 9, "Ablation").
//
// Variants (VARIANTS below):
//   baseline               identity time, positional embedding, ADN, tangent normalisation
//                          c = 0.1, adaptive weighting, tangent warm-up H
//   edm-log                c_noise(t) = log(sd tan t)          } architecture choices: each has
//   fourier-16             Fourier time features, scale 16     } its own teacher, trained by the
//   adaln                  adaLN modulation (1 + scale, gates) } same recipe with that network
//   tangent-none           no tangent normalisation
//   tangent-clip           clip(g, -1, 1) instead of normalisation
//   no-adaptive-weighting  w_phi off
//   no-warmup              H = 0 (r = 1 from the first step)
// sCD distils the teacher of the variant's network; sCT starts from the same teacher's EMA
// weights (diffusion finetuning, SCM.md §7). Every seed s trains its own teachers (seed s) and
// students (seed s + 100), so the spread over seeds includes the teacher's.
//
// Per run: energy distance (U-statistic) and sliced W2 (256 directions) of 1- and 2-step
// samples (EMA weights) to fresh true samples (sampleToy, a seed no training set uses), the
// progress statistics of every step (||g|| before normalisation mean/max, parameter gradient
// norm, dropped samples, skipped steps, non-finite loss) and wall time. References: the
// teacher at 63 NFE (Heun, 32 steps), the untrained student (the teacher's weights used as a
// consistency function, 1 step), two fresh true sets against each other (the metric's floor).
//
// Diverged := an exception during training, a non-finite loss or gradient norm at any step,
// non-finite samples, or a 1-step energy distance above the untrained student's (training
// made the model worse than its initialisation).
//
// Output: bench/results/ablation-<date>.json (JSON record of bench/record.ts) and
// ablation-<date>.md (tables + a reading), both rewritten after every run so an interrupted
// run keeps what was done. The .md keeps a hand-written block between READING_START and
// READING_END when it is rewritten. `--quick`: tiny sizes (smoke test), files named
// ablation-quick-<date>.*.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { energyDistance, sample, sampleToy, setCpuThreads, slicedWasserstein, trainConsistency, trainDiffusion, type Model, type TrainConsistencyOptions, type TrainProgress } from '../src/index.js';
import { TOY_DATASETS, type ToyName } from '../src/data/index.js';
import type { NetworkConfig } from '../src/model-config.js';
import { flagHelp, parseFlags, type FlagSpec } from './args.js';
import { describeEnvironment, environment, loadNow, RESULTS_DIR, writeRecord, type BenchRecord, type LoadSample } from './record.js';

// ---------------------------------------------------------------- variants

export type ArchId = 'baseline' | 'edm-log' | 'fourier-16' | 'adaln';
type Arch = Partial<Pick<NetworkConfig, 'timeTransform' | 'timeEmbedding' | 'fourierScale' | 'modulation'>>;

export interface Variant {
  id: string;
  /** What is switched off, in words. */
  off: string;
  /** The network (teacher and student). */
  arch: ArchId;
  /** Options of trainConsistency that differ from the baseline. */
  options: Partial<Pick<TrainConsistencyOptions, 'tangent' | 'adaptiveWeighting' | 'warmupSteps'>>;
}

export const ARCHS: Record<ArchId, Arch> = {
  baseline: {},
  'edm-log': { timeTransform: 'edm-log' },
  'fourier-16': { timeEmbedding: 'fourier', fourierScale: 16 },
  adaln: { modulation: 'adaln' },
};

export const VARIANTS: readonly Variant[] = [
  { id: 'baseline', off: 'nothing (paper defaults)', arch: 'baseline', options: {} },
  { id: 'edm-log', off: 'identity time transform (c_noise = log(sd tan t))', arch: 'edm-log', options: {} },
  { id: 'fourier-16', off: 'positional time embedding (Fourier, scale 16)', arch: 'fourier-16', options: {} },
  { id: 'adaln', off: 'adaptive double normalisation (adaLN)', arch: 'adaln', options: {} },
  { id: 'tangent-none', off: 'tangent normalisation (none)', arch: 'baseline', options: { tangent: 'none' } },
  { id: 'tangent-clip', off: 'tangent normalisation (clip to [-1, 1] instead)', arch: 'baseline', options: { tangent: 'clip' } },
  { id: 'no-adaptive-weighting', off: 'adaptive weighting', arch: 'baseline', options: { adaptiveWeighting: false } },
  { id: 'no-warmup', off: 'tangent warm-up (H = 0)', arch: 'baseline', options: { warmupSteps: 0 } },
];
export const VARIANT_IDS = VARIANTS.map((v) => v.id);
export const METHODS = ['scd', 'sct'] as const;
export type Method = (typeof METHODS)[number];

// ---------------------------------------------------------------- flags and settings

export const ABLATION_FLAGS = {
  datasets: { type: 'strings', choices: TOY_DATASETS, help: 'toy sets (default moons,checkerboard)' },
  seeds: { type: 'int', min: 1, help: 'seeds per variant (default 3; --quick 1)' },
  variants: { type: 'strings', choices: VARIANT_IDS, help: `variants (default all: ${VARIANT_IDS.join(',')}; baseline is always run)` },
  methods: { type: 'strings', choices: METHODS, help: 'scd, sct (default both)' },
  'teacher-steps': { type: 'int', min: 1, help: 'teacher steps (default 500)' },
  'student-steps': { type: 'int', min: 1, help: 'student steps (default 1000)' },
  'warmup-steps': { type: 'int', min: 0, help: 'tangent warm-up H of the baseline (default 400)' },
  batch: { type: 'int', min: 2, help: 'batch size, teachers and students (default 256)' },
  width: { type: 'int', min: 2, help: 'MLP width (default 96)' },
  depth: { type: 'int', min: 1, help: 'MLP depth (default 3)' },
  'teacher-lr': { type: 'number', min: 0, help: 'teacher learning rate (default 2e-3)' },
  'student-lr': { type: 'number', min: 0, help: 'student learning rate (default 4e-4)' },
  'eval-count': { type: 'int', min: 10, help: 'samples per quality measurement and true samples (default 2000)' },
  quick: { type: 'boolean', help: 'smoke-test sizes: moons, 1 seed, 20 + 20 steps, batch 64, width 32, depth 2, 200 samples' },
  threads: { type: 'int', min: 1, help: 'CPU threads (setCpuThreads)' },
  out: { type: 'string', value: 'DIR', help: 'results folder (default bench/results)' },
} as const satisfies FlagSpec;

export function ablationHelp(): string {
  return `npm run bench -- ablation [flags]: sCD / sCT on toy 2-D sets with each stabiliser switched off in turn (quality, ||g||, NaNs, wall time)\n${flagHelp(ABLATION_FLAGS)}`;
}

export interface AblationSettings {
  quick: boolean;
  datasets: ToyName[];
  seeds: number[];
  variants: string[];
  methods: Method[];
  network: { kind: 'mlp'; width: number; depth: number; mlpRatio: number; timeDim: number };
  teacher: { steps: number; batchSize: number; lr: number; emaHalfLife: number };
  student: { steps: number; batchSize: number; lr: number; emaHalfLife: number; warmupSteps: number };
  evalCount: number;
  truthSeed: number;
  sampleSeed: number;
  threads?: number;
  out: string;
}

export function ablationSettings(flags: readonly string[]): AblationSettings {
  const o = parseFlags('ablation bench', flags, ABLATION_FLAGS);
  const quick = o.quick === true;
  const seeds = o.seeds ?? (quick ? 1 : 3);
  const variants = [...new Set(['baseline', ...(o.variants ?? VARIANT_IDS)])];
  const batchSize = o.batch ?? (quick ? 64 : 256);
  return {
    quick,
    datasets: (o.datasets ?? (quick ? ['moons'] : ['moons', 'checkerboard'])) as ToyName[],
    seeds: Array.from({ length: seeds }, (_, i) => i + 1),
    variants: VARIANT_IDS.filter((v) => variants.includes(v)),
    methods: (o.methods ?? [...METHODS]) as Method[],
    network: { kind: 'mlp', width: o.width ?? (quick ? 32 : 96), depth: o.depth ?? (quick ? 2 : 3), mlpRatio: 2, timeDim: quick ? 16 : 64 },
    teacher: { steps: o['teacher-steps'] ?? (quick ? 20 : 500), batchSize, lr: o['teacher-lr'] ?? 2e-3, emaHalfLife: 20_000 },
    student: { steps: o['student-steps'] ?? (quick ? 20 : 1000), batchSize, lr: o['student-lr'] ?? 4e-4, emaHalfLife: 20_000, warmupSteps: o['warmup-steps'] ?? (quick ? 10 : 400) },
    evalCount: o['eval-count'] ?? (quick ? 200 : 2000),
    truthSeed: 90_001,
    sampleSeed: 9,
    threads: o.threads,
    out: o.out ?? RESULTS_DIR,
  };
}

// ---------------------------------------------------------------- measurements

export interface Quality {
  energyDistance: number | null;
  slicedWasserstein: number | null;
  /** Samples with a non-finite coordinate (left out of the metrics). */
  nonFinite: number;
}

function quality(x: Float32Array, truth: Float32Array): Quality {
  const finite: number[] = [];
  let nonFinite = 0;
  for (let i = 0; i < x.length; i += 2) {
    if (Number.isFinite(x[i]) && Number.isFinite(x[i + 1])) finite.push(x[i], x[i + 1]);
    else nonFinite++;
  }
  // a metric over less than half of the samples would flatter a broken model
  if (finite.length < x.length / 2) return { energyDistance: null, slicedWasserstein: null, nonFinite };
  const a = Float32Array.from(finite);
  return { energyDistance: energyDistance(a, truth, 2), slicedWasserstein: slicedWasserstein(a, truth, 2, { seed: 1 }), nonFinite };
}

export interface TeacherResult {
  dataset: ToyName;
  seed: number;
  arch: ArchId;
  network: Record<string, unknown>;
  parameters: number;
  steps: number;
  finalLoss: number;
  wallSeconds: number;
  /** Heun, 32 steps = 63 NFE. */
  nfe63: Quality;
  /** The teacher's weights as a consistency function (the untrained student), 1 step. */
  untrained1: Quality;
  load: LoadSample;
}

export interface Stability {
  steps: number;
  tangentNormMax: number;
  /** Mean over steps of the per-step mean ||g||. */
  tangentNormMean: number;
  /** Max ||g|| over the last 10% of the steps. */
  tangentNormMaxLast: number;
  gradNormMax: number;
  gradNormMean: number;
  /** Median gradient norm over the first and the last 10% of the steps. */
  gradNormFirst: number;
  gradNormLast: number;
  lossFirst: number;
  lossLast: number;
  lossMax: number;
  dropped: number;
  skipped: number;
  nonFiniteLoss: number;
  nonFiniteGradNorm: number;
  logvarMin: number;
  logvarMax: number;
}

export interface RunResult {
  dataset: ToyName;
  seed: number;
  method: Method;
  variant: string;
  arch: ArchId;
  options: Record<string, unknown>;
  error: string | null;
  wallSeconds: number;
  oneStep: Quality | null;
  twoStep: Quality | null;
  stability: Stability | null;
  diverged: boolean;
  divergedWhy: string[];
  /** Every 10th step: [step, loss, gradNorm, tangentNormMean, tangentNormMax, dropped, logvarMin, logvarMax]. */
  trace: number[][];
  load: LoadSample;
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const mean = (xs: number[]) => {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};
const maxOf = (xs: number[]) => xs.reduce((a, b) => (Number.isFinite(b) ? Math.max(a, b) : a), -Infinity);

export function stability(stats: readonly TrainProgress[]): Stability {
  const n = stats.length, k = Math.max(1, Math.floor(n / 10));
  const first = stats.slice(0, k), last = stats.slice(n - k);
  const f = (s: readonly TrainProgress[], key: keyof TrainProgress) => s.map((p) => Number(p[key]));
  const final = stats[n - 1];
  return {
    steps: n,
    tangentNormMax: maxOf(f(stats, 'tangentNormMax')),
    tangentNormMean: mean(f(stats, 'tangentNormMean')),
    tangentNormMaxLast: maxOf(f(last, 'tangentNormMax')),
    gradNormMax: maxOf(f(stats, 'gradNorm')),
    gradNormMean: mean(f(stats, 'gradNorm')),
    gradNormFirst: median(f(first, 'gradNorm')),
    gradNormLast: median(f(last, 'gradNorm')),
    lossFirst: mean(f(first, 'loss')),
    lossLast: mean(f(last, 'loss')),
    lossMax: maxOf(f(stats, 'loss')),
    dropped: stats.reduce((a, p) => a + p.dropped, 0),
    skipped: stats.filter((p) => p.skipped).length,
    nonFiniteLoss: stats.filter((p) => !Number.isFinite(p.loss)).length,
    nonFiniteGradNorm: stats.filter((p) => !Number.isFinite(p.gradNorm)).length,
    logvarMin: final?.logvarMin ?? NaN,
    logvarMax: final?.logvarMax ?? NaN,
  };
}

async function trainTeacher(s: AblationSettings, dataset: ToyName, seed: number, arch: ArchId, truth: Float32Array): Promise<{ model: Model; result: TeacherResult }> {
  const network = { ...s.network, ...ARCHS[arch] };
  let finalLoss = NaN;
  const t0 = performance.now();
  const model = await trainDiffusion({ data: dataset, model: network, steps: s.teacher.steps, batchSize: s.teacher.batchSize, lr: s.teacher.lr, emaHalfLife: s.teacher.emaHalfLife, seed, onProgress: (p) => { finalLoss = p.loss; } });
  const wallSeconds = (performance.now() - t0) / 1000;
  const nfe63 = quality((await sample(model, { count: s.evalCount, steps: 32, seed: s.sampleSeed })).data, truth);
  const untrained = await trainConsistency({ method: 'sct', teacher: model, data: dataset, steps: 1, batchSize: 8, lr: 0, seed });
  let untrained1: Quality;
  try {
    untrained1 = quality((await sample(untrained, { count: s.evalCount, steps: 1, seed: s.sampleSeed })).data, truth);
  } finally {
    untrained.dispose();
  }
  return { model, result: { dataset, seed, arch, network, parameters: model.parameterCount, steps: s.teacher.steps, finalLoss, wallSeconds, nfe63, untrained1, load: loadNow() } };
}

async function trainStudent(s: AblationSettings, dataset: ToyName, seed: number, method: Method, v: Variant, teacher: TeacherResult & { model: Model }, truth: Float32Array): Promise<RunResult> {
  const arch = ARCHS[v.arch];
  const archOptions: Partial<TrainConsistencyOptions> = {};
  if (arch.timeTransform) archOptions.timeTransform = arch.timeTransform;
  if (arch.modulation) archOptions.modulation = arch.modulation;
  if (arch.timeEmbedding === 'fourier') archOptions.timeEmbedding = { fourierScale: arch.fourierScale! };
  const options = { warmupSteps: s.student.warmupSteps, ...v.options };
  const stats: TrainProgress[] = [];
  const result: RunResult = { dataset, seed, method, variant: v.id, arch: v.arch, options: { ...options, ...archOptions }, error: null, wallSeconds: 0, oneStep: null, twoStep: null, stability: null, diverged: false, divergedWhy: [], trace: [], load: loadNow() };
  const t0 = performance.now();
  let student: Model | undefined;
  try {
    student = await trainConsistency({
      method, teacher: teacher.model, data: dataset, steps: s.student.steps, batchSize: s.student.batchSize, lr: s.student.lr, emaHalfLife: s.student.emaHalfLife,
      seed: seed + 100, ...options, ...archOptions, progressEvery: 1, onProgress: (p) => { stats.push(p); },
    });
    result.wallSeconds = (performance.now() - t0) / 1000;
    result.oneStep = quality((await sample(student, { count: s.evalCount, steps: 1, seed: s.sampleSeed })).data, truth);
    result.twoStep = quality((await sample(student, { count: s.evalCount, steps: 2, seed: s.sampleSeed })).data, truth);
  } catch (e) {
    result.wallSeconds = (performance.now() - t0) / 1000;
    result.error = (e as Error).message;
  } finally {
    student?.dispose();
  }
  if (stats.length) {
    result.stability = stability(stats);
    result.trace = stats.filter((p, i) => p.step % 10 === 0 || i === stats.length - 1).map((p) => [p.step, p.loss, p.gradNorm, p.tangentNormMean, p.tangentNormMax, p.dropped, p.logvarMin, p.logvarMax]);
  }
  const why: string[] = [];
  if (result.error) why.push('exception');
  if (result.stability && result.stability.nonFiniteLoss > 0) why.push('non-finite loss');
  if (result.stability && result.stability.nonFiniteGradNorm > 0) why.push('non-finite gradient norm');
  if ((result.oneStep?.nonFinite ?? 0) + (result.twoStep?.nonFinite ?? 0) > 0) why.push('non-finite samples');
  const ed1 = result.oneStep?.energyDistance, base = teacher.untrained1.energyDistance;
  if (result.oneStep && ed1 === null) why.push('no 1-step metric');
  if (ed1 != null && base != null && ed1 > base) why.push('1-step worse than the untrained student');
  result.diverged = why.length > 0;
  result.divergedWhy = why;
  result.load = loadNow();
  return result;
}

// ---------------------------------------------------------------- summaries

export interface Spread { mean: number; sd: number; min: number; max: number; n: number }

function spread(xs: (number | null | undefined)[]): Spread | null {
  const f = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (!f.length) return null;
  const m = f.reduce((a, b) => a + b, 0) / f.length;
  const sd = f.length > 1 ? Math.sqrt(f.reduce((a, b) => a + (b - m) ** 2, 0) / (f.length - 1)) : 0;
  return { mean: m, sd, min: Math.min(...f), max: Math.max(...f), n: f.length };
}

export interface SummaryRow {
  dataset: ToyName;
  method: Method;
  variant: string;
  runs: number;
  ed1: Spread | null;
  ed2: Spread | null;
  /** Per run: 1-step ED / the ED of its own teacher at 63 NFE (separates a worse teacher from worse consistency training). */
  ed1OverTeacher: Spread | null;
  sw1: Spread | null;
  sw2: Spread | null;
  tangentNormMax: Spread | null;
  tangentNormMean: Spread | null;
  gradNormMax: Spread | null;
  gradNormMean: Spread | null;
  dropped: number;
  skipped: number;
  nonFiniteRuns: number;
  diverged: number;
  wallSeconds: Spread | null;
  /** Against the baseline of the same data set and method (null for the baseline). */
  versus: null | {
    ed1Ratio: number | null;
    ed2Ratio: number | null;
    /** 'worse' / 'better': the seed ranges do not overlap; 'within noise': they do; 'n/a': one seed or missing. */
    ed1Verdict: string;
    ed2Verdict: string;
    tangentNormMaxRatio: number | null;
    gradNormMaxRatio: number | null;
  };
}

function verdict(v: Spread | null, b: Spread | null): string {
  if (!v || !b) return 'n/a';
  if (v.n < 2 || b.n < 2) return '1 seed: no noise estimate';
  if (v.min > b.max) return 'worse';
  if (v.max < b.min) return 'better';
  return 'within noise';
}
const ratio = (v: Spread | null, b: Spread | null) => (v && b && b.mean !== 0 ? v.mean / b.mean : null);

export function summarise(runs: readonly RunResult[], teachers: readonly TeacherResult[]): SummaryRow[] {
  const teacherEd = (r: RunResult) => teachers.find((t) => t.dataset === r.dataset && t.seed === r.seed && t.arch === r.arch)?.nfe63.energyDistance;
  const rows: SummaryRow[] = [];
  const keys = [...new Set(runs.map((r) => `${r.dataset}|${r.method}|${r.variant}`))];
  for (const key of keys) {
    const [dataset, method, variant] = key.split('|') as [ToyName, Method, string];
    const rs = runs.filter((r) => r.dataset === dataset && r.method === method && r.variant === variant);
    rows.push({
      dataset, method, variant, runs: rs.length,
      ed1: spread(rs.map((r) => r.oneStep?.energyDistance)),
      ed2: spread(rs.map((r) => r.twoStep?.energyDistance)),
      ed1OverTeacher: spread(rs.map((r) => { const e = r.oneStep?.energyDistance, t = teacherEd(r); return e != null && t != null && t > 0 ? e / t : null; })),
      sw1: spread(rs.map((r) => r.oneStep?.slicedWasserstein)),
      sw2: spread(rs.map((r) => r.twoStep?.slicedWasserstein)),
      tangentNormMax: spread(rs.map((r) => r.stability?.tangentNormMax)),
      tangentNormMean: spread(rs.map((r) => r.stability?.tangentNormMean)),
      gradNormMax: spread(rs.map((r) => r.stability?.gradNormMax)),
      gradNormMean: spread(rs.map((r) => r.stability?.gradNormMean)),
      dropped: rs.reduce((a, r) => a + (r.stability?.dropped ?? 0), 0),
      skipped: rs.reduce((a, r) => a + (r.stability?.skipped ?? 0), 0),
      nonFiniteRuns: rs.filter((r) => (r.stability?.nonFiniteLoss ?? 0) + (r.stability?.nonFiniteGradNorm ?? 0) > 0).length,
      diverged: rs.filter((r) => r.diverged).length,
      wallSeconds: spread(rs.map((r) => r.wallSeconds)),
      versus: null,
    });
  }
  for (const r of rows) {
    if (r.variant === 'baseline') continue;
    const b = rows.find((x) => x.dataset === r.dataset && x.method === r.method && x.variant === 'baseline');
    if (!b) continue;
    r.versus = {
      ed1Ratio: ratio(r.ed1, b.ed1), ed2Ratio: ratio(r.ed2, b.ed2),
      ed1Verdict: verdict(r.ed1, b.ed1), ed2Verdict: verdict(r.ed2, b.ed2),
      tangentNormMaxRatio: ratio(r.tangentNormMax, b.tangentNormMax), gradNormMaxRatio: ratio(r.gradNormMax, b.gradNormMax),
    };
  }
  return rows;
}

// ---------------------------------------------------------------- output

const e2 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? '–' : x.toExponential(2));
const g3 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? '–' : Math.abs(x) >= 1000 || Math.abs(x) < 0.01 ? x.toExponential(2) : x.toPrecision(3));
const pm = (s: Spread | null, f: (x: number) => string = e2) => (!s ? '–' : s.n > 1 ? `${f(s.mean)} ± ${f(s.sd)}` : f(s.mean));
const rx = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? '' : ` (${x.toFixed(2)}×)`);

export const READING_START = '<!-- reading:start (kept when the script rewrites this file) -->';
export const READING_END = '<!-- reading:end -->';

function markdown(record: BenchRecord & { teachers: TeacherResult[]; runs: RunResult[]; summary: SummaryRow[]; floor: Record<string, Quality> }, s: AblationSettings, done: boolean, totalSeconds: number, previous: string | null): string {
  const env = record.environment;
  const L: string[] = [];
  L.push(`# sCM stabiliser ablation on toy 2-D sets (${env.date.slice(0, 10)})`, '');
  L.push(`Produced by \`${record.command}\`${done ? '' : ' — **partial: the run was still going or was interrupted when this was written**'}.`);
  L.push(`Every number below is measured by bench/ablation.ts in that run; the JSON beside this file (${record.suite}-${env.date.slice(0, 10)}.json) holds all of them, per run, with a loss / ‖g‖ trace every 10 steps.`, '');
  L.push(`- Machine: ${describeEnvironment(env)}; ${env.node}.`);
  L.push(`- Load average (1/5/15 min): start ${record.load.before.loadavg.join(' ')}, end ${record.load.after.loadavg.join(' ')}. Total wall time ${(totalSeconds / 60).toFixed(1)} min.`);
  L.push(`- Network: MLP width ${s.network.width}, depth ${s.network.depth}, mlpRatio ${s.network.mlpRatio}, timeDim ${s.network.timeDim} (+ the variant's architecture switch).`);
  L.push(`- Teachers: ${s.teacher.steps} steps, batch ${s.teacher.batchSize}, lr ${s.teacher.lr}, EMA half-life ${s.teacher.emaHalfLife} samples, seed s. Students: ${s.student.steps} steps, batch ${s.student.batchSize}, lr ${s.student.lr}, EMA half-life ${s.student.emaHalfLife}, tangent warm-up H = ${s.student.warmupSteps} (baseline), seed s + 100; other options the paper's defaults (c = 0.1, proposal N(−1, 1.4²), Adam (0.9, 0.99), sCT dropout 0.2).`);
  L.push(`- Seeds s = ${s.seeds.join(', ')} (every seed trains its own teachers). Quality: energy distance (U-statistic, ED) and sliced W2 (SW) of ${s.evalCount} samples (EMA weights, seed ${s.sampleSeed}) to ${s.evalCount} fresh true samples (seed ${s.truthSeed}). Stability: ‖g‖ = the tangent norm before normalisation, every step; "grad" = the parameter gradient norm.`);
  L.push(`- Diverged := exception, non-finite loss or gradient norm at any step, non-finite samples, or 1-step ED above the untrained student's (the teacher's weights as a consistency function).`, '');

  L.push('## References', '');
  L.push(mdTable(['data set', 'ED floor (2 true sets)', 'SW floor'], Object.entries(record.floor).map(([d, q]) => [d, e2(q.energyDistance), e2(q.slicedWasserstein)])));
  L.push('');
  const archs = [...new Set(record.teachers.map((t) => t.arch))];
  const tRows: string[][] = [];
  for (const d of s.datasets) for (const a of archs) {
    const ts = record.teachers.filter((t) => t.dataset === d && t.arch === a);
    if (!ts.length) continue;
    tRows.push([d, a, String(ts.length), pm(spread(ts.map((t) => t.nfe63.energyDistance))), pm(spread(ts.map((t) => t.nfe63.slicedWasserstein))), pm(spread(ts.map((t) => t.untrained1.energyDistance))), pm(spread(ts.map((t) => t.wallSeconds)), (x) => x.toFixed(1))]);
  }
  L.push('Teachers (mean ± sd over seeds):', '');
  L.push(mdTable(['data set', 'network', 'seeds', 'ED 63 NFE', 'SW 63 NFE', 'untrained student ED 1-step', 'wall s'], tRows), '');

  for (const d of s.datasets) {
    const rows = record.summary.filter((r) => r.dataset === d);
    if (!rows.length) continue;
    L.push(`## ${d}`, '');
    L.push('Mean ± sd over seeds; (×) = ratio of the means to the baseline of the same method.', '');
    L.push(mdTable(
      ['method', 'variant', 'runs', 'ED 1-step', 'ED 2-step', 'ED 1-step / own teacher', 'SW 1-step', 'SW 2-step', 'max ‖g‖', 'mean ‖g‖', 'max grad', 'dropped', 'skipped', 'non-finite runs', 'diverged', 'wall s'],
      rows.map((r) => [r.method, r.variant, String(r.runs), pm(r.ed1) + rx(r.versus?.ed1Ratio), pm(r.ed2) + rx(r.versus?.ed2Ratio), pm(r.ed1OverTeacher, g3), pm(r.sw1), pm(r.sw2),
        pm(r.tangentNormMax, g3) + rx(r.versus?.tangentNormMaxRatio), pm(r.tangentNormMean, g3), pm(r.gradNormMax, g3) + rx(r.versus?.gradNormMaxRatio), String(r.dropped), String(r.skipped), `${r.nonFiniteRuns}/${r.runs}`, `${r.diverged}/${r.runs}`, pm(r.wallSeconds, (x) => x.toFixed(1))]),
    ), '');
  }

  L.push('## Mechanical verdicts (quality against the baseline of the same data set and method)', '');
  L.push('"worse" / "better": the variant\'s seed range of ED does not overlap the baseline\'s (with 3 seeds each, chance alone gives no overlap in 10% of comparisons); "within noise": the ranges overlap; with one seed there is no noise estimate and only the ratio is given.', '');
  L.push(mdTable(['data set', 'method', 'variant (switched off)', 'ED 1-step', 'ED 2-step', 'max ‖g‖ ×', 'max grad ×', 'diverged'],
    record.summary.filter((r) => r.versus).map((r) => [r.dataset, r.method, `${r.variant}: ${VARIANTS.find((v) => v.id === r.variant)?.off ?? ''}`, `${r.versus!.ed1Verdict}${rx(r.versus!.ed1Ratio)}`, `${r.versus!.ed2Verdict}${rx(r.versus!.ed2Ratio)}`, g3(r.versus!.tangentNormMaxRatio), g3(r.versus!.gradNormMaxRatio), `${r.diverged}/${r.runs}`])), '');
  const errors = record.runs.filter((r) => r.error);
  if (errors.length) {
    L.push('## Runs that failed', '');
    for (const r of errors) L.push(`- ${r.dataset} ${r.method} ${r.variant} seed ${r.seed}: ${r.error}`);
    L.push('');
  }
  L.push('## Reading', '');
  const kept = previous ? between(previous, READING_START, READING_END) : null;
  L.push(READING_START);
  L.push(kept ?? '\n(Not written yet: the reading of these tables is added by hand after the run.)\n');
  L.push(READING_END, '');
  return L.join('\n');
}

function between(text: string, a: string, b: string): string | null {
  const i = text.indexOf(a), j = text.indexOf(b);
  return i >= 0 && j > i ? text.slice(i + a.length, j).replace(/^\n/, '').replace(/\n$/, '') : null;
}
function mdTable(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replaceAll('|', '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? ':--' : '--:')).join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

// ---------------------------------------------------------------- the suite

export async function runAblationBench(flags: string[]): Promise<void> {
  const s = ablationSettings(flags);
  if (s.threads !== undefined) setCpuThreads(s.threads);
  const env = environment();
  const stem = s.quick ? 'ablation-quick' : 'ablation';
  console.log(`ablation benchmark on ${describeEnvironment(env)}`);
  const started = performance.now();
  const truths = Object.fromEntries(s.datasets.map((d) => [d, sampleToy(d, s.evalCount, s.truthSeed).data])) as Record<string, Float32Array>;
  const floor = Object.fromEntries(s.datasets.map((d) => [d, quality(sampleToy(d, s.evalCount, s.truthSeed + 1).data, truths[d])]));
  const teachers: TeacherResult[] = [];
  const runs: RunResult[] = [];
  const before = loadNow();
  mkdirSync(s.out, { recursive: true });
  const mdFile = path.join(s.out, `${stem}-${env.date.slice(0, 10)}.md`);
  const previous = existsSync(mdFile) ? readFileSync(mdFile, 'utf8') : null;
  let jsonFile = '';
  const write = (done: boolean) => {
    const record = {
      schema: 'scm-native-bench/1' as const,
      suite: stem,
      command: `npm run bench -- ablation${flags.length ? ' ' + flags.join(' ') : ''}`,
      environment: env,
      settings: { ...s, variantList: VARIANTS.filter((v) => s.variants.includes(v.id)), archs: ARCHS, complete: done, divergedDefinition: 'exception | non-finite loss or gradNorm at any step | non-finite samples | 1-step ED > untrained student 1-step ED', metrics: 'energyDistance (U) and slicedWasserstein (W2, 256 directions, seed 1) to fresh true samples' },
      load: { before, after: loadNow() },
      totalSeconds: (performance.now() - started) / 1000,
      floor,
      teachers,
      runs,
      summary: summarise(runs, teachers),
      results: { complete: done, teachers: teachers.length, runs: runs.length },
    };
    jsonFile = writeRecord(record, stem, s.out);
    writeFileSync(mdFile, markdown(record, s, done, record.totalSeconds, previous));
  };
  const variants = VARIANTS.filter((v) => s.variants.includes(v.id));
  const total = s.seeds.length * s.datasets.length * variants.length * s.methods.length;
  // seed-major: a complete single-seed table exists early, more seeds narrow it down
  for (const seed of s.seeds) {
    for (const dataset of s.datasets) {
      const models = new Map<ArchId, TeacherResult & { model: Model }>();
      try {
        for (const a of [...new Set(variants.map((v) => v.arch))]) {
          const { model, result } = await trainTeacher(s, dataset, seed, a, truths[dataset]);
          teachers.push(result);
          models.set(a, { ...result, model });
          console.log(`teacher ${dataset} ${a} seed ${seed}: ED 63 NFE ${e2(result.nfe63.energyDistance)}, untrained student 1-step ${e2(result.untrained1.energyDistance)} (${result.wallSeconds.toFixed(1)} s)`);
        }
        for (const v of variants) {
          for (const method of s.methods) {
            const r = await trainStudent(s, dataset, seed, method, v, models.get(v.arch)!, truths[dataset]);
            runs.push(r);
            const st = r.stability;
            console.log(`[${runs.length}/${total}] ${dataset} ${method} ${v.id} seed ${seed}: ED 1-step ${e2(r.oneStep?.energyDistance)}, 2-step ${e2(r.twoStep?.energyDistance)}; max ||g|| ${g3(st?.tangentNormMax)}, max grad ${g3(st?.gradNormMax)}, dropped ${st?.dropped ?? '–'}, skipped ${st?.skipped ?? '–'}${r.diverged ? `, DIVERGED (${r.divergedWhy.join(', ')})` : ''}${r.error ? `: ${r.error}` : ''} (${r.wallSeconds.toFixed(1)} s, load ${r.load.loadavg[0]})`);
            write(false);
          }
        }
      } finally {
        for (const m of models.values()) m.model.dispose();
      }
    }
  }
  write(true);
  console.log(`wrote ${path.relative(process.cwd(), jsonFile)} and ${path.relative(process.cwd(), mdFile)} (${((performance.now() - started) / 60000).toFixed(1)} min)`);
}
