import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import MarkdownIt from 'markdown-it';

type Token = MarkdownIt.Token;

/**
 * The documents stand alone: the README stays short and keeps its test command; every link
 * in the README, CONTRIBUTING.md and docs/*.md resolves inside the repository — a relative
 * path to a file that is not ignored by git, and a `#anchor` to a heading of its target
 * (GitHub's slugs) — and none leaves it (no http(s) link, nothing above the root, no
 * `../shared`). The generated parts of docs/ARCHITECTURE.md are current.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

const md = new MarkdownIt({ html: true });

/** A markdown file's tokens, inline children flattened in document order. */
function tokens(file: string): Token[] {
  return md.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'), {}).flatMap((t) => [t, ...(t.children ?? [])]);
}

/** Link targets of a file: hrefs of links, sources of images (code spans and blocks are not links). */
function links(file: string): string[] {
  return tokens(file).flatMap((t) => {
    if (t.type === 'link_open') return [t.attrGet('href') ?? ''];
    if (t.type === 'image') return [t.attrGet('src') ?? ''];
    return [];
  });
}

/**
 * GitHub's anchor for a heading text: lower case, every character that is not a letter, a
 * mark, a digit, `_`, `-` or a space removed, spaces turned into `-`.
 */
export const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');

/** The anchors of a markdown file's headings; a repeated one gets -1, -2… as on GitHub. */
function anchors(file: string): Set<string> {
  const all = tokens(file);
  const seen = new Map<string, number>();
  const out = new Set<string>();
  all.forEach((t, i) => {
    if (t.type !== 'heading_open') return;
    const inline = all[i + 1];
    const text = (inline?.children ?? []).filter((c) => c.type === 'text' || c.type === 'code_inline').map((c) => c.content).join('');
    const base = slug(text);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  });
  return out;
}

/** Paths .gitignore excludes (directory entries and `*` patterns), as a test on a repository path. */
function ignoredByGit(): (rel: string) => boolean {
  const entries = fs
    .readFileSync(path.join(ROOT, '.gitignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const tests = entries.map((e) => {
    const body = e.replace(/^\//, '').replace(/\/$/, '');
    const re = new RegExp(`(^|/)${body.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`);
    return (rel: string) => re.test(rel);
  });
  return (rel) => tests.some((t) => t(rel));
}
const ignored = ignoredByGit();

/** What is wrong with one link of `file`, or null. */
function problem(file: string, href: string): string | null {
  if (href.includes('shared/')) return 'points at ../shared (outside the repository)';
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) return 'leaves the repository (absolute URL)';
  const [rawPath = '', anchor] = href.split('#', 2);
  const target = rawPath === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), decodeURIComponent(rawPath));
  const rel = path.relative(ROOT, target).split(path.sep).join('/');
  if (rel.startsWith('..') || path.isAbsolute(rel)) return 'resolves outside the repository';
  if (!fs.existsSync(target)) return `${rel} does not exist`;
  if (ignored(rel)) return `${rel} is ignored by git (not part of the repository)`;
  if (anchor === undefined) return null;
  if (!rel.endsWith('.md')) return `an anchor into ${rel}, which is not markdown`;
  if (!anchors(rel).has(anchor)) return `${rel} has no heading #${anchor}`;
  return null;
}

describe('documents', () => {
  test('the README is under 200 lines and keeps its test command', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThan(200);
    expect(anchors('README.md').has('tests')).toBe(true);
    const fences = tokens('README.md').filter((t) => t.type === 'fence').map((t) => t.content);
    expect(fences.some((f) => /^npm install && npm test$/m.test(f))).toBe(true);
  });

  test.each(DOCS)('every link in %s resolves inside the repository', (file) => {
    const bad = links(file)
      .map((href) => [href, problem(file, href)] as const)
      .filter(([, p]) => p !== null)
      .map(([href, p]) => `${href}: ${p}`);
    expect(bad).toEqual([]);
  });

  test.each(DOCS)('%s names nothing outside the repository', (file) => {
    expect(fs.readFileSync(path.join(ROOT, file), 'utf8')).not.toMatch(/\.\.\/shared/);
  });

  test('anchors follow GitHub: punctuation dropped, spaces to dashes, repeats numbered', () => {
    expect(slug('Change events: stream and webhooks')).toBe('change-events-stream-and-webhooks');
    expect(slug('vn-moh-4800-2021 — Quyết định 4800/QĐ-BYT, 12/10/2021')).toBe('vn-moh-4800-2021--quyết-định-4800qđ-byt-12102021');
    expect(anchors('docs/API.md').has('levels')).toBe(true);
  });

  test('the rule table and the picture in docs/ARCHITECTURE.md are current (npm run docs:deps)', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'docs', 'deps.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
