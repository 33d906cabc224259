// Runs the native test runner (native/tests, built by CMake as scm_native_tests): every
// native test is one vitest case, passing, failing or skipping as the runner says.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

const runner = path.resolve(import.meta.dirname, '..', 'build', 'Release', 'scm_native_tests');

function listTests(): string[] {
  if (!existsSync(runner)) return [];
  const r = spawnSync(runner, ['--list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${runner} --list failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((line) => line.length > 0);
}

const names = listTests();

describe('native engine', () => {
  test('the native test runner is built', () => {
    expect(existsSync(runner), `${runner} is missing: build with CMake (npm run build)`).toBe(true);
    expect(names.length).toBeGreaterThan(0);
  });

  for (const name of names) {
    test(name, (ctx) => {
      const r = spawnSync(runner, [name], { encoding: 'utf8', timeout: 300_000 });
      const line = r.stdout.split('\n').find((l) => l.startsWith(`PASS ${name}`) || l.startsWith(`FAIL ${name}`) || l.startsWith(`SKIP ${name}`));
      if (line?.startsWith('SKIP')) {
        ctx.skip(line);
        return;
      }
      expect(line ?? `no result (exit ${r.status}, signal ${r.signal}): ${r.stdout}${r.stderr}`).toMatch(/^PASS /);
      expect(r.status).toBe(0);
    });
  }
});
