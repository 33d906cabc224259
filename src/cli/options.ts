// Option tables of the `scm` commands: one table per command (name, type, default, description)
// from which both the parser and the --help text are made, so the two cannot drift.
//
// Syntax: `--name value` or `--name=value`; flags (type 'flag') take no value; lists are
// comma-separated (`--guidance 1,2`). A value may start with a single '-' (`--proposal-mean -0.8`);
// a token starting with '--' is never taken as a value. Unknown options, options given twice,
// stray arguments, missing required options and malformed values are refused with an ScmError
// (E_ARGUMENT) naming the option and the value.
import { argumentError } from '../errors.js';

interface SpecBase {
  description: string;
  /** Shown in --help after the name, e.g. 'N', 'path'. */
  meta?: string;
  required?: boolean;
  /** Help text for a default the table cannot hold as a value (it depends on the model, the data...). */
  defaultText?: string;
  /** Heading of the --help section the option is listed under. */
  group?: string;
}
interface NumberBounds {
  /** Smallest value accepted (inclusive). */
  min?: number;
  /** Largest value accepted (inclusive). */
  max?: number;
  /** Values must be greater than this (exclusive). */
  above?: number;
  /** Values must be less than this (exclusive). */
  below?: number;
}
export type OptionSpec =
  | (SpecBase & { type: 'string'; default?: string })
  | (SpecBase & { type: 'flag' })
  | (SpecBase & NumberBounds & { type: 'int'; default?: number })
  | (SpecBase & NumberBounds & { type: 'number'; default?: number })
  | (SpecBase & { type: 'choice'; choices: readonly string[]; default?: string })
  | (SpecBase & NumberBounds & { type: 'numbers'; default?: readonly number[]; items?: readonly [number, number] })
  | (SpecBase & NumberBounds & { type: 'ints'; default?: readonly number[]; items?: readonly [number, number] })
  | (SpecBase & { type: 'strings'; default?: readonly string[]; items?: readonly [number, number] });

/** A command's options, by long name without the dashes ('batch-size'), in --help order. */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

type Value<S> = S extends { type: 'flag' }
  ? boolean
  : S extends { type: 'int' | 'number' }
    ? number
    : S extends { type: 'numbers' | 'ints' }
      ? number[]
      : S extends { type: 'strings' }
        ? string[]
        : S extends { type: 'choice'; choices: readonly (infer C)[] }
          ? C
          : string;
type AlwaysSet<S> = S extends { type: 'flag' } ? true : S extends { required: true } ? true : S extends { default: unknown } ? true : false;

/** The parsed values: options with a default, required ones and flags are always present. */
export type OptionValues<T extends OptionTable> = {
  -readonly [K in keyof T]: AlwaysSet<T[K]> extends true ? Value<T[K]> : Value<T[K]> | undefined;
};

export interface Parsed<T extends OptionTable> {
  values: OptionValues<T>;
  /** The options given on the command line (the others hold their defaults). */
  given: ReadonlySet<keyof T & string>;
  /** --help or -h was given: nothing else was checked. */
  help: boolean;
}

/** `--name`, with the meta-variable when the option takes a value. */
export function optionUsage(name: string, spec: OptionSpec): string {
  if (spec.type === 'flag') return `--${name}`;
  return `--${name} <${metaOf(spec)}>`;
}

function metaOf(spec: OptionSpec): string {
  if (spec.meta) return spec.meta;
  switch (spec.type) {
    case 'choice':
      return spec.choices.join('|');
    case 'int':
      return 'N';
    case 'number':
      return 'x';
    case 'numbers':
      return 'x,..';
    case 'ints':
      return 'N,..';
    case 'strings':
      return 'a,..';
    default:
      return 'value';
  }
}

/** The default as the help text shows it, or undefined when there is none. */
export function defaultShown(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.type === 'flag' || spec.default === undefined) return undefined;
  if (Array.isArray(spec.default)) return spec.default.join(',');
  return String(spec.default);
}

// ---- suggestions

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The closest of `candidates` to `word` when it is close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined, bestScore = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const lc = c.toLowerCase();
    let score = editDistance(w, lc);
    // a prefix or a part of a longer name ('--batch' for '--batch-size') is a good guess too
    if (w.length >= 3 && (lc.startsWith(w) || w.startsWith(lc))) score = Math.min(score, 0.5);
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  const allowed = Math.max(1, Math.floor(Math.max(w.length, 3) / 3));
  return bestScore <= allowed ? best : undefined;
}

function didYouMean(word: string, candidates: Iterable<string>, prefix = ''): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean '${prefix}${c}'?)`;
}

// ---- parsing

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

function parseNumber(text: string, what: string, integer: boolean, bounds: NumberBounds): number {
  const t = text.trim().replaceAll('_', '');
  if (!NUMBER.test(t)) throw argumentError(`${what} must be ${integer ? 'an integer' : 'a number'}, got '${text}'`);
  const x = Number(t);
  if (!Number.isFinite(x)) throw argumentError(`${what} must be a finite number, got '${text}'`);
  if (integer && !Number.isSafeInteger(x)) throw argumentError(`${what} must be an integer, got '${text}'`);
  if (bounds.min !== undefined && x < bounds.min) throw argumentError(`${what} must be >= ${bounds.min}, got '${text}'`);
  if (bounds.max !== undefined && x > bounds.max) throw argumentError(`${what} must be <= ${bounds.max}, got '${text}'`);
  if (bounds.above !== undefined && !(x > bounds.above)) throw argumentError(`${what} must be > ${bounds.above}, got '${text}'`);
  if (bounds.below !== undefined && !(x < bounds.below)) throw argumentError(`${what} must be < ${bounds.below}, got '${text}'`);
  return x;
}

function splitList(text: string, what: string, items: readonly [number, number] | undefined): string[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p.length === 0)) throw argumentError(`${what} must be a comma-separated list without empty items, got '${text}'`);
  if (items) {
    const [lo, hi] = items;
    if (parts.length < lo || parts.length > hi) {
      const n = lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`;
      throw argumentError(`${what} takes ${n} comma-separated value${lo === 1 && hi === 1 ? '' : 's'}, got ${parts.length} in '${text}'`);
    }
  }
  return parts;
}

/** One option's value from its text (checked against the spec). */
export function parseValue(name: string, spec: OptionSpec, text: string, command: string): unknown {
  const what = `scm ${command}: --${name}`;
  switch (spec.type) {
    case 'string':
      if (text.length === 0) throw argumentError(`${what} must not be empty`);
      return text;
    case 'int':
      return parseNumber(text, what, true, spec);
    case 'number':
      return parseNumber(text, what, false, spec);
    case 'choice': {
      if (spec.choices.includes(text)) return text;
      throw argumentError(`${what} must be one of ${spec.choices.join(', ')}, got '${text}'${didYouMean(text, spec.choices)}`);
    }
    case 'numbers':
      return splitList(text, what, spec.items).map((p) => parseNumber(p, what, false, spec));
    case 'ints':
      return splitList(text, what, spec.items).map((p) => parseNumber(p, what, true, spec));
    case 'strings':
      return splitList(text, what, spec.items);
    case 'flag':
      throw argumentError(`${what} is a flag and takes no value, got '${text}'`);
  }
}

function defaultValue(spec: OptionSpec): unknown {
  if (spec.type === 'flag') return false;
  const d = spec.default;
  return Array.isArray(d) ? [...d] : d;
}

/**
 * Parses `argv` (the arguments after the command name) against `table`. `--help` / `-h`
 * anywhere short-circuits (values then hold only the defaults).
 */
export function parseOptions<T extends OptionTable>(command: string, table: T, argv: readonly string[]): Parsed<T> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) values[name] = defaultValue(spec);
  const given = new Set<string>();
  if (argv.some((a) => a === '--help' || a === '-h')) return { values: values as OptionValues<T>, given: given as Set<keyof T & string>, help: true };
  const see = ` (see scm ${command} --help)`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      const hint = arg.startsWith('-') && arg.length > 1 ? didYouMean(arg.replace(/^-+/, ''), Object.keys(table), '--') : '';
      throw argumentError(`scm ${command}: unexpected argument '${arg}'${hint || `: options are written --name value${see}`}`);
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!spec) throw argumentError(`scm ${command}: unknown option '--${name}'${didYouMean(name, Object.keys(table), '--') || see}`);
    if (given.has(name)) throw argumentError(`scm ${command}: --${name} is given twice`);
    given.add(name);
    if (spec.type === 'flag') {
      if (eq >= 0) throw argumentError(`scm ${command}: --${name} is a flag and takes no value, got '${arg.slice(eq + 1)}'`);
      values[name] = true;
      continue;
    }
    let text: string;
    if (eq >= 0) text = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw argumentError(`scm ${command}: --${name} needs a value (${optionUsage(name, spec)})`);
      text = next;
      i++;
    }
    values[name] = parseValue(name, spec, text, command);
  }
  const missing = Object.entries(table).filter(([name, spec]) => spec.required && !given.has(name));
  if (missing.length > 0) {
    const list = missing.map(([name, spec]) => optionUsage(name, spec)).join(', ');
    throw argumentError(`scm ${command}: missing required option${missing.length > 1 ? 's' : ''} ${list}${see}`);
  }
  return { values: values as OptionValues<T>, given: given as Set<keyof T & string>, help: false };
}

// ---- help

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line.length > 0 && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}

export interface HelpText {
  /** e.g. 'scm sample --model <path|name> --out <file.png> [options]' */
  usage: string;
  /** What the command does (paragraphs separated by blank lines are kept). */
  summary: string;
  /** Example command lines. */
  examples?: readonly string[];
  /** Closing notes. */
  notes?: string;
}

/** The --help text of a command: every option of the table with its default. */
export function formatHelp(table: OptionTable, text: HelpText, width = 100): string {
  const out: string[] = [`usage: ${text.usage}`, ''];
  for (const paragraph of text.summary.split('\n\n')) out.push(...wrap(paragraph, width), '');
  const groups = new Map<string, [string, OptionSpec][]>();
  for (const [name, spec] of Object.entries(table)) {
    const g = spec.group ?? 'options';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push([name, spec]);
  }
  const heads = Object.entries(table).map(([name, spec]) => optionUsage(name, spec).length);
  const column = Math.min(Math.max(...heads, 10) + 4, 34);
  const descWidth = Math.max(width - column, 30);
  for (const [group, entries] of groups) {
    out.push(`${group}:`);
    for (const [name, spec] of entries) {
      const head = `  ${optionUsage(name, spec)}`;
      const def = defaultShown(spec);
      const tail = spec.required ? ' (required)' : def !== undefined ? ` (default: ${def})` : '';
      const lines = wrap(spec.description + tail, descWidth);
      if (head.length + 2 <= column) out.push(head.padEnd(column) + lines[0]);
      else out.push(head, ' '.repeat(column) + lines[0]);
      for (const l of lines.slice(1)) out.push(' '.repeat(column) + l);
    }
    out.push('');
  }
  out.push(`${'  -h, --help'.padEnd(column)}this text`, '');
  if (text.examples?.length) {
    out.push('examples:');
    for (const e of text.examples) out.push(`  ${e}`);
    out.push('');
  }
  if (text.notes) out.push(...wrap(text.notes, width), '');
  return out.join('\n').trimEnd() + '\n';
}
