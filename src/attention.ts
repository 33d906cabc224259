// ops.attention / ops.attentionJvp / ops.attentionBackward: scaled dot-product attention,
// its forward-mode JVP and its backward (SCM.md §3), flash-style (no L x L buffer) or naive.
import { withAbort } from './abort.js';
import { argumentError } from './errors.js';
import { nativeFunction, type AttentionDesc } from './native.js';
import type { CallOptions } from './ops.js';
import { checkBackend, checkFinite, checkFloat32, checkOneOf, checkOptions, checkSize, elements } from './validate.js';

export interface AttentionShape extends CallOptions {
  batch: number;
  heads: number;
  lenQ: number;
  lenK: number;
  headDim: number;
  /** Logit scale, default 1/sqrt(headDim). */
  scale?: number;
  /** Per batch item, the number of valid keys (keys at or beyond it are masked). */
  keyLengths?: Int32Array;
  /** CUDA operand precision: 'fp32' (default), 'bf16' or 'fp16' (tensor cores, fp32 accumulation). */
  precision?: 'fp32' | 'bf16' | 'fp16';
  /** 'flash' (default): tiled, one pass over key blocks. 'naive': materialises the L x L matrices. */
  implementation?: 'flash' | 'naive';
}

export interface AttentionResult {
  /** [batch, heads, lenQ, headDim] */
  out: Float32Array;
  /** [batch, heads, lenQ], natural-log log-sum-exp of each row's logits (-Infinity for a row with no key) */
  lse: Float32Array;
}

export interface AttentionJvpResult {
  out: Float32Array;
  tangentOut: Float32Array;
  lse: Float32Array;
}

export interface AttentionGradients {
  gq: Float32Array;
  gk: Float32Array;
  gv: Float32Array;
}

const SHAPE_KEYS = ['batch', 'heads', 'lenQ', 'lenK', 'headDim', 'scale', 'keyLengths', 'precision', 'implementation', 'backend', 'signal'] as const;

interface Checked {
  desc: AttentionDesc;
  qSize: number;
  kvSize: number;
  lseSize: number;
  qShape: string;
  kvShape: string;
  keyLengths: Int32Array | undefined;
  backend: ReturnType<typeof checkBackend>;
  signal: AbortSignal | undefined;
}

function checkShape(shape: AttentionShape, where: string): Checked {
  if (shape === undefined) throw argumentError(`${where}: the shape { batch, heads, lenQ, lenK, headDim } is required`);
  const o = checkOptions(shape, SHAPE_KEYS, where);
  const batch = checkSize(o.batch, 'batch', where), heads = checkSize(o.heads, 'heads', where);
  const lenQ = checkSize(o.lenQ, 'lenQ', where), lenK = checkSize(o.lenK, 'lenK', where);
  const headDim = checkSize(o.headDim, 'headDim', where, { min: 1 });
  const desc: AttentionDesc = {
    batch, heads, lenQ, lenK, headDim,
    scale: o.scale === undefined ? 1 / Math.sqrt(headDim) : checkFinite(o.scale, 'scale', where),
    precision: checkOneOf(o.precision, ['fp32', 'bf16', 'fp16'] as const, 'precision', where, 'fp32'),
    implementation: checkOneOf(o.implementation, ['flash', 'naive'] as const, 'implementation', where, 'flash'),
  };
  let keyLengths: Int32Array | undefined;
  if (o.keyLengths !== undefined) {
    if (!(o.keyLengths instanceof Int32Array)) throw argumentError(`${where}: keyLengths must be an Int32Array`);
    if (o.keyLengths.length !== batch) throw argumentError(`${where}: keyLengths has ${o.keyLengths.length} elements, expected batch = ${batch}`);
    for (const len of o.keyLengths) {
      if (len < 0 || len > lenK) throw argumentError(`${where}: keyLengths entry ${len} is outside [0, lenK = ${lenK}]`);
    }
    keyLengths = o.keyLengths;
  }
  return {
    desc,
    qSize: elements([batch, heads, lenQ, headDim], where),
    kvSize: elements([batch, heads, lenK, headDim], where),
    lseSize: elements([batch, heads, lenQ], where),
    qShape: `batch x heads x lenQ x headDim = ${batch}x${heads}x${lenQ}x${headDim}`,
    kvShape: `batch x heads x lenK x headDim = ${batch}x${heads}x${lenK}x${headDim}`,
    keyLengths,
    backend: checkBackend(o.backend, where),
    signal: o.signal as AbortSignal | undefined,
  };
}

/** Checks the shape, then q, k and v against it (every attention call takes these three). */
function checkCall(shape: AttentionShape, where: string, q: Float32Array, k: Float32Array, v: Float32Array): Checked {
  const c = checkShape(shape, where);
  checkFloat32(q, 'q', where, c.qSize, c.qShape);
  checkFloat32(k, 'k', where, c.kvSize, c.kvShape);
  checkFloat32(v, 'v', where, c.kvSize, c.kvShape);
  return c;
}

/** Attention forward: out = softmax(scale · q kᵀ) v, with the log-sum-exp of each row. */
export async function attention(q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): Promise<AttentionResult> {
  const where = 'ops.attention';
  const c = checkCall(shape, where, q, k, v);
  const fn = nativeFunction('attentionForward');
  const [out, lse] = await withAbort(c.signal, (flag) => fn(q, k, v, c.desc, c.keyLengths, c.backend, flag));
  return { out, lse };
}

/**
 * Attention and its JVP along the tangents (tq, tk, tv): returns out and
 * tangentOut = d/dε attention(q + ε tq, k + ε tk, v + ε tv) at ε = 0.
 */
export async function attentionJvp(
  q: Float32Array, k: Float32Array, v: Float32Array,
  tq: Float32Array, tk: Float32Array, tv: Float32Array, shape: AttentionShape,
): Promise<AttentionJvpResult> {
  const where = 'ops.attentionJvp';
  const c = checkCall(shape, where, q, k, v);
  checkFloat32(tq, 'tq', where, c.qSize, c.qShape);
  checkFloat32(tk, 'tk', where, c.kvSize, c.kvShape);
  checkFloat32(tv, 'tv', where, c.kvSize, c.kvShape);
  const fn = nativeFunction('attentionJvp');
  const [out, tangentOut, lse] = await withAbort(c.signal, (flag) => fn(q, k, v, tq, tk, tv, c.desc, c.keyLengths, c.backend, flag));
  return { out, tangentOut, lse };
}

/** Gradients of <gradOut, attention(q, k, v)> with respect to q, k and v (recomputing P from lse). */
export async function attentionBackward(
  q: Float32Array, k: Float32Array, v: Float32Array,
  out: Float32Array, lse: Float32Array, gradOut: Float32Array, shape: AttentionShape,
): Promise<AttentionGradients> {
  const where = 'ops.attentionBackward';
  const c = checkCall(shape, where, q, k, v);
  checkFloat32(out, 'out', where, c.qSize, c.qShape);
  checkFloat32(lse, 'lse', where, c.lseSize, 'batch x heads x lenQ');
  checkFloat32(gradOut, 'gradOut', where, c.qSize, c.qShape);
  const fn = nativeFunction('attentionBackward');
  const [gq, gk, gv] = await withAbort(c.signal, (flag) => fn(q, k, v, out, lse, gradOut, c.desc, c.keyLengths, c.backend, flag));
  return { gq, gk, gv };
}

