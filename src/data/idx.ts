// The idx file format of (Fashion-)MNIST: big-endian magic 0x0000 TTNN (TT = 0x08 unsigned
// bytes, NN = number of dimensions), NN big-endian u32 dimensions, then the data. Files may be
// gzipped (detected by the gzip magic, whatever the name).
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ScmError } from '../errors.js';

const gunzipAsync = promisify(gunzip);

/** The largest decompressed idx file accepted (a gzip bomb must not fill the memory). */
export const MAX_IDX_BYTES = 512 * 1024 * 1024;

export interface IdxArray {
  dims: number[];
  /** The unsigned bytes, row-major. */
  data: Uint8Array;
}

function malformed(where: string, file: string, problem: string): ScmError {
  return new ScmError(`${where}: ${file} is not a valid idx file: ${problem}`, 'E_IO');
}

/** Parses idx bytes of unsigned-byte data with `ndims` dimensions; E_IO naming `file` if malformed. */
export function parseIdx(bytes: Uint8Array, ndims: number, file: string, where: string): IdxArray {
  if (bytes.length < 4 + 4 * ndims) throw malformed(where, file, `${bytes.length} bytes, shorter than its ${4 + 4 * ndims}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const expected = 0x0800 + ndims;
  if (magic !== expected) {
    throw malformed(where, file, `magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x${expected.toString(16).padStart(8, '0')} (unsigned bytes, ${ndims} dimensions)`);
  }
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expectedLength = 4 + 4 * ndims + count;
  if (bytes.length !== expectedLength) {
    throw malformed(where, file, `dimensions ${dims.join(' x ')} need ${expectedLength} bytes, the file has ${bytes.length}`);
  }
  return { dims, data: bytes.subarray(4 + 4 * ndims) };
}

/** Reads an idx file, gunzipping it when it starts with the gzip magic. E_IO when unreadable. */
export async function readIdxBytes(path: string, where: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ScmError(`${where}: cannot read ${path}: ${(e as Error).message}`, 'E_IO');
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(bytes, { maxOutputLength: MAX_IDX_BYTES });
    } catch (e) {
      throw new ScmError(`${where}: cannot decompress ${path}: ${(e as Error).message}`, 'E_IO');
    }
  }
  return bytes;
}
