// Argument checks shared by every public call: sizes, typed arrays, options, backends.
import { argumentError, shapeError } from './errors.js';
import type { BackendName } from './native.js';

const BACKENDS: readonly string[] = ['auto', 'cpu', 'cuda'];

export function checkBackend(value: unknown, where: string): BackendName {
  if (value === undefined) return 'auto';
  if (typeof value !== 'string' || !BACKENDS.includes(value)) {
    throw argumentError(`${where}: unknown backend ${JSON.stringify(value)} (expected 'auto', 'cpu' or 'cuda')`);
  }
  return value as BackendName;
}

/** A non-negative integer (a safe JS integer), named in the error. */
export function checkSize(value: unknown, name: string, where: string, { min = 0 } = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw argumentError(`${where}: ${name} must be an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

export function checkFinite(value: unknown, name: string, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw argumentError(`${where}: ${name} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

export function checkFloat32(value: unknown, name: string, where: string, expected: number, shape: string): Float32Array {
  if (!(value instanceof Float32Array)) {
    throw argumentError(`${where}: ${name} must be a Float32Array, got ${describe(value)}`);
  }
  if (value.length !== expected) {
    throw shapeError(`${where}: ${name} has ${value.length} elements, expected ${expected} (${shape})`);
  }
  return value;
}

/** Rejects option keys the call does not know (a typo must not be silently ignored). */
export function checkOptions(options: unknown, allowed: readonly string[], where: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw argumentError(`${where}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw argumentError(`${where}: unknown option '${key}' (allowed: ${allowed.join(', ')})`);
    }
  }
  return options as Record<string, unknown>;
}

export function checkOneOf<T extends string>(value: unknown, choices: readonly T[], name: string, where: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw argumentError(`${where}: ${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

export function checkBoolean(value: unknown, name: string, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw argumentError(`${where}: ${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** Element count of a shape, refusing sizes beyond what a Float32Array can hold. */
export function elements(dims: number[], where: string): number {
  let n = 1;
  for (const d of dims) n *= d;
  if (!Number.isSafeInteger(n) || n > 2 ** 32) throw argumentError(`${where}: shape ${dims.join('x')} is too large`);
  return n;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}
