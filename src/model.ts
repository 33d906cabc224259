// Model: a network with its weights in backend memory (native handle), what it was trained on,
// and its checkpoint format (safetensors; SCM.md-free plumbing):
//   tensors   <name>            the parameters (named as the engine's layout)
//             ema.<name>        their EMA (the weights used for sampling), when present
//             optim.m.<name>    Adam moments (training checkpoints only)
//             optim.v.<name>
//   metadata  format = 'scm-native/1', kind, config (NetworkConfig JSON), data (DataInfo JSON),
//             training (provenance JSON), trainer (resume state JSON, checkpoints only)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readSafetensors, writeSafetensors, type TensorEntry } from './checkpoint.js';
import { argumentError, ScmError } from './errors.js';
import { checkNetworkConfig, type NetworkConfig } from './model-config.js';
import { native, type BackendName, type NativeHandle } from './native.js';
import { checkBackend, checkOptions, describe } from './validate.js';
import { modelsDir } from './package-root.js';

export { modelsDir };

export type ModelKind = 'diffusion' | 'consistency';

/** What the model's data were and how they map to the model's space (x_model = scale * x_data). */
export interface DataInfo {
  /** The data set's name ('fashion-mnist', 'moons', ..., or 'custom'). */
  name: string;
  /** x_model = scale * x_data, scale = sd / std of the training data. */
  scale: number;
  classNames?: string[];
}

export interface TensorView {
  shape: number[];
  offset: number;
}

const FORMAT = 'scm-native/1';
const BUNDLED: Record<string, string> = {
  'fashion-mnist': 'fashion-mnist-scm.safetensors',
  'fashion-mnist-teacher': 'fashion-mnist-teacher.safetensors',
};
export const BUNDLED_MODELS = Object.keys(BUNDLED);

const disposeSymbol: symbol = (Symbol as unknown as { dispose?: symbol }).dispose ?? Symbol.for('Symbol.dispose');

export class Model {
  readonly kind: ModelKind;
  readonly config: Readonly<NetworkConfig>;
  readonly data: Readonly<DataInfo>;
  /** How it was trained (steps, method, options, wall time, ...), as recorded. */
  readonly training: Readonly<Record<string, unknown>>;
  /** @internal */
  handle: NativeHandle | undefined;
  /** @internal */
  readonly tensors: ReadonlyMap<string, TensorView>;
  readonly parameterCount: number;
  readonly backend: 'cpu' | 'cuda';

  /** @internal use createModel / loadModel */
  constructor(kind: ModelKind, config: NetworkConfig, data: DataInfo, training: Record<string, unknown>, handle: NativeHandle) {
    this.kind = kind;
    this.config = Object.freeze({ ...config, sampleShape: [...config.sampleShape] });
    this.data = Object.freeze({ ...data });
    this.training = Object.freeze({ ...training });
    this.handle = handle;
    const info = native().modelTensors(handle);
    this.tensors = new Map(info.tensors.map((t) => [t.name, { shape: t.shape, offset: t.offset }]));
    this.parameterCount = info.paramCount;
    this.backend = info.backend;
  }

  /** The native handle, or an error when disposed. @internal */
  live(where: string): NativeHandle {
    if (!this.handle) throw argumentError(`${where}: the model was disposed`);
    return this.handle;
  }

  /** True when the model has EMA weights (used for sampling). */
  get hasEma(): boolean {
    return native().modelTensors(this.live('model.hasEma')).hasEma;
  }

  /** All weights, flat in the engine's layout: 'params' or 'ema'. */
  readWeights(which: 'params' | 'ema' = 'params'): Float32Array {
    return native().modelRead(this.live('model.readWeights'), which);
  }

  /** Replaces all weights (flat, the engine's layout). 'ema' creates the EMA when absent. */
  writeWeights(which: 'params' | 'ema', weights: Float32Array): void {
    native().modelWrite(this.live('model.writeWeights'), which, weights);
  }

  /** The named tensors of `which` ('params' or 'ema'), each a copy. */
  namedTensors(which: 'params' | 'ema' = 'params'): Map<string, { shape: number[]; data: Float32Array }> {
    const flat = this.readWeights(which);
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of this.tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      out.set(name, { shape: [...t.shape], data: flat.slice(t.offset, t.offset + n) });
    }
    return out;
  }

  /**
   * Saves the model (weights, EMA, config, data info) as safetensors, atomically: an existing
   * file is replaced only once the new one is complete. `dtype` 'BF16' or 'F16' halves the size
   * (the bundled models); the default 'F32' is exact.
   */
  async save(file: string, options?: { dtype?: 'F32' | 'BF16' | 'F16'; emaOnly?: boolean }): Promise<void> {
    const o = checkOptions(options, ['dtype', 'emaOnly'], 'model.save');
    const dtype = (o.dtype ?? 'F32') as 'F32' | 'BF16' | 'F16';
    if (!['F32', 'BF16', 'F16'].includes(dtype)) throw argumentError(`model.save: dtype must be 'F32', 'BF16' or 'F16', got ${describe(o.dtype)}`);
    await writeCheckpoint(this, file, { dtype, emaOnly: o.emaOnly === true });
  }

  /** Frees the native weights now (also done by the garbage collector). */
  dispose(): void {
    if (!this.handle) return;
    native().modelDispose(this.handle);
    this.handle = undefined;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Model { kind: '${this.kind}', network: '${this.config.kind}', parameters: ${this.parameterCount}, data: '${this.data.name}', backend: '${this.backend}' }`;
  }
}
(Model.prototype as unknown as Record<symbol, () => void>)[disposeSymbol] = function (this: Model) {
  this.dispose();
};

/** @internal Creates a model with freshly initialised weights. */
export function createModel(kind: ModelKind, config: NetworkConfig, data: DataInfo, training: Record<string, unknown>, options: { backend?: BackendName; seed?: number; precision?: 'fp32' | 'bf16' }): Model {
  const handle = native().modelCreate(config, options.backend ?? 'auto', options.seed ?? 0, options.precision ?? 'fp32');
  return new Model(kind, config, data, training, handle);
}

export interface CheckpointExtras {
  dtype?: 'F32' | 'BF16' | 'F16';
  emaOnly?: boolean;
  /** Training checkpoints: optimizer moments and the resume state. */
  trainer?: { state: { step: number; m: Float32Array; v: Float32Array }; resume: Record<string, unknown> };
  training?: Record<string, unknown>;
}

/** @internal Writes a model (and optionally a trainer's state) as one safetensors file. */
export async function writeCheckpoint(model: Model, file: string, extras: CheckpointExtras = {}): Promise<void> {
  const dtype = extras.dtype ?? 'F32';
  const tensors = new Map<string, TensorEntry>();
  const add = (prefix: string, flat: Float32Array) => {
    for (const [name, t] of model.tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      tensors.set(prefix + name, { dtype, shape: t.shape, data: flat.subarray(t.offset, t.offset + n) });
    }
  };
  const hasEma = model.hasEma;
  if (extras.emaOnly && hasEma) add('', model.readWeights('ema'));
  else {
    add('', model.readWeights('params'));
    if (hasEma) add('ema.', model.readWeights('ema'));
  }
  if (extras.trainer) {
    add('optim.m.', extras.trainer.state.m);
    add('optim.v.', extras.trainer.state.v);
  }
  const metadata: Record<string, string> = {
    format: FORMAT,
    kind: model.kind,
    config: JSON.stringify(model.config),
    data: JSON.stringify(model.data),
    training: JSON.stringify(extras.training ?? model.training),
  };
  if (extras.trainer) metadata.trainer = JSON.stringify({ step: extras.trainer.state.step, ...extras.trainer.resume });
  await writeSafetensors(file, tensors, metadata);
}

function badCheckpoint(file: string, why: string): ScmError {
  return new ScmError(`${file}: ${why}`, 'E_BAD_CHECKPOINT');
}

function parseJson(file: string, meta: Record<string, string>, key: string): unknown {
  if (meta[key] === undefined) throw badCheckpoint(file, `metadata '${key}' is missing (not an scm-native checkpoint?)`);
  try {
    return JSON.parse(meta[key]);
  } catch {
    throw badCheckpoint(file, `metadata '${key}' is not valid JSON`);
  }
}

export interface LoadedCheckpoint {
  model: Model;
  /** The resume state of a training checkpoint, when present. */
  trainer?: { step: number; m: Float32Array; v: Float32Array; resume: Record<string, unknown> };
}

/** @internal Reads a checkpoint into a new model (and the trainer state when present). */
export async function readCheckpoint(file: string, options: { backend?: BackendName } = {}): Promise<LoadedCheckpoint> {
  const st = await readSafetensors(file);
  const meta = st.metadata;
  if (meta.format !== FORMAT) throw badCheckpoint(file, `format ${describe(meta.format)} is not '${FORMAT}'`);
  const kind = meta.kind;
  if (kind !== 'diffusion' && kind !== 'consistency') throw badCheckpoint(file, `kind ${describe(kind)} is not 'diffusion' or 'consistency'`);
  let config: NetworkConfig;
  try {
    config = checkNetworkConfig(parseJson(file, meta, 'config'), 'config');
  } catch (e) {
    if (e instanceof ScmError && e.code === 'E_ARGUMENT') throw badCheckpoint(file, e.message);
    throw e;
  }
  const data = parseJson(file, meta, 'data') as DataInfo;
  if (!data || typeof data !== 'object' || typeof data.name !== 'string' || !(typeof data.scale === 'number' && data.scale > 0 && Number.isFinite(data.scale))) {
    throw badCheckpoint(file, `metadata 'data' must be { name, scale > 0 }`);
  }
  const training = (meta.training ? parseJson(file, meta, 'training') : {}) as Record<string, unknown>;
  let model: Model;
  try {
    model = createModel(kind, config, data, training, { backend: options.backend });
  } catch (e) {
    if (e instanceof ScmError && e.code === 'E_ARGUMENT') throw badCheckpoint(file, e.message);
    throw e;
  }
  try {
    const gather = (prefix: string, required: boolean): Float32Array | undefined => {
      const flat = new Float32Array(model.parameterCount);
      let found = 0;
      for (const [name, t] of model.tensors) {
        const entry = st.tensors.get(prefix + name);
        if (!entry) {
          if (required || found > 0) throw badCheckpoint(file, `tensor '${prefix + name}' is missing`);
          continue;
        }
        if (!(entry.data instanceof Float32Array)) throw badCheckpoint(file, `tensor '${prefix + name}' has dtype ${entry.dtype}, expected F32, BF16 or F16`);
        if (entry.shape.length !== t.shape.length || entry.shape.some((d, i) => d !== t.shape[i])) {
          throw badCheckpoint(file, `tensor '${prefix + name}' has shape [${entry.shape.join(', ')}], the config needs [${t.shape.join(', ')}]`);
        }
        for (let i = 0; i < entry.data.length; i++) {
          if (!Number.isFinite(entry.data[i])) throw badCheckpoint(file, `tensor '${prefix + name}' holds a non-finite value at ${i}`);
        }
        flat.set(entry.data, t.offset);
        found++;
      }
      return found ? flat : undefined;
    };
    const known = new Set<string>();
    for (const name of model.tensors.keys()) for (const p of ['', 'ema.', 'optim.m.', 'optim.v.']) known.add(p + name);
    for (const name of st.tensors.keys()) if (!known.has(name)) throw badCheckpoint(file, `unexpected tensor '${name}' (not in the config's layout)`);
    model.writeWeights('params', gather('', true)!);
    const ema = gather('ema.', false);
    if (ema) model.writeWeights('ema', ema);
    const m = gather('optim.m.', false), v = gather('optim.v.', false);
    if ((m === undefined) !== (v === undefined)) throw badCheckpoint(file, 'optimizer state is incomplete (m and v must both be present)');
    if (!m || !v || meta.trainer === undefined) return { model };
    const resume = parseJson(file, meta, 'trainer') as Record<string, unknown>;
    const step = resume.step;
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) throw badCheckpoint(file, `trainer.step ${describe(step)} is invalid`);
    return { model, trainer: { step, m, v, resume } };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Loads a model from a checkpoint file, or a bundled model by name ('fashion-mnist': the 2-step
 * consistency model, 'fashion-mnist-teacher': its diffusion teacher).
 */
export async function loadModel(source: string, options?: { backend?: BackendName }): Promise<Model> {
  const o = checkOptions(options, ['backend'], 'loadModel');
  if (typeof source !== 'string' || source.length === 0) throw argumentError(`loadModel: expected a file path or a bundled model name (${BUNDLED_MODELS.join(', ')}), got ${describe(source)}`);
  const backend = checkBackend(o.backend, 'loadModel');
  return (await readCheckpoint(resolveModelPath(source, 'loadModel:'), { backend })).model;
}

/**
 * A bundled model's file, or the path itself when that file exists; else an E_IO error that
 * begins with `where` ('loadModel:', 'scm sample: --model') and names the bundled models.
 */
export function resolveModelPath(source: string, where: string): string {
  const bundled = BUNDLED[source];
  if (!bundled) {
    if (!existsSync(source)) throw new ScmError(`${where} ${source}: no such file, and not a bundled model (${BUNDLED_MODELS.join(', ')})`, 'E_IO');
    return source;
  }
  const file = path.join(modelsDir(), bundled);
  if (!existsSync(file)) throw new ScmError(`the bundled model '${source}' is missing from this installation (${file})`, 'E_IO');
  return file;
}

/** @internal Copies the weights a student shares with its teacher (by name and shape). */
export function copySharedWeights(from: Model, to: Model, which: 'params' | 'ema'): number {
  const src = from.readWeights(from.hasEma && which === 'ema' ? 'ema' : 'params');
  const dst = to.readWeights('params');
  let copied = 0;
  for (const [name, t] of to.tensors) {
    const s = from.tensors.get(name);
    if (!s || s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) continue;
    if (name.startsWith('logvar.')) continue;  // w_phi is re-initialised (SCM.md §7)
    const n = t.shape.reduce((a, b) => a * b, 1);
    dst.set(src.subarray(s.offset, s.offset + n), t.offset);
    copied++;
  }
  to.writeWeights('params', dst);
  return copied;
}

