// ops: the engine's individual operations on Float32Arrays (row-major), each on the active
// backend or the one named by `backend`. They are the building blocks the models use, and
// the handles the tests and benchmarks use to check every kernel.
import { withAbort } from './abort.js';
import { attention, attentionBackward, attentionJvp } from './attention.js';
import { tangentNormalize } from './tangent.js';
import { argumentError } from './errors.js';
import { native, type BackendName } from './native.js';
import { checkBackend, checkBoolean, checkFinite, checkFloat32, checkOneOf, checkOptions, checkSize, elements } from './validate.js';

export interface CallOptions {
  /** Overrides the active backend for this call. */
  backend?: BackendName;
  /** Aborts the call (the promise rejects with E_ABORTED). */
  signal?: AbortSignal;
}

export interface GemmOptions extends CallOptions {
  m: number;
  n: number;
  k: number;
  /** Number of independent products (a: batch x m x k, b: batch x k x n). Default 1. */
  batch?: number;
  /** a is stored k x m (transposed). */
  transA?: boolean;
  /** b is stored n x k (transposed). */
  transB?: boolean;
  /** Scales the product. Default 1. */
  alpha?: number;
  /**
   * Arithmetic: 'fp32' (default); 'bf16': a and b are rounded to bf16 (nearest even) and the
   * products accumulate in fp32, on the CPU (natively where oneDNN and the CPU can, see
   * backendInfo().cpuGemmBf16, else on the widened values) and on CUDA; 'tf32': CUDA TF32
   * tensor cores (the CPU computes fp32).
   */
  precision?: 'fp32' | 'tf32' | 'bf16';
}

const GEMM_KEYS = ['m', 'n', 'k', 'batch', 'transA', 'transB', 'alpha', 'precision', 'backend', 'signal'] as const;

/** C = alpha · op(A) · op(B), row-major; returns C (batch x m x n). */
async function gemm(a: Float32Array, b: Float32Array, options: GemmOptions): Promise<Float32Array> {
  const where = 'ops.gemm';
  const o = checkOptions(options, GEMM_KEYS, where);
  if (options === undefined) throw argumentError(`${where}: options { m, n, k } are required`);
  const m = checkSize(o.m, 'm', where), n = checkSize(o.n, 'n', where), k = checkSize(o.k, 'k', where);
  const batch = o.batch === undefined ? 1 : checkSize(o.batch, 'batch', where);
  const transA = checkBoolean(o.transA, 'transA', where), transB = checkBoolean(o.transB, 'transB', where);
  const alpha = o.alpha === undefined ? 1 : checkFinite(o.alpha, 'alpha', where);
  const precision = checkOneOf(o.precision, ['fp32', 'tf32', 'bf16'] as const, 'precision', where, 'fp32');
  const backend = checkBackend(o.backend, where);
  checkFloat32(a, 'a', where, elements([batch, m, k], where), `batch x ${transA ? 'k x m' : 'm x k'} = ${batch}x${transA ? `${k}x${m}` : `${m}x${k}`}`);
  checkFloat32(b, 'b', where, elements([batch, k, n], where), `batch x ${transB ? 'n x k' : 'k x n'} = ${batch}x${transB ? `${n}x${k}` : `${k}x${n}`}`);
  return withAbort(o.signal as AbortSignal | undefined, (flag) =>
    native().gemm(a, b, { m, n, k, batch, transA, transB, alpha, precision }, backend, flag),
  );
}

export interface RandomOptions extends CallOptions {
  /** The stream's seed (a non-negative safe integer or a bigint below 2^64). */
  seed: number | bigint;
  /** Index of the first element within the stream. Default 0. */
  offset?: number | bigint;
}

const RANDOM_KEYS = ['seed', 'offset', 'backend', 'signal'] as const;

function checkU64(value: unknown, name: string, where: string): number | bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value >= 1n << 64n) throw argumentError(`${where}: ${name} must be in [0, 2^64), got ${value}`);
    return value;
  }
  return checkSize(value, name, where);
}

async function random(kind: 'normal' | 'uniform', where: string, count: number, options: RandomOptions): Promise<Float32Array> {
  const o = checkOptions(options, RANDOM_KEYS, where);
  if (options === undefined || o.seed === undefined) throw argumentError(`${where}: option 'seed' is required`);
  checkSize(count, 'count', where);
  if (count > 2 ** 32) throw argumentError(`${where}: count ${count} is too large`);
  const seed = checkU64(o.seed, 'seed', where);
  const offset = o.offset === undefined ? 0 : checkU64(o.offset, 'offset', where);
  const backend = checkBackend(o.backend, where);
  return withAbort(o.signal as AbortSignal | undefined, (flag) => native().random(kind, count, seed, offset, backend, flag));
}

/**
 * Standard normal numbers from the Philox4x32-10 stream (seed, offset): element i is the
 * stream's element offset + i, identical on every backend.
 */
function randn(count: number, options: RandomOptions): Promise<Float32Array> {
  return random('normal', 'ops.randn', count, options);
}

/** Uniform numbers in (0, 1) from the Philox4x32-10 stream (seed, offset). */
function rand(count: number, options: RandomOptions): Promise<Float32Array> {
  return random('uniform', 'ops.rand', count, options);
}

export const ops = { gemm, randn, rand, attention, attentionJvp, attentionBackward, tangentNormalize };
