// Bundles the command-centre page (web/src, ES modules) into dist/web/app.js and app.css with
// esbuild: one script and one stylesheet, served by the app itself (no CDN). MapLibre GL stays a
// separate file from node_modules (/vendor/maplibre-gl.js), cached for a day.
//   node web/build.mjs            build once (npm run build does)
//   node web/build.mjs --watch    rebuild on change while editing the page
import * as esbuild from 'esbuild';
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

export async function buildPage() {
  await esbuild.build(options);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--watch')) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  } else {
    await buildPage();
  }
}
