// Attention benchmark: the tiled (flash-style) JVP against the naive materialised JVP on the
// active backend(s), time and peak memory, for L = 256 … 4096 on the CPU.
//
// FLOP model (per batch item and head, Lq = Lk = L, head dim d), counting a multiply-add as 2:
//   forward: S = QKᵀ (2L²d) + PV (2L²d)                                  = 4 L² d
//   JVP:     forward + Ṡ = Q̇Kᵀ + QK̇ᵀ (4L²d) + (P⊙Ṡ)V (2L²d) + PV̇ (2L²d) = 12 L² d
// Softmax and elementwise terms (O(L²)) are not counted. TFLOP/s = model FLOPs / median time.
//
// Each case runs in a child process so that its peak resident memory (maxRSS minus the RSS
// just before the timed calls, inputs already allocated) is the case's own.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, ops } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.resolve(here, '..', '..', 'bench', 'results');

interface Case {
  backend: 'cpu' | 'cuda';
  implementation: 'flash' | 'naive';
  pass: 'forward' | 'jvp';
  L: number;
  headDim: number;
  heads: number;
  precision: 'fp32' | 'bf16';
}

interface Measured extends Case {
  medianMs: number;
  minMs: number;
  runs: number;
  tflops: number;
  peakMemoryBytes: number;
  memoryMethod: string;
}

function flops(c: Case): number {
  return (c.pass === 'jvp' ? 12 : 4) * c.L * c.L * c.headDim * c.heads;
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

/** Runs one case in this process (the child side). */
async function measureHere(c: Case): Promise<Measured> {
  const n = c.heads * c.L * c.headDim;
  const [q, k, v, tq, tk, tv] = [1, 2, 3, 4, 5, 6].map((s) => randomInput(n, s * 7919 + c.L));
  const shape = { batch: 1, heads: c.heads, lenQ: c.L, lenK: c.L, headDim: c.headDim, implementation: c.implementation, precision: c.precision, backend: c.backend };
  const run = () => (c.pass === 'jvp' ? ops.attentionJvp(q, k, v, tq, tk, tv, shape) : ops.attention(q, k, v, shape));
  const rssBefore = process.memoryUsage().rss;
  await run(); // warm-up
  const times: number[] = [];
  const deadline = performance.now() + 4000;
  while (times.length < 3 || (times.length < 20 && performance.now() < deadline)) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const peak = process.resourceUsage().maxRSS * 1024 - rssBefore;
  return {
    ...c,
    medianMs: median,
    minMs: times[0],
    runs: times.length,
    tflops: flops(c) / (median * 1e-3) / 1e12,
    peakMemoryBytes: Math.max(0, peak),
    memoryMethod: c.backend === 'cpu' ? 'child-process maxRSS minus RSS before the first call (inputs allocated)' : 'host RSS only (device memory not measured)',
  };
}

function measureInChild(c: Case): Measured {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(c)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`benchmark case ${JSON.stringify(c)} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

function cases(backends: ('cpu' | 'cuda')[], quick: boolean): Case[] {
  const out: Case[] = [];
  for (const backend of backends) {
    const lengths = backend === 'cpu' ? (quick ? [256, 512] : [256, 512, 1024, 2048, 4096]) : [256, 512, 1024, 2048, 4096, 8192];
    const dims = backend === 'cpu' ? [64] : [64, 128];
    const precision = backend === 'cpu' ? 'fp32' : 'bf16';
    for (const headDim of dims)
      for (const L of lengths) {
        for (const implementation of ['flash', 'naive'] as const) {
          out.push({ backend, implementation, pass: 'jvp', L, headDim, heads: 1, precision });
          if (backend === 'cuda') out.push({ backend, implementation, pass: 'forward', L, headDim, heads: 1, precision });
        }
      }
  }
  return out;
}

export async function runAttentionBench(flags: string[]): Promise<void> {
  const info = backendInfo();
  const backends: ('cpu' | 'cuda')[] = info.available.includes('cuda') ? ['cuda', 'cpu'] : ['cpu'];
  const quick = flags.includes('--quick');
  console.log(`attention benchmark on ${backends.join(' + ')} (${info.device?.name}${info.reason ? `; CUDA not used: ${info.reason}` : ''})`);
  const results: Measured[] = [];
  for (const c of cases(backends, quick)) {
    const m = measureInChild(c);
    results.push(m);
    console.log(
      `${m.backend.padEnd(4)} ${m.pass.padEnd(7)} ${m.implementation.padEnd(5)} L=${String(m.L).padStart(5)} d=${m.headDim} ` +
        `${m.medianMs.toFixed(2).padStart(10)} ms  ${(m.tflops * 1000).toFixed(2).padStart(8)} GFLOP/s  peak ${(m.peakMemoryBytes / 2 ** 20).toFixed(1).padStart(7)} MiB`,
    );
  }
  const date = new Date().toISOString();
  const record = {
    suite: 'attention',
    date,
    device: info.device,
    cudaDevice: info.cudaDevice ?? null,
    cpuThreads: info.cpuThreads,
    node: process.version,
    flopModel: 'forward 4·L²·d, JVP 12·L²·d per head (multiply-add = 2 FLOPs; softmax not counted)',
    command: `npm run bench -- attention${quick ? ' --quick' : ''}`,
    results,
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `attention-${backends.join('-')}-${date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

if (process.argv[2] === '--child') {
  const c = JSON.parse(process.argv[3]) as Case;
  console.log(JSON.stringify(await measureHere(c)));
}
