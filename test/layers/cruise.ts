import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The repository root (where .dependency-cruiser.cjs and package.json live). */
export const ROOT = path.resolve(__dirname, '..', '..');
export const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** One broken rule: the rule's name, the importing file and the import as written. */
export type Violation = { rule: string; from: string; to: string };

/**
 * Runs depcruise with the repository's rule set in `cwd` over those of `dirs` that exist there
 * (paths in the rules are relative to `cwd`) and returns every violation, sorted.
 * Throws when depcruise itself fails (exit without a JSON report).
 */
export function cruise(cwd: string, dirs: readonly string[] = ['src', 'bench', 'seeds']): Violation[] {
  const present = dirs.filter((d) => fs.existsSync(path.join(cwd, d)));
  const run = spawnSync(process.execPath, [DEPCRUISE, ...present, '--config', CONFIG, '--output-type', 'json'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.error) throw run.error;
  let report: { summary: { violations: { rule: { name: string }; from: string; unresolvedTo?: string; to: string }[] } };
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`depcruise failed (exit ${run.status}): ${run.stderr}`);
  }
  return report.summary.violations
    .map((v) => ({ rule: v.rule.name, from: v.from, to: v.unresolvedTo ?? v.to }))
    .sort((x, y) => `${x.rule} ${x.from} ${x.to}`.localeCompare(`${y.rule} ${y.from} ${y.to}`));
}

/** Violations as lines `rule: from → to`, for a readable failure message. */
export const describeViolations = (vs: readonly Violation[]): string =>
  vs.map((v) => `${v.rule}: ${v.from} → ${v.to}`).join('\n');
