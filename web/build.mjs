// Bundles the command-centre page (web/src, ES modules) into dist/web/app.js and app.css with
// esbuild: one script and one stylesheet, served by the app itself (no CDN). MapLibre GL stays a
// separate file from node_modules (/vendor/maplibre-gl.js), cached for a day.
//   node web/build.mjs            build once (npm run build does); skipped when no input changed
//   node web/build.mjs --watch    rebuild on change while editing the page
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const options = {
  entryPoints: { app: path.join(here, 'src', 'main.js') },
  outdir: path.join(here, '..', 'dist', 'web'),
  bundle: true,
  format: 'iife',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
};

/**
 * What the last build read: a hash of the options and esbuild's version, and the SHA-256 of
 * every input file (esbuild's metafile lists them). A build is skipped when it would read the
 * same: `npm start` builds on every start, and an unchanged page costs a hash of ~100 files
 * instead of a minified bundle (docs/OPERATIONS.md, Developer loop).
 */
const stampFile = path.join(options.outdir, '.inputs.json');
const settings = () => createHash('sha256').update(JSON.stringify({ options, esbuild: esbuild.version })).digest('hex');
const fileHash = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function unchanged() {
  try {
    const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
    if (stamp.settings !== settings()) return false;
    if (!stamp.outputs.every((f) => fs.existsSync(path.join(options.outdir, f)))) return false;
    return Object.entries(stamp.inputs).every(([file, hash]) => fs.existsSync(file) && fileHash(file) === hash);
  } catch {
    return false; // no stamp (first build) or an unreadable one: build
  }
}

/** Builds the page, unless its inputs and options are those of the last build (`force`: always). Answers whether it built. */
export async function buildPage({ force = false } = {}) {
  if (!force && unchanged()) return false;
  const result = await esbuild.build({ ...options, metafile: true });
  const cwd = process.cwd();
  const inputs = Object.fromEntries(Object.keys(result.metafile.inputs).map((f) => path.resolve(cwd, f)).map((f) => [f, fileHash(f)]));
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.relative(options.outdir, path.resolve(cwd, f)));
  fs.writeFileSync(stampFile, `${JSON.stringify({ settings: settings(), outputs, inputs })}\n`);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--watch')) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  } else {
    await buildPage({ force: process.argv.includes('--force') });
  }
}
