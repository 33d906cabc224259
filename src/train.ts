// Training: trainDiffusion (the TrigFlow teacher, SCM.md §1) and trainConsistency (sCT / sCD,
// SCM.md §2). One native call per step (the batch in, statistics out); this loop owns the
// schedule of data, progress, periodic checkpoints and sample grids, aborting and resuming.
//
// Determinism: batch b of step s holds the samples at positions s*B .. s*B+B-1 of the epoch
// permutations permutation(seed, epoch, N); the engine's own draws are keyed by (seed, step).
// So a run resumed from a checkpoint continues exactly as the uninterrupted run.
import { existsSync } from 'node:fs';
import { abortedError } from './abort.js';
import { backendInfo } from './backend.js';
import { resolveDataset, type Dataset, type DatasetInput, type DatasetName, type ResolveOptions } from './data/index.js';
import { argumentError, ScmError } from './errors.js';
import { savePng } from './image.js';
import { copySharedWeights, createModel, Model, readCheckpoint, resolveModelPath, writeCheckpoint, type DataInfo, type ModelKind } from './model.js';
import { resolveNetworkConfig, type ModelChoice, type NetworkConfig } from './model-config.js';
import { native, type BackendName, type NativeHandle, type NativeTrainStats } from './native.js';
import { permutation } from './random.js';
import { sample } from './sample.js';
import { checkBackend, checkFinite, checkOptions, checkSize, describe } from './validate.js';

export interface TrainProgress extends NativeTrainStats {
  /** Total steps of the run. */
  steps: number;
  samplesPerSecond: number;
  elapsedSeconds: number;
  etaSeconds: number;
}

export interface CheckpointOptions {
  /** The checkpoint file (safetensors), replaced atomically each time. */
  path: string;
  /** Steps between checkpoints (default: 1000); one is also written at the end and on abort. */
  every?: number;
  /** Continue from `path` when it exists (default true). */
  resume?: boolean;
}

export interface SampleGridOptions {
  /** PNG path; '{step}' is replaced by the step number. */
  path: string;
  /** Steps between grids. */
  every: number;
  /** Samples per grid (default 64). */
  count?: number;
}

interface CommonOptions {
  data: DatasetName | DatasetInput;
  /** Options of a named data set (split, limit, count, seed). */
  dataOptions?: ResolveOptions;
  steps: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  backend?: BackendName;
  /** GEMM precision of the model passes: 'fp32' (default) or 'bf16' (bf16 operands, fp32 accumulation). */
  precision?: 'fp32' | 'bf16';
  optimizer?: 'adam' | 'adamw' | 'radam' | 'radamw';
  betas?: [number, number];
  weightDecay?: number;
  gradClip?: number;
  lrWarmupSteps?: number;
  /** Inverse square root decay after this many steps (0: constant). */
  lrDecaySteps?: number;
  /**
   * Linear cool-down over the last this many of `steps` (0: none): step s of the last N runs at
   * lr * (steps - s + 1) / N, down to lr / N at the last step. It ends with `steps`, so a resumed
   * run with more steps cools down at its new end.
   */
  lrCooldownSteps?: number;
  /** EMA half-life in samples (default 500 000) with EDM's ramp-up (emaRampup, default 0.05). */
  emaHalfLife?: number;
  emaRampup?: number;
  /** Time proposal tau ~ N(mean, std^2), t = atan(exp(tau) / sd). */
  proposal?: { mean: number; std: number };
  labelDropout?: number;
  onProgress?: (progress: TrainProgress) => void;
  /** Steps between onProgress calls (default 10; the last step always reports). */
  progressEvery?: number;
  signal?: AbortSignal;
  checkpoint?: CheckpointOptions;
  sampleGrid?: SampleGridOptions;
}

export interface TrainDiffusionOptions extends CommonOptions {
  /** A preset ('mlp-s', 'dit-xs', 'dit-s', 'dit-b') or a config (default by data shape). */
  model?: ModelChoice;
  /** Dropout on the MLP hidden activations (default 0). */
  dropout?: number;
}

export interface TrainConsistencyOptions extends CommonOptions {
  method: 'sct' | 'scd';
  /** The teacher (sCD) or initialisation (sCT): a Model, a checkpoint path or a bundled name. Optional for sCT (then `model` is trained from scratch). */
  teacher?: Model | string;
  /** sCT from scratch: the network. */
  model?: ModelChoice;
  /** Tangent warm-up H (default 10 000): r = min(1, step / H). */
  warmupSteps?: number;
  tangent?: 'normalize' | 'clip' | 'none';
  /** c of the tangent normalisation g / (||g|| + c) (default 0.1). */
  tangentC?: number;
  adaptiveWeighting?: boolean;
  /** sCD with a class-conditional teacher: CFG scales w ~ U[min, max] given to the student (e.g. [1, 2]). */
  guidance?: [number, number];
  dropout?: number;
  /** Architecture stabilisers: must equal the teacher's (they are the network's), or shape a model trained from scratch. */
  timeTransform?: NetworkConfig['timeTransform'];
  timeEmbedding?: 'positional' | { fourierScale: number };
  modulation?: NetworkConfig['modulation'];
}

const COMMON_KEYS = ['data', 'dataOptions', 'steps', 'batchSize', 'lr', 'seed', 'backend', 'precision', 'optimizer', 'betas', 'weightDecay', 'gradClip', 'lrWarmupSteps', 'lrDecaySteps', 'lrCooldownSteps', 'emaHalfLife', 'emaRampup', 'proposal', 'labelDropout', 'onProgress', 'progressEvery', 'signal', 'checkpoint', 'sampleGrid'] as const;

function nonneg(v: unknown, name: string, where: string, fallback: number): number {
  if (v === undefined) return fallback;
  const x = checkFinite(v, name, where);
  if (x < 0) throw argumentError(`${where}: ${name} must be >= 0, got ${x}`);
  return x;
}

/** The cool-down's length and end (the run's last step), checked against `steps`. */
function cooldown(o: Record<string, unknown>, where: string): { lrCooldownSteps: number; lrCooldownEnd: number } {
  const steps = checkSize(o.steps, 'steps', where, { min: 1 });
  const n = o.lrCooldownSteps === undefined ? 0 : checkSize(o.lrCooldownSteps, 'lrCooldownSteps', where);
  if (n > steps) throw argumentError(`${where}: lrCooldownSteps = ${n} is more than steps = ${steps}`);
  return { lrCooldownSteps: n, lrCooldownEnd: steps };
}

/** The engine's training options from the user's (checked). */
function nativeTrainOptions(o: Record<string, unknown>, where: string, defaults: { lr: number; proposal: { mean: number; std: number } }): { seed: number; labelDropout: number; [key: string]: unknown } {
  const betas = o.betas === undefined ? [0.9, 0.99] : o.betas;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b < 1)) {
    throw argumentError(`${where}: betas must be [beta1, beta2] in [0, 1), got ${describe(o.betas)}`);
  }
  const proposal = (o.proposal ?? defaults.proposal) as { mean: unknown; std: unknown };
  const po = checkOptions(proposal, ['mean', 'std'], `${where}: proposal`);
  const mean = checkFinite(po.mean, 'proposal.mean', where), std = checkFinite(po.std, 'proposal.std', where);
  if (std <= 0) throw argumentError(`${where}: proposal.std must be > 0, got ${std}`);
  const optimizer = o.optimizer ?? 'adam';
  if (!['adam', 'adamw', 'radam', 'radamw'].includes(optimizer as string)) throw argumentError(`${where}: optimizer must be 'adam', 'adamw', 'radam' or 'radamw', got ${describe(optimizer)}`);
  return {
    seed: o.seed === undefined ? 0 : checkSize(o.seed, 'seed', where),
    optimizer,
    lr: nonneg(o.lr, 'lr', where, defaults.lr),
    beta1: betas[0],
    beta2: betas[1],
    weightDecay: nonneg(o.weightDecay, 'weightDecay', where, 0),
    gradClip: nonneg(o.gradClip, 'gradClip', where, 0),
    lrWarmupSteps: o.lrWarmupSteps === undefined ? 0 : checkSize(o.lrWarmupSteps, 'lrWarmupSteps', where),
    lrDecaySteps: o.lrDecaySteps === undefined ? 0 : checkSize(o.lrDecaySteps, 'lrDecaySteps', where),
    ...cooldown(o, where),
    emaHalfLife: nonneg(o.emaHalfLife, 'emaHalfLife', where, 500_000),
    emaRampup: nonneg(o.emaRampup, 'emaRampup', where, 0.05),
    proposalMean: mean,
    proposalStd: std,
    labelDropout: nonneg(o.labelDropout, 'labelDropout', where, 0),
  };
}

function checkCallbacks(o: Record<string, unknown>, where: string): void {
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw argumentError(`${where}: onProgress must be a function`);
  if (o.signal !== undefined && (typeof o.signal !== 'object' || o.signal === null || typeof (o.signal as AbortSignal).aborted !== 'boolean')) {
    throw argumentError(`${where}: signal must be an AbortSignal`);
  }
}

function checkCheckpoint(v: unknown, where: string): Required<CheckpointOptions> | undefined {
  if (v === undefined) return undefined;
  const o = checkOptions(v, ['path', 'every', 'resume'], `${where}: checkpoint`);
  if (typeof o.path !== 'string' || o.path.length === 0) throw argumentError(`${where}: checkpoint.path must be a file path`);
  const every = o.every === undefined ? 1000 : checkSize(o.every, 'checkpoint.every', where, { min: 1 });
  if (o.resume !== undefined && typeof o.resume !== 'boolean') throw argumentError(`${where}: checkpoint.resume must be a boolean`);
  return { path: o.path, every, resume: o.resume !== false };
}

function checkSampleGrid(v: unknown, where: string): Required<SampleGridOptions> | undefined {
  if (v === undefined) return undefined;
  const o = checkOptions(v, ['path', 'every', 'count'], `${where}: sampleGrid`);
  if (typeof o.path !== 'string' || o.path.length === 0) throw argumentError(`${where}: sampleGrid.path must be a file path`);
  return { path: o.path, every: checkSize(o.every, 'sampleGrid.every', where, { min: 1 }), count: o.count === undefined ? 64 : checkSize(o.count, 'sampleGrid.count', where, { min: 1 }) };
}

/** The data in model space (x * scale, scale = sd / std) and how to assemble batches. */
class Batches {
  private perm?: Uint32Array;
  private permEpoch = -1;
  readonly n: number;
  readonly D: number;
  constructor(readonly ds: Dataset, readonly scale: number, readonly seed: number, readonly B: number, readonly conditional: boolean) {
    this.n = ds.shape[0];
    this.D = ds.data.length / this.n;
  }
  batch(step: number): { x0: Float32Array; labels: Int32Array | null } {
    const { B, D, n } = this;
    const x0 = new Float32Array(B * D);
    const labels = this.conditional ? new Int32Array(B) : null;
    for (let i = 0; i < B; i++) {
      const pos = step * B + i, epoch = Math.floor(pos / n);
      if (epoch !== this.permEpoch) {
        this.perm = permutation(this.seed, epoch, n);
        this.permEpoch = epoch;
      }
      const idx = this.perm![pos - epoch * n];
      const src = this.ds.data.subarray(idx * D, idx * D + D);
      for (let j = 0; j < D; j++) x0[i * D + j] = src[j] * this.scale;
      if (labels) labels[i] = this.ds.labels![idx];
    }
    return { x0, labels };
  }
}

interface LoopSpec {
  where: string;
  student: Model;
  teacher?: Model;
  nativeOptions: Record<string, unknown>;
  batches: Batches;
  steps: number;
  resumeKey: Record<string, unknown>;
  training: Record<string, unknown>;
  o: Record<string, unknown>;
  resumeState?: { step: number; m: Float32Array; v: Float32Array; resume: Record<string, unknown> };
}

async function runLoop(spec: LoopSpec): Promise<Model> {
  const { where, student, batches, steps, o } = spec;
  const checkpoint = checkCheckpoint(o.checkpoint, where);
  const grid = checkSampleGrid(o.sampleGrid, where);
  const onProgress = o.onProgress as ((p: TrainProgress) => void) | undefined;
  const progressEvery = o.progressEvery === undefined ? 10 : checkSize(o.progressEvery, 'progressEvery', where, { min: 1 });
  const signal = o.signal as AbortSignal | undefined;
  const trainer: NativeHandle = native().trainerCreate(student.live(where), spec.teacher ? spec.teacher.live(where) : null, spec.nativeOptions);
  try {
    let step = 0;
    if (spec.resumeState) {
      native().trainerWriteState(trainer, spec.resumeState);
      step = spec.resumeState.step;
    }
    const info = backendInfo();
    const started = Date.now();
    const firstStep = step;
    const save = async (path: string) => {
      const wall = (Date.now() - started) / 1000 + Number(spec.resumeState?.resume.wallSeconds ?? 0);
      await writeCheckpoint(student, path, {
        trainer: { state: native().trainerReadState(trainer), resume: { ...spec.resumeKey, wallSeconds: wall } },
        training: { ...spec.training, stepsDone: native().trainerReadState(trainer).step, wallSeconds: wall, device: info.device?.name, backend: student.backend },
      });
    };
    while (step < steps) {
      if (signal?.aborted) {
        if (checkpoint) await save(checkpoint.path);
        throw abortedError(signal);
      }
      const { x0, labels } = batches.batch(step);
      const stats = await native().trainerStep(trainer, x0, labels, batches.B);
      step = stats.step;
      const elapsed = (Date.now() - started) / 1000;
      const rate = ((step - firstStep) * batches.B) / Math.max(elapsed, 1e-9);
      if (onProgress && (step % progressEvery === 0 || step === steps)) {
        onProgress({ ...stats, steps, samplesPerSecond: rate, elapsedSeconds: elapsed, etaSeconds: ((steps - step) * batches.B) / Math.max(rate, 1e-9) });
      }
      if (checkpoint && step % checkpoint.every === 0 && step < steps) await save(checkpoint.path);
      if (grid && step % grid.every === 0) await writeGrid(student, grid, step);
    }
    const wall = (Date.now() - started) / 1000 + Number(spec.resumeState?.resume.wallSeconds ?? 0);
    const final = native().trainerReadState(trainer);
    (student as { training: Record<string, unknown> }).training = Object.freeze({
      ...spec.training,
      stepsDone: final.step,
      wallSeconds: wall,
      device: info.device?.name,
      backend: student.backend,
      date: new Date().toISOString(),
    });
    if (checkpoint) await save(checkpoint.path);
    return student;
  } finally {
    native().trainerDispose(trainer);
  }
}

async function writeGrid(model: Model, grid: Required<SampleGridOptions>, step: number): Promise<void> {
  const k = model.config.numClasses;
  const labels = k > 0 ? Int32Array.from({ length: grid.count }, (_, i) => i % k) : undefined;
  const s = await sample(model, { count: grid.count, seed: 1, labels, ...(model.kind === 'diffusion' ? { steps: 16 } : {}) });
  await savePng(s, grid.path.replaceAll('{step}', String(step)), model.config.sampleShape.length === 3 ? { nrow: k > 0 ? k : undefined } : undefined);
}

async function loadData(o: Record<string, unknown>, where: string): Promise<Dataset> {
  if (o.data === undefined) throw argumentError(`${where}: option 'data' is required (a data set name or { data, shape, labels? })`);
  const ds = await resolveDataset(o.data as DatasetName | DatasetInput, o.dataOptions as ResolveOptions | undefined);
  if (!(ds.std > 0)) throw argumentError(`${where}: the data have zero variance`);
  return ds;
}

function dataInfo(ds: Dataset, sd: number): DataInfo {
  const info: DataInfo = { name: typeof ds.name === 'string' ? ds.name : 'custom', scale: sd / ds.std };
  if (ds.classNames) info.classNames = [...ds.classNames];
  return info;
}

/** Resume state from an existing checkpoint, checked against this run. */
async function maybeResume(o: Record<string, unknown>, where: string, key: Record<string, unknown>, kind: ModelKind, backend: BackendName): Promise<{ model: Model; state: LoopSpec['resumeState'] } | undefined> {
  const cp = checkCheckpoint(o.checkpoint, where);
  if (!cp || !cp.resume || !existsSync(cp.path)) return undefined;
  const loaded = await readCheckpoint(cp.path, { backend });
  if (!loaded.trainer) {
    loaded.model.dispose();
    throw new ScmError(`${where}: ${cp.path} holds no training state to resume from (pass checkpoint.resume: false to start over and replace it)`, 'E_BAD_CHECKPOINT');
  }
  for (const [k, v] of Object.entries(key)) {
    if (JSON.stringify(loaded.trainer.resume[k]) !== JSON.stringify(v)) {
      loaded.model.dispose();
      throw argumentError(`${where}: the checkpoint ${cp.path} was trained with ${k} = ${JSON.stringify(loaded.trainer.resume[k])}, this run has ${JSON.stringify(v)}; the continuation would not be identical (use another checkpoint path or checkpoint.resume: false)`);
    }
  }
  if (loaded.model.kind !== kind) {
    loaded.model.dispose();
    throw argumentError(`${where}: the checkpoint ${cp.path} holds a ${loaded.model.kind} model`);
  }
  return { model: loaded.model, state: loaded.trainer };
}

function checkSteps(o: Record<string, unknown>, where: string): { steps: number; batchSize: number } {
  if (o.steps === undefined) throw argumentError(`${where}: option 'steps' is required`);
  const steps = checkSize(o.steps, 'steps', where, { min: 1 });
  const batchSize = o.batchSize === undefined ? 128 : checkSize(o.batchSize, 'batchSize', where, { min: 1 });
  if (batchSize > 65536) throw argumentError(`${where}: batchSize ${batchSize} is too large`);
  return { steps, batchSize };
}

function checkPrecision(v: unknown, where: string): 'fp32' | 'bf16' {
  if (v === undefined) return 'fp32';
  if (v !== 'fp32' && v !== 'bf16') throw argumentError(`${where}: precision must be 'fp32' or 'bf16', got ${describe(v)}`);
  return v;
}

/** Trains a TrigFlow diffusion model (the teacher for sCD, the baseline sampler). */
export async function trainDiffusion(options: TrainDiffusionOptions): Promise<Model> {
  const where = 'trainDiffusion';
  const o = checkOptions(options, [...COMMON_KEYS, 'model', 'dropout'], where);
  if (options === undefined) throw argumentError(`${where}: options are required`);
  checkCallbacks(o, where);
  const { steps, batchSize } = checkSteps(o, where);
  const backend = checkBackend(o.backend, where);
  const precision = checkPrecision(o.precision, where);
  const nopt = { objective: 'diffusion', ...nativeTrainOptions(o, where, { lr: 1e-3, proposal: { mean: -0.8, std: 1.6 } }) };
  const ds = await loadData(o, where);
  const numClasses = ds.labels ? (ds.numClasses ?? 0) : 0;
  if ((nopt.labelDropout as number) > 0 && numClasses === 0) throw argumentError(`${where}: labelDropout needs labelled data`);
  const config = resolveNetworkConfig(o.model as ModelChoice | undefined, { sampleShape: ds.shape.slice(1), numClasses }, where);
  if (o.dropout !== undefined) config.dropout = nonneg(o.dropout, 'dropout', where, 0);
  const key = { objective: 'diffusion', seed: nopt.seed, batchSize, data: ds.name, dataSize: ds.shape[0] };
  const training = { objective: 'diffusion', steps, batchSize, data: ds.name, options: nopt, precision };
  const resumed = await maybeResume(o, where, key, 'diffusion', backend);
  const model = resumed?.model ?? createModel('diffusion', config, dataInfo(ds, config.sd), training, { backend, seed: nopt.seed as number, precision });
  if (resumed && JSON.stringify(model.config) !== JSON.stringify(config)) {
    model.dispose();
    throw argumentError(`${where}: the checkpoint's network differs from this run's model option`);
  }
  try {
    return await runLoop({ where, student: model, nativeOptions: nopt, batches: new Batches(ds, model.data.scale, nopt.seed as number, batchSize, numClasses > 0), steps, resumeKey: key, training, o, resumeState: resumed?.state });
  } catch (e) {
    model.dispose();
    throw e;
  }
}

async function teacherModel(t: unknown, backend: BackendName, where: string): Promise<{ model: Model; owned: boolean }> {
  if (t instanceof Model) {
    t.live(where);
    return { model: t, owned: false };
  }
  if (typeof t === 'string') return { model: (await readCheckpoint(resolveModelPath(t, `${where}: teacher`), { backend })).model, owned: true };
  throw argumentError(`${where}: teacher must be a Model, a checkpoint path or a bundled model name, got ${describe(t)}`);
}

/** Trains a continuous-time consistency model by sCT or sCD (SCM.md §2, Algorithm 1). */
export async function trainConsistency(options: TrainConsistencyOptions): Promise<Model> {
  const where = 'trainConsistency';
  const o = checkOptions(options, [...COMMON_KEYS, 'method', 'teacher', 'model', 'warmupSteps', 'tangent', 'tangentC', 'adaptiveWeighting', 'guidance', 'dropout', 'timeTransform', 'timeEmbedding', 'modulation'], where);
  if (options === undefined) throw argumentError(`${where}: options are required`);
  checkCallbacks(o, where);
  if (o.method !== 'sct' && o.method !== 'scd') throw argumentError(`${where}: method must be 'sct' or 'scd', got ${describe(o.method)}`);
  const method = o.method;
  const { steps, batchSize } = checkSteps(o, where);
  const backend = checkBackend(o.backend, where);
  const precision = checkPrecision(o.precision, where);
  const tangent = o.tangent ?? 'normalize';
  if (!['normalize', 'clip', 'none'].includes(tangent as string)) throw argumentError(`${where}: tangent must be 'normalize', 'clip' or 'none', got ${describe(tangent)}`);
  if (o.adaptiveWeighting !== undefined && typeof o.adaptiveWeighting !== 'boolean') throw argumentError(`${where}: adaptiveWeighting must be a boolean`);
  let guidance: [number, number] | undefined;
  if (o.guidance !== undefined) {
    const g = o.guidance;
    if (!Array.isArray(g) || g.length !== 2 || !g.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) || g[0] > g[1] || g[1] <= 0) {
      throw argumentError(`${where}: guidance must be [min, max] with 0 <= min <= max, max > 0, got ${describe(g)}`);
    }
    if (method !== 'scd') throw argumentError(`${where}: guidance needs sCD (a teacher to guide)`);
    guidance = [g[0], g[1]];
  }
  const nopt = {
    objective: 'consistency',
    method,
    ...nativeTrainOptions(o, where, { lr: 1e-4, proposal: { mean: -1.0, std: 1.4 } }),
    warmupSteps: o.warmupSteps === undefined ? 10000 : checkSize(o.warmupSteps, 'warmupSteps', where),
    tangent,
    tangentC: nonneg(o.tangentC, 'tangentC', where, 0.1),
    adaptiveWeighting: o.adaptiveWeighting ?? true,
    guidanceMin: guidance?.[0] ?? 0,
    guidanceMax: guidance?.[1] ?? 0,
  };
  if (method === 'scd' && o.teacher === undefined) throw argumentError(`${where}: sCD needs a teacher (a Model, a checkpoint path or a bundled name)`);
  const ds = await loadData(o, where);
  const numClasses = ds.labels ? (ds.numClasses ?? 0) : 0;
  const t = o.teacher === undefined ? undefined : await teacherModel(o.teacher, backend, where);
  try {
    // the student's network: the teacher's (diffusion finetuning, SCM.md §7) or a fresh one
    let config: NetworkConfig;
    const arch: Partial<NetworkConfig> = {};
    if (o.timeTransform !== undefined) arch.timeTransform = o.timeTransform as NetworkConfig['timeTransform'];
    if (o.modulation !== undefined) arch.modulation = o.modulation as NetworkConfig['modulation'];
    if (o.timeEmbedding !== undefined) {
      if (o.timeEmbedding === 'positional') arch.timeEmbedding = 'positional';
      else {
        const fe = checkOptions(o.timeEmbedding, ['fourierScale'], `${where}: timeEmbedding`);
        arch.timeEmbedding = 'fourier';
        arch.fourierScale = checkFinite(fe.fourierScale, 'timeEmbedding.fourierScale', where);
      }
    }
    if (t) {
      if (t.model.kind !== 'diffusion') throw argumentError(`${where}: the teacher must be a diffusion model, got a ${t.model.kind} model`);
      if (o.model !== undefined) throw argumentError(`${where}: 'model' is for sCT from scratch; with a teacher the student takes the teacher's network`);
      const tc = t.model.config;
      if (JSON.stringify(tc.sampleShape) !== JSON.stringify(ds.shape.slice(1))) {
        throw argumentError(`${where}: the teacher takes samples of shape [${tc.sampleShape.join(', ')}], the data have [${ds.shape.slice(1).join(', ')}]`);
      }
      if (tc.numClasses !== numClasses) throw argumentError(`${where}: the teacher has ${tc.numClasses} classes, the data ${numClasses}`);
      for (const [k, v] of Object.entries(arch)) {
        if ((tc as unknown as Record<string, unknown>)[k] !== v) {
          throw argumentError(`${where}: ${k} = ${JSON.stringify(v)} differs from the teacher's ${JSON.stringify((tc as unknown as Record<string, unknown>)[k])}: architecture stabilisers belong to the network; train a teacher with trainDiffusion({ model: { ${k}: ${JSON.stringify(v)} } }) first`);
        }
      }
      config = { ...tc, sampleShape: [...tc.sampleShape], guidanceInput: guidance !== undefined };
    } else {
      config = resolveNetworkConfig({ ...(typeof o.model === 'string' ? { preset: o.model } : (o.model as object | undefined)), ...arch } as ModelChoice, { sampleShape: ds.shape.slice(1), numClasses }, where);
    }
    config.dropout = nonneg(o.dropout, 'dropout', where, method === 'sct' ? 0.2 : 0);
    const key = { objective: 'consistency', method, seed: nopt.seed, batchSize, data: ds.name, dataSize: ds.shape[0] };
    const training = { objective: 'consistency', method, steps, batchSize, data: ds.name, options: nopt, precision, teacher: typeof o.teacher === 'string' ? o.teacher : t ? 'model' : undefined, guidanceDefault: guidance ? (guidance[0] + guidance[1]) / 2 : undefined };
    const resumed = await maybeResume(o, where, key, 'consistency', backend);
    let student: Model;
    if (resumed) {
      student = resumed.model;
    } else {
      const scale = t ? t.model.data.scale : config.sd / ds.std;
      student = createModel('consistency', config, { ...dataInfo(ds, config.sd), scale }, training, { backend, seed: nopt.seed as number, precision });
      if (t) copySharedWeights(t.model, student, 'ema');
    }
    try {
      return await runLoop({ where, student, teacher: method === 'scd' ? t?.model : undefined, nativeOptions: nopt, batches: new Batches(ds, student.data.scale, nopt.seed as number, batchSize, numClasses > 0), steps, resumeKey: key, training, o, resumeState: resumed?.state });
    } catch (e) {
      student.dispose();
      throw e;
    }
  } finally {
    if (t?.owned) t.model.dispose();
  }
}
