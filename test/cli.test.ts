// The `scm` command line, run as users run it: the compiled dist/src/cli.js in a child process.
// --help lists every option of each command's table (and nothing else); bad command lines exit 2
// with a message naming the option; a tiny train-teacher -> distill -> sample run writes a PNG;
// SIGINT during training writes a checkpoint that the same command resumes from (exit 130).
// Also the option parser and the progress reporter, directly.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { DISTILL_OPTIONS, TRAIN_CONSISTENCY_OPTIONS } from '../src/cli/consistency.js';
import { INFO_OPTIONS } from '../src/cli/info.js';
import { closest, defaultShown, formatHelp, parseOptions, type OptionTable } from '../src/cli/options.js';
import { formatDuration, TrainingReporter } from '../src/cli/progress.js';
import { SAMPLE_OPTIONS } from '../src/cli/sample.js';
import { TRAIN_TEACHER_OPTIONS } from '../src/cli/train-teacher.js';
import { readSafetensorsHeader } from '../src/checkpoint.js';
import { loadModel } from '../src/index.js';
import type { TrainProgress } from '../src/train.js';
import { PALETTE } from '../src/canvas.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/src/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'scm-cli-'));
const env = { ...process.env, NO_COLOR: '1', SCM_NUM_THREADS: '2' };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function scm(...args: string[]): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TABLES: [string, OptionTable][] = [
  ['sample', SAMPLE_OPTIONS],
  ['train-teacher', TRAIN_TEACHER_OPTIONS],
  ['distill', DISTILL_OPTIONS],
  ['train-consistency', TRAIN_CONSISTENCY_OPTIONS],
  ['info', INFO_OPTIONS],
];

beforeAll(() => {
  // the CLI under test is the compiled one: refuse a dist/ older than the sources
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build:ts first`);
  for (const f of ['cli.ts', 'cli/options.ts', 'cli/command.ts', 'cli/progress.ts', 'cli/training.ts', 'cli/sample.ts', 'cli/train-teacher.ts', 'cli/consistency.ts', 'cli/info.ts', 'cli/interrupt.ts']) {
    const src = join(root, 'src', f), out = join(root, 'dist/src', f.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) throw new Error(`${out} is older than ${src}: run npm run build:ts first`);
  }
});

describe('help', () => {
  test.each(TABLES)('scm %s --help lists every option of its table with its default, and no other option', (command, table) => {
    const r = scm(command, '--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const [name, spec] of Object.entries(table)) {
      const line = r.stdout.split('\n').findIndex((l) => new RegExp(`^  --${name}(?![\\w-])`).test(l));
      expect(line, `--${name} in scm ${command} --help`).toBeGreaterThanOrEqual(0);
      // the description (and its default) follow on this line and its continuation lines
      const lines = r.stdout.split('\n');
      let text = lines[line];
      for (let i = line + 1; i < lines.length && /^ {6,}\S/.test(lines[i]); i++) text += ' ' + lines[i].trim();
      const flat = text.replace(/\s+/g, ' ');
      expect(flat).toContain(spec.description.split(' ').slice(0, 3).join(' '));
      if (spec.required) expect(flat).toContain('(required)');
      const def = defaultShown(spec);
      if (def !== undefined) expect(flat).toContain(`(default: ${def.replace(/\s+/g, ' ')})`);
    }
    // every --option the text mentions (descriptions and examples included) is a real one
    const known = new Set([...Object.keys(table), 'help']);
    const mentioned = [...r.stdout.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]);
    expect(mentioned.filter((m) => !known.has(m))).toEqual([]);
    // scm help <command> is the same text
    expect(scm('help', command).stdout).toBe(r.stdout);
  });

  test('scm help lists every command; scm --version names the package', () => {
    const r = scm('help');
    expect(r.code).toBe(0);
    for (const [command] of TABLES) expect(r.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(scm().stdout).toBe(r.stdout);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(scm('--version').stdout.trim()).toBe(`scm-native ${pkg.version}`);
  });

  test('scm info prints backendInfo as JSON and the CPU GEMM line', () => {
    const r = scm('info');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout.slice(0, r.stdout.lastIndexOf('}') + 1)) as { active: string; cpuGemm: string };
    expect(['cpu', 'cuda']).toContain(json.active);
    expect(r.stdout).toContain(`CPU GEMM: ${json.cpuGemm} (bf16: `);
    if (json.active === 'cpu') expect(r.stdout).toMatch(/^CUDA not in use: \S/m);
    expect(scm('info', '--json').stderr).toBe("error [E_ARGUMENT]: scm info: unknown option '--json' (see scm info --help)\n");
  });
});

describe('bad command lines exit 2 naming the option', () => {
  const cases: [string[], string][] = [
    [['sample', '--model', 'm', '--out', 'x.png', '--step', '2'], "scm sample: unknown option '--step' (did you mean '--steps'?)"],
    [['train-teacher', '--data', 'moons', '--out', 'a', '--steps', '5', '--batch', '8'], "scm train-teacher: unknown option '--batch' (did you mean '--batch-size'?)"],
    [['distill', '--teacher', 't', '--out', 'a', '--steps', '5', '--warmup', '8'], "scm distill: unknown option '--warmup' (did you mean '--warmup-steps'?)"],
    [['sample', '--model', 'm'], 'scm sample: missing required option --out <file.png>'],
    [['train-teacher', '--out', 'a'], 'scm train-teacher: missing required options --data <fashion-mnist|checkerboard|gaussians-8|moons|spiral>, --steps <N>'],
    [['train-teacher', '--data', 'moons', '--out', 'a', '--steps', '1.5'], "scm train-teacher: --steps must be an integer, got '1.5'"],
    [['train-teacher', '--data', 'moons', '--out', 'a', '--steps', '10', '--lr', 'fast'], "scm train-teacher: --lr must be a number, got 'fast'"],
    [['train-teacher', '--data', 'moons', '--out', 'a', '--steps', '10', '--label-dropout', '1'], "scm train-teacher: --label-dropout must be < 1, got '1'"],
    [['train-teacher', '--data', 'moon', '--out', 'a', '--steps', '10'], "scm train-teacher: --data must be one of fashion-mnist, checkerboard, gaussians-8, moons, spiral, got 'moon' (did you mean 'moons'?)"],
    [['train-teacher', '--data', 'moons', '--out', 'a', '--steps', '10', '--heads', '2'], 'scm train-teacher: --heads applies to dit networks (images); --data moons trains an mlp'],
    [['train-teacher', '--data', 'moons', '--out', 'a', '--steps', '10', '--data-limit', '2'], 'scm train-teacher: --data-limit applies to fashion-mnist, not --data moons'],
    [['distill', '--teacher', 'missing.safetensors', '--out', 'a', '--steps', '10'], 'scm distill: --teacher missing.safetensors: no such file, and not a bundled model (fashion-mnist, fashion-mnist-teacher)'],
    [['train-consistency', '--method', 'scd', '--out', 'a', '--steps', '10'], 'scm train-consistency: --teacher is required with --method scd'],
    [['sample', '--model', 'm', '--out', 'x.png', '--seed', '1', '--seed', '2'], 'scm sample: --seed is given twice'],
    [['sample', '--model', 'm', '--out', 'x.png', 'extra'], "scm sample: unexpected argument 'extra'"],
    [['sampel'], "scm: unknown command 'sampel' (did you mean 'sample'?)"],
  ];
  test.each(cases)('scm %j', (args, message) => {
    const r = scm(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(`error [${message.includes('no such file') ? 'E_IO' : 'E_ARGUMENT'}]: ${message}`), r.stderr).toBe(true);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1); // no stack for an ScmError
  });
});

describe('train-teacher -> distill -> sample on a toy set', () => {
  const net = ['--data', 'moons', '--preset', 'mlp-s', '--width', '32', '--depth', '2', '--batch-size', '64'];
  let teacher: Run, student: Run;

  beforeAll(() => {
    teacher = scm('train-teacher', ...net, '--steps', '30', '--progress', 'lines', '--log-every', '10', '--grid', 'grid-{step}.png', '--grid-every', '15', '--grid-count', '50', '--out', 'teacher.safetensors');
    student = scm('distill', '--teacher', 'teacher.safetensors', '--steps', '20', '--batch-size', '64', '--progress', 'bar', '--out', 'student.safetensors');
  }, 60_000);

  test('train-teacher prints progress lines and a summary, and writes the model and its checkpoint', async () => {
    expect(teacher.stderr).toBe('');
    expect(teacher.code).toBe(0);
    const lines = teacher.stdout.split('\n').filter((l) => l.startsWith('step '));
    expect(lines.map((l) => l.match(/^step (\d+)\/30 /)?.[1])).toEqual(['10', '20', '30']);
    for (const l of lines) expect(l).toMatch(/loss -?\d\S* .*samples\/s .*ETA \S+/);
    expect(teacher.stdout).toContain('trained steps 1..30 of 30');
    expect(teacher.stdout).toContain('wrote teacher.safetensors (F32, ');
    const m = await loadModel(join(dir, 'teacher.safetensors'), { backend: 'cpu' });
    try {
      expect(m.kind).toBe('diffusion');
      expect(m.config.width).toBe(32);
      expect(m.config.depth).toBe(2);
      expect(m.training.stepsDone).toBe(30);
    } finally {
      m.dispose();
    }
    const ckpt = await readSafetensorsHeader(join(dir, 'teacher.ckpt.safetensors'));
    expect(JSON.parse(ckpt.metadata.trainer).step).toBe(30);
    for (const step of [15, 30]) expect(PNG.sync.read(readFileSync(join(dir, `grid-${step}.png`))).width).toBe(512);
    expect(existsSync(join(dir, 'grid-10.png'))).toBe(false);
  });

  test('distill draws a bar with r and ‖g‖ and writes a consistency model', async () => {
    expect(student.stderr).toBe('');
    expect(student.code).toBe(0);
    expect(student.stdout).toContain('\r\x1b[K');
    expect(student.stdout).toMatch(/20\/20 .*100% +loss +-?\d\S* .*samples\/s .*ETA .* r 0\.\d{3} +‖g‖ /);
    expect(student.stdout).toContain('sCD (distillation) from teacher.safetensors, on moons');
    const m = await loadModel(join(dir, 'student.safetensors'), { backend: 'cpu' });
    try {
      expect(m.kind).toBe('consistency');
      expect(m.training.method).toBe('scd');
      expect(m.training.teacher).toBe('teacher.safetensors');
    } finally {
      m.dispose();
    }
  });

  test('sample writes a scatter-plot PNG and says what it did', () => {
    const r = scm('sample', '--model', 'student.safetensors', '--count', '200', '--out', 'x.png');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/consistency model \(mlp, 20\.3k parameters; data moons, 2 classes/);
    expect(r.stdout).toMatch(/sampled 200 points in 2 steps \(t = 1\.5645, 1\.1000\): NFE 2 per sample, \S+ on (cpu|cuda) /);
    const png = PNG.sync.read(readFileSync(join(dir, 'x.png')));
    expect([png.width, png.height]).toEqual([512, 512]);
    // points of both classes were drawn (each class has its palette colour, blended on white)
    const hue = (c: readonly number[]) => c.indexOf(Math.min(...c));
    const seen = new Set<number>();
    for (let i = 0; i < png.width * png.height; i++) {
      const [r0, g0, b0] = [png.data[4 * i], png.data[4 * i + 1], png.data[4 * i + 2]];
      if (Math.max(r0, g0, b0) - Math.min(r0, g0, b0) > 40) seen.add(hue([r0, g0, b0]));
    }
    expect(seen).toEqual(new Set([hue(PALETTE[0]), hue(PALETTE[1])]));
  });

  test('sample --json of the teacher (Heun) and of the student (1 step)', () => {
    const t = scm('sample', '--model', 'teacher.safetensors', '--steps', '4', '--per-class', '5', '--out', 't.png', '--json');
    expect(t.code).toBe(0);
    const tj = JSON.parse(t.stdout) as { kind: string; nfe: number; count: number; solver: string; statistics: { mean: number[] } };
    expect([tj.kind, tj.nfe, tj.count, tj.solver]).toEqual(['diffusion', 7, 10, 'heun']);
    expect(tj.statistics.mean).toHaveLength(2);
    const s = scm('sample', '--model', 'student.safetensors', '--steps', '1', '--out', 's.png', '--json');
    const sj = JSON.parse(s.stdout) as { nfe: number; count: number; times: number[] };
    expect([sj.nfe, sj.count, sj.times.length]).toEqual([1, 64, 1]);
    expect(scm('sample', '--model', 'student.safetensors', '--solver', 'euler', '--out', 'e.png').stderr).toContain('--solver is for diffusion models');
    expect(scm('sample', '--model', 'student.safetensors', '--nrow', '4', '--out', 'e.png').stderr).toContain('--nrow applies to image models');
    expect(scm('sample', '--model', 'student.safetensors', '--labels', '5', '--out', 'e.png').stderr).toContain('class 5 is out of range: the model has 2 classes');
  });

  test('a checkpoint of another run is not resumed silently', () => {
    const r = scm('train-teacher', ...net, '--steps', '40', '--seed', '3', '--out', 'teacher.safetensors', '--progress', 'none');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('was trained with seed = 0, this run has 3');
    expect(r.stderr).toContain('hint: pass --no-resume to start over (replacing teacher.ckpt.safetensors), or --checkpoint <another file>');
  });
});

const fashion = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz') || existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte');

describe.skipIf(!fashion)('images (Fashion-MNIST, a tiny dit)', () => {
  test('sample --per-class K: one row of K images per class; --scale magnifies', () => {
    const t = scm('train-teacher', '--data', 'fashion-mnist', '--data-limit', '256', '--width', '32', '--depth', '1', '--heads', '2', '--patch', '7', '--time-dim', '32', '--steps', '3', '--batch-size', '16', '--progress', 'none', '--out', 'fm.safetensors');
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    const r = scm('sample', '--model', 'fm.safetensors', '--steps', '2', '--per-class', '3', '--scale', '2', '--out', 'fm.png');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sampled 30 images 1x28x28 in 2 heun steps: NFE 3 per sample');
    expect(r.stdout).toContain('wrote fm.png: 10 rows of 3, one row per class (0 T-shirt/top, 1 Trouser,');
    const png = PNG.sync.read(readFileSync(join(dir, 'fm.png')));
    // cells of 28 + 2 padding, plus the outer padding, times the scale
    expect([png.width, png.height]).toEqual([(3 * 30 + 2) * 2, (10 * 30 + 2) * 2]);
    const named = scm('sample', '--model', 'fm.safetensors', '--labels', 'sneaker,Bag,none', '--count', '6', '--out', 'fm2.png', '--json');
    expect(named.code).toBe(0);
    expect((JSON.parse(named.stdout) as { count: number }).count).toBe(6);
    expect(scm('sample', '--model', 'fm.safetensors', '--labels', 'sneakers', '--out', 'fm3.png').stderr).toContain("unknown class 'sneakers': 0 T-shirt/top,");
    expect(scm('sample', '--model', 'fm.safetensors', '--extent', 'auto', '--out', 'fm3.png').stderr).toContain('--extent applies to 2-D models');
  });

  test('distill --guidance: a guided student (and a warning for a teacher trained without label dropout)', async () => {
    const d = scm('distill', '--teacher', 'fm.safetensors', '--guidance', '1,2', '--steps', '1', '--batch-size', '8', '--data-limit', '64', '--progress', 'none', '--out', 'fms.safetensors');
    expect(d.code).toBe(0);
    expect(d.stderr).toBe('warning: fm.safetensors was trained without --label-dropout: its unconditional prediction, which guidance uses, is untrained\n');
    expect(d.stdout).toContain('sCD (distillation) from fm.safetensors, on fashion-mnist, guidance w ~ U[1, 2]');
    const m = await loadModel(join(dir, 'fms.safetensors'), { backend: 'cpu' });
    try {
      expect(m.config.guidanceInput).toBe(true);
      expect(m.training.guidanceDefault).toBe(1.5);
    } finally {
      m.dispose();
    }
  });
});

describe('Ctrl-C during training', () => {
  test('SIGINT after the first progress line: exit 130, a checkpoint, and the same command resumes it', async () => {
    const args = ['train-teacher', '--data', 'moons', '--width', '32', '--depth', '2', '--batch-size', '64', '--progress', 'lines', '--log-every', '20', '--out', 'int.safetensors'];
    const child = spawn(process.execPath, [cli, ...args, '--steps', '100000000'], { cwd: dir, env });
    let stdout = '', stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const before = stdout;
        stdout += d.toString();
        if (!/^step /m.test(before) && /^step /m.test(stdout)) child.kill('SIGINT');
      });
      child.on('error', reject);
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    const m = stderr.match(/interrupted by SIGINT: checkpoint written to int\.ckpt\.safetensors \(step (\d+) of 100000000\)/);
    expect(m, stderr).not.toBeNull();
    const step = Number(m![1]);
    expect(step).toBeGreaterThanOrEqual(20);
    expect(stderr).toContain(`resume with the same command: scm ${args.join(' ')} --steps 100000000`);
    const header = await readSafetensorsHeader(join(dir, 'int.ckpt.safetensors'));
    expect(JSON.parse(header.metadata.trainer).step).toBe(step);
    expect(existsSync(join(dir, 'int.safetensors'))).toBe(false);

    // the same command (with a reachable --steps) continues from the checkpoint
    const resumed = scm(...args, '--steps', String(step + 10));
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`resumed from int.ckpt.safetensors at step ${step} of ${step + 10}`);
    expect(resumed.stdout).toContain(`trained steps ${step + 1}..${step + 10} of ${step + 10}`);
    // ... exactly as an uninterrupted run of the same command
    const straight = scm(...args.map((a) => (a === 'int.safetensors' ? 'straight.safetensors' : a)), '--steps', String(step + 10));
    expect(straight.code).toBe(0);
    const a = await loadModel(join(dir, 'int.safetensors'), { backend: 'cpu' });
    const b = await loadModel(join(dir, 'straight.safetensors'), { backend: 'cpu' });
    try {
      expect(a.training.stepsDone).toBe(step + 10);
      expect(a.readWeights('ema')).toEqual(b.readWeights('ema'));
      expect(a.readWeights('params')).toEqual(b.readWeights('params'));
    } finally {
      a.dispose();
      b.dispose();
    }
  }, 60_000);
});

describe('option parser', () => {
  const table = {
    steps: { type: 'int', min: 1, required: true, description: 'steps' },
    lr: { type: 'number', above: 0, default: 1e-3, description: 'learning rate' },
    mean: { type: 'number', default: -0.8, description: 'a mean' },
    betas: { type: 'numbers', items: [2, 2], min: 0, below: 1, default: [0.9, 0.99], description: 'betas' },
    solver: { type: 'choice', choices: ['heun', 'euler'], default: 'heun', description: 'solver' },
    'no-resume': { type: 'flag', description: 'start over' },
    out: { type: 'string', description: 'where' },
  } as const satisfies OptionTable;

  test('values, defaults, --name=value, negative numbers, lists, flags', () => {
    const p = parseOptions('t', table, ['--steps', '1e3', '--mean', '-1.5', '--betas=0.5,0.75', '--no-resume', '--out=a=b']);
    expect(p.values).toEqual({ steps: 1000, lr: 1e-3, mean: -1.5, betas: [0.5, 0.75], solver: 'heun', 'no-resume': true, out: 'a=b' });
    expect([...p.given].sort()).toEqual(['betas', 'mean', 'no-resume', 'out', 'steps']);
    const d = parseOptions('t', table, ['--steps', '2']);
    expect(d.values['no-resume']).toBe(false);
    expect(d.values.out).toBeUndefined();
    expect(d.values.betas).not.toBe(table.betas.default); // a copy
    expect(parseOptions('t', table, ['--bogus', '-h']).help).toBe(true);
  });

  test.each([
    [['--steps', '0'], "--steps must be >= 1, got '0'"],
    [['--steps', '2', '--lr', '0'], "--lr must be > 0, got '0'"],
    [['--steps', '2', '--lr', 'inf'], "--lr must be a number, got 'inf'"],
    [['--steps', '2', '--betas', '0.9,1'], "--betas must be < 1, got '1'"],
    [['--steps', '2', '--betas', '0.9,,0.9'], '--betas must be a comma-separated list without empty items'],
    [['--steps', '2', '--solver', 'huen'], "--solver must be one of heun, euler, got 'huen' (did you mean 'heun'?)"],
    [['--steps', '2', '--no-resume=yes'], "--no-resume is a flag and takes no value, got 'yes'"],
    [['--steps', '--lr', '1'], '--steps needs a value (--steps <N>)'],
    [['--lr', '1'], 'missing required option --steps <N>'],
    [['--steps', '2', '--stpes', '3'], "unknown option '--stpes' (did you mean '--steps'?)"],
    [['--steps', '2', '-lr', '3'], "unexpected argument '-lr' (did you mean '--lr'?)"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseOptions('t', table, argv)).toThrow(message);
  });

  test('help text: every option, its meta-variable, default and required mark', () => {
    const text = formatHelp(table, { usage: 'scm t', summary: 'Does t.' }, 80);
    expect(text).toMatch(/^  --steps <N> +steps \(required\)$/m);
    expect(text).toMatch(/^  --betas <x,\.\.> +betas \(default: 0\.9,0\.99\)$/m);
    expect(text).toMatch(/^  --solver <heun\|euler> +solver \(default: heun\)$/m);
    expect(text).toMatch(/^  --no-resume +start over$/m);
    expect(text).toMatch(/^  --out <value> +where$/m);
    expect(closest('batch', ['batch-size', 'steps'])).toBe('batch-size');
    expect(closest('zzzz', ['batch-size', 'steps'])).toBeUndefined();
  });
});

describe('progress reporter', () => {
  const progress = (step: number, over: Partial<TrainProgress> = {}): TrainProgress => ({
    step, steps: 100, loss: step, gradNorm: 1, lr: 1e-3, dropped: 0, skipped: false, r: step / 1000,
    tangentNormMean: 0.5, tangentNormMax: 2, logvarMin: -1, logvarMax: 1, samplesPerSecond: 12_345, elapsedSeconds: step, etaSeconds: 100 - step, ...over,
  });

  test('lines: every logEvery steps and the last, the loss averaged since the previous line', () => {
    let out = '';
    const rep = new TrainingReporter({ write: (t: string) => (out += t) }, { mode: 'lines', logEvery: 40, consistency: true, now: () => 0 });
    for (let s = 1; s <= 100; s++) rep.update(progress(s, s === 7 ? { dropped: 3 } : {}));
    const lines = out.trimEnd().split('\n');
    expect(lines.map((l) => l.match(/^step +(\d+)\/100/)?.[1])).toEqual(['40', '80', '100']);
    expect(lines[0]).toContain('loss 20.50'); // mean of 1..40
    expect(lines[1]).toContain('loss 60.50'); // mean of 41..80
    expect(lines[2]).toContain('loss 90.50');
    expect(lines[2]).toContain('12k samples/s');
    expect(lines[2]).toContain('ETA 0.00s');
    expect(lines[0]).toContain('r 0.040');
    expect(lines[0]).toContain('‖g‖ 0.5000 (max 2.000)');
    expect(lines[0]).toContain('dropped 3');
    expect(rep.dropped).toBe(3);
  });

  test('bar: redrawn in place, throttled, with the mean loss of the last 50 steps; fits the width', () => {
    let out = '', t = 0;
    const rep = new TrainingReporter({ write: (s: string) => (out += s), columns: 120 }, { mode: 'bar', logEvery: 1, consistency: false, now: () => t, redrawMs: 100 });
    for (let s = 1; s <= 100; s++) {
      t = s * 10; // a redraw every 10 steps
      rep.update(progress(s));
    }
    rep.end();
    const frames = out.split('\r\x1b[K').filter(Boolean);
    expect(frames.length).toBe(11);
    expect(frames.at(-1)).toMatch(/^100\/100 █+ 100% +loss +75\.50 +12k samples\/s +ETA +0\.00s\n$/);
    for (const f of frames) expect(f.replace('\n', '').length).toBeLessThanOrEqual(119);
    expect(rep.barText(progress(50), 40).length).toBeLessThanOrEqual(39);
    expect(formatDuration(192)).toBe('3m12s');
    expect(formatDuration(3725)).toBe('1h02m');
  });
});
