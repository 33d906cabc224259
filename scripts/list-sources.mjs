#!/usr/bin/env node
// Prints the C++ sources of the CPU-only addon for binding.gyp (node-gyp cannot glob).
// node-gyp builds use the engine's own GEMM: the library files of the CMake build
// (native/cpu/gemm_onednn.cpp, gemm_openblas.cpp) are left out, gemm_nolibrary.cpp is in.
import { readdirSync } from 'node:fs';
const dirs = [['native/core', '.cpp'], ['native/cpu', '.cpp'], ['native/binding', '.cc']];
const cmakeOnly = new Set(['native/cpu/gemm_onednn.cpp', 'native/cpu/gemm_openblas.cpp']);
const files = dirs
  .flatMap(([d, ext]) => readdirSync(d).filter((f) => f.endsWith(ext)).sort().map((f) => `${d}/${f}`))
  .filter((f) => !cmakeOnly.has(f));
console.log(files.join(' '));
