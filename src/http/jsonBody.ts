import type { RequestHandler } from 'express';
import { AppError, MAX_ERROR_DETAILS, unprocessable } from '../errors';
import { formatPath } from '../domain/rules/definition';

/**
 * Duplicate keys in JSON bodies.
 *
 * `JSON.parse` keeps the last of two equal keys and says nothing, so `{"type": "a", "type": "b"}`
 * would be stored as `{"type": "b"}` without the sender knowing. Every JSON body
 * (`application/json`, `application/geo+json`, on every route) is therefore scanned once more,
 * after `JSON.parse` accepted it, for an object that names the same key twice; such a body is
 * refused with 422 `duplicate_key`, each detail naming the key's path (`levels[0].steps[1].type`,
 * as src/domain/rules/definition.ts formatPath writes paths). Keys are compared after unescaping:
 * `"a"` and `"\u0061"` are the same key. Malformed JSON never gets here (400 `invalid_json`, as
 * before), and a 422 comes before any handler ran: nothing is written.
 *
 * Why a scanner of our own: `JSON.parse`'s reviver sees each key once, after the later value has
 * replaced the earlier, so it cannot tell. The npm packages made for this are unsound here:
 * find-duplicated-property-keys misses `"a"`/`"\u0061"` and is quadratic (0.2 MB: 0.6 s,
 * 0.9 MB: 20 s); json-dup-key-validator recurses (a 100,000-deep body overflows its stack),
 * names no path, and is slower than `JSON.parse` itself. General parsers that could serve
 * (jsonc-parser's visitor, @humanwhocodes/momoa) make a token or a node for every value. This
 * scan reads the bytes body-parser already holds, once, left to right, looking only at quotes,
 * brackets and commas: no recursion (any depth), and no allocation for objects of up to
 * LINEAR_KEYS unescaped keys (keys compared by hash, length and bytes in the body itself); larger
 * objects, or ones with an escaped key, keep their decoded keys in a Set until they close.
 *
 * Measured on the development machine (2 cores shared with other work, Node 20.20; JSON.parse of
 * the decoded body, as body-parser does, then the scan of the same bytes; medians of 18 runs,
 * three series; the libraries installed apart for the comparison, none is a dependency):
 *
 *   body                                           JSON.parse    the scan          json-dup-key-validator  jsonc-parser visit
 *   10.1 MB GeoJSON (119 features × 3,700 vertices)  266–284 ms   18–20 ms (7–8 %)   416–583 ms              229–334 ms
 *   5.1 MB reports (40,792 rows × 6 keys)            56–57 ms     11–12 ms (20 %)    148–251 ms              137–202 ms
 *
 * The heap grew by at most 0.4 MB during a scan. So the check adds a tenth to a fifth of the
 * time the event loop already stops for `JSON.parse` of the same body (at the default 32 MB
 * limit: 160–200 ms of scan after 1.3–1.4 s of parse for GeoJSON, 125–130 ms after 0.7 s for
 * reports); splitting it across ticks would not shorten the longest stop, which is the parse's.
 * Objects of many keys cost more (one object of 400,000 keys: 0.3 s, against 0.4–0.5 s for its
 * parse), still linear.
 *
 * On Node 26 (the engines field) JSON.parse is much faster: a 31 MB body of 360,847 reports
 * parses in 120–170 ms and the scan takes 90–280 ms, so the scan runs in a turn of the event
 * loop of its own (src/http/app.ts), as does the depth check before it.
 */

/**
 * Objects with up to this many keys are checked by comparing each key with the earlier ones
 * (hash, length, then bytes: no allocation); larger ones use a Set of the decoded keys.
 */
export const LINEAR_KEYS = 64;
/** FNV-1a over a key's bytes, kept to 30 bits so that V8 stores it as a small integer. */
const FNV_BASIS = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const SMALL = 0x3fffffff;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What a byte means to the scan: nothing (0), or one of the structural characters below. */
const STRING = 1;
const OPEN_OBJECT = 2;
const OPEN_ARRAY = 3;
const CLOSE = 4;
const COMMA = 5;
const BYTE_CLASS = byteClasses();

function byteClasses(): Uint8Array {
  const t = new Uint8Array(256);
  t[QUOTE] = STRING;
  t[0x7b] = OPEN_OBJECT;
  t[0x5b] = OPEN_ARRAY;
  t[0x7d] = CLOSE;
  t[0x5d] = CLOSE;
  t[0x2c] = COMMA;
  return t;
}

/** One repeated key: where it is (formatPath style) and the key, unescaped. */
export type DuplicateKey = { path: string; key: string; again: boolean };

/**
 * The keys that repeat an earlier key of the same object: how many (`count`) and the first
 * `limit` of them in text order with their paths (`again` is false for the first repeat of a key
 * in its object, true for a third or later occurrence). Keys are equal when their unescaped texts
 * are (`"a"` = `"\u0061"`). `text` must be JSON that `JSON.parse` accepted, as UTF-8 bytes (a
 * leading BOM is allowed): the scan checks no syntax of its own. Linear in the length of `text`
 * (an object's key is compared with at most LINEAR_KEYS earlier keys, then looked up in a Set;
 * a path is built only for the first `limit` repeats, each as long as its depth); no recursion,
 * any depth.
 *
 * Keys are compared as bytes where that is exact (UTF-8 spells every character one way): an
 * object whose keys are all unescaped and at most LINEAR_KEYS costs no allocation. An object
 * with an escaped key or more keys than that has its keys decoded into a Set of strings.
 */
export function findDuplicateKeys(text: Buffer, limit: number): { count: number; first: DuplicateKey[] } {
  // The state lives in local arrays, not in an object made per call: V8 compiles this loop
  // while it runs (OSR) and would tie the code to such an object, then drop the code after the
  // next GC (measured: 4× slower with a GC between two bodies).
  // one entry per open object or array, outermost first
  const isObject: boolean[] = [];
  const index: number[] = []; // arrays: the element being read
  const keyStart: number[] = []; // objects: the key being read (byte offsets, within the quotes)
  const keyEnd: number[] = [];
  const keyEscaped: boolean[] = [];
  const firstKey: number[] = []; // objects compared by bytes: where their keys start in `starts`/`ends`
  const strings: (Set<string> | null)[] = []; // objects compared as strings: their keys
  const repeated: (Set<string> | null)[] = []; // objects: keys already reported as repeated
  // the keys of the open objects compared by bytes, innermost last
  const starts: number[] = [];
  const ends: number[] = [];
  const hashes: number[] = [];
  const first: DuplicateKey[] = [];
  let count = 0;
  let top = -1;
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const kind = BYTE_CLASS[text[i]];
    if (kind === 0) continue;
    if (kind === STRING) {
      const start = i + 1;
      let j = start;
      if (!expectKey) {
        // a value: find the closing quote
        for (;;) {
          const b = text[j];
          if (b === QUOTE) break;
          j += b === BACKSLASH ? 2 : 1;
        }
        i = j;
        continue;
      }
      // a key: find the closing quote, noting escapes and hashing the bytes (FNV-1a)
      let escaped = false;
      let hash = FNV_BASIS;
      for (;;) {
        const b = text[j];
        if (b === QUOTE) break;
        if (b === BACKSLASH) {
          escaped = true;
          j++;
        }
        hash = Math.imul(hash ^ b, FNV_PRIME);
        j++;
      }
      i = j;
      expectKey = false;
      keyStart[top] = start;
      keyEnd[top] = j;
      keyEscaped[top] = escaped;
      let seen: boolean;
      const set = strings[top];
      if (set) seen = seenString(set, keyText(text, start, j, escaped));
      else if (!escaped && starts.length - firstKey[top] < LINEAR_KEYS) seen = seenBytes(text, start, j, hash & SMALL, starts, ends, hashes, firstKey[top]);
      else {
        // past LINEAR_KEYS keys, or an escaped key: this object's keys as strings from now on
        const from = firstKey[top];
        const all = new Set<string>();
        for (let m = from; m < starts.length; m++) all.add(text.toString('utf8', starts[m], ends[m]));
        starts.length = ends.length = hashes.length = from;
        strings[top] = all;
        seen = seenString(all, keyText(text, start, j, escaped));
      }
      if (seen && count++ < limit) {
        const k = keyText(text, start, j, escaped);
        const reported = (repeated[top] ??= new Set());
        const again = reported.has(k);
        reported.add(k);
        const path: (string | number)[] = [];
        for (let f = 0; f <= top; f++) path.push(isObject[f] ? keyText(text, keyStart[f], keyEnd[f], keyEscaped[f]) : index[f]);
        first.push({ path: formatPath(path), key: k, again });
      }
    } else if (kind === OPEN_OBJECT) {
      top++;
      isObject[top] = true;
      firstKey[top] = starts.length;
      strings[top] = null;
      repeated[top] = null;
      expectKey = true;
    } else if (kind === OPEN_ARRAY) {
      top++;
      isObject[top] = false;
      index[top] = 0;
    } else if (kind === CLOSE) {
      if (isObject[top]) {
        starts.length = ends.length = hashes.length = firstKey[top];
        strings[top] = null;
        repeated[top] = null;
      }
      top--;
      expectKey = false;
    } else if (isObject[top]) expectKey = true;
    else index[top]++;
  }
  return { count, first };
}

/**
 * Whether the key at `start`..`end` of `text` (with hash `hash`) equals, byte for byte, one of
 * the keys `starts[m]`..`ends[m]` for m ≥ `from`; if not, it is added to them. The hash and the
 * length are compared first, the bytes only when both agree.
 */
function seenBytes(text: Buffer, start: number, end: number, hash: number, starts: number[], ends: number[], hashes: number[], from: number): boolean {
  const length = end - start;
  for (let m = from; m < starts.length; m++) {
    if (hashes[m] !== hash) continue;
    const s = starts[m];
    if (ends[m] - s !== length) continue;
    let k = 0;
    while (k < length && text[s + k] === text[start + k]) k++;
    if (k === length) return true;
  }
  starts.push(start);
  ends.push(end);
  hashes.push(hash);
  return false;
}

/** Whether `set` has `key`; if not, it is added. */
function seenString(set: Set<string>, key: string): boolean {
  if (set.has(key)) return true;
  set.add(key);
  return false;
}

/** The key between byte offsets `start` and `end` (its quotes excluded), unescaped. */
function keyText(text: Buffer, start: number, end: number, escaped: boolean): string {
  // the whole body parsed, so the quoted key is a valid JSON string
  return escaped ? (JSON.parse(text.toString('utf8', start - 1, end + 1)) as string) : text.toString('utf8', start, end);
}

/** Where the body parser's `verify` leaves the bytes of a JSON body for refuseDuplicateKeys. */
const BYTES = 'jsonBodyBytes';
/** Where they stay after it, for the handler. */
const RAW = 'bodyBytes';

/**
 * The bytes of the request's body as they came (a JSON body's, kept by keepJsonBytes; a raw
 * body's), or an empty buffer: an import records the file's SHA-256 and size from these.
 */
export function bodyBytes(req: { body?: unknown }, res: { locals: Record<string, unknown> }): Buffer {
  const kept = res.locals[RAW];
  if (Buffer.isBuffer(kept)) return kept;
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/**
 * For express.json's `verify`: keeps the body's bytes (the buffer body-parser already holds, not
 * a copy) for refuseDuplicateKeys. JSON bodies are UTF-8 only: a body declared in any other
 * charset is refused (415) before anything else looks at it — decoding UTF-16 here as well as in
 * body-parser would let the two disagree on byte order (a BOM-less `charset=utf-16` body reads
 * one way to JSON.parse and another to the scan), and a duplicate key would slip through.
 */
export function keepJsonBytes(res: unknown, buf: Buffer, encoding: string | null): void {
  const charset = (encoding ?? 'utf-8').toLowerCase();
  if (charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError(415, 'unsupported_media_type', `unsupported charset "${charset.toUpperCase()}": send JSON as UTF-8`, [{ path: 'Content-Type', message: 'charset=utf-8' }]);
  }
  (res as { locals: Record<string, unknown> }).locals[BYTES] = buf;
}

/**
 * After express.json: a body that `keepJsonBytes` kept and that names a key twice in one object
 * is refused with 422 `duplicate_key` (at most MAX_ERROR_DETAILS details, each with the key's
 * path), before any handler runs. Bodies that were not JSON pass untouched.
 */
export function refuseDuplicateKeys(): RequestHandler {
  return (_req, res, next) => {
    const bytes = res.locals[BYTES] as Buffer | undefined;
    if (bytes === undefined) {
      next();
      return;
    }
    delete res.locals[BYTES];
    res.locals[RAW] = bytes; // for an import's batch (its hash and size): see bodyBytes
    const { count, first } = findDuplicateKeys(bytes, MAX_ERROR_DETAILS);
    if (count === 0) {
      next();
      return;
    }
    next(
      unprocessable(
        duplicateKeysMessage(count, first.length),
        first.map((d) => ({ path: d.path, message: `key ${JSON.stringify(d.key)} ${d.again ? 'appears again' : 'appears twice'}` })),
        'duplicate_key',
      ),
    );
  };
}

/** The message of a duplicate_key refusal: Vietnamese first, English beside it (as the CSV ingest's). */
export function duplicateKeysMessage(count: number, listed: number): string {
  const vi = `Dữ liệu JSON có khóa lặp lại trong cùng một đối tượng (${count.toLocaleString('vi-VN')} khóa lặp${count > listed ? `, liệt kê ${listed.toLocaleString('vi-VN')} khóa đầu` : ''}); không có gì được ghi`;
  const en = `the JSON body names a key twice in one object (${count.toLocaleString('en')} repeated ${count === 1 ? 'key' : 'keys'}${count > listed ? `, first ${listed} listed` : ''}): JSON.parse would keep only the later value; nothing was written`;
  return `${vi} — ${en}`;
}

/**
 * Lone surrogates in JSON bodies.
 *
 * A JSON string may spell a UTF-16 surrogate alone (`"\udfff"`): `JSON.parse` keeps it, but it
 * is no Unicode character and has no UTF-8 form. Stored as text it would turn into U+FFFD on
 * the way to the database; inside a `jsonb` value (a rule set's definition, say) PostgreSQL
 * refuses the whole statement, which named no field. As bad UTF-8 bytes are refused (400
 * `invalid_utf8`), such a string is refused before any handler runs: 422 `invalid_unicode`, each
 * detail naming the string's path (a key's path for a key), nothing written.
 *
 * Only the body's bytes can spell one (`\uD800`–`\uDFFF`: raw bytes of a surrogate are not
 * UTF-8 and never get this far), so the parsed body is walked only when its bytes hold such an
 * escape — a valid pair (an emoji escaped by a client that escapes everything) passes the walk.
 */
export function loneSurrogatePaths(bytes: Buffer, body: unknown, max: number): { count: number; first: string[] } {
  const out = { count: 0, first: [] as string[] };
  if (!mayHoldSurrogateEscape(bytes) || wellFormed(body)) return out;
  // a body refused: walked again, each entry with its parent's, so that each path can be told
  type Entry = { value: unknown; key: string | number | null; up: Entry | null };
  const pathOf = (e: Entry | null, last?: string): string => {
    const keys: (string | number)[] = last === undefined ? [] : [last];
    for (let at = e; at && at.key !== null; at = at.up) keys.push(at.key);
    return formatPath(keys.reverse());
  };
  const refuse = (path: string) => {
    out.count++;
    if (out.first.length < max) out.first.push(path);
  };
  const stack: Entry[] = [{ value: body, key: null, up: null }];
  while (stack.length) {
    const e = stack.pop() as Entry;
    const v = e.value;
    if (typeof v === 'string') {
      if (!v.isWellFormed()) refuse(pathOf(e));
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: i, up: e });
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i] as string;
        if (!k.isWellFormed()) refuse(pathOf(e, k));
        stack.push({ value: (v as Record<string, unknown>)[k], key: k, up: e });
      }
    }
  }
  return out;
}

/**
 * Whether every string and key of `body` is well formed: a stack of its objects and arrays
 * only, nothing made per value. Measured on a 38 MB body of 360,847 reports holding one escaped
 * pair (while other work ran on the two cores): 0.19–0.29 s, against 0.31–0.49 s walked with a
 * parent entry per value and 0.7–1.0 s for JSON.parse of the same body; the walk that tells
 * paths is kept for a body refused. A body without a surrogate's escape is not walked: its
 * bytes are searched for one in ~5 ms.
 */
function wellFormed(body: unknown): boolean {
  if (typeof body === 'string') return body.isWellFormed();
  const stack: unknown[] = [body];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const x of v) {
        if (typeof x === 'string') {
          if (!x.isWellFormed()) return false;
        } else if (x !== null && typeof x === 'object') stack.push(x);
      }
    } else if (v !== null && typeof v === 'object') {
      for (const k in v) {
        if (!k.isWellFormed()) return false;
        const x = (v as Record<string, unknown>)[k];
        if (typeof x === 'string') {
          if (!x.isWellFormed()) return false;
        } else if (x !== null && typeof x === 'object') stack.push(x);
      }
    }
  }
  return true;
}

/** Whether `bytes` hold `\u` followed by D8–DF (a surrogate's escape, or what looks like one). */
function mayHoldSurrogateEscape(bytes: Buffer): boolean {
  for (let i = bytes.indexOf('\\u'); i >= 0 && i + 3 < bytes.length; i = bytes.indexOf('\\u', i + 2)) {
    const d = bytes[i + 2] as number;
    const next = (bytes[i + 3] as number) | 0x20; // lower case
    if ((d === 0x44 || d === 0x64) && ((next >= 0x38 && next <= 0x39) || (next >= 0x61 && next <= 0x66))) return true;
  }
  return false;
}

/**
 * After refuseDuplicateKeys: a JSON body with a lone surrogate in a string or key is refused
 * with 422 `invalid_unicode` (at most MAX_ERROR_DETAILS details, each naming the path), before
 * any handler runs. Bodies that were not JSON pass untouched.
 */
export function refuseLoneSurrogates(): RequestHandler {
  return (req, res, next) => {
    // set by refuseDuplicateKeys for a JSON body only
    const bytes = res.locals[RAW] as Buffer | undefined;
    if (bytes === undefined) {
      next();
      return;
    }
    const { count, first } = loneSurrogatePaths(bytes, req.body, MAX_ERROR_DETAILS);
    if (count === 0) {
      next();
      return;
    }
    const vi = `Dữ liệu JSON có chuỗi chứa nửa cặp surrogate UTF-16 đứng một mình, không phải ký tự Unicode hợp lệ (${count.toLocaleString('vi-VN')} chuỗi); không có gì được ghi`;
    const en = `the JSON body has ${count === 1 ? 'a string' : `${count.toLocaleString('en')} strings`} with a lone UTF-16 surrogate, which is no Unicode character${count > first.length ? ` (first ${first.length} listed)` : ''}; nothing was written`;
    next(unprocessable(`${vi} — ${en}`, first.map((path) => ({ path, message: 'a lone surrogate (\\uD800–\\uDFFF without its pair): not valid Unicode' })), 'invalid_unicode'));
  };
}
