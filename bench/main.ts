// npm run bench [-- suite...]: runs benchmark suites, prints a table, writes JSON under
// bench/results/. Suites: attention, gemm.
import { runAttentionBench } from './attention.js';
import { runGemmBench } from './gemm.js';

const SUITES: Record<string, (args: string[]) => Promise<void>> = {
  attention: runAttentionBench,
  gemm: runGemmBench,
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const wanted = args.filter((a) => !a.startsWith('--'));
  const flags = args.filter((a) => a.startsWith('--'));
  const unknown = wanted.filter((w) => !(w in SUITES));
  if (unknown.length) {
    console.error(`unknown benchmark suite(s): ${unknown.join(', ')} (known: ${Object.keys(SUITES).join(', ')})`);
    process.exitCode = 2;
    return;
  }
  for (const name of wanted.length ? wanted : Object.keys(SUITES)) await SUITES[name](flags);
}

await main();
