// ops.tangentNormalize: the sCM tangent normalisation (SCM.md §2 step 6).
import { withAbort } from './abort.js';
import { argumentError, shapeError } from './errors.js';
import { nativeFunction } from './native.js';
import type { CallOptions } from './ops.js';
import { checkBackend, checkFinite, checkOneOf, checkOptions, checkSize, describe } from './validate.js';

export interface TangentNormalizeOptions extends CallOptions {
  /** Number of samples; g holds batch x D values (D = all non-batch dims). */
  batch: number;
  /** The constant in g / (‖g‖₂ + c). Default 0.1. */
  c?: number;
  /** 'normalize' (default): per sample g / (‖g‖₂ + c); 'clip': clamp(g, -1, 1). */
  mode?: 'normalize' | 'clip';
}

const KEYS = ['batch', 'c', 'mode', 'backend', 'signal'] as const;

/** Per-sample tangent normalisation g / (‖g‖₂ + c), or elementwise clipping to [-1, 1]. */
export async function tangentNormalize(g: Float32Array, options: TangentNormalizeOptions): Promise<Float32Array> {
  const where = 'ops.tangentNormalize';
  if (options === undefined) throw argumentError(`${where}: options { batch } are required`);
  const o = checkOptions(options, KEYS, where);
  const batch = checkSize(o.batch, 'batch', where);
  const c = o.c === undefined ? 0.1 : checkFinite(o.c, 'c', where);
  if (c < 0) throw argumentError(`${where}: c must be >= 0, got ${c}`);
  const mode = checkOneOf(o.mode, ['normalize', 'clip'] as const, 'mode', where, 'normalize');
  const backend = checkBackend(o.backend, where);
  if (!(g instanceof Float32Array)) throw argumentError(`${where}: g must be a Float32Array, got ${describe(g)}`);
  if (batch === 0 ? g.length !== 0 : g.length === 0 || g.length % batch !== 0) {
    throw shapeError(`${where}: g has ${g.length} elements, expected a positive multiple of batch = ${batch} (batch x D)`);
  }
  const fn = nativeFunction('tangentNormalize');
  return withAbort(o.signal as AbortSignal | undefined, (flag) => fn(g, { batch, c, mode }, backend, flag));
}
