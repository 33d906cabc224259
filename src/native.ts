// Loads the addon (built by cmake-js or node-gyp; the `bindings` package finds either) and
// registers ScmError so native failures arrive as typed errors.
import { createRequire } from 'node:module';
import path from 'node:path';
import { ScmError } from './errors.js';

export type BackendName = 'auto' | 'cpu' | 'cuda';

export interface NativeDevice {
  name: string;
  memoryBytes: number;
  computeCapability: string;
  multiprocessors: number;
}

export interface NativeBackendInfo {
  active: 'cuda' | 'cpu';
  requested: BackendName;
  available: ('cuda' | 'cpu')[];
  reason?: string;
  device: NativeDevice;
  cudaDevice?: NativeDevice;
  cpuThreads: number;
  cpuGemm: string;
  cpuGemmBf16: 'native' | 'fp32';
}

export interface GemmDesc {
  m: number;
  n: number;
  k: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  precision?: 'fp32' | 'tf32' | 'bf16';
}

export interface AttentionDesc {
  batch: number;
  heads: number;
  lenQ: number;
  lenK: number;
  headDim: number;
  scale?: number;
  precision?: 'fp32' | 'bf16' | 'fp16';
  implementation?: 'flash' | 'naive';
}

export interface TangentNormalizeDesc {
  batch: number;
  c: number;
  mode: 'normalize' | 'clip';
}

/** An opaque native model or trainer handle. */
export type NativeHandle = { readonly __scmNativeHandle: unique symbol };

export interface NativeTrainStats {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  dropped: number;
  skipped: boolean;
  r: number;
  tangentNormMean: number;
  tangentNormMax: number;
  logvarMin: number;
  logvarMax: number;
}

export interface NativeSampleOptions {
  kind: 'diffusion' | 'consistency';
  count: number;
  seed: number;
  times: number[];
  solver?: 'euler' | 'heun';
  labels?: Int32Array;
  guidance?: number;
  batch?: number;
  useEma?: boolean;
}

export interface NativeAddon {
  setErrorClass(ctor: typeof ScmError): void;
  backendInfo(): NativeBackendInfo;
  setBackend(name: BackendName): void;
  setCpuThreads(n: number): void;
  gemm(a: Float32Array, b: Float32Array, desc: GemmDesc, backend: BackendName, abort?: Int32Array): Promise<Float32Array>;
  random(kind: 'normal' | 'uniform', count: number, seed: number | bigint, offset: number | bigint, backend: BackendName, abort?: Int32Array): Promise<Float32Array>;
  attentionForward?(q: Float32Array, k: Float32Array, v: Float32Array, desc: AttentionDesc, keyLengths: Int32Array | undefined, backend: BackendName, abort?: Int32Array): Promise<[Float32Array, Float32Array]>;
  attentionJvp?(q: Float32Array, k: Float32Array, v: Float32Array, tq: Float32Array, tk: Float32Array, tv: Float32Array, desc: AttentionDesc, keyLengths: Int32Array | undefined, backend: BackendName, abort?: Int32Array): Promise<[Float32Array, Float32Array, Float32Array]>;
  attentionBackward?(q: Float32Array, k: Float32Array, v: Float32Array, o: Float32Array, lse: Float32Array, dout: Float32Array, desc: AttentionDesc, keyLengths: Int32Array | undefined, backend: BackendName, abort?: Int32Array): Promise<[Float32Array, Float32Array, Float32Array]>;
  tangentNormalize?(g: Float32Array, desc: TangentNormalizeDesc, backend: BackendName, abort?: Int32Array): Promise<Float32Array>;
  // models (native/binding/model_api.cc)
  modelCreate(config: object, backend: BackendName, seed: number, precision: 'fp32' | 'bf16'): NativeHandle;
  modelTensors(model: NativeHandle): { backend: 'cpu' | 'cuda'; paramCount: number; hasEma: boolean; tensors: { name: string; shape: number[]; offset: number }[] };
  modelRead(model: NativeHandle, which: 'params' | 'ema'): Float32Array;
  modelWrite(model: NativeHandle, which: 'params' | 'ema', weights: Float32Array): void;
  modelDropEma(model: NativeHandle): void;
  modelDispose(model: NativeHandle): void;
  modelForward(model: NativeHandle, options: { u: Float32Array; t: number[] | Float64Array; tDot?: number[] | Float64Array; labels?: Int32Array; guidance?: number[]; useEma?: boolean; batch: number }, abort?: Int32Array): Promise<[Float32Array, Float32Array]>;
  modelSample(model: NativeHandle, options: NativeSampleOptions, abort?: Int32Array): Promise<[Float32Array, number]>;
  edmTimeGrid(steps: number, sd: number): number[];
  // trainers (native/binding/trainer_api.cc)
  trainerCreate(student: NativeHandle, teacher: NativeHandle | null, options: object): NativeHandle;
  trainerStep(trainer: NativeHandle, x0: Float32Array, labels: Int32Array | null, batch: number, abort?: Int32Array): Promise<NativeTrainStats>;
  trainerReadState(trainer: NativeHandle): { step: number; m: Float32Array; v: Float32Array };
  trainerWriteState(trainer: NativeHandle, state: { step: number; m: Float32Array; v: Float32Array }): void;
  trainerDispose(trainer: NativeHandle): void;
}

let addon: NativeAddon | undefined;

/** The loaded addon (loaded on first use). */
export function native(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  let loaded: NativeAddon;
  try {
    // SCM_ADDON: a built addon elsewhere (a configuration's scratch build under test).
    const explicit = process.env.SCM_ADDON;
    loaded = explicit ? (require(path.resolve(explicit)) as NativeAddon) : (require('bindings') as (name: string) => NativeAddon)('scm_native');
  } catch (e) {
    throw new ScmError(
      `the scm-native addon could not be loaded (${(e as Error).message}); run \`npm run build\` in the package folder`,
      'E_BACKEND_UNAVAILABLE',
    );
  }
  loaded.setErrorClass(ScmError);
  addon = loaded;
  return addon;
}

/** Resolves to the native function, or throws when this build of the addon lacks it. */
export function nativeFunction<K extends keyof NativeAddon>(name: K): NonNullable<NativeAddon[K]> {
  const fn = native()[name];
  if (typeof fn !== 'function') {
    throw new ScmError(`this build of the scm-native addon has no '${String(name)}'; rebuild it (npm run rebuild)`, 'E_INTERNAL');
  }
  return (fn as (...args: unknown[]) => unknown).bind(native()) as NonNullable<NativeAddon[K]>;
}
