// GEMM benchmark (`npm run bench -- gemm`): GFLOP/s of the CPU GEMM paths at the training
// shapes, with PyTorch CPU measured in the same run when it is installed.
//
// Shapes: a linear layer Y = X·Wᵀ (X: m x k activations, W: n x k weights) and its backward
// products, dX = dY·W (m x k, inner n) and dW = dYᵀ·X (n x k, inner m, A transposed), for
// 6272x512x128, 6272x128x512, 256x1152x384 and 49x128x128 batched x128. FLOPs = 2·m·n·k·batch.
//
// Paths (native/cpu/gemm_dispatch.h), each timed by the addon's benchGemm on operands allocated
// and filled once (device-resident: no JavaScript copies in the timed region; see
// native/binding/bench_gemm.cc), C fresh (beta = 0):
//   builtin         the engine's own kernel, fp32;
//   library fp32    the CPU GEMM library (oneDNN / OpenBLAS): the default fp32 path;
//   library bf16    precision 'bf16' on fp32 operands (rounded to bf16 on every call);
//   bf16 operands   precision 'bf16' on operands kept in bf16 (converted once, as model code
//                   can keep weights), the bf16 path to compare with PyTorch's bf16 tensors.
// Without a library in the build the three library rows are the builtin kernel's.
// Timing: warm-up, samples of ~1 ms, at least MIN_RUNS samples and MIN_MS ms per path; best
// and median time per call; GFLOP/s from each.
//
// PyTorch: bench/peers/gemm_torch.py (torch.matmul on the same layouts, fp32 and bf16 tensors,
// at the same thread count), run right after our paths of each shape, twice: with the
// environment's OMP_WAIT_POLICY (OpenMP's default: threads spin after a parallel region) and
// with OMP_WAIT_POLICY=PASSIVE. On a machine where another process holds a core, the spinning
// OpenMP team of PyTorch loses up to half its speed (measured: 6272x512x128 fp32, 2 threads,
// 42 GFLOP/s default, 79 passive); PASSIVE can also cost it on small products. The ratios are
// taken against the FASTER of the two (per time statistic), so they never flatter us. Without
// torch the bench says "torch not installed" and goes on.
// Targets (issue 7): library fp32 >= 0.9x PyTorch fp32; bf16 operands >= 0.8x PyTorch bf16,
// judged per shape on the best time and on the median time.
//
// Flags: --quick (MIN_MS 100, the 6272x512x128 and batched shapes only), --no-torch.
// Results: bench/results/gemm-cpu-<date>.json with the device, date, commit and command.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo } from '../src/index.js';
import { ScmError } from '../src/errors.js';
import { native } from '../src/native.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const resultsDir = path.join(repo, 'bench', 'results');

const MIN_RUNS = 10;

export interface GemmCase {
  name: string;
  layer: string;
  pass: 'forward' | 'dX' | 'dW';
  m: number;
  n: number;
  k: number;
  batch: number;
  transA: boolean;
  transB: boolean;
}

interface BenchGemmDesc {
  m: number; n: number; k: number; batch?: number; transA?: boolean; transB?: boolean;
  precision?: 'fp32' | 'tf32' | 'bf16'; aType?: 'f32' | 'bf16'; bType?: 'f32' | 'bf16';
}
export interface BenchGemmResult {
  medianMs: number; minMs: number; runs: number; callsPerRun: number; totalMs: number; backend: 'cpu' | 'cuda'; path: string;
}
type BenchGemmFn = (desc: BenchGemmDesc, path: 'default' | 'builtin' | 'library', minRuns: number, minMs: number,
  backend: 'cpu' | 'cuda' | 'auto', abort?: Int32Array) => Promise<BenchGemmResult>;

/** The addon's benchGemm (a local typed view: a benchmark tool, not public API). */
export function benchGemmNative(): BenchGemmFn {
  const addon = native() as unknown as { benchGemm?: BenchGemmFn };
  if (typeof addon.benchGemm !== 'function') {
    throw new ScmError("this build of the scm-native addon has no 'benchGemm'; rebuild it (npm run rebuild)", 'E_INTERNAL');
  }
  return addon.benchGemm.bind(addon);
}

const LAYERS = [
  { layer: '6272x512x128', m: 6272, n: 512, k: 128, batch: 1 },
  { layer: '6272x128x512', m: 6272, n: 128, k: 512, batch: 1 },
  { layer: '256x1152x384', m: 256, n: 1152, k: 384, batch: 1 },
  { layer: '49x128x128 x128', m: 49, n: 128, k: 128, batch: 128 },
];

/** Forward Y = X·Wᵀ and the backward dX = dY·W, dW = dYᵀ·X of each layer shape. */
export function gemmCases(quick = false): GemmCase[] {
  const layers = quick ? [LAYERS[0], LAYERS[3]] : LAYERS;
  return layers.flatMap(({ layer, m, n, k, batch }) => [
    { name: `${layer} Y=X·Wᵀ`, layer, pass: 'forward' as const, m, n, k, batch, transA: false, transB: true },
    { name: `${layer} dX=dY·W`, layer, pass: 'dX' as const, m, n: k, k: n, batch, transA: false, transB: false },
    { name: `${layer} dW=dYᵀ·X`, layer, pass: 'dW' as const, m: n, n: k, k: m, batch, transA: true, transB: false },
  ]);
}

const PATHS = [
  { id: 'builtin', path: 'builtin', desc: {} },
  { id: 'library fp32', path: 'library', desc: {} },
  { id: 'library bf16', path: 'library', desc: { precision: 'bf16' } },
  { id: 'bf16 operands', path: 'library', desc: { precision: 'bf16', aType: 'bf16', bType: 'bf16' } },
] as const;

function flops(c: GemmCase): number {
  return 2 * c.m * c.n * c.k * c.batch;
}

interface TorchRow { name: string; dtype: 'fp32' | 'bf16'; bestMs: number; medianMs: number; runs: number; callsPerRun: number; ompWaitPolicy?: string }
interface TorchRun { torch: string; threads: number; mkldnnBf16: boolean | null; results: TorchRow[] }

/** Runs the PyTorch peer on `cases`, or says why it cannot run. */
function runTorch(cases: GemmCase[], threads: number, minMs: number, ompWaitPolicy?: string): TorchRun | { unavailable: string } {
  const script = path.join(repo, 'bench', 'peers', 'gemm_torch.py');
  const input = JSON.stringify({ threads, minMs, minRuns: MIN_RUNS, cases });
  const env = { ...process.env, ...(ompWaitPolicy ? { OMP_WAIT_POLICY: ompWaitPolicy } : {}) };
  const r = spawnSync('python3', [script], { input, encoding: 'utf8', maxBuffer: 1 << 24, env });
  if (r.error) return { unavailable: `python3 cannot run (${r.error.message})` };
  if (r.status === 3) return { unavailable: r.stderr.trim() || 'torch not installed' };
  if (r.status !== 0) return { unavailable: `the PyTorch peer failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}` };
  return JSON.parse(r.stdout) as TorchRun;
}

function commit(): string {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) return 'unknown (not a git checkout)';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repo, encoding: 'utf8' }).stdout.trim();
  return r.stdout.trim() + (dirty ? ' (with uncommitted changes)' : '');
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

function cpuFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    const all = new Set(line ? line.split(':')[1].trim().split(/\s+/) : []);
    return ['avx2', 'fma', 'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile'].filter((f) => all.has(f));
  } catch {
    return [];
  }
}

const gf = (c: GemmCase, ms: number) => flops(c) / (ms * 1e-3) / 1e9;

export async function runGemmBench(flags: string[]): Promise<void> {
  const known = new Set(['--quick', '--no-torch']);
  const unknown = flags.filter((f) => !known.has(f));
  if (unknown.length) throw new ScmError(`gemm bench: unknown flag(s) ${unknown.join(', ')} (known: ${[...known].join(', ')})`, 'E_ARGUMENT');
  const quick = flags.includes('--quick');
  const minMs = quick ? 100 : 300;
  const info = backendInfo();
  const bench = benchGemmNative();
  const cases = gemmCases(quick);
  const threads = info.cpuThreads;
  console.log(`gemm benchmark on the CPU (${cpuModel()}; ${os.cpus().length} cores, ${threads} threads; flags ${cpuFlags().join(' ')})`);
  console.log(`CPU GEMM: ${info.cpuGemm}, bf16: ${info.cpuGemmBf16}${info.cpuGemm === 'builtin' ? ' (no library: the library rows are the builtin kernel)' : ''}`);

  // PyTorch runs right after our paths of each case (one peer process per case), so that both
  // see the same machine load.
  let torch: TorchRun | { unavailable: string } | null = null;
  const torchRows: TorchRow[] = [];
  if (flags.includes('--no-torch')) console.log('PyTorch peer skipped (--no-torch)');
  const rows: Record<string, unknown>[] = [];
  for (const c of cases) {
    for (const p of PATHS) {
      const where = info.cpuGemm === 'builtin' && p.path === 'library' ? 'default' : p.path;
      const r = await bench({ m: c.m, n: c.n, k: c.k, batch: c.batch, transA: c.transA, transB: c.transB, ...p.desc }, where, MIN_RUNS, minMs, 'cpu');
      const row = { case: c.name, pass: c.pass, m: c.m, n: c.n, k: c.k, batch: c.batch, transA: c.transA, transB: c.transB, path: p.id,
        bestMs: r.minMs, medianMs: r.medianMs, runs: r.runs, callsPerRun: r.callsPerRun, gflopsBest: gf(c, r.minMs), gflopsMedian: gf(c, r.medianMs) };
      rows.push(row);
      console.log(`${c.name.padEnd(28)} ${p.id.padEnd(14)} best ${row.gflopsBest.toFixed(1).padStart(7)} GFLOP/s  median ${row.gflopsMedian.toFixed(1).padStart(7)} GFLOP/s  (${r.runs} samples)`);
    }
    for (const policy of [process.env.OMP_WAIT_POLICY ?? 'default', 'PASSIVE']) {
      if (flags.includes('--no-torch') || (torch && 'unavailable' in torch)) break;
      torch = runTorch([c], threads, minMs, policy === 'default' ? undefined : policy);
      if ('unavailable' in torch) console.log(`PyTorch peer: ${torch.unavailable}; continuing without it`);
      else {
        for (const tr of torch.results) {
          torchRows.push({ ...tr, ompWaitPolicy: policy });
          console.log(`${c.name.padEnd(28)} ${`torch ${tr.dtype} ${policy === 'PASSIVE' ? 'pass.' : 'dflt'}`.padEnd(14)} best ${gf(c, tr.bestMs).toFixed(1).padStart(7)} GFLOP/s  median ${gf(c, tr.medianMs).toFixed(1).padStart(7)} GFLOP/s  (${tr.runs} samples)`);
        }
      }
    }
  }
  if (torch && !('unavailable' in torch)) torch = { ...torch, results: torchRows };

  const comparisons: Record<string, unknown>[] = [];
  if (torch && !('unavailable' in torch)) {
    const t = torch;
    console.log(`PyTorch ${t.torch} CPU, ${t.threads} threads (mkldnn bf16 supported: ${t.mkldnnBf16})`);
    const find = (name: string, id: string) => rows.find((r) => r.case === name && r.path === id) as { gflopsBest: number; gflopsMedian: number };
    for (const c of cases) {
      for (const [ours, dtype, target] of [['library fp32', 'fp32', 0.9], ['bf16 operands', 'bf16', 0.8], ['library bf16', 'bf16', null]] as const) {
        const trs = t.results.filter((r) => r.name === c.name && r.dtype === dtype);
        const o = find(c.name, ours);
        const torchBest = Math.max(...trs.map((r) => gf(c, r.bestMs))), torchMedian = Math.max(...trs.map((r) => gf(c, r.medianMs)));
        const cmp = { case: c.name, ours, torch: dtype, oursGflopsBest: o.gflopsBest, oursGflopsMedian: o.gflopsMedian,
          torchGflopsBest: torchBest, torchGflopsMedian: torchMedian, ratioBest: o.gflopsBest / torchBest, ratioMedian: o.gflopsMedian / torchMedian,
          target, metBest: target === null ? null : o.gflopsBest / torchBest >= target, metMedian: target === null ? null : o.gflopsMedian / torchMedian >= target };
        comparisons.push(cmp);
        console.log(`${c.name.padEnd(28)} ${ours.padEnd(14)} vs torch ${dtype} (faster policy): torch best ${torchBest.toFixed(1).padStart(7)} GFLOP/s, ratio best ${cmp.ratioBest.toFixed(2)}, median ${cmp.ratioMedian.toFixed(2)}${target === null ? '' : `  (target ${target}: ${cmp.metBest ? 'met' : 'NOT met'} on best, ${cmp.metMedian ? 'met' : 'NOT met'} on median)`}`);
      }
    }
    for (const [ours, target] of [['library fp32', 0.9], ['bf16 operands', 0.8]] as const) {
      const sel = comparisons.filter((x) => x.ours === ours);
      console.log(`target ${ours} >= ${target}x torch: met on ${sel.filter((x) => x.metBest).length}/${sel.length} shapes (best), ${sel.filter((x) => x.metMedian).length}/${sel.length} (median)`);
    }
  }

  const date = new Date().toISOString();
  const record = {
    suite: 'gemm',
    date,
    commit: commit(),
    command: `npm run bench -- gemm${flags.length ? ' ' + flags.join(' ') : ''}`,
    device: { cpu: cpuModel(), cores: os.cpus().length, flags: cpuFlags(), threads },
    cpuGemm: info.cpuGemm,
    cpuGemmBf16: info.cpuGemmBf16,
    node: process.version,
    flopModel: '2·m·n·k·batch',
    timing: `benchGemm: operands allocated and filled once (Philox normal; bf16 operands converted once), C poisoned and checked finite, warm-up, ~1 ms samples, >= ${MIN_RUNS} samples and >= ${minMs} ms per path; best and median per call`,
    results: rows,
    torch: torch === null ? { unavailable: 'skipped (--no-torch)' } : 'unavailable' in torch ? torch : { version: torch.torch, threads: torch.threads, mkldnnBf16: torch.mkldnnBf16, results: torch.results },
    comparisons,
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `gemm-cpu-${date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
