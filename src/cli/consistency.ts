// scm distill and scm train-consistency: continuous-time consistency training (sCT) and
// distillation (sCD), SCM.md §2 Algorithm 1, with every stabiliser as an option. `distill` is
// the common case (sCD from a teacher); `train-consistency` is the general form (sCT from a
// teacher's weights or from scratch, or sCD).
import { DATASET_NAMES } from '../data/index.js';
import { argumentError } from '../errors.js';
import { BUNDLED_MODELS, resolveModelPath, type Model } from '../model.js';
import { trainConsistency } from '../train.js';
import { applyThreads, BACKEND_OPTIONS, defineCommand, describeChoice, sampleSuggestion } from './command.js';
import type { OptionTable } from './options.js';
import {
  checkpointInfo, DATA_EXTRA_OPTIONS, dataOptions, describeLr, isDatasetName, NETWORK_OPTIONS, networkChoice, networkGiven, optimisation,
  optimisationOptions, OUTPUT_OPTIONS, runTraining, STABILISER_OPTIONS, stabilisers,
} from './training.js';

const CONSISTENCY_OPTIONS = {
  'warmup-steps': { type: 'int', min: 0, default: 10_000, meta: 'H', group: 'consistency', description: 'tangent warm-up: r = min(1, step / H) (0: none)' },
  tangent: { type: 'choice', choices: ['normalize', 'clip', 'none'], default: 'normalize', group: 'consistency', description: 'tangent normalisation g / (‖g‖ + c), clipping, or none (an ablation)' },
  'tangent-c': { type: 'number', min: 0, max: 1e6, default: 0.1, meta: 'c', group: 'consistency', description: 'c of the tangent normalisation' },
  'no-adaptive-weighting': { type: 'flag', group: 'consistency', description: 'turn off the adaptive weighting w_φ(t) (an ablation)' },
  guidance: { type: 'numbers', items: [1, 2], min: 0, max: 1000, meta: 'min,max', group: 'consistency', description: 'sCD from a class-conditional teacher: CFG scales w ~ U[min, max], given to the student as an input (e.g. 1,2; one value: a fixed scale); none: no guidance' },
  dropout: { type: 'number', min: 0, below: 1, defaultText: '0.2 for sct, 0 for scd', group: 'network', description: 'dropout on the MLP hidden activations (the same masks in the tangent and the gradient pass)' },
} as const satisfies OptionTable;

const DATA_DEFAULT = {
  data: { type: 'choice', choices: DATASET_NAMES, defaultText: "the teacher's data set", group: 'data', description: 'the data set (must match the teacher\'s sample shape and classes)' },
} as const satisfies OptionTable;

const DATA = { ...DATA_DEFAULT, ...DATA_EXTRA_OPTIONS } as const satisfies OptionTable;

/** Everything after the data and network options, shared by distill and train-consistency. */
const TRAINING = {
  ...CONSISTENCY_OPTIONS,
  ...STABILISER_OPTIONS,
  ...optimisationOptions({ lr: 1e-4, proposalMean: -1.0, proposalStd: 1.4 }),
  ...OUTPUT_OPTIONS,
  ...BACKEND_OPTIONS,
} as const satisfies OptionTable;

export const DISTILL_OPTIONS = {
  teacher: { type: 'string', required: true, meta: 'path|name', group: 'model', description: `the diffusion teacher (sCD) or the initialisation (sCT): a checkpoint or a bundled model (${BUNDLED_MODELS.filter((m) => m.endsWith('teacher')).join(', ')})` },
  method: { type: 'choice', choices: ['scd', 'sct'], default: 'scd', group: 'model', description: 'scd: distillation (dx/dt from the teacher); sct: consistency training (dx/dt from the data), initialised from the teacher' },
  ...DATA,
  ...TRAINING,
} as const satisfies OptionTable;

export const TRAIN_CONSISTENCY_OPTIONS = {
  method: { type: 'choice', choices: ['sct', 'scd'], required: true, group: 'model', description: 'sct: consistency training (dx/dt from the data); scd: distillation (dx/dt from --teacher)' },
  teacher: { type: 'string', meta: 'path|name', group: 'model', description: 'scd: the diffusion teacher (required); sct: the initialisation (diffusion finetuning); without it sct trains the network of the options below from scratch' },
  ...DATA,
  ...NETWORK_OPTIONS,
  ...TRAINING,
} as const satisfies OptionTable;

async function run(name: string, v: Record<string, unknown>, given: ReadonlySet<string>): Promise<number> {
  applyThreads(v.threads as number | undefined);
  const method = v.method as 'sct' | 'scd';
  const teacher = v.teacher as string | undefined;
  if (method === 'scd' && teacher === undefined) throw argumentError(`scm ${name}: --teacher is required with --method scd`);
  const info = teacher === undefined ? undefined : await checkpointInfo(resolveModelPath(teacher, `scm ${name}: --teacher`));
  if (info && info.kind !== 'diffusion') throw argumentError(`scm ${name}: --teacher ${teacher} holds a ${info.kind} model; ${method} starts from a diffusion model (scm train-teacher)`);
  const shaping = networkGiven(given);
  if (teacher !== undefined && shaping) throw argumentError(`scm ${name}: --${shaping} shapes a network trained from scratch (--method sct without --teacher); with --teacher the student takes the teacher's network`);
  let data = v.data as string | undefined;
  if (data === undefined) {
    if (!info) throw argumentError(`scm ${name}: --data is required without --teacher`);
    if (!isDatasetName(info.data?.name)) throw argumentError(`scm ${name}: --data is required: the teacher was trained on ${JSON.stringify(info.data?.name ?? 'unknown')} data, not a named data set`);
    data = info.data.name;
  }
  let guidance: [number, number] | undefined;
  if (given.has('guidance')) {
    const g = v.guidance as number[];
    guidance = g.length === 1 ? [g[0], g[0]] : [g[0], g[1]];
    if (method !== 'scd') throw argumentError(`scm ${name}: --guidance needs --method scd (a teacher to guide)`);
    if (!(guidance[0] <= guidance[1]) || !(guidance[1] > 0)) throw argumentError(`scm ${name}: --guidance min,max needs min <= max and max > 0, got ${g.join(',')}`);
    if (info?.config && !(info.config.numClasses > 0)) throw argumentError(`scm ${name}: --guidance needs a class-conditional teacher; ${teacher} is unconditional`);
    const dropout = (info?.training?.options as { labelDropout?: unknown } | undefined)?.labelDropout;
    if (dropout === 0) process.stderr.write(`warning: ${teacher} was trained without --label-dropout: its unconditional prediction, which guidance uses, is untrained\n`);
  }
  const stab = stabilisers(name, v, given);
  const model = teacher === undefined ? networkChoice(name, data, v, given) : undefined;
  const opt = optimisation(v);
  const dopts = dataOptions(name, data, v, given);
  const from = teacher !== undefined ? `from ${teacher}` : `from scratch (${describeChoice(model, data)})`;
  const ablations = [
    v.tangent !== 'normalize' ? `tangent ${v.tangent}` : '',
    v['no-adaptive-weighting'] ? 'no adaptive weighting' : '',
    ...Object.entries(stab.config).map(([k, x]) => `${k} ${x}`),
  ].filter(Boolean);
  return runTraining({
    command: name,
    consistency: true,
    values: v,
    given,
    header: [
      `${name}: ${method === 'scd' ? 'sCD (distillation)' : 'sCT (consistency training)'} ${from}, on ${data}${guidance ? `, guidance w ~ U[${guidance[0]}, ${guidance[1]}]` : ''}`,
      `${opt.steps} steps x batch ${opt.batchSize}, ${describeLr(opt)}, ${opt.optimizer}, tangent warm-up ${v['warmup-steps']} steps, seed ${opt.seed}, ${opt.precision}, backend ${v.backend}${ablations.length ? `; ablations: ${ablations.join(', ')}` : ''}`,
    ],
    train: (hooks) =>
      trainConsistency({
        method,
        teacher,
        model,
        data: data as (typeof DATASET_NAMES)[number],
        dataOptions: dopts,
        warmupSteps: v['warmup-steps'] as number,
        tangent: v.tangent as 'normalize' | 'clip' | 'none',
        tangentC: v['tangent-c'] as number,
        adaptiveWeighting: !v['no-adaptive-weighting'],
        guidance,
        dropout: v.dropout as number | undefined,
        ...stab.api,
        ...opt,
        backend: v.backend as 'auto' | 'cpu' | 'cuda',
        onProgress: hooks.onProgress,
        progressEvery: hooks.progressEvery,
        signal: hooks.signal,
        checkpoint: hooks.checkpoint,
        sampleGrid: hooks.sampleGrid,
      }),
    next: (m: Model, out: string) => {
      const more = sampleSuggestion(m);
      return [`scm sample --model ${out} --steps 2 --out samples.png${more}`, `scm sample --model ${out} --steps 1 --out samples-1step.png${more}`];
    },
  });
}

const NOTES =
  'A checkpoint is written every --checkpoint-every steps, at the end, and on Ctrl-C (then the command exits with code 130); running the same command again resumes from it exactly where it stopped. Progress shows the loss, samples/s, the ETA, the warm-up factor r and ‖g‖ (the tangent norm before normalisation, mean and max over the batch).';

export const distill = defineCommand({
  name: 'distill',
  summary: 'distil a diffusion teacher into a 1-2 step consistency model (sCD; --method sct also)',
  table: DISTILL_OPTIONS,
  help: {
    usage: 'scm distill --teacher <path|name> --steps <N> --out <file.safetensors> [options]',
    summary:
      "Continuous-time consistency distillation (sCD, SCM.md §2, Algorithm 1): the student starts from the teacher's EMA weights (w_φ re-initialised) and learns to map any point of the teacher's probability-flow ODE to its end, so it samples in 1 or 2 steps. The data set defaults to the teacher's. Every stabiliser is an option, for ablations: the tangent warm-up, tangent normalisation, adaptive weighting, the time proposal and the architecture's (which must equal the teacher's).\n\n" + NOTES,
    examples: [
      'scm distill --teacher teacher.safetensors --steps 20000 --lr 4e-4 --warmup-steps 1000 --out student.safetensors',
      'scm distill --teacher fashion-mnist-teacher --guidance 1,2 --steps 20000 --out student.safetensors',
      'scm distill --teacher teacher.safetensors --steps 3000 --tangent none --out ablation-no-tangent-norm.safetensors',
    ],
  },
  run: (v, given) => run('distill', v, given),
});

export const trainConsistencyCommand = defineCommand({
  name: 'train-consistency',
  summary: 'train a consistency model by sCT or sCD (the general form: sCT from a teacher or from scratch)',
  table: TRAIN_CONSISTENCY_OPTIONS,
  help: {
    usage: 'scm train-consistency --method <sct|scd> --steps <N> --out <file.safetensors> [--teacher <path|name> | --data <name> [network options]] [options]',
    summary:
      "Continuous-time consistency training (sCT: dx/dt estimated from the data) or distillation (sCD: dx/dt from --teacher), SCM.md §2, Algorithm 1. With --teacher the student starts from the teacher's EMA weights (diffusion finetuning); sCT without --teacher trains the network given by --preset and the network options from scratch on --data.\n\n" + NOTES,
    examples: [
      'scm train-consistency --method sct --teacher teacher.safetensors --steps 3000 --lr 4e-4 --warmup-steps 1000 --out sct.safetensors',
      'scm train-consistency --method sct --data moons --width 256 --steps 5000 --out sct-scratch.safetensors',
      'scm train-consistency --method scd --teacher teacher.safetensors --steps 3000 --out scd.safetensors',
    ],
  },
  run: (v, given) => run('train-consistency', v, given),
});
