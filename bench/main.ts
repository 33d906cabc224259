// npm run bench [-- suite... flags...]: runs benchmark suites, prints tables, writes JSON under
// bench/results/. Suites: sampling, train, attention, gemm. `--help` lists every flag.
//
// Flags go to the named suites that know them (a flag no named suite knows is refused). With
// no suite named, DEFAULT_RUN runs, each suite at the sizes that fit in a few minutes on a CPU
// (the flags listed there, plus the user's flags each suite knows); `--full` runs them at
// their own default sizes instead.
import { ScmError } from '../src/errors.js';
import { flagHelp, flagName, parseFlags, splitArgs, valueFlags, type FlagSpec } from './args.js';
import { ABLATION_FLAGS, ablationHelp, runAblationBench } from './ablation.js';
import { runAttentionBench } from './attention.js';
import { runGemmBench } from './gemm.js';
import { runSamplingBench, SAMPLING_FLAGS, samplingHelp } from './sampling.js';
import { runTrainBench, TRAIN_FLAGS, trainHelp } from './train.js';

interface Suite {
  run: (flags: string[]) => Promise<void>;
  /** The flags the suite takes (its own parser checks them again). */
  flags: FlagSpec;
  help: () => string;
}

// attention and gemm parse their own flags; their names are listed here for routing and --help.
const ATTENTION_FLAGS = {
  quick: { type: 'boolean', help: 'CPU L = 256, 512; CUDA L = 1024, 4096' },
  'cuda-only': { type: 'boolean', help: 'no CPU cases (fails without CUDA)' },
  dump: { type: 'string', value: 'DIR', help: 'write inputs and our JVP outputs for bench/peers/attention_jvp_torch.py instead of timing' },
} as const satisfies FlagSpec;
const GEMM_FLAGS = {
  quick: { type: 'boolean', help: 'two shapes, 100 ms per path' },
  'no-torch': { type: 'boolean', help: 'skip the PyTorch peer' },
} as const satisfies FlagSpec;

export const SUITES: Record<string, Suite> = {
  sampling: { run: runSamplingBench, flags: SAMPLING_FLAGS, help: samplingHelp },
  train: { run: runTrainBench, flags: TRAIN_FLAGS, help: trainHelp },
  attention: { run: runAttentionBench, flags: ATTENTION_FLAGS, help: () => `npm run bench -- attention [flags]: flash vs naive attention JVP (time, memory)\n${flagHelp(ATTENTION_FLAGS)}` },
  gemm: { run: runGemmBench, flags: GEMM_FLAGS, help: () => `npm run bench -- gemm [flags]: GFLOP/s of the CPU GEMM paths at the training shapes, PyTorch beside\n${flagHelp(GEMM_FLAGS)}` },
  ablation: { run: runAblationBench, flags: ABLATION_FLAGS, help: ablationHelp },
};

/** `npm run bench` with no suite: each suite with the flags that keep it to a few minutes on a CPU. */
export const DEFAULT_RUN: { suite: string; flags: string[] }[] = [
  { suite: 'sampling', flags: ['--quick'] },
  { suite: 'train', flags: ['--quick'] },
  { suite: 'gemm', flags: ['--quick'] },
  { suite: 'attention', flags: ['--quick'] },
];

const GLOBAL_FLAGS = {
  help: { type: 'boolean', help: 'this text' },
  full: { type: 'boolean', help: 'with no suite named: every suite at its own default sizes (not --quick)' },
} as const satisfies FlagSpec;

export function usage(only?: string[]): string {
  if (only?.length) return only.map((s) => SUITES[s].help()).join('\n\n');
  return [
    'npm run bench [-- suite... flags...]',
    `suites: ${Object.keys(SUITES).join(', ')}; with none named: ${DEFAULT_RUN.map((d) => `${d.suite} ${d.flags.join(' ')}`.trim()).join(', ')}`,
    flagHelp(GLOBAL_FLAGS),
    '',
    ...Object.values(SUITES).map((s) => s.help() + '\n'),
  ].join('\n');
}

/**
 * The suites to run and the flags for each. Throws (E_ARGUMENT) on an unknown suite or a flag
 * that none of the chosen suites takes.
 */
export function plan(argv: readonly string[]): { help: boolean; suitesNamed: string[]; runs: { suite: string; flags: string[] }[] } {
  const takesValue = new Set(Object.values(SUITES).flatMap((s) => valueFlags(s.flags)));
  const { suites, flags } = splitArgs(argv, takesValue);
  const unknown = suites.filter((w) => !(w in SUITES));
  if (unknown.length) throw new ScmError(`bench: unknown suite(s) ${unknown.join(', ')} (known: ${Object.keys(SUITES).join(', ')}; --help lists the flags)`, 'E_ARGUMENT');
  const global = flags.filter((f) => flagName(f) in GLOBAL_FLAGS);
  const g = parseFlags('bench', global, GLOBAL_FLAGS);
  const rest = flags.filter((f) => !(flagName(f) in GLOBAL_FLAGS));
  const chosen = suites.length ? suites.map((suite) => ({ suite, flags: [] as string[] })) : DEFAULT_RUN.map((d) => ({ suite: d.suite, flags: g.full ? [] : [...d.flags] }));
  for (const f of rest) {
    const takers = chosen.filter((c) => flagName(f) in SUITES[c.suite].flags);
    if (!takers.length) {
      const owners = Object.keys(SUITES).filter((s) => flagName(f) in SUITES[s].flags);
      throw new ScmError(`bench: flag ${f.split('=')[0]} is not taken by ${chosen.map((c) => c.suite).join(', ')}${owners.length ? ` (it is a flag of ${owners.join(', ')})` : ''}; --help lists the flags`, 'E_ARGUMENT');
    }
    for (const t of takers) if (!t.flags.includes(f)) t.flags.push(f);
  }
  return { help: g.help === true, suitesNamed: suites, runs: chosen };
}

async function main(): Promise<void> {
  let p: ReturnType<typeof plan>;
  try {
    p = plan(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 2;
    return;
  }
  if (p.help) {
    console.log(usage(p.suitesNamed));
    return;
  }
  for (const r of p.runs) {
    console.log(`\n=== ${r.suite}${r.flags.length ? ' ' + r.flags.join(' ') : ''} ===`);
    await SUITES[r.suite].run(r.flags);
  }
}

if (process.argv[1] && /bench[/\\]main\.(js|ts)$/.test(process.argv[1])) await main();
