#!/usr/bin/env node
/**
 * `npm run docs:deps`: writes the layer rules (.dependency-cruiser.cjs) and the folder-level
 * dependency picture of src (depcruise's mermaid output, collapsed to src/<folder>) into
 * docs/ARCHITECTURE.md, between the marker comments
 *   <!-- deps:rules -->…<!-- /deps:rules -->   and   <!-- deps:graph -->…<!-- /deps:graph -->.
 * `node docs/deps.mjs --check` writes nothing and exits 1 when the document is not current
 * (test/docs/links.test.ts runs it).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOC = path.join(ROOT, 'docs', 'ARCHITECTURE.md');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** A regular expression (or a list of them) as inline code, pipes escaped for a table cell. */
const code = (patterns) => [patterns].flat().map((p) => '`' + p.replace(/\|/g, '\\|') + '`').join(', ');

/** What a rule forbids the importing side to reach, in words. */
function target(to) {
  if (to.circular) return 'a module that imports it back (a cycle)';
  if (to.couldNotResolve) return 'a module that cannot be found';
  if (to.path) return code(to.path);
  const allowed = [code(to.pathNot ?? [])];
  if ((to.dependencyTypesNot ?? []).includes('core')) allowed.push('node builtins');
  return `anything but ${allowed.filter(Boolean).join(', ')}`;
}

/** The rule set as a markdown table. */
export function rulesTable(config) {
  const rows = config.forbidden.map((rule) => {
    const from = code(rule.from.path ?? '.*') + (rule.from.pathNot ? ` except ${code(rule.from.pathNot)}` : '');
    return `| \`${rule.name}\` | ${rule.severity} | ${from} | ${target(rule.to)} | ${rule.comment} |`;
  });
  return ['| rule | severity | a module matching | must not import | why |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** src collapsed to its folders and top-level files, as a mermaid flowchart. */
export function graph() {
  const mermaid = execFileSync(
    process.execPath,
    [DEPCRUISE, 'src', '--config', CONFIG, '--include-only', '^src/', '--exclude', '\\.d\\.ts$', '--collapse', '^src/[^/]+', '--output-type', 'mermaid'],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  // depcruise lists the collapsed edges in the order it met them, which varies between runs: sort them
  const lines = mermaid.trim().split('\n');
  const isEdge = (l) => /^\S+-->\S+$/.test(l);
  const edges = lines.filter(isEdge).sort();
  const stable = lines.map((l) => (isEdge(l) ? edges.shift() : l));
  return '```mermaid\n' + stable.join('\n') + '\n```';
}

/** `text` with what lies between `<!-- name -->` and `<!-- /name -->` replaced by `body`. */
export function between(text, name, body) {
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) throw new Error(`${path.relative(ROOT, DOC)}: markers ${open} … ${close} not found`);
  return text.slice(0, start + open.length) + '\n' + body + '\n' + text.slice(end);
}

function main() {
  const config = createRequire(import.meta.url)(CONFIG);
  const before = readFileSync(DOC, 'utf8');
  const after = between(between(before, 'deps:rules', rulesTable(config)), 'deps:graph', graph());
  if (process.argv.includes('--check')) {
    if (after !== before) {
      console.error(`${path.relative(ROOT, DOC)} is not current: run npm run docs:deps`);
      process.exit(1);
    }
    return;
  }
  if (after !== before) writeFileSync(DOC, after);
  console.log(`${path.relative(ROOT, DOC)}: ${after === before ? 'current' : 'updated'}`);
}

main();
