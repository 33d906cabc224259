// What the training commands (train-teacher, distill, train-consistency) share: the option
// tables of data, optimisation, checkpoints and progress; turning them into the API's options;
// and running a training with progress, Ctrl-C (a final checkpoint, exit 130) and a summary.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { readSafetensorsHeader } from '../checkpoint.js';
import { DATASET_NAMES, FASHION_MNIST_DIR, TOY_DATASETS, type ResolveOptions } from '../data/index.js';
import { argumentError, ScmError } from '../errors.js';
import type { Model } from '../model.js';
import { PRESET_NAMES, PRESETS, type ModelChoice, type NetworkConfig, type PresetName } from '../model-config.js';
import type { CheckpointOptions, SampleGridOptions, TrainProgress } from '../train.js';
import { commandLine, describeBackend, describeModel, formatBytes } from './command.js';
import { catchInterrupts } from './interrupt.js';
import type { OptionTable } from './options.js';
import { formatCount, formatDuration, formatValue, TrainingReporter, type ProgressMode } from './progress.js';

export const DATA_EXTRA_OPTIONS = {
  'data-dir': { type: 'string', meta: 'dir', defaultText: FASHION_MNIST_DIR, group: 'data', description: 'fashion-mnist: the folder of the idx files (plain or .gz)' },
  'data-split': { type: 'choice', choices: ['train', 'test'], defaultText: 'train', group: 'data', description: 'fashion-mnist: the split to train on' },
  'data-limit': { type: 'int', min: 1, meta: 'N', defaultText: 'all 60000', group: 'data', description: 'fashion-mnist: train on the first N images only' },
  'data-count': { type: 'int', min: 1, max: 100_000_000, meta: 'N', defaultText: '100000', group: 'data', description: 'toy 2-D sets: size of the training set drawn from the exact distribution' },
  'data-seed': { type: 'int', min: 0, defaultText: '0', group: 'data', description: 'toy 2-D sets: seed of the training set' },
} as const satisfies OptionTable;

/** The network options of a model trained from scratch (train-teacher; sCT without a teacher). */
export const NETWORK_OPTIONS = {
  preset: { type: 'choice', choices: PRESET_NAMES, defaultText: 'mlp-s for 2-D data, dit-xs for images', group: 'network', description: 'the network preset (mlp-s: 2-D data; dit-xs: CPU-trainable images; dit-s, dit-b: GPU); the options below override its values' },
  width: { type: 'int', min: 1, max: 65536, group: 'network', defaultText: 'the preset\'s', description: 'hidden width (dit: the token width)' },
  depth: { type: 'int', min: 1, max: 256, group: 'network', defaultText: 'the preset\'s', description: 'residual blocks (mlp) or transformer blocks (dit)' },
  heads: { type: 'int', min: 1, max: 256, group: 'network', defaultText: 'the preset\'s', description: 'dit: attention heads (width / heads must be even)' },
  patch: { type: 'int', min: 1, max: 64, group: 'network', defaultText: 'the preset\'s', description: 'dit: patch size (must divide the image size)' },
  'mlp-ratio': { type: 'int', min: 1, max: 64, group: 'network', defaultText: 'the preset\'s', description: 'hidden size of each MLP as a multiple of the width' },
  'time-dim': { type: 'int', min: 2, max: 16384, group: 'network', defaultText: 'the preset\'s', description: 'size of the time features (even)' },
  sd: { type: 'number', above: 0, max: 1000, group: 'network', defaultText: '0.5', description: 'sigma_d: the data are scaled to this standard deviation' },
  'fixed-pos-embed': { type: 'flag', group: 'network', description: 'dit: fixed 2-D sinusoidal position embedding instead of a learned one' },
} as const satisfies OptionTable;

/** Architecture stabilisers (SCM.md §5): the network's; for a student they must equal the teacher's. */
export const STABILISER_OPTIONS = {
  'time-transform': { type: 'choice', choices: ['identity', 'edm-log'], defaultText: 'identity (the paper\'s)', group: 'stabilisers', description: "c_noise(t): identity, or EDM's log(sd tan t) (an ablation)" },
  'time-embedding': { type: 'choice', choices: ['positional', 'fourier'], defaultText: 'positional (the paper\'s)', group: 'stabilisers', description: 'positional sinusoids of c_noise, or random Fourier features (an ablation)' },
  'fourier-scale': { type: 'number', above: 0, max: 1e6, defaultText: '16', group: 'stabilisers', description: 'scale of the Fourier frequencies (with --time-embedding fourier)' },
  modulation: { type: 'choice', choices: ['adn', 'adaln'], defaultText: 'adn (the paper\'s)', group: 'stabilisers', description: 'adaptive double normalisation, or AdaLN LN(x)(1 + s) + b (an ablation)' },
} as const satisfies OptionTable;

/** Optimisation options; the defaults differ between diffusion and consistency training. */
export function optimisationOptions<L extends number, M extends number, S extends number>(d: { lr: L; proposalMean: M; proposalStd: S }) {
  return {
    steps: { type: 'int', min: 1, max: 1e12, required: true, group: 'training', description: 'training steps (in total: a resumed run continues up to this step)' },
    'batch-size': { type: 'int', min: 1, max: 65536, default: 128, group: 'training', description: 'samples per step' },
    lr: { type: 'number', min: 0, max: 10, default: d.lr, group: 'training', description: 'peak learning rate' },
    seed: { type: 'int', min: 0, default: 0, group: 'training', description: 'seed of the initialisation, the batches and every draw (same seed, same run)' },
    precision: { type: 'choice', choices: ['fp32', 'bf16'], default: 'fp32', group: 'training', description: 'GEMM operands of the model passes: fp32, or bf16 with fp32 accumulation' },
    optimizer: { type: 'choice', choices: ['adam', 'adamw', 'radam', 'radamw'], default: 'adam', group: 'training', description: 'the optimizer' },
    betas: { type: 'numbers', items: [2, 2], min: 0, below: 1, meta: 'b1,b2', default: [0.9, 0.99], group: 'training', description: "the optimizer's beta1,beta2" },
    'weight-decay': { type: 'number', min: 0, max: 10, default: 0, group: 'training', description: 'decoupled weight decay (adamw, radamw)' },
    'grad-clip': { type: 'number', min: 0, default: 0, group: 'training', description: 'clip the gradient norm to this value (0: no clipping)' },
    'lr-warmup': { type: 'int', min: 0, default: 0, meta: 'steps', group: 'training', description: 'linear learning-rate warm-up over this many steps' },
    'lr-decay': { type: 'int', min: 0, default: 0, meta: 'steps', group: 'training', description: 'inverse square root decay after this many steps (0: constant)' },
    'lr-cooldown': { type: 'int', min: 0, default: 0, meta: 'steps', group: 'training', description: 'linear learning-rate cool-down over the last this many of --steps, to lr / N at the last step (0: none); a resume with a larger --steps cools down at its new end' },
    'ema-half-life': { type: 'number', min: 0, default: 500_000, meta: 'samples', group: 'training', description: 'EMA half-life in samples (the EMA weights are the ones sampled from)' },
    'ema-rampup': { type: 'number', min: 0, max: 1, default: 0.05, group: 'training', description: "EDM's EMA ramp-up: the half-life is at most this fraction of the samples seen (0: none)" },
    'proposal-mean': { type: 'number', min: -20, max: 20, default: d.proposalMean, group: 'training', description: 'time proposal: tau ~ N(mean, std^2), t = atan(e^tau / sd)' },
    'proposal-std': { type: 'number', above: 0, max: 20, default: d.proposalStd, group: 'training', description: 'time proposal: the std of tau' },
    'label-dropout': { type: 'number', min: 0, below: 1, default: 0, group: 'training', description: 'fraction of labels replaced by the null label (class-conditional data; trains the unconditional model CFG needs)' },
  } as const satisfies OptionTable;
}

export const OUTPUT_OPTIONS = {
  out: { type: 'string', required: true, meta: 'file.safetensors', group: 'output and checkpoints', description: 'the trained model (replaced atomically)' },
  'save-dtype': { type: 'choice', choices: ['F32', 'BF16', 'F16'], default: 'F32', group: 'output and checkpoints', description: 'storage of the weights in --out (BF16 / F16 halve the size)' },
  'ema-only': { type: 'flag', group: 'output and checkpoints', description: 'store only the EMA weights in --out (smaller; for sampling)' },
  checkpoint: { type: 'string', meta: 'file', defaultText: '<out>.ckpt.safetensors', group: 'output and checkpoints', description: 'training checkpoint (weights, EMA, optimizer state, step); written periodically, at the end and on Ctrl-C; an existing one is resumed' },
  'checkpoint-every': { type: 'int', min: 1, default: 1000, meta: 'steps', group: 'output and checkpoints', description: 'steps between checkpoints' },
  'no-resume': { type: 'flag', group: 'output and checkpoints', description: 'start over even when the checkpoint exists (it is replaced)' },
  grid: { type: 'string', meta: 'file.png', group: 'output and checkpoints', description: "write a PNG of samples every --grid-every steps ('{step}' in the name is replaced by the step)" },
  'grid-every': { type: 'int', min: 1, default: 1000, meta: 'steps', group: 'output and checkpoints', description: 'steps between sample grids' },
  'grid-count': { type: 'int', min: 1, max: 4096, default: 64, group: 'output and checkpoints', description: 'samples per grid' },
  progress: { type: 'choice', choices: ['auto', 'bar', 'lines', 'none'], default: 'auto', group: 'output and checkpoints', description: 'progress display: auto (a bar on a terminal, else lines), bar, lines (plain periodic lines, for logs), none' },
  'log-every': { type: 'int', min: 1, meta: 'steps', defaultText: 'steps / 20', group: 'output and checkpoints', description: 'with lines progress: a line every this many steps (and at least once a minute)' },
} as const satisfies OptionTable;

// ---- turning options into the API's

type Given = ReadonlySet<string>;

/** The data set's options, refusing those that do not apply to it. */
export function dataOptions(cmd: string, data: string, v: Record<string, unknown>, given: Given): ResolveOptions | undefined {
  const fashion = ['data-dir', 'data-split', 'data-limit'], toy = ['data-count', 'data-seed'];
  const isToy = (TOY_DATASETS as readonly string[]).includes(data);
  const wrong = (isToy ? fashion : toy).find((n) => given.has(n));
  if (wrong) throw argumentError(`scm ${cmd}: --${wrong} applies to ${isToy ? 'fashion-mnist' : `the toy sets (${TOY_DATASETS.join(', ')})`}, not --data ${data}`);
  const o: ResolveOptions = {};
  if (isToy) {
    if (given.has('data-count')) o.count = v['data-count'] as number;
    if (given.has('data-seed')) o.seed = v['data-seed'] as number;
  } else {
    if (given.has('data-dir')) o.dir = v['data-dir'] as string;
    if (given.has('data-split')) o.split = v['data-split'] as 'train' | 'test';
    if (given.has('data-limit')) o.limit = v['data-limit'] as number;
  }
  return Object.keys(o).length ? o : undefined;
}

const NETWORK_KEYS: Record<string, keyof NetworkConfig> = {
  width: 'width', depth: 'depth', heads: 'heads', patch: 'patch', 'mlp-ratio': 'mlpRatio', 'time-dim': 'timeDim', sd: 'sd',
};
const DIT_ONLY = ['heads', 'patch', 'fixed-pos-embed'];

/** True when any network-shaping option was given. */
export function networkGiven(given: Given): string | undefined {
  return Object.keys(NETWORK_OPTIONS).find((n) => given.has(n));
}

/** The model choice of a network trained from scratch on `data`. */
export function networkChoice(cmd: string, data: string, v: Record<string, unknown>, given: Given): ModelChoice | undefined {
  const dataKind = data === 'fashion-mnist' ? 'dit' : 'mlp';
  const preset = v.preset as PresetName | undefined;
  const kind = preset ? PRESETS[preset].kind : dataKind;
  if (kind !== dataKind) {
    const fits = PRESET_NAMES.filter((p) => PRESETS[p].kind === dataKind).join(', ');
    throw argumentError(`scm ${cmd}: --preset ${preset} is ${kind === 'mlp' ? 'an mlp (for 2-D data)' : 'a dit (for images)'}; --data ${data} needs ${fits}`);
  }
  if (kind === 'mlp') {
    const wrong = DIT_ONLY.find((n) => given.has(n));
    if (wrong) throw argumentError(`scm ${cmd}: --${wrong} applies to dit networks (images); --data ${data} trains an mlp`);
  }
  const o: Partial<NetworkConfig> & { preset?: PresetName } = {};
  if (preset) o.preset = preset;
  for (const [flag, key] of Object.entries(NETWORK_KEYS)) if (given.has(flag)) (o as Record<string, unknown>)[key] = v[flag];
  if (v['fixed-pos-embed']) o.learnedPosEmbed = false;
  Object.assign(o, stabilisers(cmd, v, given).config);
  if (Object.keys(o).length === 0) return undefined;
  return Object.keys(o).length === 1 && preset ? preset : o;
}

/** The stabiliser options, as config fields and as trainConsistency's options. */
export function stabilisers(cmd: string, v: Record<string, unknown>, given: Given): {
  config: Partial<NetworkConfig>;
  api: { timeTransform?: NetworkConfig['timeTransform']; timeEmbedding?: 'positional' | { fourierScale: number }; modulation?: NetworkConfig['modulation'] };
} {
  if (given.has('fourier-scale') && v['time-embedding'] !== 'fourier') throw argumentError(`scm ${cmd}: --fourier-scale needs --time-embedding fourier`);
  const config: Partial<NetworkConfig> = {};
  const api: ReturnType<typeof stabilisers>['api'] = {};
  if (given.has('time-transform')) config.timeTransform = api.timeTransform = v['time-transform'] as NetworkConfig['timeTransform'];
  if (given.has('modulation')) config.modulation = api.modulation = v.modulation as NetworkConfig['modulation'];
  if (given.has('time-embedding')) {
    if (v['time-embedding'] === 'fourier') {
      const scale = (v['fourier-scale'] as number | undefined) ?? 16;
      config.timeEmbedding = 'fourier';
      config.fourierScale = scale;
      api.timeEmbedding = { fourierScale: scale };
    } else {
      config.timeEmbedding = api.timeEmbedding = 'positional';
    }
  }
  return { config, api };
}

/** The optimisation options as the API takes them (shared by trainDiffusion and trainConsistency). */
export function optimisation(v: Record<string, unknown>) {
  const betas = v.betas as number[];
  return {
    steps: v.steps as number,
    batchSize: v['batch-size'] as number,
    lr: v.lr as number,
    seed: v.seed as number,
    precision: v.precision as 'fp32' | 'bf16',
    optimizer: v.optimizer as 'adam' | 'adamw' | 'radam' | 'radamw',
    betas: [betas[0], betas[1]] as [number, number],
    weightDecay: v['weight-decay'] as number,
    gradClip: v['grad-clip'] as number,
    lrWarmupSteps: v['lr-warmup'] as number,
    lrDecaySteps: v['lr-decay'] as number,
    lrCooldownSteps: v['lr-cooldown'] as number,
    emaHalfLife: v['ema-half-life'] as number,
    emaRampup: v['ema-rampup'] as number,
    proposal: { mean: v['proposal-mean'] as number, std: v['proposal-std'] as number },
    labelDropout: v['label-dropout'] as number,
  };
}

/** The learning rate and its schedule in words, for a command's first lines: "lr 0.0005 (warm-up 300 steps, cool-down over the last 2000)". */
export function describeLr(o: ReturnType<typeof optimisation>): string {
  const parts = [
    o.lrWarmupSteps > 0 ? `warm-up ${o.lrWarmupSteps} steps` : '',
    o.lrDecaySteps > 0 ? `1/sqrt decay after ${o.lrDecaySteps}` : '',
    o.lrCooldownSteps > 0 ? `cool-down over the last ${o.lrCooldownSteps}` : '',
  ].filter((p) => p);
  return `lr ${o.lr}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** `teacher.safetensors` -> `teacher.ckpt.safetensors`. */
export function defaultCheckpoint(out: string): string {
  const ext = path.extname(out);
  return ext === '.safetensors' ? out.slice(0, -ext.length) + '.ckpt.safetensors' : `${out}.ckpt.safetensors`;
}

/** What a checkpoint file's header says (without reading its tensors). */
export async function checkpointInfo(file: string): Promise<{ step?: number; kind?: string; config?: NetworkConfig; data?: { name: string }; training?: Record<string, unknown> }> {
  const meta = (await readSafetensorsHeader(file)).metadata;
  const json = (key: string): unknown => {
    try {
      return meta[key] === undefined ? undefined : JSON.parse(meta[key]);
    } catch {
      return undefined;
    }
  };
  const trainer = json('trainer') as { step?: unknown } | undefined;
  return {
    step: typeof trainer?.step === 'number' ? trainer.step : undefined,
    kind: meta.kind,
    config: json('config') as NetworkConfig | undefined,
    data: json('data') as { name: string } | undefined,
    training: json('training') as Record<string, unknown> | undefined,
  };
}

export function isDatasetName(name: unknown): name is (typeof DATASET_NAMES)[number] {
  return typeof name === 'string' && (DATASET_NAMES as readonly string[]).includes(name);
}

// ---- running a training

export interface TrainingHooks {
  signal: AbortSignal;
  onProgress: (p: TrainProgress) => void;
  progressEvery: number;
  checkpoint: CheckpointOptions;
  sampleGrid?: SampleGridOptions;
}

export interface TrainingRun {
  command: string;
  /** Shows r and ||g|| (consistency training). */
  consistency: boolean;
  /** The parsed values (the shared tables' fields are read from it). */
  values: Record<string, unknown>;
  given: Given;
  /** Lines printed before training (what will be trained, how). */
  header: string[];
  train(hooks: TrainingHooks): Promise<Model>;
  /** Commands to suggest once the model is written. */
  next(model: Model, out: string): string[];
}

function resumeHint(checkpoint: string): string {
  return `pass --no-resume to start over (replacing ${checkpoint}), or --checkpoint <another file>`;
}

/** Runs a training: progress, Ctrl-C with a final checkpoint, the model written, a summary. */
export async function runTraining(r: TrainingRun): Promise<number> {
  const v = r.values;
  const out = v.out as string;
  const steps = v.steps as number;
  const checkpoint = (v.checkpoint as string | undefined) ?? defaultCheckpoint(out);
  if (path.resolve(checkpoint) === path.resolve(out)) throw argumentError(`scm ${r.command}: --checkpoint must be another file than --out (${out})`);
  if (!r.given.has('grid')) {
    const stray = ['grid-every', 'grid-count'].find((n) => r.given.has(n));
    if (stray) throw argumentError(`scm ${r.command}: --${stray} needs --grid <file.png>`);
  }
  const resume = !v['no-resume'];
  const lines = [...r.header];
  // what the checkpoint holds; said once the trainer accepted it (it checks that it fits this run)
  let resumeAt: number | undefined;
  if (existsSync(checkpoint)) {
    if (resume) resumeAt = (await checkpointInfo(checkpoint)).step;
    else lines.push(`--no-resume: starting over; ${checkpoint} will be replaced`);
  }
  lines.push(`checkpoint: ${checkpoint} every ${v['checkpoint-every']} steps, at the end and on Ctrl-C`);
  for (const l of lines) console.log(l);

  const requested = v.progress as 'auto' | ProgressMode;
  const mode: ProgressMode = requested === 'auto' ? (process.stdout.isTTY ? 'bar' : 'lines') : requested;
  const logEvery = (v['log-every'] as number | undefined) ?? Math.max(1, Math.ceil(steps / 20));
  const reporter = new TrainingReporter(process.stdout, { mode, logEvery, consistency: r.consistency });
  let firstStep: number | undefined;
  const interrupt = catchInterrupts((sig) => {
    reporter.end();
    process.stderr.write(`\n${sig}: stopping after the current step and writing the checkpoint ${checkpoint} (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again exits at once; the previous checkpoint stays intact)\n`);
  });
  const started = performance.now();
  let model: Model;
  try {
    model = await r.train({
      signal: interrupt.signal,
      progressEvery: 1,
      onProgress: (p) => {
        if (firstStep === undefined) {
          firstStep = p.step - 1;
          if (firstStep > 0) console.log(`resumed from ${checkpoint} at step ${firstStep} of ${steps} (--no-resume starts over)`);
        }
        reporter.update(p);
      },
      checkpoint: { path: checkpoint, every: v['checkpoint-every'] as number, resume },
      sampleGrid: r.given.has('grid') ? { path: v.grid as string, every: v['grid-every'] as number, count: v['grid-count'] as number } : undefined,
    });
  } catch (e) {
    reporter.end();
    if (interrupt.received && e instanceof ScmError && e.code === 'E_ABORTED') {
      let at = '';
      try {
        const info = await checkpointInfo(checkpoint);
        at = info.step === undefined ? '' : ` (step ${info.step} of ${steps})`;
      } catch (err) {
        process.stderr.write(`the checkpoint ${checkpoint} could not be read back: ${(err as Error).message}\n`);
        return interrupt.exitCode;
      }
      process.stderr.write(`interrupted by ${interrupt.received}: checkpoint written to ${checkpoint}${at}\n`);
      process.stderr.write(`resume with the same command: ${commandLine()}\n`);
      return interrupt.exitCode;
    }
    if (e instanceof ScmError && resume && e.message.includes(checkpoint) && (e.code === 'E_ARGUMENT' || e.code === 'E_BAD_CHECKPOINT')) {
      throw new ScmError(`${e.message}\nhint: ${resumeHint(checkpoint)}`, e.code);
    }
    throw e;
  } finally {
    interrupt.dispose();
  }
  try {
    reporter.end();
    const seconds = (performance.now() - started) / 1000;
    const last = reporter.last;
    const trained = last ? last.step - (firstStep ?? 0) : 0;
    if (!last && resumeAt !== undefined) {
      console.log(`${checkpoint} is already at step ${resumeAt} of --steps ${steps}: nothing to train (give a larger --steps to train further)`);
    }
    if (last) {
      const rate = (trained * (v['batch-size'] as number)) / Math.max(seconds, 1e-9);
      const window = Math.min(trained, 50);
      const dropped = reporter.dropped > 0 || reporter.skipped > 0 ? `; dropped ${reporter.dropped} non-finite samples, skipped ${reporter.skipped} steps` : '';
      console.log(`trained steps ${(firstStep ?? 0) + 1}..${last.step} of ${steps} in ${formatDuration(seconds)} (${formatCount(rate)} samples/s); loss ${formatValue(reporter.recentLoss)} (mean of the last ${window} steps)${dropped}`);
    }
    const total = model.training.wallSeconds;
    console.log(`model: ${describeModel(model)} on ${describeBackend(model.backend)}${typeof total === 'number' ? `, ${formatDuration(total)} of training in all` : ''}`);
    await model.save(out, { dtype: v['save-dtype'] as 'F32' | 'BF16' | 'F16', emaOnly: v['ema-only'] as boolean });
    console.log(`wrote ${out} (${v['save-dtype']}${v['ema-only'] ? ', EMA weights only' : ''}, ${formatBytes(statSync(out).size)})`);
    console.log(`checkpoint: ${checkpoint} (step ${model.training.stepsDone ?? steps}; the same command with a larger --steps trains further)`);
    const next = r.next(model, out);
    if (next.length) console.log(`next:\n${next.map((c) => `  ${c}`).join('\n')}`);
    return 0;
  } finally {
    model.dispose();
  }
}
