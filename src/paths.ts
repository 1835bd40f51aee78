import fs from 'node:fs';
import path from 'node:path';

/** The project root (where package.json lives), found from this file in src/ or dist/src/. */
function findRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('zonerisk: cannot find the project root');
    dir = up;
  }
}

export const projectRoot = findRoot();
export const seedsDir = path.join(projectRoot, 'seeds');
