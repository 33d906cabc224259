// Command-line parsing of the benchmark (bench/args.ts, the suite routing of bench/main.ts and
// the sampling / train suites' own checks).
import { describe, expect, test } from 'vitest';
import { flagHelp, parseFlags, splitArgs, valueFlags, type FlagSpec } from '../bench/args.js';
import { DEFAULT_RUN, plan, usage } from '../bench/main.js';
import { parseSamplingFlags, samplingSettings } from '../bench/sampling.js';
import { parseTrainFlags } from '../bench/train.js';
import { ScmError } from '../src/errors.js';

const SPEC = {
  quick: { type: 'boolean', help: 'q' },
  n: { type: 'int', min: 1, help: 'n' },
  x: { type: 'number', help: 'x' },
  name: { type: 'string', help: 'name' },
  mode: { type: 'string', choices: ['a', 'b'], help: 'mode' },
  sizes: { type: 'ints', min: 1, help: 'sizes' },
  tags: { type: 'strings', choices: ['p', 'q'], help: 'tags' },
} as const satisfies FlagSpec;

function refused(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ScmError);
    expect((e as ScmError).code).toBe('E_ARGUMENT');
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected a refusal matching ${message}`);
}

describe('parseFlags', () => {
  test('typed values, absent flags undefined', () => {
    const o = parseFlags('t', ['--quick', '--n=3', '--x=-0.5', '--name=a=b', '--mode=b', '--sizes=1,64', '--tags=q,p'], SPEC);
    expect(o).toEqual({ quick: true, n: 3, x: -0.5, name: 'a=b', mode: 'b', sizes: [1, 64], tags: ['q', 'p'] });
    expect(parseFlags('t', [], SPEC).quick).toBeUndefined();
  });

  test('refusals name the flag', () => {
    refused(() => parseFlags('t', ['--nope'], SPEC), /unknown flag --nope/);
    refused(() => parseFlags('t', ['--quick=1'], SPEC), /--quick takes no value/);
    refused(() => parseFlags('t', ['--n'], SPEC), /--n takes a value/);
    refused(() => parseFlags('t', ['--n=1.5'], SPEC), /--n takes an integer, got '1.5'/);
    refused(() => parseFlags('t', ['--n=0'], SPEC), /--n must be >= 1/);
    refused(() => parseFlags('t', ['--x=abc'], SPEC), /--x takes a number/);
    refused(() => parseFlags('t', ['--x='], SPEC), /--x takes a number/);
    refused(() => parseFlags('t', ['--mode=c'], SPEC), /--mode must be one of a, b/);
    refused(() => parseFlags('t', ['--sizes=1,,2'], SPEC), /--sizes takes an integer/);
    refused(() => parseFlags('t', ['--tags=p,z'], SPEC), /--tags must be one of p, q/);
    refused(() => parseFlags('t', ['--n=1', '--n=2'], SPEC), /--n is given twice/);
    refused(() => parseFlags('t', ['plain'], SPEC), /unexpected argument 'plain'/);
  });

  test('help lists every flag with its value form; valueFlags are the non-booleans', () => {
    const h = flagHelp(SPEC);
    for (const k of Object.keys(SPEC)) expect(h).toContain(`--${k}`);
    expect(h).toContain('--mode=a|b');
    expect(valueFlags(SPEC)).toEqual(['n', 'x', 'name', 'mode', 'sizes', 'tags']);
  });

  test('splitArgs: suites, flags, `--name value` for value flags only', () => {
    expect(splitArgs(['sampling', '--teacher', 'a.st', '--quick', 'train', '--n=2'], new Set(['teacher', 'n']))).toEqual({
      suites: ['sampling', 'train'], flags: ['--teacher=a.st', '--quick', '--n=2'],
    });
    // a boolean never swallows the next word; a value flag before another flag is left as is (and refused later)
    expect(splitArgs(['--quick', 'train', '--teacher', '--quick'], new Set(['teacher']))).toEqual({ suites: ['train'], flags: ['--quick', '--teacher', '--quick'] });
  });
});

describe('bench/main.ts routing', () => {
  test('named suites get the flags they know', () => {
    const p = plan(['sampling', 'train', '--quick', '--teacher', 't.st', '--student=s.st', '--no-torch']);
    expect(p.runs).toEqual([
      { suite: 'sampling', flags: ['--quick', '--teacher=t.st', '--student=s.st'] },
      { suite: 'train', flags: ['--quick', '--no-torch'] },
    ]);
    expect(p.help).toBe(false);
  });

  test('no suite: the default run, --quick each, user flags routed; --full keeps the suites\' own sizes', () => {
    const p = plan(['--toy']);
    expect(p.runs.map((r) => r.suite)).toEqual(DEFAULT_RUN.map((d) => d.suite));
    expect(p.runs.find((r) => r.suite === 'sampling')!.flags).toEqual(['--quick', '--toy']);
    expect(p.runs.find((r) => r.suite === 'train')!.flags).toEqual(['--quick']);
    const full = plan(['--full']);
    expect(full.runs.every((r) => r.flags.length === 0)).toBe(true);
  });

  test('refuses unknown suites and flags no chosen suite takes; --help', () => {
    refused(() => plan(['sampel']), /unknown suite\(s\) sampel/);
    refused(() => plan(['attention', '--toy']), /flag --toy is not taken by attention \(it is a flag of sampling\)/);
    refused(() => plan(['train', '--bogus']), /flag --bogus is not taken by train/);
    expect(plan(['--help']).help).toBe(true);
    const u = usage();
    for (const s of ['sampling', 'train', 'attention', 'gemm', '--quality-n', '--torch-compile', '--dump']) expect(u).toContain(s);
    expect(usage(['train'])).not.toContain('--quality-n');
  });
});

describe('suite flags', () => {
  test('sampling: defaults, quick sizes, 63 always in the sweep', () => {
    const d = samplingSettings(parseSamplingFlags([]));
    expect(d.batches).toEqual([1, 64]);
    expect(d.nfe).toEqual([7, 15, 31, 63, 127]);
    expect(d.qualityN).toBeUndefined();
    expect(d.repeat).toEqual({ warmup: 1, minRuns: 3, minTimeMs: 1000, maxRuns: 100, maxTimeMs: 30_000 });
    const q = samplingSettings(parseSamplingFlags(['--quick', '--nfe=15,7', '--batch=2', '--quality-n=50', '--no-plot']));
    expect(q.nfe).toEqual([7, 15, 63]);
    expect(q.batches).toEqual([2]);
    expect(q.qualityN).toBe(50);
    expect(q.plot).toBe(false);
    expect(q.repeat.maxTimeMs).toBe(8000);
  });

  test('sampling: refusals', () => {
    refused(() => parseSamplingFlags(['--nfe=8']), /must be odd/);
    refused(() => parseSamplingFlags(['--toy', '--teacher=a', '--student=b']), /--toy trains its own models/);
    refused(() => parseSamplingFlags(['--teacher=a']), /--teacher and --student together/);
    refused(() => parseSamplingFlags(['--toy-steps=5']), /TEACHER,STUDENT/);
    refused(() => parseSamplingFlags(['--toy-data=circles']), /--toy-data must be one of/);
  });

  test('train: values and refusals', () => {
    const o = parseTrainFlags(['--models=mlp-s', '--steps=diffusion,scd', '--precision=fp32,bf16', '--batch=8', '--no-torch']);
    expect(o.models).toEqual(['mlp-s']);
    expect(o.steps).toEqual(['diffusion', 'scd']);
    expect(o.precision).toEqual(['fp32', 'bf16']);
    refused(() => parseTrainFlags(['--models=dit-xl']), /--models must be one of/);
    refused(() => parseTrainFlags(['--warmup=0']), /--warmup must be >= 1/);
    refused(() => parseTrainFlags(['--steps=ect']), /--steps must be one of/);
  });
});
