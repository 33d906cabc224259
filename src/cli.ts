#!/usr/bin/env node
// The `scm` command line. Commands arrive with their capabilities; today: info.
import { backendInfo, ScmError } from './index.js';

const HELP = `usage: scm <command> [options]

commands:
  info      which backend computes, and why CUDA is not in use when it is not
  help      this text

(sample, train-teacher and distill arrive with the models and the bundled checkpoint)`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'info': {
      if (rest.length) throw new ScmError(`scm info: unexpected argument '${rest[0]}'`, 'E_ARGUMENT');
      const info = backendInfo();
      console.log(JSON.stringify(info, null, 2));
      if (info.active === 'cpu') console.log(`CUDA not in use: ${info.reason}`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return 0;
    default:
      throw new ScmError(`scm: unknown command '${command}' (see scm help)`, 'E_ARGUMENT');
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof ScmError) {
    console.error(`error [${e.code}]: ${e.message}`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
