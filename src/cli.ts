#!/usr/bin/env node
// The `scm` command line: dispatches to the commands of src/cli/ (one file each; their option
// tables make both the parser and the --help text). Exit codes: 0 done, 2 an ScmError (a bad
// option, a missing file, ...: `error [E_CODE]: message`), 1 any other error (with its stack),
// 130 interrupted by Ctrl-C (143 by SIGTERM).
import { readFileSync } from 'node:fs';
import { ScmError } from './errors.js';
import { helpOf, runCommand, type Command } from './cli/command.js';
import { distill, trainConsistencyCommand } from './cli/consistency.js';
import { info } from './cli/info.js';
import { closest } from './cli/options.js';
import { sampleCommand } from './cli/sample.js';
import { trainTeacher } from './cli/train-teacher.js';

const COMMANDS: readonly Command[] = [sampleCommand, trainTeacher, distill, trainConsistencyCommand, info];

function version(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'scm-native') return `${pkg.name} ${pkg.version}`;
    } catch {
      // try the next location
    }
  }
  return 'scm-native (version unknown)';
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 4) + 4;
  return [
    'usage: scm <command> [options]',
    '',
    'Continuous-time consistency models (sCM): train a diffusion teacher, distil it into a 1-2 step',
    'consistency model, sample PNG grids.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    `  ${'help'.padEnd(width)}this text; scm help <command> (or scm <command> --help): every option of a command`,
    '',
    'examples:',
    '  scm sample --model fashion-mnist --per-class 10 --out grid.png',
    '  scm train-teacher --data moons --steps 3000 --out teacher.safetensors',
    '  scm distill --teacher teacher.safetensors --steps 3000 --out student.safetensors',
    '  scm sample --model student.safetensors --steps 1 --out points.png',
    '',
    'scm --version prints the version.',
    '',
  ].join('\n');
}

function find(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return command;
  const guess = closest(name, [...COMMANDS.map((c) => c.name), 'help']);
  throw new ScmError(`scm: unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}; the commands are ${COMMANDS.map((c) => c.name).join(', ')} (see scm help)`, 'E_ARGUMENT');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    if (name === 'help' && rest.length > 0) {
      if (rest.length > 1) throw new ScmError(`scm help: one command at a time, got '${rest.join(' ')}'`, 'E_ARGUMENT');
      process.stdout.write(helpOf(find(rest[0])));
    } else process.stdout.write(overview());
    return 0;
  }
  if (name === '--version' || name === 'version') {
    console.log(version());
    return 0;
  }
  if (name.startsWith('-')) throw new ScmError(`scm: expected a command before options, got '${name}' (see scm help)`, 'E_ARGUMENT');
  return runCommand(find(name), rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof ScmError) {
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  }
}
