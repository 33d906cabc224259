// Shared helpers of the TypeScript tests.
import { expect } from 'vitest';
import { backendInfo } from '../src/index.js';

/** True when CUDA tests must run (GPU test mode): skips become failures. */
export const requireCuda = process.env.SCM_REQUIRE_CUDA === '1';

/** Whether the CUDA backend is usable here; in GPU test mode, its absence fails the suite. */
export function cudaUsable(): boolean {
  const usable = backendInfo().available.includes('cuda');
  if (requireCuda && !usable) throw new Error(`SCM_REQUIRE_CUDA=1 but CUDA is unavailable: ${backendInfo().reason}`);
  return usable;
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), never all zeros. */
export function randomFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** ||got - ref|| / ||ref|| in double precision. */
export function relL2(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(got.length).toBe(ref.length);
  let num = 0, den = 0;
  for (let i = 0; i < got.length; i++) {
    const d = got[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
}

/** Expects `promise` to reject with an ScmError of `code` whose message matches `pattern`. */
export async function expectScmError(promise: Promise<unknown> | (() => unknown), code: string, pattern?: RegExp): Promise<void> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    error = e;
  }
  expect(error, 'expected an ScmError').toBeDefined();
  const e = error as { name?: string; code?: string; message?: string };
  expect(e.name).toBe('ScmError');
  expect(e.code).toBe(code);
  if (pattern) expect(e.message).toMatch(pattern);
}
