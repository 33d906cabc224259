// safetensors files: read (validating every length and offset before trusting it) and write
// (atomically). Format: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
// {"__metadata__": {string: string}, "<name>": {"dtype", "shape", "data_offsets": [begin, end]}},
// then the data section, raw little-endian, offsets relative to its start.
//
// Rules the reader enforces (those of the reference implementation, plus duplicate names):
// 8 <= file size; N <= 100 000 000 and N <= size - 8; the header is UTF-8 JSON, an object;
// `__metadata__` (optional) maps strings to strings; every other key is a tensor whose entry
// has exactly `dtype`, `shape`, `data_offsets`; the dtype is known; the shape is an array of
// non-negative safe integers; data_offsets are two safe integers begin <= end within the data
// section; elements x dtype size = end - begin; the tensors, ordered by offset, cover the data
// section exactly: no overlap, no gap, no trailing bytes (so every file we accept is one the
// reference accepts); names are unique. Nothing is allocated from a claimed size before it has
// been checked against the real file size.
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { writeFileAtomic } from './atomic-file.js';
import { argumentError, ScmError } from './errors.js';
import { decodeHalf, encodeHalf } from './float16.js';
import { JsonOtherNumber, JsonSyntaxError, parseStrictJson, type JsonObject, type JsonValue } from './strict-json.js';
import { checkOptions, checkSize, describe } from './validate.js';

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'U64' | 'I32' | 'U32' | 'I16' | 'U16' | 'I8' | 'U8' | 'BOOL';

export type TensorData =
  | Float64Array | Float32Array | BigInt64Array | BigUint64Array | Int32Array | Uint32Array
  | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** A tensor to write. dtype defaults from the array type (Float32Array -> 'F32', ...). For
 *  'BF16' / 'F16' pass a Float32Array (rounded to nearest even) or a Uint16Array of raw bits. */
export interface TensorEntry {
  dtype?: Dtype;
  shape: readonly number[];
  data: TensorData;
}

/** A tensor read back. 'BF16' / 'F16' are decoded to a Float32Array (exactly); `dtype` is the
 *  stored type. 'BOOL' is a Uint8Array of 0 / 1. */
export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

export interface Safetensors {
  /** In file order (by offset). */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** What the header says about one tensor, after validation. */
export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** N, the JSON header's length in bytes; the data section starts at 8 + N. */
  headerLength: number;
  fileSize: number;
}

export type TensorSet = Record<string, TensorEntry> | Map<string, TensorEntry> | Iterable<readonly [string, TensorEntry]>;

export interface ReadOptions {
  /** Refuse files larger than this many bytes (default: no limit beyond the file's real size). */
  maxBytes?: number;
}

/** The largest header the reader accepts (as the reference implementation). */
export const MAX_HEADER_BYTES = 100_000_000;

type ArrayType = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TensorData; name: string };

const DTYPES: Record<Dtype, { size: number; stored: ArrayType }> = {
  F64: { size: 8, stored: Float64Array },
  F32: { size: 4, stored: Float32Array },
  F16: { size: 2, stored: Uint16Array },
  BF16: { size: 2, stored: Uint16Array },
  I64: { size: 8, stored: BigInt64Array },
  U64: { size: 8, stored: BigUint64Array },
  I32: { size: 4, stored: Int32Array },
  U32: { size: 4, stored: Uint32Array },
  I16: { size: 2, stored: Int16Array },
  U16: { size: 2, stored: Uint16Array },
  I8: { size: 1, stored: Int8Array },
  U8: { size: 1, stored: Uint8Array },
  BOOL: { size: 1, stored: Uint8Array },
};

const DEFAULT_DTYPE: [ArrayType, Dtype][] = [
  [Float64Array, 'F64'], [Float32Array, 'F32'], [BigInt64Array, 'I64'], [BigUint64Array, 'U64'],
  [Int32Array, 'I32'], [Uint32Array, 'U32'], [Int16Array, 'I16'], [Uint16Array, 'U16'],
  [Int8Array, 'I8'], [Uint8Array, 'U8'],
];

function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, value);
}

function checkHost(where: string): void {
  if (endianness() !== 'LE') throw new ScmError(`${where}: big-endian hosts are not supported (safetensors data is little-endian)`, 'E_INTERNAL');
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Random access to the bytes of a file or a buffer. */
interface ByteSource {
  size: number;
  /** Fills `target` from `position`; returns the number of bytes read (less at end of file). */
  readInto(position: number, target: Uint8Array): Promise<number>;
}

function fileSource(handle: FileHandle, size: number): ByteSource {
  return {
    size,
    async readInto(position, target) {
      let done = 0;
      while (done < target.byteLength) {
        const { bytesRead } = await handle.read(target, done, target.byteLength - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    },
  };
}

function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    async readInto(position, target) {
      const part = bytes.subarray(position, position + target.byteLength);
      target.set(part);
      return part.byteLength;
    },
  };
}

class HeaderProblem extends Error {}

function problem(message: string): never {
  throw new HeaderProblem(message);
}

function nonNegativeInteger(value: JsonValue, what: string): number {
  if (typeof value !== 'number' || value < 0) problem(`${what} must be a non-negative integer below 2^53, got ${show(value)}`);
  return value;
}

function show(value: JsonValue): string {
  if (value instanceof JsonOtherNumber) return value.text;
  if (value instanceof Map) return 'an object';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return JSON.stringify(value);
}

function parseTensorInfo(name: string, value: JsonValue, dataLength: number): TensorInfo {
  const label = `tensor ${JSON.stringify(name)}`;
  if (!(value instanceof Map)) problem(`${label}: entry must be an object, got ${show(value)}`);
  for (const key of value.keys()) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') problem(`${label}: unknown key ${JSON.stringify(key)}`);
  }
  for (const key of ['dtype', 'shape', 'data_offsets']) if (!value.has(key)) problem(`${label}: missing "${key}"`);
  const dtype = value.get('dtype')!;
  if (!isDtype(dtype)) problem(`${label}: unknown dtype ${show(dtype)} (known: ${Object.keys(DTYPES).join(', ')})`);
  const shapeValue = value.get('shape')!;
  if (!Array.isArray(shapeValue)) problem(`${label}: shape must be an array, got ${show(shapeValue)}`);
  const shape = shapeValue.map((d, i) => nonNegativeInteger(d, `${label}: shape[${i}]`));
  const offsets = value.get('data_offsets')!;
  if (!Array.isArray(offsets) || offsets.length !== 2) problem(`${label}: data_offsets must be [begin, end], got ${show(offsets)}`);
  const begin = nonNegativeInteger(offsets[0], `${label}: data_offsets[0]`);
  const end = nonNegativeInteger(offsets[1], `${label}: data_offsets[1]`);
  if (begin > end) problem(`${label}: data_offsets [${begin}, ${end}] has begin > end`);
  if (end > dataLength) problem(`${label}: data_offsets [${begin}, ${end}] reach beyond the ${dataLength}-byte data section`);
  let count = 1;
  for (const d of shape) count *= d;
  const bytes = count * DTYPES[dtype].size;
  if (!Number.isSafeInteger(bytes) || bytes !== end - begin) {
    problem(`${label}: shape [${shape.join(', ')}] of ${dtype} needs ${Number.isSafeInteger(bytes) ? bytes : 'too many'} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { dtype, shape, dataOffsets: [begin, end] };
}

function parseMetadata(value: JsonValue): Record<string, string> {
  if (!(value instanceof Map)) problem(`__metadata__ must be an object of strings, got ${show(value)}`);
  const entries: [string, string][] = [];
  for (const [key, v] of value) {
    if (typeof v !== 'string') problem(`__metadata__[${JSON.stringify(key)}] must be a string, got ${show(v)}`);
    entries.push([key, v]);
  }
  return Object.fromEntries(entries);
}

/** Validates the JSON header against a data section of `dataLength` bytes. */
function parseHeader(text: string, dataLength: number): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  let root: JsonValue;
  try {
    root = parseStrictJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      problem(e.message.startsWith('duplicate key') ? `header has a ${e.message.replace('key', 'name')}` : `header is not valid JSON: ${e.message}`);
    }
    throw e;
  }
  if (!(root instanceof Map)) problem(`header must be a JSON object, got ${show(root)}`);
  let metadata: Record<string, string> = {};
  const infos: [string, TensorInfo][] = [];
  for (const [name, value] of root as JsonObject) {
    if (name === '__metadata__') metadata = parseMetadata(value);
    else infos.push([name, parseTensorInfo(name, value, dataLength)]);
  }
  infos.sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let covered = 0, previous = '';
  for (const [name, { dataOffsets: [begin, end] }] of infos) {
    if (begin < covered) problem(`tensors ${JSON.stringify(previous)} and ${JSON.stringify(name)} overlap (bytes ${begin} to ${covered})`);
    if (begin > covered) problem(`bytes ${covered} to ${begin} of the data section belong to no tensor`);
    covered = end;
    previous = name;
  }
  if (covered !== dataLength) problem(`the data section has ${dataLength - covered} bytes after the last tensor (${dataLength} bytes, tensors end at ${covered})`);
  return { tensors: new Map(infos), metadata };
}

async function readHeader(source: ByteSource, maxBytes: number): Promise<SafetensorsHeader> {
  const size = source.size;
  if (size > maxBytes) problem(`file is ${size} bytes, more than maxBytes = ${maxBytes}`);
  if (size < 8) problem(`file is ${size} bytes, shorter than the 8-byte header length`);
  const prefix = new Uint8Array(8);
  if ((await source.readInto(0, prefix)) !== 8) problem('file shrank while being read');
  const claimed = new DataView(prefix.buffer).getBigUint64(0, true);
  if (claimed > BigInt(MAX_HEADER_BYTES)) problem(`header length ${claimed} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (claimed > BigInt(size - 8)) problem(`header length ${claimed} exceeds the ${size - 8} bytes after the length field`);
  const headerLength = Number(claimed);
  const headerBytes = new Uint8Array(headerLength);
  if ((await source.readInto(8, headerBytes)) !== headerLength) problem('file shrank while being read');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    problem('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) problem(`header must start with '{', got ${JSON.stringify(text.slice(0, 8))}`);
  const { tensors, metadata } = parseHeader(text, size - 8 - headerLength);
  return { tensors, metadata, headerLength, fileSize: size };
}

async function readTensor(source: ByteSource, header: SafetensorsHeader, name: string, info: TensorInfo): Promise<Tensor> {
  const [begin, end] = info.dataOffsets;
  const buffer = new ArrayBuffer(end - begin); // checked against the real file size
  if ((await source.readInto(8 + header.headerLength + begin, new Uint8Array(buffer))) !== end - begin) {
    problem(`file shrank while reading tensor ${JSON.stringify(name)}`);
  }
  const { stored, size } = DTYPES[info.dtype];
  const raw = new stored(buffer, 0, (end - begin) / size);
  let data: TensorData = raw;
  if (info.dtype === 'BF16' || info.dtype === 'F16') data = decodeHalf(raw as Uint16Array, info.dtype);
  if (info.dtype === 'BOOL') {
    const bad = (raw as Uint8Array).findIndex((b) => b > 1);
    if (bad >= 0) problem(`tensor ${JSON.stringify(name)}: BOOL element ${bad} is ${(raw as Uint8Array)[bad]}, not 0 or 1`);
  }
  return { dtype: info.dtype, shape: info.shape, data };
}

/** A header problem becomes E_BAD_CHECKPOINT, a failing read E_IO, both naming the file. */
function readError(where: string, name: string, e: unknown): unknown {
  if (e instanceof HeaderProblem) return new ScmError(`${where}: ${name}: ${e.message}`, 'E_BAD_CHECKPOINT');
  if (e instanceof ScmError || !(e instanceof Error) || (e as NodeJS.ErrnoException).code === undefined) return e;
  return new ScmError(`${where}: cannot read ${name}: ${e.message}`, 'E_IO');
}

async function readAll(source: ByteSource, maxBytes: number): Promise<Safetensors> {
  const header = await readHeader(source, maxBytes);
  const tensors = new Map<string, Tensor>();
  for (const [name, info] of header.tensors) tensors.set(name, await readTensor(source, header, name, info));
  return { tensors, metadata: header.metadata };
}

async function withFile<T>(path: unknown, options: unknown, where: string, body: (source: ByteSource, maxBytes: number) => Promise<T>): Promise<T> {
  if (typeof path !== 'string' || path.length === 0) throw argumentError(`${where}: path must be a non-empty string, got ${describe(path)}`);
  const o = checkOptions(options, ['maxBytes'], where);
  const maxBytes = o.maxBytes === undefined ? Infinity : checkSize(o.maxBytes, 'maxBytes', where);
  checkHost(where);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = err.code === 'ENOENT' ? 'no such file' : err.message;
    throw new ScmError(`${where}: cannot open ${path}: ${reason}`, 'E_IO');
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ScmError(`${where}: ${path} is not a regular file`, 'E_IO');
    return await body(fileSource(handle, stats.size), maxBytes);
  } catch (e) {
    throw readError(where, path, e);
  } finally {
    await handle.close();
  }
}

/** Reads and validates a safetensors file. Bad files: ScmError E_BAD_CHECKPOINT; unreadable: E_IO. */
export async function readSafetensors(path: string, options?: ReadOptions): Promise<Safetensors> {
  return withFile(path, options, 'readSafetensors', readAll);
}

/** Reads and validates only the header (names, dtypes, shapes, offsets, metadata). */
export async function readSafetensorsHeader(path: string, options?: ReadOptions): Promise<SafetensorsHeader> {
  return withFile(path, options, 'readSafetensorsHeader', (source, maxBytes) => readHeader(source, maxBytes));
}

/** decodeSafetensors: readSafetensors on bytes in memory; `name` is used in messages. */
export async function decodeSafetensors(bytes: Uint8Array, options?: ReadOptions & { name?: string }): Promise<Safetensors> {
  const where = 'decodeSafetensors';
  if (!(bytes instanceof Uint8Array)) throw argumentError(`${where}: bytes must be a Uint8Array, got ${describe(bytes)}`);
  const o = checkOptions(options, ['maxBytes', 'name'], where);
  const maxBytes = o.maxBytes === undefined ? Infinity : checkSize(o.maxBytes, 'maxBytes', where);
  const name = o.name === undefined ? '<buffer>' : String(o.name);
  checkHost(where);
  try {
    return await readAll(bufferSource(bytes), maxBytes);
  } catch (e) {
    throw readError(where, name, e);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

interface Planned {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: TensorData;
  bytes: number;
}

function entriesOf(tensors: unknown, where: string): [string, unknown][] {
  if (tensors instanceof Map) return Array.from(tensors.entries());
  if (tensors !== null && typeof tensors === 'object' && Symbol.iterator in tensors) {
    return Array.from(tensors as Iterable<unknown>, (item, i) => {
      if (!Array.isArray(item) || item.length !== 2) throw argumentError(`${where}: tensors[${i}] must be a [name, tensor] pair, got ${describe(item)}`);
      return [item[0], item[1]] as [string, unknown];
    });
  }
  if (tensors !== null && typeof tensors === 'object') return Object.entries(tensors);
  throw argumentError(`${where}: tensors must be an object, a Map or an array of [name, tensor] pairs, got ${describe(tensors)}`);
}

function planTensor(name: unknown, entry: unknown, where: string): Planned {
  if (typeof name !== 'string') throw argumentError(`${where}: tensor names must be strings, got ${describe(name)}`);
  if (name === '__metadata__') throw argumentError(`${where}: "__metadata__" cannot be a tensor name`);
  const label = `tensor ${JSON.stringify(name)}`;
  if (entry === null || typeof entry !== 'object') throw argumentError(`${where}: ${label} must be { dtype?, shape, data }, got ${describe(entry)}`);
  const e = checkOptions(entry, ['dtype', 'shape', 'data'], `${where}: ${label}`);
  const data = e.data;
  if (!ArrayBuffer.isView(data) || data instanceof DataView) throw argumentError(`${where}: ${label}: data must be a typed array, got ${describe(data)}`);
  let dtype: Dtype;
  if (e.dtype === undefined) {
    const found = DEFAULT_DTYPE.find(([type]) => data.constructor === type);
    if (found === undefined) throw argumentError(`${where}: ${label}: no safetensors dtype for ${data.constructor.name}; give dtype`);
    dtype = found[1];
  } else {
    if (!isDtype(e.dtype)) throw argumentError(`${where}: ${label}: unknown dtype ${describe(e.dtype)} (known: ${Object.keys(DTYPES).join(', ')})`);
    dtype = e.dtype;
    const expected: ArrayType[] = dtype === 'BF16' || dtype === 'F16' ? [Float32Array, Uint16Array] : [DTYPES[dtype].stored];
    if (!expected.some((type) => data.constructor === type)) {
      throw argumentError(`${where}: ${label}: dtype ${dtype} needs a ${expected.map((t) => t.name).join(' or ')}, got ${describe(data)}`);
    }
  }
  if (!Array.isArray(e.shape)) throw argumentError(`${where}: ${label}: shape must be an array of integers, got ${describe(e.shape)}`);
  const shape = e.shape.map((d, i) => checkSize(d, `shape[${i}]`, `${where}: ${label}`));
  let count = 1;
  for (const d of shape) count *= d;
  const length = (data as TensorData).length;
  if (count !== length) throw argumentError(`${where}: ${label}: shape [${shape.join(', ')}] has ${count} elements, data has ${length}`);
  if (dtype === 'BOOL') {
    const bad = (data as Uint8Array).findIndex((b) => b > 1);
    if (bad >= 0) throw argumentError(`${where}: ${label}: BOOL element ${bad} is ${(data as Uint8Array)[bad]}, not 0 or 1`);
  }
  return { name, dtype, shape, data: data as TensorData, bytes: count * DTYPES[dtype].size };
}

function checkMetadata(metadata: unknown, where: string): [string, string][] {
  if (metadata === undefined) return [];
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw argumentError(`${where}: metadata must be an object of strings, got ${describe(metadata)}`);
  }
  return Object.entries(metadata).map(([key, value]) => {
    if (typeof value !== 'string') throw argumentError(`${where}: metadata[${JSON.stringify(key)}] must be a string, got ${describe(value)}`);
    return [key, value];
  });
}

function bytesOf(t: Planned): Uint8Array {
  const data = (t.dtype === 'BF16' || t.dtype === 'F16') && t.data instanceof Float32Array ? encodeHalf(t.data, t.dtype) : t.data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Validates the tensors and lays the file out: tensors ordered by dtype size (largest first,
 * so every tensor is naturally aligned in a memory map) then name, as the reference
 * implementation does; the header padded with spaces so the data section starts at a multiple
 * of 8. Returns the chunks (header, then each tensor's bytes, produced lazily).
 */
function layout(tensors: unknown, metadata: unknown, where: string): { header: Uint8Array; planned: Planned[]; chunks: () => Generator<Uint8Array> } {
  checkHost(where);
  const meta = checkMetadata(metadata, where);
  const planned: Planned[] = [];
  const seen = new Set<string>();
  for (const [name, entry] of entriesOf(tensors, where)) {
    const t = planTensor(name, entry, where);
    if (seen.has(t.name)) throw argumentError(`${where}: duplicate tensor name ${JSON.stringify(t.name)}`);
    seen.add(t.name);
    planned.push(t);
  }
  planned.sort((a, b) => DTYPES[b.dtype].size - DTYPES[a.dtype].size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parts: string[] = [];
  if (meta.length > 0) parts.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  let offset = 0;
  for (const t of planned) {
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + t.bytes}]}`);
    offset += t.bytes;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded > MAX_HEADER_BYTES) throw argumentError(`${where}: the header would be ${padded} bytes, more than ${MAX_HEADER_BYTES}`);
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(header, 8);
  return {
    header,
    planned,
    *chunks() {
      yield header;
      for (const t of planned) if (t.bytes > 0) yield bytesOf(t);
    },
  };
}

/**
 * Writes a safetensors file atomically (temporary file in the same directory, fsync, rename,
 * fsync of the directory): a failed or interrupted save leaves the previous file intact.
 * Invalid tensors or metadata: E_ARGUMENT before anything is written; I/O failures: E_IO.
 */
export async function writeSafetensors(path: string, tensors: TensorSet, metadata?: Record<string, string>): Promise<void> {
  const where = 'writeSafetensors';
  if (typeof path !== 'string' || path.length === 0) throw argumentError(`${where}: path must be a non-empty string, got ${describe(path)}`);
  const { chunks } = layout(tensors, metadata, where);
  await writeFileAtomic(path, chunks(), where);
}

/** The bytes of the safetensors file writeSafetensors would write. */
export function encodeSafetensors(tensors: TensorSet, metadata?: Record<string, string>): Uint8Array {
  const { header, planned, chunks } = layout(tensors, metadata, 'encodeSafetensors');
  const out = new Uint8Array(planned.reduce((total, t) => total + t.bytes, header.byteLength));
  let offset = 0;
  for (const chunk of chunks()) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
