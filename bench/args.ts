// Command-line flags of the benchmark suites: `--name`, `--name=value` or `--name value` (the
// last only for flags that take a value), checked against a suite's spec, typed, with --help
// text built from the same spec.
import { ScmError } from '../src/errors.js';

export type FlagType = 'boolean' | 'int' | 'number' | 'string' | 'ints' | 'strings';

export interface FlagDef {
  type: FlagType;
  help: string;
  /** Placeholder of the value in --help (default from the type). */
  value?: string;
  /** Smallest allowed number (int, number, ints). */
  min?: number;
  /** Allowed values (string, strings). */
  choices?: readonly string[];
}

export type FlagSpec = Record<string, FlagDef>;

type ValueOf<D extends FlagDef> = D['type'] extends 'boolean' ? boolean
  : D['type'] extends 'int' | 'number' ? number
  : D['type'] extends 'string' ? string
  : D['type'] extends 'ints' ? number[]
  : string[];

/** The parsed flags: each present flag's value, undefined when absent. */
export type ParsedFlags<S extends FlagSpec> = { [K in keyof S]: ValueOf<S[K]> | undefined };

function argError(where: string, message: string): ScmError {
  return new ScmError(`${where}: ${message}`, 'E_ARGUMENT');
}

function parseNumber(where: string, name: string, text: string, def: FlagDef, integer: boolean): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v))) {
    throw argError(where, `--${name} takes ${integer ? 'an integer' : 'a number'}, got '${text}'`);
  }
  if (def.min !== undefined && v < def.min) throw argError(where, `--${name} must be >= ${def.min}, got ${v}`);
  return v;
}

function parseChoice(where: string, name: string, text: string, def: FlagDef): string {
  if (text === '') throw argError(where, `--${name} takes a value`);
  if (def.choices && !def.choices.includes(text)) throw argError(where, `--${name} must be one of ${def.choices.join(', ')}, got '${text}'`);
  return text;
}

/**
 * Parses `flags` (each '--name' or '--name=value') against `spec`. Unknown flags, a value
 * given to a boolean, a missing or malformed value and repeated flags are refused with an
 * E_ARGUMENT ScmError naming the flag.
 */
export function parseFlags<S extends FlagSpec>(where: string, flags: readonly string[], spec: S): ParsedFlags<S> {
  const out: Record<string, unknown> = {};
  for (const f of flags) {
    if (!f.startsWith('--')) throw argError(where, `unexpected argument '${f}' (flags start with --)`);
    const eq = f.indexOf('=');
    const name = f.slice(2, eq < 0 ? undefined : eq);
    const text = eq < 0 ? undefined : f.slice(eq + 1);
    const def = spec[name];
    if (!def) throw argError(where, `unknown flag --${name} (known: ${Object.keys(spec).map((k) => '--' + k).join(', ')}; --help lists them)`);
    if (name in out) throw argError(where, `--${name} is given twice`);
    if (def.type === 'boolean') {
      if (text !== undefined) throw argError(where, `--${name} takes no value, got '${text}'`);
      out[name] = true;
      continue;
    }
    if (text === undefined) throw argError(where, `--${name} takes a value (--${name}=${def.value ?? placeholder(def)})`);
    switch (def.type) {
      case 'int': out[name] = parseNumber(where, name, text, def, true); break;
      case 'number': out[name] = parseNumber(where, name, text, def, false); break;
      case 'string': out[name] = parseChoice(where, name, text, def); break;
      case 'ints': out[name] = text.split(',').map((x) => parseNumber(where, name, x, def, true)); break;
      case 'strings': out[name] = text.split(',').map((x) => parseChoice(where, name, x, def)); break;
    }
  }
  return out as ParsedFlags<S>;
}

function placeholder(def: FlagDef): string {
  if (def.choices) return def.type === 'strings' ? `${def.choices.join('|')},...` : def.choices.join('|');
  return { boolean: '', int: 'N', number: 'X', string: 'S', ints: 'N,N,...', strings: 'S,S,...' }[def.type];
}

/** --help lines of a spec. */
export function flagHelp(spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([name, def]) => [`--${name}${def.type === 'boolean' ? '' : `=${def.value ?? placeholder(def)}`}`, def.help]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n');
}

/** The flags of `spec` that take a value (for `--name value` splitting). */
export function valueFlags(spec: FlagSpec): string[] {
  return Object.entries(spec).filter(([, d]) => d.type !== 'boolean').map(([n]) => n);
}

/**
 * Splits a command line into suite names and flags, normalising `--name value` to
 * `--name=value` for the flags in `takesValue` (when the next word is not a flag).
 */
export function splitArgs(argv: readonly string[], takesValue: ReadonlySet<string>): { suites: string[]; flags: string[] } {
  const suites: string[] = [], flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      suites.push(a);
      continue;
    }
    if (!a.includes('=') && takesValue.has(a.slice(2)) && i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      flags.push(`${a}=${argv[++i]}`);
    } else flags.push(a);
  }
  return { suites, flags };
}

/** The name of a flag ('--a=b' -> 'a'). */
export function flagName(flag: string): string {
  const eq = flag.indexOf('=');
  return flag.slice(2, eq < 0 ? undefined : eq);
}
