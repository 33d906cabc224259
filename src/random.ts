// Deterministic seeded random numbers for the TypeScript side (data shuffles, toy data, label
// choice): Philox4x32-10, counter-based, so (seed, stream, position) alone fixes every number
// on every run, and a generator can be saved and resumed exactly.
//
// Layout: word p of the stream (seed, stream) is word p % 4 of the Philox block with counter
// {lo32(b), hi32(b), lo32(stream), hi32(stream) | domain}, b = floor(p / 4), and key
// {lo32(seed), hi32(seed)}. The domain bit (2^31 for Rng streams, 2^30 for epoch permutations)
// is never set in the native engine's noise streams (counter words 2, 3 = 0, see
// native/core/philox.h), so a TypeScript stream never repeats the engine's noise of the same seed.
import { argumentError } from './errors.js';
import { describe } from './validate.js';

const TWO32 = 4294967296;
const DOMAIN_RNG = 0x80000000;
const DOMAIN_PERMUTATION = 0x40000000;

/** 32x32 -> high 32 bits of the 64-bit product, exact, in plain double arithmetic. */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff, aHi = a >>> 16, bLo = b & 0xffff, bHi = b >>> 16;
  const lolo = aLo * bLo, hilo = aHi * bLo, lohi = aLo * bHi;
  const mid = (lolo >>> 16) + (hilo & 0xffff) + (lohi & 0xffff);
  return (aHi * bHi + (hilo >>> 16) + (lohi >>> 16) + Math.floor(mid / 65536)) >>> 0;
}

/** One Philox4x32-10 block of counter c and key (k0, k1), written into out[0..3]. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(0xd2511f53, c0), lo0 = Math.imul(0xd2511f53, c0) >>> 0;
    const hi1 = mulhi(0xcd9e8d57, c2), lo1 = Math.imul(0xcd9e8d57, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

function checkIndex(value: unknown, name: string, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw argumentError(`${where}: ${name} must be an integer in [0, 2^53), got ${describe(value)}`);
  }
  return value;
}

/** The saved state of an Rng: the generator continues exactly from here after `Rng.restore`. */
export interface RngState {
  seed: number;
  stream: number;
  /** Number of 32-bit words consumed so far. */
  position: number;
}

/**
 * A seeded generator. `new Rng(seed, stream)` with integers in [0, 2^53); different streams of
 * one seed are independent. uniform() takes 2 words, normal() 4, int(n) 1 or more (rejection).
 */
export class Rng {
  readonly seed: number;
  readonly stream: number;
  private readonly k0: number;
  private readonly k1: number;
  private readonly c2: number;
  private c3: number;
  private pos = 0;
  private cachedBlock = -1;
  private readonly block = new Uint32Array(4);

  constructor(seed: number, stream = 0) {
    this.seed = checkIndex(seed, 'seed', 'Rng');
    this.stream = checkIndex(stream, 'stream', 'Rng');
    this.k0 = seed % TWO32;
    this.k1 = Math.floor(seed / TWO32);
    this.c2 = stream % TWO32;
    this.c3 = (Math.floor(stream / TWO32) | DOMAIN_RNG) >>> 0;
  }

  /** A generator of another domain (see the layout above); internal. */
  static inDomain(seed: number, stream: number, domain: number): Rng {
    const rng = new Rng(seed, stream);
    rng.c3 = (Math.floor(stream / TWO32) | domain) >>> 0;
    return rng;
  }

  /** The generator at a saved state (see `state()`). */
  static restore(state: RngState): Rng {
    if (state === null || typeof state !== 'object') throw argumentError(`Rng.restore: state must be an object, got ${describe(state)}`);
    const rng = new Rng(state.seed, state.stream);
    rng.pos = checkIndex(state.position, 'state.position', 'Rng.restore');
    return rng;
  }

  /** Where the generator stands; `Rng.restore(rng.state())` continues identically. */
  state(): RngState {
    return { seed: this.seed, stream: this.stream, position: this.pos };
  }

  /** The next 32 random bits, as an unsigned integer. */
  uint32(): number {
    const b = Math.floor(this.pos / 4);
    if (b !== this.cachedBlock) {
      philox4x32(b % TWO32, Math.floor(b / TWO32), this.c2, this.c3, this.k0, this.k1, this.block);
      this.cachedBlock = b;
    }
    return this.block[this.pos++ % 4];
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.uint32() >>> 5, lo = this.uint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box-Muller, cosine branch), in double precision. */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** A uniformly distributed integer in [0, n), 1 <= n <= 2^32, without modulo bias. */
  int(n: number): number {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > TWO32) {
      throw argumentError(`Rng.int: n must be an integer in [1, 2^32], got ${describe(n)}`);
    }
    const limit = TWO32 - (TWO32 % n); // largest multiple of n <= 2^32
    for (;;) {
      const w = this.uint32();
      if (w < limit) return w % n;
    }
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates), n < 2^32. */
  permutation(n: number): Uint32Array {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n >= TWO32) {
      throw argumentError(`Rng.permutation: n must be an integer in [0, 2^32), got ${describe(n)}`);
    }
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/**
 * The shuffle of epoch `epoch` of a data set of n items under `seed`: a pure function, so a run
 * resumed at any epoch sees the same order as an uninterrupted one. Independent of every
 * `new Rng(seed, stream)` stream.
 */
export function permutation(seed: number, epoch: number, n: number): Uint32Array {
  checkIndex(seed, 'seed', 'permutation');
  checkIndex(epoch, 'epoch', 'permutation');
  return Rng.inDomain(seed, epoch, DOMAIN_PERMUTATION).permutation(n);
}
