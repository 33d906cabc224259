// Attention benchmark: the tiled (flash-style) JVP against the naive materialised JVP on the
// active backend(s): time and peak memory for L = 256 … 4096 on the CPU; time for
// L = 256 … 8192, head dim 64 and 128, bf16 operands on CUDA (forward and JVP, flash and naive).
//
// FLOP model (per batch item and head, Lq = Lk = L, head dim d), counting a multiply-add as 2:
//   forward: S = QKᵀ (2L²d) + PV (2L²d)                                  = 4 L² d
//   JVP:     forward + Ṡ = Q̇Kᵀ + QK̇ᵀ (4L²d) + (P⊙Ṡ)V (2L²d) + PV̇ (2L²d) = 12 L² d
// Softmax and elementwise terms (O(L²)) are not counted. The model is multiplied by
// batch · heads. TFLOP/s = model FLOPs / median time.
//
// CPU cases (unchanged): each case runs in a child process through ops.attention /
// ops.attentionJvp (host arrays, so the argument copies are inside the timed region; they are
// O(L·d) against O(L²·d) work), timed with performance.now, so that its peak resident memory
// (maxRSS after the first call minus the RSS just before it, inputs already allocated) is one
// call's own.
//
// CUDA cases: timed by the addon's benchAttention (native/binding/bench_attention.cc): inputs,
// tangents and outputs are allocated once in device memory and filled with the Philox normal
// stream; warm-up calls first; each sample synchronizes the device before reading a
// steady clock; the number of calls per sample is chosen so that a sample lasts about 1 ms;
// median of at least 10 samples and 300 ms. No host copies in the timed region. The GPU is
// filled with batch · heads · L = 131072 query rows per case (CUDA_ROWS): the flash kernels
// run one 128-thread block per 64 query rows, i.e. 2048 blocks per launch at every L
// (about 15 per SM on a 132-SM H100); the naive path then holds batch·heads·L² = 131072·L
// floats per materialised L x L buffer (4 GiB at L = 8192). Peak device memory is reported as
// not measured: the kernel table exposes no allocator statistics (the naive path allocates
// its scratch from the CUDA stream-ordered pool), and host RSS says nothing about it.
//
// Flags: --quick (CPU L = 256, 512; CUDA L = 1024, 4096), --cuda-only (no CPU cases; fails
// without CUDA), --dump=DIR. Unknown flags are refused.
//
// `--dump=DIR` (instead of timing): runs ops.attentionJvp at a few shapes (on CUDA when it
// is available, else on the CPU) and writes the inputs and our outputs as raw little-endian
// float32 files with DIR/manifest.json, for bench/peers/attention_jvp_torch.py to check.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, ops } from '../src/index.js';
import { ScmError } from '../src/errors.js';
import { native, type AttentionDesc, type BackendName } from '../src/native.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.resolve(here, '..', '..', 'bench', 'results');

/** batch · heads · L of every CUDA case (see the header). */
export const CUDA_ROWS = 131072;
const CUDA_LENGTHS = [256, 512, 1024, 2048, 4096, 8192];
const CUDA_MIN_RUNS = 10;
const CUDA_MIN_MS = 300;

interface Case {
  backend: 'cpu' | 'cuda';
  implementation: 'flash' | 'naive';
  pass: 'forward' | 'jvp';
  L: number;
  headDim: number;
  batch: number;
  heads: number;
  precision: 'fp32' | 'bf16';
}

interface Measured extends Case {
  medianMs: number;
  minMs: number;
  runs: number;
  callsPerRun?: number;
  tflops: number;
  peakMemoryBytes: number | null;
  memoryMethod: string;
  timing: string;
  error?: string;
}

export interface BenchAttentionResult {
  /** Median time of one call, milliseconds. */
  medianMs: number;
  /** Fastest sample, per call, milliseconds. */
  minMs: number;
  /** Timed samples. */
  runs: number;
  /** Calls per timed sample (samples last about 1 ms). */
  callsPerRun: number;
  /** Timed time of all samples, milliseconds (at least minMs). */
  totalMs: number;
  backend: 'cpu' | 'cuda';
}

type BenchAttentionFn = (
  desc: AttentionDesc, pass: 'forward' | 'jvp' | 'backward', implementation: 'flash' | 'naive',
  minRuns: number, minMs: number, backend: BackendName, abort?: Int32Array,
) => Promise<BenchAttentionResult>;

/** The addon's benchAttention (a local typed view: it is a benchmark tool, not public API). */
export function benchAttentionNative(): BenchAttentionFn {
  const addon = native() as unknown as { benchAttention?: BenchAttentionFn };
  if (typeof addon.benchAttention !== 'function') {
    throw new ScmError("this build of the scm-native addon has no 'benchAttention'; rebuild it (npm run rebuild)", 'E_INTERNAL');
  }
  return addon.benchAttention.bind(addon);
}

function flops(c: Case): number {
  return (c.pass === 'jvp' ? 12 : 4) * c.L * c.L * c.headDim * c.batch * c.heads;
}

function randomInput(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Runs one CPU case in this process (the child side). */
async function measureHere(c: Case): Promise<Measured> {
  const n = c.batch * c.heads * c.L * c.headDim;
  const [q, k, v, tq, tk, tv] = [1, 2, 3, 4, 5, 6].map((s) => randomInput(n, s * 7919 + c.L));
  const shape = { batch: c.batch, heads: c.heads, lenQ: c.L, lenK: c.L, headDim: c.headDim, implementation: c.implementation, precision: c.precision, backend: c.backend };
  const run = () => (c.pass === 'jvp' ? ops.attentionJvp(q, k, v, tq, tk, tv, shape) : ops.attention(q, k, v, shape));
  const rssBefore = process.memoryUsage().rss;
  await run(); // warm-up, and the one call whose peak memory is reported
  // Peak of that single call: later calls may run on other libuv threads, whose malloc arenas
  // each keep their own freed buffers, which would add up in maxRSS without being one call's need.
  const peak = process.resourceUsage().maxRSS * 1024 - rssBefore;
  const times: number[] = [];
  const deadline = performance.now() + 4000;
  while (times.length < 3 || (times.length < 20 && performance.now() < deadline)) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return {
    ...c,
    medianMs: median,
    minMs: times[0],
    runs: times.length,
    tflops: flops(c) / (median * 1e-3) / 1e12,
    peakMemoryBytes: Math.max(0, peak),
    memoryMethod: 'child-process maxRSS after one call minus RSS before it (inputs allocated)',
    timing: 'ops.attention / ops.attentionJvp from JavaScript (host arrays), performance.now, 1 warm-up, median of 3-20 calls',
  };
}

function measureInChild(c: Case): Measured {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(c)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`benchmark case ${JSON.stringify(c)} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

/** Batch and heads for a CUDA case of length L: batch · heads · L = CUDA_ROWS. */
export function cudaBatchHeads(L: number): { batch: number; heads: number } {
  const bh = Math.max(1, Math.floor(CUDA_ROWS / L));
  const heads = Math.min(16, bh);
  return { batch: Math.max(1, Math.floor(bh / heads)), heads };
}

/** Times one CUDA case with benchAttention (device-resident; see the header). */
async function measureCuda(c: Case): Promise<Measured> {
  const base = {
    memoryMethod: 'not measured (device memory: the kernel table has no allocator statistics; host RSS does not show it)',
    timing: `benchAttention: device-resident inputs (Philox normal), warm-up, synchronize + steady_clock per sample of ~1 ms, median of >= ${CUDA_MIN_RUNS} samples and >= ${CUDA_MIN_MS} ms`,
    peakMemoryBytes: null,
  };
  try {
    const r = await benchAttentionNative()(
      { batch: c.batch, heads: c.heads, lenQ: c.L, lenK: c.L, headDim: c.headDim, precision: c.precision },
      c.pass, c.implementation, CUDA_MIN_RUNS, CUDA_MIN_MS, 'cuda',
    );
    return { ...c, ...base, medianMs: r.medianMs, minMs: r.minMs, runs: r.runs, callsPerRun: r.callsPerRun, tflops: flops(c) / (r.medianMs * 1e-3) / 1e12 };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { ...c, ...base, medianMs: NaN, minMs: NaN, runs: 0, tflops: NaN, error: `${err.code ?? 'Error'}: ${err.message ?? String(e)}` };
  }
}

function cases(backends: ('cpu' | 'cuda')[], quick: boolean): Case[] {
  const out: Case[] = [];
  for (const backend of backends) {
    const lengths = backend === 'cpu' ? (quick ? [256, 512] : [256, 512, 1024, 2048, 4096]) : quick ? [1024, 4096] : CUDA_LENGTHS;
    const dims = backend === 'cpu' ? [64] : [64, 128];
    const precision = backend === 'cpu' ? 'fp32' : 'bf16';
    for (const headDim of dims)
      for (const L of lengths) {
        const { batch, heads } = backend === 'cpu' ? { batch: 1, heads: 1 } : cudaBatchHeads(L);
        for (const implementation of ['flash', 'naive'] as const) {
          out.push({ backend, implementation, pass: 'jvp', L, headDim, batch, heads, precision });
          if (backend === 'cuda') out.push({ backend, implementation, pass: 'forward', L, headDim, batch, heads, precision });
        }
      }
  }
  return out;
}

function formatLine(m: Measured): string {
  const head = `${m.backend.padEnd(4)} ${m.pass.padEnd(7)} ${m.implementation.padEnd(5)} L=${String(m.L).padStart(5)} d=${m.headDim} `;
  if (m.error) return `${head}FAILED ${m.error}`;
  if (m.backend === 'cpu') {
    return head + `${m.medianMs.toFixed(2).padStart(10)} ms  ${(m.tflops * 1000).toFixed(2).padStart(8)} GFLOP/s  peak ${(m.peakMemoryBytes! / 2 ** 20).toFixed(1).padStart(7)} MiB`;
  }
  return head + `b·h=${String(m.batch * m.heads).padStart(3)} ${m.precision} ${m.medianMs.toFixed(3).padStart(10)} ms  ${m.tflops.toFixed(2).padStart(8)} TFLOP/s  peak not measured`;
}

const KNOWN_FLAGS = ['--quick', '--cuda-only'];

export async function runAttentionBench(flags: string[]): Promise<void> {
  const unknown = flags.filter((f) => !KNOWN_FLAGS.includes(f) && !f.startsWith('--dump='));
  if (unknown.length) {
    throw new ScmError(`attention benchmark: unknown flag(s) ${unknown.join(', ')} (known: ${KNOWN_FLAGS.join(', ')}, --dump=DIR)`, 'E_ARGUMENT');
  }
  const info = backendInfo();
  const hasCuda = info.available.includes('cuda');
  const dump = flags.find((f) => f.startsWith('--dump='));
  if (dump) {
    const dir = path.resolve(dump.slice('--dump='.length));
    const manifest = await dumpAttentionJvp(dir, hasCuda ? 'cuda' : 'cpu');
    console.log(`wrote ${manifest.cases.length} attention JVP cases (${manifest.backend}, ${manifest.device}) to ${dir}`);
    return;
  }
  const cudaOnly = flags.includes('--cuda-only');
  if (cudaOnly && !hasCuda) throw new ScmError(`attention benchmark: --cuda-only but CUDA is unavailable: ${info.reason}`, 'E_BACKEND_UNAVAILABLE');
  const backends: ('cpu' | 'cuda')[] = hasCuda ? (cudaOnly ? ['cuda'] : ['cuda', 'cpu']) : ['cpu'];
  const quick = flags.includes('--quick');
  const deviceName = hasCuda ? info.cudaDevice?.name ?? info.device?.name : info.device?.name;
  console.log(`attention benchmark on ${backends.join(' + ')} (${deviceName}${info.reason ? `; CUDA not used: ${info.reason}` : ''})`);
  if (hasCuda) console.log(`CUDA cases: bf16 operands, batch·heads·L = ${CUDA_ROWS}, device-resident timing (benchAttention)`);
  const results: Measured[] = [];
  for (const c of cases(backends, quick)) {
    const m = c.backend === 'cuda' ? await measureCuda(c) : measureInChild(c);
    results.push(m);
    console.log(formatLine(m));
  }
  const date = new Date().toISOString();
  const record = {
    suite: 'attention',
    date,
    device: info.device,
    cudaDevice: info.cudaDevice ?? null,
    cpuThreads: info.cpuThreads,
    node: process.version,
    flopModel: 'forward 4·L²·d, JVP 12·L²·d per batch item and head (multiply-add = 2 FLOPs; softmax not counted), times batch·heads',
    cudaRows: hasCuda ? CUDA_ROWS : undefined,
    command: `npm run bench -- attention${flags.length ? ' ' + flags.join(' ') : ''}`,
    results,
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `attention-${backends.join('-')}-${date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
  const failed = results.filter((r) => r.error);
  if (failed.length) {
    console.error(`${failed.length} attention benchmark case(s) failed`);
    process.exitCode = 1;
  }
}

// ---- --dump: inputs and our JVP outputs for the PyTorch peer ----

export interface DumpCase {
  name: string;
  backend: 'cpu' | 'cuda';
  implementation: 'flash' | 'naive';
  precision: 'fp32' | 'bf16' | 'fp16';
  batch: number;
  heads: number;
  lenQ: number;
  lenK: number;
  headDim: number;
  scale: number;
  /** Relative paths (to the manifest) of raw little-endian float32 files. */
  files: Record<'q' | 'k' | 'v' | 'tq' | 'tk' | 'tv' | 'out' | 'tangentOut' | 'lse', string>;
}

export interface DumpManifest {
  format: 'scm-attention-jvp-dump/1';
  date: string;
  backend: 'cpu' | 'cuda';
  device: string;
  layout: string;
  cases: DumpCase[];
}

type DumpShape = Omit<DumpCase, 'name' | 'backend' | 'scale' | 'files'>;

/** The shapes dumped per backend: the bench's bf16 flash path on CUDA plus an fp32 naive one. */
export function dumpShapes(backend: 'cpu' | 'cuda'): DumpShape[] {
  if (backend === 'cuda') {
    return [
      { implementation: 'flash', precision: 'bf16', batch: 2, heads: 4, lenQ: 1024, lenK: 1024, headDim: 64 },
      { implementation: 'flash', precision: 'bf16', batch: 1, heads: 2, lenQ: 2048, lenK: 2048, headDim: 128 },
      { implementation: 'flash', precision: 'bf16', batch: 1, heads: 3, lenQ: 201, lenK: 333, headDim: 64 },
      { implementation: 'naive', precision: 'fp32', batch: 1, heads: 2, lenQ: 512, lenK: 512, headDim: 64 },
    ];
  }
  return [
    { implementation: 'flash', precision: 'fp32', batch: 1, heads: 2, lenQ: 256, lenK: 256, headDim: 64 },
    { implementation: 'naive', precision: 'fp32', batch: 2, heads: 1, lenQ: 37, lenK: 129, headDim: 32 },
  ];
}

function writeF32(file: string, a: Float32Array): void {
  writeFileSync(file, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/**
 * Runs ops.attentionJvp on `backend` at dumpShapes(backend) (or `shapes`) with Philox normal
 * inputs and writes inputs, out, tangentOut and lse under `dir` with `dir/manifest.json`.
 */
export async function dumpAttentionJvp(dir: string, backend: 'cpu' | 'cuda', shapes: DumpShape[] = dumpShapes(backend)): Promise<DumpManifest> {
  if (os.endianness() !== 'LE') throw new ScmError('attention dump: raw float32 files are written little-endian; this host is big-endian', 'E_INTERNAL');
  mkdirSync(dir, { recursive: true });
  const info = backendInfo();
  const cases: DumpCase[] = [];
  let seed = 20261124;
  for (const s of shapes) {
    const name = `${s.implementation}-${s.precision}-b${s.batch}h${s.heads}-lq${s.lenQ}-lk${s.lenK}-d${s.headDim}`;
    const nq = s.batch * s.heads * s.lenQ * s.headDim, nk = s.batch * s.heads * s.lenK * s.headDim;
    const sizes = { q: nq, k: nk, v: nk, tq: nq, tk: nk, tv: nk };
    const inputs: Record<string, Float32Array> = {};
    for (const [key, n] of Object.entries(sizes)) inputs[key] = await ops.randn(n, { seed: seed++, offset: 0, backend: 'cpu' });
    const scale = 1 / Math.sqrt(s.headDim);
    const r = await ops.attentionJvp(inputs.q, inputs.k, inputs.v, inputs.tq, inputs.tk, inputs.tv, {
      batch: s.batch, heads: s.heads, lenQ: s.lenQ, lenK: s.lenK, headDim: s.headDim, scale,
      implementation: s.implementation, precision: s.precision, backend,
    });
    mkdirSync(path.join(dir, name), { recursive: true });
    const arrays: Record<string, Float32Array> = { ...inputs, out: r.out, tangentOut: r.tangentOut, lse: r.lse };
    const files = {} as DumpCase['files'];
    for (const [key, a] of Object.entries(arrays)) {
      const rel = `${name}/${key}.f32`;
      writeF32(path.join(dir, rel), a);
      files[key as keyof DumpCase['files']] = rel;
    }
    cases.push({ name, backend, ...s, scale, files });
  }
  const manifest: DumpManifest = {
    format: 'scm-attention-jvp-dump/1',
    date: new Date().toISOString(),
    backend,
    device: backend === 'cuda' ? info.cudaDevice?.name ?? info.device?.name ?? 'CUDA device' : 'CPU',
    layout: 'q, tq, out, tangentOut: [batch, heads, lenQ, headDim]; k, v, tk, tv: [batch, heads, lenK, headDim]; lse: [batch, heads, lenQ]; row-major float32 little-endian',
    cases,
  };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

if (process.argv[2] === '--child') {
  const c = JSON.parse(process.argv[3]) as Case;
  console.log(JSON.stringify(await measureHere(c)));
}
