#!/usr/bin/env node
// Builds the native addon: with cmake-js + CMake when CMake is installed (CPU backend always,
// CUDA backend when nvcc and cuBLAS are found), else with node-gyp (CPU backend only).
//   node scripts/build-native.mjs          build (configure if needed)
//   node scripts/build-native.mjs --clean  reconfigure from scratch (after installing cuBLAS)
//   node scripts/build-native.mjs --gyp    force node-gyp
// Also compiles the TypeScript when the compiler is installed (a development checkout).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = new Set(process.argv.slice(2));
// Parallel compile jobs: SCM_BUILD_JOBS, else the core count (at most 8).
const jobs = process.env.SCM_BUILD_JOBS || String(Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8)));

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function has(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

const useGyp = args.has('--gyp') || !has('cmake');
if (useGyp) {
  if (!args.has('--gyp')) console.log('scm-native: CMake not found, building the CPU-only addon with node-gyp');
  // npm tells lifecycle scripts where its bundled node-gyp is; else use one on PATH.
  // Use the headers installed with Node itself when npm names none, so nothing is downloaded.
  const gypArgs = ['rebuild', '-j', jobs];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
    gypArgs.push(`--nodedir=${prefix}`);
  }
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && existsSync(bundled)) run(process.execPath, [bundled, ...gypArgs]);
  else if (has('node-gyp')) run('node-gyp', gypArgs);
  else {
    console.error('scm-native: neither CMake nor node-gyp is available to build the addon');
    process.exit(1);
  }
} else {
  const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  const verb = args.has('--clean') || !existsSync(path.join(root, 'build', 'CMakeCache.txt')) ? 'rebuild' : 'build';
  run(process.execPath, [cmakeJs, verb, '--parallel', jobs, '--log-level', 'warn']);
}

// A development checkout (TypeScript installed, sources present): compile the TypeScript too,
// so `npm install` alone leaves a usable package. Published packages ship dist/ prebuilt.
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (existsSync(tsc) && existsSync(path.join(root, 'src', 'index.ts'))) run(process.execPath, [tsc, '-p', 'tsconfig.json']);
