import type { AreaKind } from './areas';

/**
 * Resolving typed place names to area codes, never guessing.
 *
 * Commune health stations type their area ("Phường Long Bình" with district "Thành phố Biên Hòa",
 * or "P. Long Bình, TP. Biên Hòa", or "p long binh" / "tp bien hoa") instead of its code. This
 * module compares names by a key (`nameKey`) and the class of their administrative prefix
 * (`namePrefix`), splits "name, parent" cells (`splitCombined`), and `NameIndex.resolve` answers
 * `resolved` only when exactly one area of the requested kind fits the name, its prefix and
 * every parent given; otherwise `ambiguous` or `unknown` with candidates for a person to choose.
 */

/**
 * The class of an administrative prefix:
 *   ward = phường, commune = xã, town = thị trấn (commune-level town), district = quận or huyện,
 *   city = thành phố, townlet = thị xã (district-level town), province = tỉnh.
 * (The names follow the order of the brief; the Vietnamese word is what counts.)
 */
export type PrefixClass = 'ward' | 'commune' | 'town' | 'district' | 'city' | 'townlet' | 'province';

/** The key and prefix class of one name (see `nameKey` and `namePrefix`). */
export type ParsedName = { key: string; prefix: PrefixClass | null };

/** How `parseName` recognises full prefix words ("phường", "thị trấn"): see `parseName`. */
export type PrefixMode = 'auto' | 'blind' | 'none';

type PrefixRule = { words: readonly string[]; plainWords: readonly string[]; full: boolean; cls: PrefixClass };

const MARKS = /\p{M}/gu;
const D_LIKE = /[đð]/g;

/** A token without its marks, đ/ð → d (the text is already lower case). */
function plain(token: string): string {
  return token.replace(MARKS, '').replace(D_LIKE, 'd');
}

const rule = (words: readonly string[], cls: PrefixClass, full: boolean): PrefixRule => {
  const nfdWords = words.map((w) => w.normalize('NFD'));
  return { words: nfdWords, plainWords: nfdWords.map(plain), full, cls };
};

/** Full words, in NFD with their marks; two-word prefixes first. */
const FULL_PREFIXES: readonly PrefixRule[] = [
  rule(['thị', 'trấn'], 'town', true),
  rule(['thị', 'xã'], 'townlet', true),
  rule(['thành', 'phố'], 'city', true),
  rule(['phường'], 'ward', true),
  rule(['xã'], 'commune', true),
  rule(['quận'], 'district', true),
  rule(['huyện'], 'district', true),
  rule(['tỉnh'], 'province', true),
];

/** Abbreviations (after punctuation is folded "TP." is "tp" and "T.P" is "t p"); longer first. */
const ABBREVIATIONS: readonly PrefixRule[] = [
  rule(['t', 'p'], 'city', false),
  rule(['t', 't'], 'town', false),
  rule(['t', 'x'], 'townlet', false),
  rule(['tp'], 'city', false),
  rule(['tt'], 'town', false),
  rule(['tx'], 'townlet', false),
  rule(['p'], 'ward', false),
  rule(['x'], 'commune', false),
  rule(['q'], 'district', false),
  rule(['h'], 'district', false),
  rule(['t'], 'province', false),
];
const ALL_PREFIXES: readonly PrefixRule[] = [...FULL_PREFIXES, ...ABBREVIATIONS];

/** "P1", "P01", "Q3": a ward or district abbreviation glued to its number. */
const GLUED_NUMBER = /^([pq])(\d+)$/;

/** Apostrophes inside names (Ea H'Leo, Đắk R'Lấp) are dropped, not turned into spaces. */
const APOSTROPHES = /['’‘`ʼ]/g;
const TOKEN_SEPARATORS = /[^\p{L}\p{N}\p{M}]+/u;
const ACCENTED = /[\p{M}đð]/u;
const DIGITS = /^\d+$/;
const LEADING_ZEROS = /^0+(?=\d)/;

/** A numeric token without leading zeros ("01" → "1", "00" → "0"); other tokens unchanged. */
function normaliseNumber(token: string): string {
  return DIGITS.test(token) ? token.replace(LEADING_ZEROS, '') : token;
}

/**
 * The key and prefix class of a place name.
 *
 * Steps: NFD, lower case, apostrophes dropped, every other run of characters that are not
 * letters, digits or marks becomes one separator; then the administrative prefix is removed
 * when at least one token remains after it; then marks are stripped, đ/Đ (and the look-alike
 * ð/Ð of legacy encodings) become d, and numbers lose their leading zeros.
 *
 * Prefixes: abbreviations `p`, `x`, `tt`/`t t`, `q`, `h`, `tp`/`t p`, `tx`/`t x`, `t` (with or
 * without a dot) are always recognised, and `P1`/`P01`/`Q3` glued to a number too. The full
 * words (phường, xã, thị trấn, quận, huyện, thành phố, thị xã, tỉnh) depend on `mode`:
 *   - 'auto' (what `nameKey` uses): when the text carries any diacritic the word must carry its
 *     own ("Quan Sơn" keeps "quan", "Xà Bang" keeps "xa"); when the text has none at all
 *     (typed without accents) the bare word counts ("phuong long binh" → "long binh").
 *   - 'blind': bare words count whatever the rest of the text is ("Phuong Long Bình").
 *   - 'none': full words are never removed (abbreviations still are).
 */
export function parseName(text: string, mode: PrefixMode = 'auto'): ParsedName {
  const lower = text.normalize('NFD').toLowerCase();
  const tokens = lower.replace(APOSTROPHES, '').split(TOKEN_SEPARATORS).filter((t) => t !== '');
  const plainTokens = tokens.map(plain);
  const fullWordsExact = mode === 'auto' && ACCENTED.test(lower);
  let prefix: PrefixClass | null = null;
  let rest = plainTokens;
  for (const r of mode === 'none' ? ABBREVIATIONS : ALL_PREFIXES) {
    if (r.words.length >= tokens.length) continue;
    const [have, want] = r.full && !fullWordsExact ? [plainTokens, r.plainWords] : [tokens, r.words];
    if (want.every((w, i) => have[i] === w)) {
      prefix = r.cls;
      rest = plainTokens.slice(r.words.length);
      break;
    }
  }
  if (prefix === null && tokens.length > 0) {
    const m = GLUED_NUMBER.exec(tokens[0] as string);
    if (m) {
      prefix = m[1] === 'p' ? 'ward' : 'district';
      rest = [m[2] as string, ...plainTokens.slice(1)];
    }
  }
  return { key: rest.map(normaliseNumber).join(' '), prefix };
}

/**
 * The comparison key of a place name: diacritics, case, punctuation, spacing and the
 * administrative prefix do not count; numbers lose leading zeros. Examples:
 *   "Phường Long Bình" → "long binh"; "P. Long Bình", "p long binh" → "long binh";
 *   "Phường 01", "P.1", "P01", "phuong 1" → "1"; "Quận 3", "Q. 03", "quan 3" → "3";
 *   "Thành phố Biên Hòa", "TP. Biên Hoà" → "bien hoa"; "Xã" → "xa" (nothing after the prefix).
 * See `parseName` for the exact rules.
 */
export function nameKey(text: string): string {
  return parseName(text).key;
}

/**
 * The class of the administrative prefix `nameKey` removes ("Phường 1" → 'ward', "Q.3" →
 * 'district', "Long Bình" → null, "Phường" alone → null since nothing follows it).
 */
export function namePrefix(text: string): PrefixClass | null {
  return parseName(text).prefix;
}

/** Does a name's prefix fit an area's? A name or an area without a prefix fits any. */
export function prefixesAgree(a: PrefixClass | null, b: PrefixClass | null): boolean {
  return a === null || b === null || a === b;
}

/**
 * The keys a typed name may mean, most likely first, without duplicates: `nameKey` ('auto'),
 * then the text taken literally ('none': "quan son" may be Huyện Quan Sơn, not Quận "Sơn"),
 * then 'blind' ("Phuong Long Bình" typed with the prefix unaccented).
 */
export function nameKeyVariants(text: string): ParsedName[] {
  const out: ParsedName[] = [];
  for (const mode of ['auto', 'none', 'blind'] as const) {
    const p = parseName(text, mode);
    if (!out.some((o) => o.key === p.key && o.prefix === p.prefix)) out.push(p);
  }
  return out;
}

/** Does `s` look like the start of a place name: an administrative prefix or a capital letter? */
function looksLikeName(s: string): boolean {
  const first = s.charAt(0);
  return namePrefix(s) !== null || (first !== first.toLowerCase() && first === first.toUpperCase());
}

/**
 * Splits a cell that names an area and its parent: the area first, the parent after.
 *   "P. Long Bình, TP. Biên Hòa"  → { name: "P. Long Bình", parent: "TP. Biên Hòa" }
 *   "Xã Phú Lý/Vĩnh Cửu"           → { name: "Xã Phú Lý", parent: "Vĩnh Cửu" }
 *   "Phường 1 - Quận 3"            → { name: "Phường 1", parent: "Quận 3" }
 *   "Phường 1 (Quận 3)"            → { name: "Phường 1", parent: "Quận 3" }
 *   "Ca trong khu cách ly/phong tỏa" → unchanged, parent null
 * Separators: a comma always; " - " (hyphen, en or em dash with a space either side: a hyphen
 * inside a word is part of the name), "/" and a final "(…)" only when what follows looks like a
 * place name (an administrative prefix or a capital letter), since "cách ly/phong tỏa" is a
 * pair of words and "3/2" a date. The first separator splits; the parent may itself be
 * combined ("…, TP. Biên Hòa, Đồng Nai") and `NameIndex` splits it again. A separator with
 * nothing on one side does not split. Splitting never makes a row resolve wrongly: the parent
 * must then match an ancestor of the area, or the row is not resolved.
 */
export function splitCombined(text: string): { name: string; parent: string | null } {
  const t = text.trim();
  // every place a split could happen: [index of the separator, its length, must a name follow?]
  const cuts: [number, number, boolean][] = [];
  for (let i = t.indexOf(','); i >= 0; i = t.indexOf(',', i + 1)) cuts.push([i, 1, false]);
  for (const m of t.matchAll(/\s[-–—]\s/g)) cuts.push([m.index, m[0].length, true]);
  for (let i = t.indexOf('/'); i >= 0; i = t.indexOf('/', i + 1)) cuts.push([i, 1, true]);
  const open = t.endsWith(')') ? t.lastIndexOf('(') : -1;
  if (open >= 0) cuts.push([open, t.length - open, true]);
  cuts.sort((a, b) => a[0] - b[0]);
  for (const [at, len, needsName] of cuts) {
    const name = t.slice(0, at).trim();
    const parent = (at === open ? t.slice(at + 1, -1) : t.slice(at + len)).trim();
    if (name === '' || parent === '' || (needsName && !looksLikeName(parent))) continue;
    return { name, parent };
  }
  return { name: t, parent: null };
}

/** At most this many parts (the area and its parents) come out of one cell; the rest stays whole. */
export const MAX_NAME_PARTS = 4;

/** `splitCombined` repeatedly: the area's name first, then its parents (nearest first). */
export function splitAll(text: string): string[] {
  const parts: string[] = [];
  let rest: string | null = text;
  while (rest !== null && parts.length < MAX_NAME_PARTS - 1) {
    const s = splitCombined(rest);
    parts.push(s.name);
    rest = s.parent;
  }
  if (rest !== null) parts.push(rest.trim());
  return parts.filter((p) => p !== '');
}

/** Rows reused by `boundedEditDistance` (grown when a longer string comes). */
let scratchA = new Int32Array(80);
let scratchB = new Int32Array(80);

/**
 * Levenshtein distance of `a` and `b` when it is at most `max`, else `max + 1`. Only the band
 * of cells within `max` of the diagonal is computed, and the rows stop as soon as every cell
 * of one exceeds `max`: about (2·max + 1) × |a| steps.
 */
export function boundedEditDistance(a: string, b: string, max: number): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > max) return max + 1;
  const over = max + 1;
  if (scratchA.length <= m) {
    scratchA = new Int32Array(m + 1);
    scratchB = new Int32Array(m + 1);
  }
  let prev = scratchA;
  let cur = scratchB;
  for (let j = 0; j <= m; j++) prev[j] = j <= max ? j : over;
  for (let i = 1; i <= n; i++) {
    const lo = Math.max(1, i - max);
    const hi = Math.min(m, i + max);
    cur.fill(over, 0, m + 1);
    cur[0] = i <= max ? i : over;
    let rowMin = cur[0] as number;
    const ca = a.charCodeAt(i - 1);
    for (let j = lo; j <= hi; j++) {
      const sub = (prev[j - 1] as number) + (ca === b.charCodeAt(j - 1) ? 0 : 1);
      const v = Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1, over);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return over;
    [prev, cur] = [cur, prev];
  }
  return Math.min(prev[m] as number, over);
}

/**
 * Which characters a key holds, as bits: a–z one bit each, digits folded onto four bits, any
 * other character but the space one bit. A character type of one key that the other lacks
 * costs at least one edit, so two keys within edit distance d differ by at most d set bits
 * each way: a cheap test before `boundedEditDistance`.
 */
export function charMask(key: string): number {
  let mask = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 97 && c <= 122) mask |= 1 << (c - 97);
    else if (c >= 48 && c <= 57) mask |= 1 << (26 + ((c - 48) % 4));
    else if (c !== 32) mask |= 1 << 30;
  }
  return mask;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

/** An area to resolve names to; with its days (`valid_from`/`valid_to`, ISO dates; absent or null: unbounded), a name read for a day resolves among the areas of that day only. */
export type NameArea = { code: string; name: string; kind: AreaKind; parent: string | null; valid_from?: string | null; valid_to?: string | null };
export type NameAlias = { code: string; alias: string };
export type Candidate = { code: string; name: string; parent: string | null; parent_code: string | null };
export type Resolution =
  | { status: 'resolved'; code: string; via: 'name' | 'alias' }
  | { status: 'ambiguous' | 'unknown'; candidates: Candidate[] };

/** An ISO calendar date's shape (a day that names resolve on). */
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Names and parents longer than this resolve to `unknown` without candidates (no work). */
export const MAX_NAME_CHARS = 200;
/** At most this many candidates for an unknown name. */
export const MAX_UNKNOWN_CANDIDATES = 10;
/** At most this many candidates for an ambiguous name ("Xã Tân Lập" exists in dozens of places). */
export const MAX_AMBIGUOUS_CANDIDATES = 50;
/** Keys longer than this get no near-name search. */
export const MAX_NEAR_KEY = 64;
/**
 * Default number of edit-distance searches one index makes (each ≈ 0.2–0.4 ms over 12,000
 * areas); after that, unknown names get only the candidates found by key lookups (the same
 * name elsewhere, the same key without spaces). Bounds the work a file of distinct garbage
 * names can cause to a few seconds per index.
 */
export const DEFAULT_NEAR_SEARCH_LIMIT = 10_000;
/** Default bound of the memo (distinct (name, parent, kind) triples). */
export const DEFAULT_MEMO_LIMIT = 100_000;

type Entry = {
  area: NameArea;
  key: string;
  compact: string;
  /** `charMask` of the key */
  mask: number;
  prefix: PrefixClass | null;
  /** keys of every ancestor's name and aliases */
  ancestorKeys: Set<string>;
  candidate: Candidate;
  /** rank of this entry among all, by parent name (numeric-aware: Quận 2 before Quận 10), then code */
  order: number;
};

type AliasEntry = { entry: Entry; prefix: PrefixClass | null };

const collator = new Intl.Collator('vi', { numeric: true, sensitivity: 'base' });

/** Sorted by parent name (numeric-aware: Quận 2 before Quận 10), then code. */
function compareParentThenCode(a: Entry, b: Entry): number {
  return collator.compare(a.candidate.parent ?? '', b.candidate.parent ?? '') || (a.area.code < b.area.code ? -1 : a.area.code > b.area.code ? 1 : 0);
}

const byOrder = (a: Entry, b: Entry) => a.order - b.order;

function uniqueEntries(es: readonly Entry[]): Entry[] {
  const seen = new Set<string>();
  return es.filter((e) => (seen.has(e.area.code) ? false : (seen.add(e.area.code), true)));
}

function pushTo<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
}

function frozen(r: Resolution): Resolution {
  if (r.status !== 'resolved') {
    r.candidates.forEach((c) => Object.freeze(c));
    Object.freeze(r.candidates);
  }
  return Object.freeze(r);
}

const unknown = (candidates: Candidate[]): Resolution => frozen({ status: 'unknown', candidates });

/**
 * Resolves typed area names to codes among `areas` (a tree by `parent` codes) and `aliases`
 * (confirmed alternative names of an area), never guessing.
 *
 * `resolve(areaName, parentName, kind, date)`:
 *  - `areaName` may carry its parents ("P. Long Bình, TP. Biên Hòa", see `splitCombined`);
 *    they join `parentName` (itself split the same way). Blank parents count as none.
 *  - Candidates: areas of `kind` (communes by default) whose `nameKey` equals the name's (trying
 *    `nameKeyVariants` in order, the first key that names any area of that kind), whose prefix
 *    class agrees with the name's (`prefixesAgree`), and for which every parent given matches
 *    the key of some ancestor (district, province, …) or of an alias of that ancestor.
 *  - Aliases: an alias key names its code (several codes if several areas share it); an alias
 *    counts only for an area of `kind`, with agreeing prefix, when every parent given agrees.
 *  - Exactly one name candidate (and no alias for another code) → resolved via 'name'; exactly
 *    one name candidate and an alias of another area → `ambiguous`, both listed (an area's own
 *    name is never taken over by an alias); else one alias code → resolved via 'alias' (an alias
 *    wins over several areas named the same — the user's confirmation of which one); several
 *    alias codes or several name candidates → `ambiguous` (sorted by parent name, code; at most
 *    MAX_AMBIGUOUS_CANDIDATES); none → `unknown` with candidates: the same name under other
 *    parents or with another prefix (parent-agreeing first), else near names (same key without
 *    spaces, or edit distance ≤ 2 on the key; ≤ 1 for keys of 3 characters or fewer), at most
 *    MAX_UNKNOWN_CANDIDATES. A near name is never resolved.
 *  - Names or parents over MAX_NAME_CHARS (or not strings) → `unknown` without candidates; the
 *    edit-distance search runs at most `nearSearchLimit` times per index (see
 *    DEFAULT_NEAR_SEARCH_LIMIT).
 *  - `date` (an ISO date, the row's): only areas that exist that day are candidates, by name or
 *    by alias — since 1 July 2025 a new ward often bears the name of an old one; a list of
 *    candidates for an unknown name is not limited by it (what a person might have meant).
 *  - Results are memoised by the raw (kind, parent, name) strings and the date's epoch (the
 *    days on which the same areas exist: `dayEpoch`), up to `memoLimit` entries
 *    (then the memo starts over); results are frozen (shared between calls).
 */
export class NameIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly byKey = new Map<AreaKind, Map<string, Entry[]>>();
  private readonly byCompact = new Map<AreaKind, Map<string, Entry[]>>();
  /** per kind, the entries by the length of their key (for the near-name search) */
  private readonly byLength = new Map<AreaKind, Map<number, Entry[]>>();
  private readonly aliasByKey = new Map<string, AliasEntry[]>();
  private memo = new Map<AreaKind, Map<string, Map<string, Resolution>>>();
  private memoEntries = 0;
  private hits = 0;
  private misses = 0;
  private readonly memoLimit: number;
  private nearSearchesLeft: number;
  /** the areas' distinct `valid_from` and `valid_to` days, sorted (see `dayEpoch`) */
  private readonly froms: string[];
  private readonly tos: string[];

  constructor(
    areas: readonly NameArea[],
    aliases: readonly NameAlias[] = [],
    options: { memoLimit?: number; nearSearchLimit?: number } = {},
  ) {
    this.memoLimit = Math.max(1, options.memoLimit ?? DEFAULT_MEMO_LIMIT);
    this.nearSearchesLeft = Math.max(0, options.nearSearchLimit ?? DEFAULT_NEAR_SEARCH_LIMIT);
    const byCode = new Map<string, NameArea>();
    for (const a of areas) if (!byCode.has(a.code)) byCode.set(a.code, a);
    const distinct = (days: (string | null | undefined)[]) => [...new Set(days.filter((d): d is string => typeof d === 'string'))].sort();
    this.froms = distinct([...byCode.values()].map((a) => a.valid_from));
    this.tos = distinct([...byCode.values()].map((a) => a.valid_to));
    const aliasKeys = new Map<string, Set<string>>();
    const parsedAliases: { code: string; parsed: ParsedName }[] = [];
    for (const al of aliases) {
      if (!byCode.has(al.code) || al.alias.length > MAX_NAME_CHARS) continue;
      const parsed = parseName(al.alias);
      if (parsed.key === '') continue;
      parsedAliases.push({ code: al.code, parsed });
      const ks = aliasKeys.get(al.code) ?? new Set<string>();
      ks.add(parsed.key);
      aliasKeys.set(al.code, ks);
    }
    const parsed = new Map<string, ParsedName>();
    for (const area of byCode.values()) parsed.set(area.code, parseName(area.name));
    for (const area of byCode.values()) {
      const { key, prefix } = parsed.get(area.code) as ParsedName;
      const ancestorKeys = new Set<string>();
      const seen = new Set<string>([area.code]);
      for (let p = area.parent; p !== null && !seen.has(p) && seen.size <= 16; ) {
        seen.add(p);
        const up = byCode.get(p);
        if (!up) break;
        ancestorKeys.add((parsed.get(up.code) as ParsedName).key);
        for (const k of aliasKeys.get(up.code) ?? []) ancestorKeys.add(k);
        p = up.parent;
      }
      const parentArea = area.parent === null ? undefined : byCode.get(area.parent);
      const entry: Entry = {
        area,
        key,
        compact: key.replace(/ /g, ''),
        mask: charMask(key),
        prefix,
        ancestorKeys,
        candidate: Object.freeze({ code: area.code, name: area.name, parent: parentArea?.name ?? null, parent_code: area.parent }),
        order: 0,
      };
      this.entries.set(area.code, entry);
      if (key === '') continue;
      if (!this.byKey.has(area.kind)) {
        this.byKey.set(area.kind, new Map());
        this.byCompact.set(area.kind, new Map());
        this.byLength.set(area.kind, new Map());
      }
      pushTo(this.byKey.get(area.kind) as Map<string, Entry[]>, key, entry);
      pushTo(this.byCompact.get(area.kind) as Map<string, Entry[]>, entry.compact, entry);
      pushTo(this.byLength.get(area.kind) as Map<number, Entry[]>, key.length, entry);
    }
    [...this.entries.values()].sort(compareParentThenCode).forEach((e, i) => (e.order = i));
    for (const { code, parsed } of parsedAliases) {
      pushTo(this.aliasByKey, parsed.key, { entry: this.entries.get(code) as Entry, prefix: parsed.prefix });
    }
  }

  /** Memo use so far: distinct triples held, calls answered from it, calls computed. */
  cacheStats(): { entries: number; hits: number; misses: number } {
    return { entries: this.memoEntries, hits: this.hits, misses: this.misses };
  }

  resolve(areaName: string, parentName?: string | null, kind: AreaKind = 'commune', date?: string | null): Resolution {
    const parentRaw = parentName ?? '';
    // a day that is not an ISO date does not narrow (the ingest refuses the row for it)
    const day = typeof date === 'string' && ISO_DAY.test(date) ? date : null;
    // days on which the same areas exist resolve alike: one memo entry for all of them
    const nameAt = `${day === null ? '' : this.dayEpoch(day)}\u0000${areaName}`;
    let byParent = this.memo.get(kind);
    const byName = byParent?.get(parentRaw);
    const known = byName?.get(nameAt);
    if (known !== undefined) {
      this.hits++;
      return known;
    }
    this.misses++;
    const result = this.compute(areaName, parentRaw, kind, day);
    if (this.memoEntries >= this.memoLimit) {
      this.memo = new Map();
      this.memoEntries = 0;
    }
    byParent = this.memo.get(kind);
    if (!byParent) this.memo.set(kind, (byParent = new Map()));
    let names = byParent.get(parentRaw);
    if (!names) byParent.set(parentRaw, (names = new Map()));
    names.set(nameAt, result);
    this.memoEntries++;
    return result;
  }

  /**
   * Which areas exist on `day` (compared as `compute`'s onDay does) depends only on how many
   * `valid_from` days are ≤ it and how many `valid_to` days are < it: that pair names the day's
   * epoch (without dated areas, every day is in one).
   */
  private dayEpoch(day: string): string {
    const count = (sorted: string[], below: (d: string) => boolean) => {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (below(sorted[mid] as string)) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    return `${count(this.froms, (d) => d <= day)}.${count(this.tos, (d) => d < day)}`;
  }

  private compute(areaName: string, parentRaw: string, kind: AreaKind, day: string | null): Resolution {
    // (typeof: rows parsed from spreadsheets may hand over numbers despite the types)
    if (typeof areaName !== 'string' || typeof parentRaw !== 'string') return unknown([]);
    if (areaName.length > MAX_NAME_CHARS || parentRaw.length > MAX_NAME_CHARS) return unknown([]);
    const [name = '', ...fromName] = splitAll(areaName);
    const parents = [...fromName, ...(parentRaw.trim() === '' ? [] : splitAll(parentRaw))];
    const parentKeys = parents.map((p) => nameKeyVariants(p).map((v) => v.key));
    const agrees = (e: Entry) => parentKeys.every((ks) => ks.some((k) => e.ancestorKeys.has(k)));
    const onDay = (e: Entry) => day === null || ((e.area.valid_from ?? day) <= day && (e.area.valid_to ?? day) >= day);
    const variants = nameKeyVariants(name).filter((v) => v.key !== '');
    if (variants.length === 0) return unknown([]);

    let aliasHits: Entry[] = [];
    for (const v of variants) {
      const hits = (this.aliasByKey.get(v.key) ?? []).filter(
        (h) => h.entry.area.kind === kind && prefixesAgree(v.prefix, h.prefix) && agrees(h.entry) && onDay(h.entry),
      );
      if (hits.length > 0) {
        aliasHits = uniqueEntries(hits.map((h) => h.entry));
        break;
      }
    }

    const keyed = this.byKey.get(kind);
    let same: Entry[] = [];
    let prefix: PrefixClass | null = null;
    for (const v of variants) {
      const es = keyed?.get(v.key);
      if (es && es.length > 0) {
        same = es;
        prefix = v.prefix;
        break;
      }
    }
    const survivors = same.filter((e) => prefixesAgree(prefix, e.prefix) && agrees(e) && onDay(e));

    const only = survivors.length === 1 ? (survivors[0] as Entry) : null;
    if (only && aliasHits.every((a) => a === only)) return frozen({ status: 'resolved', code: only.area.code, via: 'name' });
    // an area's own name is never taken over by another area's alias: both are candidates
    if (only) return frozen({ status: 'ambiguous', candidates: uniqueEntries([only, ...aliasHits]).sort(byOrder).slice(0, MAX_AMBIGUOUS_CANDIDATES).map((e) => e.candidate) });
    if (aliasHits.length === 1) return frozen({ status: 'resolved', code: (aliasHits[0] as Entry).area.code, via: 'alias' });
    const several = aliasHits.length > 1 ? aliasHits : survivors;
    if (several.length > 1) {
      const candidates = [...several].sort(byOrder).slice(0, MAX_AMBIGUOUS_CANDIDATES).map((e) => e.candidate);
      return frozen({ status: 'ambiguous', candidates });
    }

    // unknown: list what a person might have meant, those under the given parent first
    const rank = (found: { e: Entry; d: number }[]) =>
      found
        .map(({ e, d }) => ({ e, score: [agrees(e) ? 0 : 1, prefixesAgree(prefix, e.prefix) ? 0 : 1, d, e.order] }))
        .sort((a, b) => a.score[0]! - b.score[0]! || a.score[1]! - b.score[1]! || a.score[2]! - b.score[2]! || a.score[3]! - b.score[3]!)
        .slice(0, MAX_UNKNOWN_CANDIDATES)
        .map((s) => s.e.candidate);
    if (same.length > 0) return unknown(rank(same.map((e) => ({ e, d: 0 }))));
    return unknown(rank(this.near(variants, kind)));
  }

  /**
   * Areas of `kind` whose key is near one of `variants`' (see the class docstring). Only keys
   * of a length within the distance are compared, and only those that `charMask` does not rule
   * out. Measured on 11,900 generated areas (test bench, 2 cores): about 0.3 ms a name.
   */
  private near(variants: readonly ParsedName[], kind: AreaKind): { e: Entry; d: number }[] {
    const found = new Map<Entry, number>();
    const note = (e: Entry, d: number) => {
      const old = found.get(e);
      if (old === undefined || d < old) found.set(e, d);
    };
    const byLength = this.nearSearchesLeft > 0 ? this.byLength.get(kind) : undefined;
    if (byLength) this.nearSearchesLeft--;
    for (const { key } of variants) {
      if (key.length > MAX_NEAR_KEY) continue;
      for (const e of this.byCompact.get(kind)?.get(key.replace(/ /g, '')) ?? []) note(e, 0);
      if (!byLength) continue;
      const max = key.length <= 3 ? 1 : 2;
      const mask = charMask(key);
      for (let len = key.length - max; len <= key.length + max; len++) {
        for (const e of byLength.get(len) ?? []) {
          if (popcount(mask & ~e.mask) > max || popcount(e.mask & ~mask) > max) continue;
          const d = boundedEditDistance(key, e.key, max);
          if (d <= max) note(e, d);
        }
      }
    }
    return [...found].map(([e, d]) => ({ e, d }));
  }
}
