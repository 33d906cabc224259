// What every `scm` command is (a name, an option table, help text and a run function) and the
// pieces the commands share: the backend options, describing a model and the machine.
import { backendInfo, setCpuThreads } from '../backend.js';
import { resolveModelPath, type Model } from '../model.js';
import type { ModelChoice } from '../model-config.js';
import { formatHelp, parseOptions, type HelpText, type OptionTable, type OptionValues } from './options.js';

export interface Command<T extends OptionTable = OptionTable> {
  name: string;
  /** One line for `scm help`. */
  summary: string;
  table: T;
  help: HelpText;
  /** Runs with the parsed options; resolves to the exit code. */
  run(values: OptionValues<T>, given: ReadonlySet<keyof T & string>): Promise<number>;
}

/** Keeps T for the run function while the dispatcher holds commands of any table. */
export function defineCommand<T extends OptionTable>(command: Command<T>): Command {
  return command as unknown as Command;
}

/** The command's --help text (terminal width on a TTY, else 100 columns). */
export function helpOf(command: Command): string {
  const width = process.stdout.isTTY && process.stdout.columns ? Math.min(Math.max(process.stdout.columns, 60), 120) : 100;
  return formatHelp(command.table, command.help, width);
}

/** Parses argv for `command` and runs it (or prints its help). */
export async function runCommand(command: Command, argv: readonly string[]): Promise<number> {
  const parsed = parseOptions(command.name, command.table, argv);
  if (parsed.help) {
    process.stdout.write(helpOf(command));
    return 0;
  }
  return command.run(parsed.values, parsed.given);
}

export const BACKEND_OPTIONS = {
  backend: { type: 'choice', choices: ['auto', 'cpu', 'cuda'], default: 'auto', group: 'backend', description: 'where to compute: auto (CUDA when usable, else the CPU), cpu, or cuda (an error, with the reason, when CUDA cannot be used)' },
  threads: { type: 'int', min: 1, max: 4096, meta: 'N', defaultText: 'SCM_NUM_THREADS, else all cores', group: 'backend', description: 'CPU worker threads (the engine and the CPU GEMM library)' },
} as const satisfies OptionTable;

/** Applies --threads. */
export function applyThreads(threads: number | undefined): void {
  if (threads !== undefined) setCpuThreads(threads);
}

/** 'cpu (CPU, 2 threads, GEMM onednn 2.6.3)' or 'cuda (NVIDIA H200)'. */
export function describeBackend(backend: 'cpu' | 'cuda'): string {
  const info = backendInfo();
  if (backend === 'cuda') return `cuda (${info.cudaDevice?.name ?? info.device?.name ?? 'GPU'})`;
  return `cpu (${info.cpuThreads} thread${info.cpuThreads === 1 ? '' : 's'}, GEMM ${info.cpuGemm})`;
}

/** A --model / --teacher value: a bundled name, or a file that must exist. */
export function checkModelSource(command: string, option: string, source: string): void {
  resolveModelPath(source, `scm ${command}: --${option}`);
}

/** '1.23M', '45.6k', '999'. */
export function formatParameters(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** 'consistency model (dit, 1.23M parameters; fashion-mnist, 10 classes, guided)'. */
export function describeModel(model: Model): string {
  const c = model.config;
  const parts = [`${c.kind}, ${formatParameters(model.parameterCount)} parameters`];
  const data = [`data ${model.data.name}`];
  if (c.numClasses > 0) data.push(`${c.numClasses} classes`);
  if (c.guidanceInput) data.push('guidance input');
  const steps = model.training.stepsDone;
  if (typeof steps === 'number') data.push(`${steps} training steps`);
  return `${model.kind} model (${parts.join(', ')}; ${data.join(', ')})`;
}

/** '4.8 MB'. */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** Quotes a word for a POSIX shell when it needs it (for the "resume with" line). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command line this process was started with, as `scm ...`. */
export function commandLine(): string {
  return ['scm', ...process.argv.slice(2)].map(shellQuote).join(' ');
}

/** 'mlp-s (width 32, depth 2)' for a model choice; the default preset when none. */
export function describeChoice(choice: ModelChoice | undefined, data: string): string {
  const fallback = data === 'fashion-mnist' ? 'dit-xs' : 'mlp-s';
  if (choice === undefined) return fallback;
  if (typeof choice === 'string') return choice;
  const { preset, ...rest } = choice;
  const parts = Object.entries(rest).map(([k, x]) => `${k} ${x}`);
  return `${preset ?? fallback}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** The sample options a "next:" suggestion adds for a model: many points, or a row per class. */
export function sampleSuggestion(model: Model): string {
  if (model.config.sampleShape.length === 1) return ' --count 2000';
  return model.config.numClasses > 0 ? ' --per-class 8' : '';
}
