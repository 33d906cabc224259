// The ending of the TypeScript scripts: an ScmError is printed as `error [CODE]: message` with
// exit status 2; anything else is a bug and is thrown with its stack.
import { ScmError } from '../src/errors.js';

export function runScript(main: () => Promise<void>): void {
  main().catch((e) => {
    if (!(e instanceof ScmError)) throw e;
    console.error(`error [${e.code}]: ${e.message}`);
    process.exitCode = 2;
  });
}
