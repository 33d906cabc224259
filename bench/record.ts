// The JSON record of a benchmark run (bench/results/<suite>-...json): what machine, which
// build and settings, the load the numbers were taken under, and every measurement.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist/bench or, under vitest, bench/). */
export const REPO_ROOT = path.resolve(here, path.basename(path.dirname(here)) === 'dist' ? '../..' : '..');
export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

export const RECORD_SCHEMA = 'scm-native-bench/1';

export interface LoadSample {
  at: string;
  /** os.loadavg(): 1, 5 and 15 minute load averages. */
  loadavg: number[];
}

export interface BenchEnvironment {
  date: string;
  commit: string;
  /** Uncommitted changes in the working tree (git status --porcelain not empty). */
  dirty: boolean | null;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  cpuFlags: string[];
  memoryBytes: number;
  backend: {
    active: 'cpu' | 'cuda';
    available: string[];
    reason: string | null;
    device: string | null;
    cudaDevice: string | null;
  };
  cpuThreads: number;
  cpuGemm: string;
  cpuGemmBf16: string;
  load: LoadSample;
}

export interface BenchRecord {
  schema: typeof RECORD_SCHEMA;
  suite: string;
  command: string;
  environment: BenchEnvironment;
  settings: Record<string, unknown>;
  load: { before: LoadSample; after: LoadSample };
  results: unknown;
  [extra: string]: unknown;
}

/** Fields every record has (checked by checkRecord and the tests). */
export const RECORD_FIELDS = ['schema', 'suite', 'command', 'environment', 'settings', 'load', 'results'] as const;
export const ENVIRONMENT_FIELDS = ['date', 'commit', 'dirty', 'node', 'platform', 'cpu', 'cores', 'cpuFlags', 'memoryBytes', 'backend', 'cpuThreads', 'cpuGemm', 'cpuGemmBf16', 'load'] as const;

export function loadNow(): LoadSample {
  return { at: new Date().toISOString(), loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100) };
}

function git(args: string[]): string | null {
  const r = spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

/** The CPU features that matter for the GEMMs (Linux /proc/cpuinfo; [] elsewhere). */
export function cpuFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const all = new Set(line ? line.split(':')[1].trim().split(/\s+/) : []);
    return ['avx2', 'fma', 'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile'].filter((f) => all.has(f));
  } catch {
    return [];
  }
}

export function environment(): BenchEnvironment {
  const info = backendInfo();
  const status = git(['status', '--porcelain']);
  return {
    date: new Date().toISOString(),
    commit: git(['rev-parse', 'HEAD']) ?? 'unknown',
    dirty: status === null ? null : status.length > 0,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpuModel(),
    cores: os.cpus().length,
    cpuFlags: cpuFlags(),
    memoryBytes: os.totalmem(),
    backend: {
      active: info.active,
      available: [...info.available],
      reason: info.reason ?? null,
      device: info.device?.name ?? null,
      cudaDevice: info.cudaDevice?.name ?? null,
    },
    cpuThreads: info.cpuThreads,
    cpuGemm: info.cpuGemm,
    cpuGemmBf16: info.cpuGemmBf16,
    load: loadNow(),
  };
}

/** The names of the required fields missing from `record` (empty when complete). */
export function checkRecord(record: unknown): string[] {
  const missing: string[] = [];
  const r = record as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') return ['(not an object)'];
  for (const f of RECORD_FIELDS) if (r[f] === undefined) missing.push(f);
  if (r.schema !== undefined && r.schema !== RECORD_SCHEMA) missing.push(`schema (${String(r.schema)} is not ${RECORD_SCHEMA})`);
  const env = r.environment as Record<string, unknown> | undefined;
  if (env) for (const f of ENVIRONMENT_FIELDS) if (env[f] === undefined) missing.push(`environment.${f}`);
  const load = r.load as Record<string, unknown> | undefined;
  if (load) for (const f of ['before', 'after']) if (load[f] === undefined) missing.push(`load.${f}`);
  return missing;
}

/** Non-finite numbers become null in JSON anyway; say so explicitly with strings. */
function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array) return Array.from(v);
  return v;
}

/**
 * Writes `record` as `<dir>/<stem>-<date>.json` (dir default bench/results) after checking its
 * fields; returns the path.
 */
export function writeRecord(record: BenchRecord, stem: string, dir: string = RESULTS_DIR): string {
  const missing = checkRecord(record);
  if (missing.length) throw new Error(`benchmark record of '${record.suite}' lacks ${missing.join(', ')}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stem}-${record.environment.date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(record, replacer, 2) + '\n');
  return file;
}

/** One line about the machine and its load, for the top of a suite's output. */
export function describeEnvironment(env: BenchEnvironment): string {
  const dev = env.backend.active === 'cuda' ? env.backend.cudaDevice : `${env.cpu}, ${env.cores} cores, ${env.cpuThreads} threads`;
  return `${env.backend.active} (${dev}); CPU GEMM ${env.cpuGemm} (bf16: ${env.cpuGemmBf16}); commit ${env.commit.slice(0, 10)}${env.dirty ? ' + local changes' : ''}; load average ${env.load.loadavg.join(' ')}`;
}
