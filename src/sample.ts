// sample(): images or points from a diffusion model (multi-step PF-ODE solver, SCM.md §1) or a
// consistency model (1, 2 or N steps, SCM.md §6), in data space.
import { withAbort } from './abort.js';
import { argumentError } from './errors.js';
import { Model, readCheckpoint, resolveModelPath } from './model.js';
import { native, type BackendName } from './native.js';
import { checkBackend, checkFinite, checkOptions, checkSize, describe } from './validate.js';

/** Samples in data space: data [count, ...sampleShape] (images in about [-1, 1]). */
export interface Samples {
  data: Float32Array;
  shape: number[];
  /** The class of each sample (class-conditional models). */
  labels?: Int32Array;
  /** Network evaluations per sample. */
  nfe: number;
}

export interface SampleOptions {
  count: number;
  /** Diffusion: solver steps on the EDM rho = 7 grid (default 32: Heun = 63 NFE). Consistency: 1 or 2 (default 2), or use `times`. */
  steps?: number;
  /** Explicit TrigFlow times, decreasing in (0, pi/2) (overrides `steps`). */
  times?: number[];
  /** Diffusion only: 'heun' (default; second order, the last step Euler) or 'euler' (DDIM). */
  solver?: 'euler' | 'heun';
  /** Diffusion: classifier-free guidance scale (1 = none). Consistency: the guidance input of a guided student. */
  guidance?: number;
  /** One class per sample (class-conditional models; default i mod numClasses). */
  labels?: Int32Array | number[];
  seed?: number;
  backend?: BackendName;
  signal?: AbortSignal;
  /** Samples per network evaluation (default 256). */
  batchSize?: number;
  /** Use the EMA weights when present (default true). */
  useEma?: boolean;
}

const KEYS = ['count', 'steps', 'times', 'solver', 'guidance', 'labels', 'seed', 'backend', 'signal', 'batchSize', 'useEma'] as const;

/** t_max = atan(80 / sd): the consistency model's 1-step time and the solvers' start (SCM.md §6). */
export function maxTime(sd: number): number {
  return Math.atan(80 / sd);
}
/** The intermediate time of 2-step consistency sampling (SCM.md §6). */
export const MID_TIME = 1.1;

/**
 * Draws `count` samples. `model` is a Model, a checkpoint path, or a bundled model name
 * ('fashion-mnist', 'fashion-mnist-teacher').
 */
export async function sample(model: Model | string, options: SampleOptions): Promise<Samples> {
  const where = 'sample';
  const o = checkOptions(options, KEYS, where);
  if (options === undefined) throw argumentError(`${where}: options { count } are required`);
  const backend = checkBackend(o.backend, where);
  if (typeof model === 'string') {
    const loaded = (await readCheckpoint(resolveModelPath(model, `${where}:`), { backend })).model;
    try {
      return await sample(loaded, { ...options, backend: undefined });
    } finally {
      loaded.dispose();
    }
  }
  if (!(model instanceof Model)) throw argumentError(`${where}: model must be a Model, a checkpoint path or a bundled model name, got ${describe(model)}`);
  const handle = model.live(where);
  const c = model.config;
  const count = checkSize(o.count, 'count', where, { min: 1 });
  if (count > 1 << 24) throw argumentError(`${where}: count ${count} is too large`);
  const seed = o.seed === undefined ? 0 : checkSize(o.seed, 'seed', where);
  const solver = o.solver === undefined ? 'heun' : o.solver;
  if (solver !== 'heun' && solver !== 'euler') throw argumentError(`${where}: solver must be 'heun' or 'euler', got ${describe(o.solver)}`);
  if (model.kind === 'consistency' && o.solver !== undefined) throw argumentError(`${where}: 'solver' is for diffusion models; a consistency model takes steps or times`);
  const guidanceDefault = model.kind === 'consistency' ? Number(model.training.guidanceDefault ?? 1) : 1;
  const guidance = o.guidance === undefined ? guidanceDefault : checkFinite(o.guidance, 'guidance', where);
  let times: number[];
  if (o.times !== undefined) {
    if (o.steps !== undefined) throw argumentError(`${where}: give steps or times, not both`);
    if (!Array.isArray(o.times) || o.times.length === 0) throw argumentError(`${where}: times must be a non-empty array of numbers`);
    times = o.times.map((t, i) => checkFinite(t, `times[${i}]`, where));
  } else if (model.kind === 'consistency') {
    const steps = o.steps === undefined ? 2 : checkSize(o.steps, 'steps', where, { min: 1 });
    if (steps > 2) throw argumentError(`${where}: a consistency model samples in 1 or 2 steps by default times; for ${steps} steps pass times: [t_max, ..., t_last]`);
    times = steps === 1 ? [maxTime(c.sd)] : [maxTime(c.sd), MID_TIME];
  } else {
    const steps = o.steps === undefined ? 32 : checkSize(o.steps, 'steps', where, { min: 1 });
    times = native().edmTimeGrid(steps, c.sd);
  }
  let labels: Int32Array | undefined;
  if (c.numClasses > 0) {
    if (o.labels === undefined) labels = Int32Array.from({ length: count }, (_, i) => i % c.numClasses);
    else {
      const l = o.labels as ArrayLike<unknown>;
      if (!(l instanceof Int32Array) && !Array.isArray(l)) throw argumentError(`${where}: labels must be an Int32Array or an array of integers`);
      if (l.length !== count) throw argumentError(`${where}: ${l.length} labels for count = ${count}`);
      labels = Int32Array.from(l as ArrayLike<number>);
      for (let i = 0; i < count; i++) {
        if (!Number.isInteger((l as ArrayLike<number>)[i]) || labels[i] < 0 || labels[i] > c.numClasses) {
          throw argumentError(`${where}: labels[${i}] = ${describe((l as ArrayLike<unknown>)[i])} is not a class in [0, ${c.numClasses - 1}] (or ${c.numClasses} = no class)`);
        }
      }
    }
  } else if (o.labels !== undefined) {
    throw argumentError(`${where}: this model is unconditional; it takes no labels`);
  }
  if (o.useEma !== undefined && typeof o.useEma !== 'boolean') throw argumentError(`${where}: useEma must be a boolean`);
  const batch = o.batchSize === undefined ? 256 : checkSize(o.batchSize, 'batchSize', where, { min: 1 });
  const [raw, nfe] = await withAbort(o.signal as AbortSignal | undefined, (flag) =>
    native().modelSample(handle, { kind: model.kind, count, seed, times, solver, labels, guidance, batch, useEma: o.useEma !== false }, flag),
  );
  // model space -> data space
  const inv = 1 / model.data.scale;
  for (let i = 0; i < raw.length; i++) raw[i] *= inv;
  const out: Samples = { data: raw, shape: [count, ...c.sampleShape], nfe };
  if (labels) out.labels = labels;
  return out;
}
