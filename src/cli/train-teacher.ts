// scm train-teacher: trains a TrigFlow diffusion model (the teacher sCD distils from, and the
// multi-step baseline sampler) on a named data set.
import { DATASET_NAMES } from '../data/index.js';
import { trainDiffusion } from '../train.js';
import { applyThreads, BACKEND_OPTIONS, defineCommand, describeChoice, sampleSuggestion } from './command.js';
import type { OptionTable, OptionValues } from './options.js';
import { DATA_EXTRA_OPTIONS, dataOptions, describeLr, NETWORK_OPTIONS, networkChoice, optimisation, optimisationOptions, OUTPUT_OPTIONS, runTraining, STABILISER_OPTIONS } from './training.js';

export const TRAIN_TEACHER_OPTIONS = {
  data: { type: 'choice', choices: DATASET_NAMES, required: true, group: 'data', description: 'the data set: fashion-mnist (28x28 images, 10 classes; Debian package dataset-fashion-mnist) or a toy 2-D set' },
  ...DATA_EXTRA_OPTIONS,
  ...NETWORK_OPTIONS,
  dropout: { type: 'number', min: 0, below: 1, default: 0, group: 'network', description: 'dropout on the MLP hidden activations' },
  ...STABILISER_OPTIONS,
  ...optimisationOptions({ lr: 1e-3, proposalMean: -0.8, proposalStd: 1.6 }),
  ...OUTPUT_OPTIONS,
  ...BACKEND_OPTIONS,
} as const satisfies OptionTable;

type Values = OptionValues<typeof TRAIN_TEACHER_OPTIONS>;
const NAME = 'train-teacher';

async function run(v: Values, given: ReadonlySet<string>): Promise<number> {
  applyThreads(v.threads);
  const data = v.data;
  const model = networkChoice(NAME, data, v, given);
  const opt = optimisation(v);
  const dopts = dataOptions(NAME, data, v, given);
  return runTraining({
    command: NAME,
    consistency: false,
    values: v,
    given,
    header: [
      `train-teacher: TrigFlow diffusion, ${describeChoice(model, data)}, on ${data}`,
      `${opt.steps} steps x batch ${opt.batchSize}, ${describeLr(opt)}, ${opt.optimizer}, seed ${opt.seed}, ${opt.precision}, backend ${v.backend}`,
    ],
    train: (hooks) =>
      trainDiffusion({
        data,
        dataOptions: dopts,
        model,
        dropout: v.dropout,
        ...opt,
        backend: v.backend,
        onProgress: hooks.onProgress,
        progressEvery: hooks.progressEvery,
        signal: hooks.signal,
        checkpoint: hooks.checkpoint,
        sampleGrid: hooks.sampleGrid,
      }),
    next: (m, out) => [
      `scm sample --model ${out} --out teacher.png${sampleSuggestion(m)}`,
      `scm distill --teacher ${out} --steps ${Math.max(opt.steps, 1000)} --out student.safetensors${m.config.numClasses > 0 && v['label-dropout'] > 0 ? ' --guidance 1,2' : ''}`,
    ],
  });
}

export const trainTeacher = defineCommand({
  name: NAME,
  summary: 'train a TrigFlow diffusion model (the teacher for distill, and a multi-step sampler)',
  table: TRAIN_TEACHER_OPTIONS,
  help: {
    usage: 'scm train-teacher --data <name> --steps <N> --out <file.safetensors> [options]',
    summary:
      'Trains a TrigFlow diffusion model (SCM.md §1) on a data set: the teacher `scm distill` distils from, and a multi-step sampler (`scm sample`). Labelled data (fashion-mnist, the toy sets) give a class-conditional model; --label-dropout > 0 also trains the unconditional one classifier-free guidance needs.\n\n' +
      'A checkpoint is written every --checkpoint-every steps, at the end, and on Ctrl-C (then the command exits with code 130); running the same command again resumes from it exactly where it stopped. Progress: a bar on a terminal, plain lines otherwise.',
    examples: [
      'scm train-teacher --data moons --steps 3000 --batch-size 256 --lr 2e-3 --out moons-teacher.safetensors',
      'scm train-teacher --data fashion-mnist --preset dit-xs --steps 20000 --label-dropout 0.1 --precision bf16 --grid grid-{step}.png --grid-every 2000 --out teacher.safetensors',
      'scm train-teacher --data fashion-mnist --preset dit-s --backend cuda --steps 200000 --batch-size 256 --out teacher.safetensors',
    ],
  },
  run,
});
