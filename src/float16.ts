// 16-bit floats (IEEE binary16 "F16" and bfloat16 "BF16") to and from float32, as raw bits in
// Uint16Arrays. float32 -> 16 bits rounds to nearest, ties to even; overflow gives +-Inf; NaN
// stays NaN (quiet, sign and the top payload bits kept). 16 bits -> float32 is exact.

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** float32 bits -> bfloat16 bits. */
export function bf16FromBits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x0040) & 0xffff; // NaN: quiet it
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 bits -> binary16 bits. */
export function f16FromBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00 | ((abs >>> 13) & 0x3ff); // NaN: quiet, top payload kept
  if (abs >= 0x477ff000) return sign | 0x7c00; // >= 65520 rounds to Inf (and Inf itself)
  if (abs < 0x38800000) {
    // below the smallest normal binary16 (2^-14): a multiple of 2^-24, rounded half to even
    scratchBits[0] = abs;
    const units = scratch[0] * 16777216; // exact in double
    let r = Math.floor(units);
    const frac = units - r;
    if (frac > 0.5 || (frac === 0.5 && (r & 1) === 1)) r++;
    return sign | r; // r = 0x400 is the smallest normal: correct encoding
  }
  const exponent = (abs >>> 23) - 112; // rebias 127 -> 15
  const mantissa = abs & 0x7fffff;
  let h = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is right
  return sign | h;
}

/** bfloat16 bits -> float32 bits. */
export function bf16ToBits(h: number): number {
  return (h << 16) >>> 0;
}

/** binary16 bits -> float32 bits. */
export function f16ToBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 31) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // Inf / NaN
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  scratch[0] = mantissa / 16777216; // subnormal (or zero): exact in float32
  return (sign | scratchBits[0]) >>> 0;
}

/** Float32Array -> 16-bit patterns ('BF16' or 'F16'). */
export function encodeHalf(values: Float32Array, kind: 'BF16' | 'F16'): Uint16Array {
  const bits = bitsOf(values), out = new Uint16Array(values.length);
  const convert = kind === 'BF16' ? bf16FromBits : f16FromBits;
  for (let i = 0; i < bits.length; i++) out[i] = convert(bits[i]);
  return out;
}

/** 16-bit patterns ('BF16' or 'F16') -> Float32Array, exactly. */
export function decodeHalf(half: Uint16Array, kind: 'BF16' | 'F16'): Float32Array {
  const out = new Float32Array(half.length), bits = bitsOf(out);
  const convert = kind === 'BF16' ? bf16ToBits : f16ToBits;
  for (let i = 0; i < half.length; i++) bits[i] = convert(half[i]);
  return out;
}
