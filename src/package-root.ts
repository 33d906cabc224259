// The package's root folder (where package.json and models/ are), found from this module's
// location so it works from src/ (tests), dist/src/ (the build) and an installed copy.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'models'))) return (root = dir);
    dir = path.dirname(dir);
  }
  return (root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'));
}

/** The folder of the shipped models (classifier, bundled generative models). */
export function modelsDir(): string {
  return path.join(packageRoot(), 'models');
}
