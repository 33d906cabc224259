import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { atomicWriteHooks, type AtomicWriteStage } from '../src/atomic-file.js';
import { decodeSafetensors, encodeSafetensors, readSafetensorsHeader, type TensorEntry } from '../src/checkpoint.js';
import { readSafetensors, writeSafetensors } from '../src/index.js';
import { Rng } from '../src/random.js';
import { expectScmError, randomFloats } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'scm-checkpoint-'));
let fileCounter = 0;
const freshPath = (name = 'model') => join(dir, `${name}-${++fileCounter}.safetensors`);

afterEach(() => {
  atomicWriteHooks.fault = null;
});

function bits32(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

function f32FromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

/** A file built by hand: u64 header length, the header text, optional padding, the data. */
function handBuilt(header: string, data: Uint8Array = new Uint8Array(0), { claimedLength }: { claimedLength?: bigint } = {}): Uint8Array {
  const json = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(claimedLength ?? BigInt(json.length), 0);
  json.copy(out, 8);
  out.set(data, 8 + json.length);
  return out;
}

// Special float32 values: -0, the smallest denormal, a large denormal, +-Inf, a quiet NaN with
// a payload, a signalling NaN, the largest finite value, and random values.
const SPECIAL_F32_BITS = [0x80000000, 0x00000001, 0x007fffff, 0x7f800000, 0xff800000, 0x7fc12345, 0x7f800001, 0x7f7fffff, 0xff7fffff, 0x3f800000];

function sampleTensors(): Record<string, TensorEntry> {
  const f32 = new Float32Array(40);
  f32.set(f32FromBits(SPECIAL_F32_BITS));
  f32.set(randomFloats(30, 7).map((x) => x * 1e3), 10);
  const rng = new Rng(3);
  return {
    'blocks.0.attn.qkv.weight': { shape: [5, 8], data: f32 },
    'f64': { shape: [3], data: new Float64Array([Math.PI, -0, 5e-324]) },
    'step': { dtype: 'I64', shape: [], data: new BigInt64Array([-(2n ** 62n) - 7n]) },
    'u64': { shape: [2], data: new BigUint64Array([2n ** 64n - 1n, 12345n]) },
    'labels': { shape: [2, 3], data: new Int32Array([-2147483648, 2147483647, 0, 9, -1, 3]) },
    'u32': { shape: [2], data: new Uint32Array([0xffffffff, 17]) },
    'i16': { shape: [2], data: new Int16Array([-32768, 32767]) },
    'u16': { shape: [1, 2], data: new Uint16Array([65535, 1]) },
    'i8': { shape: [3], data: new Int8Array([-128, 127, 5]) },
    'pixels': { shape: [4], data: new Uint8Array([0, 255, 128, 7]) },
    'mask': { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
    // finite bfloat16 patterns of both signs, then a quiet NaN with a payload
    'ema.bf16': { dtype: 'BF16', shape: [6], data: new Uint16Array(Array.from({ length: 6 }, (_, i) => (i === 5 ? 0x7fc1 : rng.int(0x7f80) | (i % 2 ? 0x8000 : 0)))) },
    'half': { dtype: 'F16', shape: [2, 2], data: new Uint16Array([0x3c00, 0x8001, 0x7c00, 0x7e01]) },
    'empty': { shape: [0, 3], data: new Float32Array(0) },
    'name with "quotes" and ünïcode ✓': { shape: [1], data: new Float32Array([2.5]) },
  };
}

const SAMPLE_METADATA: Record<string, string> = { format: 'pt', config: JSON.stringify({ model: 'dit-xs', width: 256 }), 'ünï': 'cødé ✓', ['__proto__']: 'not a prototype', empty: '' };

describe('safetensors round trip', () => {
  test('every dtype, special floats, scalar and empty shapes, metadata: bit-exact', async () => {
    const path = freshPath();
    const tensors = sampleTensors();
    await writeSafetensors(path, tensors, SAMPLE_METADATA);
    const back = await readSafetensors(path);
    expect(back.metadata).toEqual(Object.fromEntries(Object.entries(SAMPLE_METADATA)));
    expect(Object.getOwnPropertyNames(back.metadata)).toContain('__proto__');
    expect(new Set(back.tensors.keys())).toEqual(new Set(Object.keys(tensors)));
    for (const [name, entry] of Object.entries(tensors)) {
      const t = back.tensors.get(name)!;
      expect(t.shape, name).toEqual(entry.shape);
      const dtype = entry.dtype ?? ({ Float32Array: 'F32', Float64Array: 'F64', BigInt64Array: 'I64', BigUint64Array: 'U64', Int32Array: 'I32', Uint32Array: 'U32', Int16Array: 'I16', Uint16Array: 'U16', Int8Array: 'I8', Uint8Array: 'U8' } as Record<string, string>)[entry.data.constructor.name];
      expect(t.dtype, name).toBe(dtype);
      if (dtype === 'BF16' || dtype === 'F16') {
        expect(t.data).toBeInstanceOf(Float32Array);
        continue; // checked below against the raw bits
      }
      expect(t.data.constructor, name).toBe(entry.data.constructor);
      expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength)), name).toBe(true);
    }
    expect(bits32(back.tensors.get('blocks.0.attn.qkv.weight')!.data as Float32Array).slice(0, 10)).toEqual(SPECIAL_F32_BITS);
    // BF16 / F16 decode exactly: rewriting the decoded floats as BF16 / F16 gives the stored bits
    const half = back.tensors.get('half')!.data as Float32Array;
    expect(Array.from(half.slice(0, 3))).toEqual([1, -(2 ** -24), Infinity]);
    expect(Number.isNaN(half[3])).toBe(true);
    expect(await storedHalfBits(back.tensors.get('ema.bf16')!.data as Float32Array, 'BF16')).toEqual(Array.from(tensors['ema.bf16'].data as Uint16Array));
    expect(await storedHalfBits(half, 'F16')).toEqual([0x3c00, 0x8001, 0x7c00, 0x7e01]);
  });

  test('accepts a Map and an array of pairs; tensors come back in file order', async () => {
    const a = randomFloats(6, 1), b = randomFloats(4, 2);
    const fromMap = encodeSafetensors(new Map([['z', { shape: [6], data: a }], ['y', { shape: [2, 2], data: b }]]));
    const fromPairs = encodeSafetensors([['z', { shape: [6], data: a }], ['y', { shape: [2, 2], data: b }]]);
    const fromRecord = encodeSafetensors({ y: { shape: [2, 2], data: b }, z: { shape: [6], data: a } });
    expect(Buffer.from(fromMap).equals(Buffer.from(fromPairs))).toBe(true);
    expect(Buffer.from(fromMap).equals(Buffer.from(fromRecord))).toBe(true);
    const back = await decodeSafetensors(fromMap);
    expect(Array.from(back.tensors.keys())).toEqual(['y', 'z']);
    expect(back.metadata).toEqual({});
  });

  test('a large tensor (16 MiB) round trips', async () => {
    const path = freshPath('large');
    const big = randomFloats(4 << 20, 11);
    await writeSafetensors(path, { w: { shape: [4096, 1024], data: big } }, { step: '12' });
    const back = await readSafetensors(path);
    expect(Buffer.from((back.tensors.get('w')!.data as Float32Array).buffer).equals(Buffer.from(big.buffer))).toBe(true);
    expect(statSync(path).size).toBe(8 + (await readSafetensorsHeader(path)).headerLength + big.byteLength);
  });

  test('subarray views are written from their own offset', async () => {
    const base = randomFloats(20, 5);
    const back = await decodeSafetensors(encodeSafetensors({ v: { shape: [5], data: base.subarray(7, 12) } }));
    expect(Array.from(back.tensors.get('v')!.data as Float32Array)).toEqual(Array.from(base.subarray(7, 12)));
  });
});

describe('safetensors format', () => {
  test('writer output equals a hand-built file: order by dtype size then name, space padding to 8 bytes', () => {
    const bytes = encodeSafetensors({ b: { shape: [2], data: new Float32Array([1.5, -2]) }, c: { shape: [1], data: new Int16Array([-3]) }, a: { dtype: 'I32', shape: [1], data: new Int32Array([7]) }, d: { shape: [1], data: new Float64Array([0.25]) } }, { k: 'v' });
    const json = '{"__metadata__":{"k":"v"},"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},"c":{"dtype":"I16","shape":[1],"data_offsets":[20,22]}}';
    const padding = (8 - (json.length % 8)) % 8;
    const data = Buffer.alloc(22);
    data.writeDoubleLE(0.25, 0);
    data.writeInt32LE(7, 8);
    data.writeFloatLE(1.5, 12);
    data.writeFloatLE(-2, 16);
    data.writeInt16LE(-3, 20);
    const expected = handBuilt(json + ' '.repeat(padding), data);
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    expect((8 + json.length + padding) % 8).toBe(0);
    expect(padding).toBeGreaterThan(0); // this case exercises the padding
  });

  test('reads hand-built files: any key order, no padding, no metadata, trailing whitespace, escapes', async () => {
    const data = Buffer.alloc(12);
    data.writeFloatLE(3.25, 0);
    data.writeInt32LE(-9, 4);
    data.writeInt32LE(40, 8);
    const header = '{"x\\u00e9":{"shape":[1],"data_offsets":[0,4],"dtype":"F32"},"n":{"data_offsets":[4,12],"dtype":"I32","shape":[2]},"__metadata__":{"a\\"b":"line\\nbreak"}}\t\n ';
    const back = await decodeSafetensors(handBuilt(header, data));
    expect(Array.from(back.tensors.get('xé')!.data as Float32Array)).toEqual([3.25]);
    expect(Array.from(back.tensors.get('n')!.data as Int32Array)).toEqual([-9, 40]);
    expect(back.metadata).toEqual({ 'a"b': 'line\nbreak' });
    const empty = await decodeSafetensors(handBuilt('{}'));
    expect(empty.tensors.size).toBe(0);
  });

  test('readSafetensorsHeader: dtypes, shapes, offsets without reading data', async () => {
    const path = freshPath();
    await writeSafetensors(path, { w: { shape: [3, 4], data: randomFloats(12, 3) }, h: { dtype: 'BF16', shape: [5], data: randomFloats(5, 4) } }, { kind: 'diffusion' });
    const header = await readSafetensorsHeader(path);
    expect(header.metadata).toEqual({ kind: 'diffusion' });
    expect(header.tensors.get('w')).toEqual({ dtype: 'F32', shape: [3, 4], dataOffsets: [0, 48] });
    expect(header.tensors.get('h')).toEqual({ dtype: 'BF16', shape: [5], dataOffsets: [48, 58] });
    expect(header.fileSize).toBe(statSync(path).size);
  });
});

// ---------------------------------------------------------------------------------------------
// 16-bit rounding against independent computations

/** binary16 bits -> value, straight from the definition. */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Nearest of the sorted `values` (ties to the even bit pattern), by binary search. */
function nearest(x: number, values: number[], patterns: number[]): number {
  let lo = 0, hi = values.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= x) lo = mid;
    else hi = mid;
  }
  const dl = Math.abs(x - values[lo]), dh = Math.abs(values[hi] - x);
  if (dl < dh) return patterns[lo];
  if (dh < dl) return patterns[hi];
  return patterns[lo] % 2 === 0 ? patterns[lo] : patterns[hi];
}

async function storedHalfBits(values: Float32Array, dtype: 'BF16' | 'F16'): Promise<number[]> {
  const bytes = encodeSafetensors({ t: { dtype, shape: [values.length], data: values } });
  const headerLength = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return Array.from(new Uint16Array(bytes.buffer, bytes.byteOffset + 8 + headerLength, values.length));
}

describe('16-bit storage rounding', () => {
  // Inputs: random magnitudes over the whole float32 range, exact ties, values near overflow
  // and near/below the smallest subnormal, and every special value.
  function inputs(): Float32Array {
    const rng = new Rng(77), out: number[] = [];
    for (let i = 0; i < 20000; i++) out.push((rng.uniform() < 0.5 ? -1 : 1) * 2 ** (rng.uniform() * 80 - 40));
    for (let i = 0; i < 2000; i++) out.push(Math.fround((rng.uniform() - 0.5) * 1e-4));
    for (const h of [0x0001, 0x0002, 0x03ff, 0x0400, 0x3c00, 0x3c01, 0x7bfe, 0x7bff]) {
      out.push((halfValue(h) + halfValue(h + 1)) / 2); // exact binary16 ties (representable in float32)
      out.push(halfValue(h));
    }
    out.push(65504, 65519.99, 65520, 70000, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -26, 1e-30, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20);
    out.push(0, -0, Infinity, -Infinity, 3.4e38, -3.4e38);
    return new Float32Array(out);
  }

  test('F16: round to nearest even against a search over all binary16 values', async () => {
    const finite: { v: number; h: number }[] = [];
    for (let h = 0; h < 0x7c00; h++) finite.push({ v: halfValue(h), h });
    const values = finite.map((f) => f.v), patterns = finite.map((f) => f.h);
    values.push(65536); // beyond the largest finite: rounding there means Inf
    patterns.push(0x7c00);
    const x = inputs();
    const got = await storedHalfBits(x, 'F16');
    let mismatches = 0;
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]);
      const expectedMagnitude = a >= 65536 ? 0x7c00 : nearest(a, values, patterns);
      const expected = (x[i] < 0 || Object.is(x[i], -0) ? 0x8000 : 0) | expectedMagnitude;
      if (got[i] !== expected) mismatches++;
      if (got[i] !== expected && mismatches < 5) console.error(`F16 ${x[i]}: got ${got[i].toString(16)} expected ${expected.toString(16)}`);
    }
    expect(mismatches).toBe(0);
  });

  test('BF16: round to nearest even against double-precision distances to both neighbours', async () => {
    const x = inputs();
    const got = await storedHalfBits(x, 'BF16');
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    let mismatches = 0;
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]), sign = x[i] < 0 || Object.is(x[i], -0) ? 0x8000 : 0;
      let expected: number;
      if (a === Infinity) expected = 0x7f80;
      else {
        // neighbours: the bfloat16 values just below and above |x| (truncation and one ulp more)
        f[0] = a;
        const low = u[0] >>> 16;
        u[0] = low << 16;
        const lowValue = f[0];
        u[0] = ((low + 1) << 16) >>> 0;
        const highValue = low + 1 === 0x7f80 ? 2 ** 128 : f[0];
        const dl = a - lowValue, dh = highValue - a;
        expected = dl < dh ? low : dh < dl ? low + 1 : low % 2 === 0 ? low : low + 1;
      }
      if (got[i] !== (sign | expected)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  test('NaN stays NaN (quiet, sign and top payload kept) and decodes back to NaN', async () => {
    const nans = f32FromBits([0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0xff812345]);
    expect(await storedHalfBits(nans, 'BF16')).toEqual([0x7fc0, 0xffc0, 0x7fc0, 0x7fe0, 0xffc1]);
    expect(await storedHalfBits(nans, 'F16')).toEqual([0x7e00, 0xfe00, 0x7e00, 0x7f00, 0xfe09]);
    const back = await decodeSafetensors(encodeSafetensors({ a: { dtype: 'BF16', shape: [5], data: nans }, b: { dtype: 'F16', shape: [5], data: nans } }));
    for (const name of ['a', 'b']) expect(Array.from(back.tensors.get(name)!.data as Float32Array).every(Number.isNaN)).toBe(true);
  });

  test('F16 decode of all 65536 patterns matches the definition', async () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = (await decodeSafetensors(encodeSafetensors({ h: { dtype: 'F16', shape: [65536], data: all } }))).tensors.get('h')!.data as Float32Array;
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) {
      const v = halfValue(h);
      if (!(Object.is(back[h], v) || (Number.isNaN(v) && Number.isNaN(back[h])))) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Atomic writes

function tempFilesIn(directory: string): string[] {
  return readdirSync(directory).filter((f) => f.endsWith('.tmp'));
}

describe('atomic writes', () => {
  const stages: [AtomicWriteStage, number][] = [['write', 0], ['write', 2], ['fsync', 0], ['rename', 0]];
  for (const [stage, index] of stages)
    test(`a failure at ${stage}${stage === 'write' ? ` (chunk ${index})` : ''} keeps the old file and leaves no temporary file`, async () => {
      const sub = mkdtempSync(join(dir, 'atomic-'));
      const path = join(sub, 'ckpt.safetensors');
      await writeSafetensors(path, { w: { shape: [4], data: randomFloats(4, 1) } }, { step: '1' });
      const before = readFileSync(path);
      atomicWriteHooks.fault = (s, i) => {
        if (s === stage && i === index) throw new Error(`simulated failure at ${s}`);
      };
      await expectScmError(writeSafetensors(path, { w: { shape: [4], data: randomFloats(4, 2) }, v: { shape: [3], data: randomFloats(3, 3) } }, { step: '2' }), 'E_IO', new RegExp(`writeSafetensors: cannot write .*ckpt.safetensors: simulated failure at ${stage}`));
      expect(readFileSync(path).equals(before)).toBe(true);
      expect((await readSafetensors(path)).metadata).toEqual({ step: '1' });
      expect(tempFilesIn(sub)).toEqual([]);
      expect(readdirSync(sub)).toEqual(['ckpt.safetensors']);
    });

  test('a failure after the rename (directory fsync) reports E_IO but the new file is complete', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, 'ckpt.safetensors');
    atomicWriteHooks.fault = (s) => {
      if (s === 'dirsync') throw new Error('simulated dirsync failure');
    };
    await expectScmError(writeSafetensors(path, { w: { shape: [2], data: randomFloats(2, 1) } }), 'E_IO', /dirsync/);
    atomicWriteHooks.fault = null;
    expect((await readSafetensors(path)).tensors.get('w')!.shape).toEqual([2]);
    expect(tempFilesIn(sub)).toEqual([]);
  });

  test('real failures: the target is a directory; the directory does not exist', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    mkdirSync(join(sub, 'taken'));
    await expectScmError(writeSafetensors(join(sub, 'taken'), { w: { shape: [1], data: new Float32Array([1]) } }), 'E_IO', /cannot write .*taken/);
    expect(readdirSync(sub)).toEqual(['taken']);
    await expectScmError(writeSafetensors(join(sub, 'missing', 'x.safetensors'), {}), 'E_IO', /directory .*missing does not exist/);
  });

  test('invalid tensors are refused before anything is written', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, 'ckpt.safetensors');
    await writeSafetensors(path, { w: { shape: [1], data: new Float32Array([1]) } });
    const before = readFileSync(path);
    await expectScmError(writeSafetensors(path, { w: { shape: [2], data: new Float32Array([1]) } }), 'E_ARGUMENT', /tensor "w": shape \[2\] has 2 elements, data has 1/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(tempFilesIn(sub)).toEqual([]);
  });

  test('overwriting keeps the file mode', async () => {
    const path = freshPath();
    await writeSafetensors(path, {});
    chmodSync(path, 0o600);
    await writeSafetensors(path, { w: { shape: [1], data: new Float32Array([2]) } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

// ---------------------------------------------------------------------------------------------
// Validation of bad files

function f32Data(n: number): Uint8Array {
  return new Uint8Array(randomFloats(n, n).buffer);
}

describe('bad files are rejected with E_BAD_CHECKPOINT naming the problem', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array([1, 0, 0]), /file is 3 bytes, shorter than the 8-byte header length/],
    ['empty', new Uint8Array(0), /file is 0 bytes/],
    ['header length beyond the file', handBuilt('{}', new Uint8Array(0), { claimedLength: 3n }), /header length 3 exceeds the 2 bytes after the length field/],
    ['absurd header length (2^63)', handBuilt('{}', new Uint8Array(0), { claimedLength: 2n ** 63n }), /header length 9223372036854775808 exceeds the 100000000-byte limit/],
    ['header length above the 100 MB cap', handBuilt('{}', new Uint8Array(0), { claimedLength: 100_000_001n }), /exceeds the 100000000-byte limit/],
    ['invalid JSON', handBuilt('{"a":', new Uint8Array(0)), /header is not valid JSON: unexpected end of input/],
    ['invalid UTF-8', handBuilt('{"__metadata__":{"k":"x"}}').map((b, i) => (i === 8 + 22 ? 0xff : b)), /header is not valid UTF-8/],
    ['not an object', handBuilt('[1,2]'), /header must start with '\{'/],
    ['trailing garbage', handBuilt('{} x'), /trailing characters/],
    ['metadata not an object', handBuilt('{"__metadata__":"x"}'), /__metadata__ must be an object of strings, got "x"/],
    ['metadata value not a string', handBuilt('{"__metadata__":{"step":12}}'), /__metadata__\["step"\] must be a string, got 12/],
    ['unknown dtype', handBuilt('{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)), /tensor "a": unknown dtype "F8_E4M3"/],
    ['entry not an object', handBuilt('{"a":[0,4]}', f32Data(1)), /tensor "a": entry must be an object, got an array of 2/],
    ['missing key', handBuilt('{"a":{"dtype":"F32","shape":[1]}}', f32Data(1)), /tensor "a": missing "data_offsets"/],
    ['unknown key', handBuilt('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"strides":[1]}}', f32Data(1)), /tensor "a": unknown key "strides"/],
    ['shape not an array', handBuilt('{"a":{"dtype":"F32","shape":4,"data_offsets":[0,4]}}', f32Data(1)), /shape must be an array, got 4/],
    ['negative dimension', handBuilt('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f32Data(1)), /shape\[0\] must be a non-negative integer below 2\^53, got -1/],
    ['fractional dimension', handBuilt('{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', f32Data(1)), /shape\[0\] .* got 1.5/],
    ['exponent dimension', handBuilt('{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', f32Data(1)), /shape\[0\] .* got 1e0/],
    ['dimension beyond 2^53', handBuilt('{"a":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,4]}}', f32Data(1)), /got 9007199254740993/],
    ['string dimension', handBuilt('{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}', f32Data(1)), /shape\[0\] .* got "1"/],
    ['element count x size != span', handBuilt('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', f32Data(1)), /shape \[2\] of F32 needs 8 bytes, data_offsets \[0, 4\] hold 4/],
    ['huge claimed shape', handBuilt('{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', f32Data(2)), /needs too many bytes/],
    ['offsets not a pair', handBuilt('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', f32Data(1)), /data_offsets must be \[begin, end\], got an array of 1/],
    ['offsets not integers', handBuilt('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}', f32Data(1)), /data_offsets\[1\] .* got 4.0/],
    ['begin > end', handBuilt('{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}', f32Data(1)), /data_offsets \[4, 0\] has begin > end/],
    ['offsets beyond the data section', handBuilt('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32Data(1)), /data_offsets \[0, 8\] reach beyond the 4-byte data section/],
    ['hostile offsets (a petabyte)', handBuilt('{"a":{"dtype":"U8","shape":[1125899906842624],"data_offsets":[0,1125899906842624]}}', f32Data(1)), /reach beyond the 4-byte data section/],
    ['overlapping tensors', handBuilt('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', f32Data(3)), /tensors "a" and "b" overlap \(bytes 4 to 8\)/],
    ['the same range twice', handBuilt('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32Data(1)), /overlap/],
    ['a gap between tensors', handBuilt('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', f32Data(3)), /bytes 4 to 8 of the data section belong to no tensor/],
    ['trailing bytes after the last tensor', handBuilt('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32Data(2)), /the data section has 4 bytes after the last tensor/],
    ['data but no tensors', handBuilt('{}', f32Data(1)), /4 bytes after the last tensor/],
    ['duplicate names', handBuilt('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32Data(2)), /header has a duplicate name "a"/],
    ['duplicate metadata', handBuilt('{"__metadata__":{},"__metadata__":{}}'), /duplicate name "__metadata__"/],
    ['BOOL other than 0/1', handBuilt('{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', new Uint8Array([1, 2])), /BOOL element 1 is 2/],
    ['deep nesting', handBuilt(`{"__metadata__":${'['.repeat(100_000)}`), /nesting deeper than 64/],
  ];
  for (const [name, bytes, pattern] of cases)
    test(name, async () => {
      await expectScmError(decodeSafetensors(bytes, { name: 'case.safetensors' }), 'E_BAD_CHECKPOINT', new RegExp(`^decodeSafetensors: case.safetensors: .*${pattern.source}`));
    });

  test('from a file: the message names the path; hostile claims allocate nothing large', async () => {
    const path = freshPath('hostile');
    writeFileSync(path, handBuilt('{"a":{"dtype":"F32","shape":[268435456],"data_offsets":[0,1073741824]}}', f32Data(4)));
    const before = process.memoryUsage().arrayBuffers;
    await expectScmError(readSafetensors(path), 'E_BAD_CHECKPOINT', new RegExp(`readSafetensors: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tensor "a": data_offsets \\[0, 1073741824\\] reach beyond the 16-byte data section`));
    writeFileSync(path, handBuilt('{}', new Uint8Array(0), { claimedLength: 99_999_999n }));
    await expectScmError(readSafetensors(path), 'E_BAD_CHECKPOINT', /header length 99999999 exceeds the 2 bytes/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
  });

  test('maxBytes refuses larger files', async () => {
    const path = freshPath();
    await writeSafetensors(path, { w: { shape: [100], data: randomFloats(100, 1) } });
    const size = statSync(path).size;
    await expectScmError(readSafetensors(path, { maxBytes: size - 1 }), 'E_BAD_CHECKPOINT', new RegExp(`file is ${size} bytes, more than maxBytes = ${size - 1}`));
    expect((await readSafetensors(path, { maxBytes: size })).tensors.size).toBe(1);
  });

  test('missing file, a directory, bad arguments', async () => {
    const missing = join(dir, 'nope.safetensors');
    await expectScmError(readSafetensors(missing), 'E_IO', new RegExp(`readSafetensors: cannot open .*nope.safetensors: no such file`));
    await expectScmError(readSafetensors(dir), 'E_IO', /is not a regular file|EISDIR/);
    await expectScmError(readSafetensors(''), 'E_ARGUMENT', /path must be a non-empty string/);
    await expectScmError(readSafetensors(missing, { maxbytes: 3 } as never), 'E_ARGUMENT', /unknown option 'maxbytes'/);
    await expectScmError(readSafetensors(missing, { maxBytes: -1 }), 'E_ARGUMENT', /maxBytes must be an integer >= 0, got -1/);
  });
});

describe('the writer refuses bad tensors and metadata (E_ARGUMENT)', () => {
  const f = new Float32Array([1, 2]);
  const cases: [string, () => unknown, RegExp][] = [
    ['dtype/array mismatch', () => encodeSafetensors({ w: { dtype: 'I32', shape: [2], data: f } }), /tensor "w": dtype I32 needs a Int32Array, got Float32Array\(2\)/],
    ['BF16 from a Float64Array', () => encodeSafetensors({ w: { dtype: 'BF16', shape: [2], data: new Float64Array(2) } }), /dtype BF16 needs a Float32Array or Uint16Array/],
    ['unknown dtype', () => encodeSafetensors({ w: { dtype: 'F128' as never, shape: [2], data: f } }), /unknown dtype "F128"/],
    ['no dtype for the array type', () => encodeSafetensors({ w: { shape: [2], data: new Uint8ClampedArray(2) as never } }), /no safetensors dtype for Uint8ClampedArray/],
    ['shape mismatch', () => encodeSafetensors({ w: { shape: [3], data: f } }), /shape \[3\] has 3 elements, data has 2/],
    ['bad dimension', () => encodeSafetensors({ w: { shape: [2.5], data: f } }), /shape\[0\] must be an integer >= 0, got 2.5/],
    ['not a typed array', () => encodeSafetensors({ w: { shape: [2], data: [1, 2] as never } }), /data must be a typed array, got an array of 2/],
    ['unknown entry key', () => encodeSafetensors({ w: { shape: [2], data: f, stride: 1 } as never }), /tensor "w": unknown option 'stride'/],
    ['__metadata__ as a name', () => encodeSafetensors({ __metadata__: { shape: [2], data: f } }), /"__metadata__" cannot be a tensor name/],
    ['duplicate names in pairs', () => encodeSafetensors([['w', { shape: [2], data: f }], ['w', { shape: [2], data: f }]]), /duplicate tensor name "w"/],
    ['a pair that is not a pair', () => encodeSafetensors([['w']] as never), /tensors\[0\] must be a \[name, tensor\] pair/],
    ['metadata value not a string', () => encodeSafetensors({}, { step: 3 } as never), /metadata\["step"\] must be a string, got 3/],
    ['BOOL other than 0/1', () => encodeSafetensors({ m: { dtype: 'BOOL', shape: [2], data: new Uint8Array([0, 3]) } }), /BOOL element 1 is 3/],
    ['tensors not an object', () => encodeSafetensors(null as never), /tensors must be an object/],
  ];
  for (const [name, call, pattern] of cases) test(name, async () => expectScmError(call, 'E_ARGUMENT', pattern));
});

// ---------------------------------------------------------------------------------------------
// Fuzz: corruptions of a valid file never crash, never give another error, never allocate much.

describe('fuzz', () => {
  test('random truncations, header-length changes, header byte edits, appended bytes', async () => {
    const valid = encodeSafetensors(sampleTensors(), SAMPLE_METADATA);
    const headerEnd = 8 + Number(Buffer.from(valid).readBigUInt64LE(0));
    const rng = new Rng(2025);
    let rejected = 0, accepted = 0;
    const check = async (bytes: Uint8Array, mustReject: boolean, what: string) => {
      try {
        const back = await decodeSafetensors(bytes);
        expect(mustReject, `accepted: ${what}`).toBe(false);
        for (const t of back.tensors.values()) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        accepted++;
      } catch (e) {
        const err = e as { name?: string; code?: string; message?: string };
        expect(err.name, `${what}: ${err.message}`).toBe('ScmError');
        expect(err.code, `${what}: ${err.message}`).toBe('E_BAD_CHECKPOINT');
        rejected++;
      }
    };
    for (let i = 0; i < 300; i++) {
      const cut = rng.int(valid.length); // every truncation is invalid (the data section ends exactly)
      await check(valid.slice(0, cut), true, `truncated to ${cut}`);
    }
    for (let i = 0; i < 200; i++) {
      const copy = Buffer.from(valid);
      const claimed = rng.uniform() < 0.5 ? BigInt(rng.int(2 ** 32)) * BigInt(rng.int(2 ** 32)) : BigInt(headerEnd - 8 + rng.int(64) - 32);
      if (claimed === BigInt(headerEnd - 8)) continue;
      copy.writeBigUInt64LE(claimed, 0);
      await check(copy, true, `header length ${claimed}`); // the data section no longer ends at the last tensor
    }
    for (let i = 0; i < 1500; i++) {
      const copy = Buffer.from(valid);
      const edits = 1 + rng.int(4);
      for (let k = 0; k < edits; k++) {
        const at = 8 + rng.int(headerEnd - 8);
        // mostly JSON-significant characters, so edits hit structure and numbers
        const alphabet = '{}[]":,0123456789-.eE tfn\\';
        copy[at] = rng.uniform() < 0.7 ? alphabet.charCodeAt(rng.int(alphabet.length)) : rng.int(256);
      }
      await check(copy, false, `header edit ${i}`);
    }
    for (let i = 0; i < 50; i++) {
      const extra = new Uint8Array(1 + rng.int(16)).map(() => rng.int(256));
      await check(Buffer.concat([valid, extra]), true, `appended ${extra.length}`);
    }
    // most edits must be caught (a few land in a metadata string or a name and stay valid)
    expect(rejected).toBeGreaterThan(1800);
    expect(accepted).toBeLessThan(rejected / 5);
  });
});

// ---------------------------------------------------------------------------------------------
// An independent reader: Python with numpy, where available.

const python = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe('cross-check with numpy', () => {
  test.skipIf(!python)('a file we write is read by an independent Python reader; numpy float16 rounding agrees', async () => {
    const path = freshPath('numpy');
    const w = randomFloats(24, 9).map((x) => x * 100);
    await writeSafetensors(path, { w: { shape: [2, 3, 4], data: w }, h: { dtype: 'F16', shape: [24], data: w }, s: { dtype: 'I64', shape: [], data: new BigInt64Array([123456789012345n]) } }, { note: 'x' });
    const script = `
import json, struct, sys, numpy as np
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
assert (8 + n) % 8 == 0
data = raw[8 + n:]
kinds = {'F32': '<f4', 'F16': '<f2', 'I64': '<i8'}
out = {'meta': header.pop('__metadata__')}
for name, info in header.items():
    b, e = info['data_offsets']
    arr = np.frombuffer(data[b:e], dtype=kinds[info['dtype']]).reshape(info['shape'])
    out[name] = {'shape': list(arr.shape), 'values': arr.astype(np.float64).ravel().tolist() if info['dtype'] != 'I64' else [int(arr)]}
out['f16_of_f32'] = np.frombuffer(raw[8 + n + header['w']['data_offsets'][0]:8 + n + header['w']['data_offsets'][1]], '<f4').astype(np.float16).view(np.uint16).tolist()
out['f16_stored'] = np.frombuffer(data[header['h']['data_offsets'][0]:header['h']['data_offsets'][1]], '<u2').tolist()
print(json.dumps(out))
`;
    const result = JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
    expect(result.meta).toEqual({ note: 'x' });
    expect(result.w.shape).toEqual([2, 3, 4]);
    expect(result.w.values).toEqual(Array.from(w));
    expect(result.s.values).toEqual([123456789012345]);
    expect(result.f16_stored).toEqual(result.f16_of_f32);
    const back = await readSafetensors(path);
    expect(result.h.values).toEqual(Array.from(back.tensors.get('h')!.data as Float32Array));
  });
});
