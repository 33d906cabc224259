#!/usr/bin/env node
// Prints the C++ sources of the CPU-only addon for binding.gyp (node-gyp cannot glob).
import { readdirSync } from 'node:fs';
const dirs = [['native/core', '.cpp'], ['native/cpu', '.cpp'], ['native/binding', '.cc']];
const files = dirs.flatMap(([d, ext]) => readdirSync(d).filter((f) => f.endsWith(ext)).sort().map((f) => `${d}/${f}`));
console.log(files.join(' '));
