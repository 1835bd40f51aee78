import { isUtf8 } from 'node:buffer';
import type { TableKind } from './headers';

/** How a table upload is written. */
export type TableDialect = {
  format: 'csv' | 'xlsx';
  encoding: 'utf8' | 'windows1258';
  bom: boolean;
  delimiter: ',' | ';' | '\t';
};

export const XLSX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const hasBom = (b: Buffer) => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

/**
 * Whether bytes are UTF-8, judging whole sequences only: a multi-byte sequence cut off by
 * the end of the buffer (a first chunk ends anywhere) is left out of the judgement.
 */
function looksUtf8(b: Buffer): boolean {
  let lead = b.length - 1;
  while (lead >= 0 && lead > b.length - 4 && ((b[lead] as number) & 0xc0) === 0x80) lead--;
  let end = b.length;
  if (lead >= 0) {
    const c = b[lead] as number;
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (lead + need > b.length) end = lead;
  }
  return isUtf8(b.subarray(0, end));
}

/**
 * Bytes only Windows-1258 gives Vietnamese text: Ă ă Đ đ Ơ ơ Ư ư and the combining tone marks
 * (grave, acute, tilde, hook above, dot below).
 */
const CP1258_VIETNAMESE = new Set([0xc3, 0xe3, 0xd0, 0xf0, 0xd5, 0xf5, 0xdd, 0xfd, 0xcc, 0xec, 0xde, 0xd2, 0xf2]);
/** Bytes Windows-1258 leaves undefined. */
const CP1258_UNDEFINED = new Set([0x81, 0x8a, 0x8d, 0x8e, 0x8f, 0x90, 0x9a, 0x9d, 0x9e]);

/**
 * Whether bytes that are not UTF-8 read as Vietnamese in Windows-1258: every byte a defined
 * character, and at least one of the letters or tone marks only Vietnamese uses. A Latin-1
 * "é", a UTF-8 character cut in half or a CESU surrogate does not — such a file is refused
 * as "not UTF-8", naming the line, rather than read as something it is not.
 */
export function looksWindows1258(b: Buffer): boolean {
  let vietnamese = false;
  const cont = (i: number) => i < b.length && ((b[i] as number) & 0xc0) === 0x80;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (c < 0x80) continue;
    if (CP1258_UNDEFINED.has(c)) return false;
    // a whole UTF-8 sequence: UTF-8 with a bad byte somewhere, not Windows-1258
    if ((c >= 0xc2 && c <= 0xdf && cont(i + 1)) || (c >= 0xe0 && c <= 0xef && cont(i + 1) && cont(i + 2))) return false;
    if (CP1258_VIETNAMESE.has(c)) vietnamese = true;
  }
  return vietnamese;
}

/** The bytes of the header line: the first line that is not empty, ended by a newline outside quotes (or the buffer's end). */
function headerLine(b: Buffer, start: number): [number, number] {
  let s = start;
  while (s < b.length && (b[s] === 10 || b[s] === 13)) s++;
  let inQuotes = false;
  let e = s;
  for (; e < b.length; e++) {
    const c = b[e];
    if (c === 34) inQuotes = !inQuotes;
    else if (!inQuotes && (c === 10 || c === 13)) break;
  }
  return [s, e];
}

/**
 * What kind of table `first` (the first bytes of an upload, ideally ≥ 64 KiB or all of it)
 * is. XLSX when the content type says so or the bytes start with the zip magic `PK\3\4`
 * (then encoding utf8, no BOM, delimiter ','). Otherwise CSV: a UTF-8 BOM → utf8; valid
 * UTF-8 → utf8; anything else → windows1258 (what a Vietnamese-locale Excel saves as
 * "CSV"; the caller checks with looksWindows1258 that the whole file reads as it). The delimiter is whichever of `;` `,` TAB occurs most often outside quotes on the
 * header line (the first non-empty line); ties go to `;`, then TAB; none at all → ','.
 */
export function sniffTable(first: Buffer, contentType: string): TableDialect {
  const zip = first.length >= 4 && first[0] === 0x50 && first[1] === 0x4b && first[2] === 3 && first[3] === 4;
  if (zip || contentType.split(';')[0]?.trim().toLowerCase() === XLSX_CONTENT_TYPE) return { format: 'xlsx', encoding: 'utf8', bom: false, delimiter: ',' };
  const bom = hasBom(first);
  const encoding = bom || looksUtf8(first) ? 'utf8' : 'windows1258';
  const [s, e] = headerLine(first, bom ? 3 : 0);
  let semi = 0;
  let comma = 0;
  let tab = 0;
  let inQuotes = false;
  for (let i = s; i < e; i++) {
    const c = first[i];
    if (c === 34) inQuotes = !inQuotes;
    else if (inQuotes) continue;
    else if (c === 59) semi++;
    else if (c === 44) comma++;
    else if (c === 9) tab++;
  }
  const delimiter = semi === 0 && comma === 0 && tab === 0 ? ',' : semi >= comma && semi >= tab ? ';' : tab >= comma ? '\t' : ',';
  return { format: 'csv', encoding, bom, delimiter };
}

const CANONICAL: Record<TableKind, { known: ReadonlySet<string>; required: readonly string[] }> = {
  reports: { known: new Set(['area', 'date', 'community_cases', 'quarantine_cases', 'deaths', 'source']), required: ['area', 'date', 'community_cases', 'quarantine_cases'] },
  metrics: { known: new Set(['area', 'date', 'name', 'value']), required: ['area', 'date', 'name', 'value'] },
};

/**
 * True only when `first` is the start of a CSV the existing fast path reads as it is: UTF-8
 * (a BOM allowed), and its first line — complete, ended by a newline — is exactly canonical
 * column names joined by commas: known names of the kind only (no area_name), each once,
 * all required ones, any order, no quotes or spaces. Then the caller hands the bytes to
 * the ingest untouched; anything else goes through normaliseTable.
 */
export function isCanonicalCsv(first: Buffer, kind: TableKind): boolean {
  const start = hasBom(first) ? 3 : 0;
  const nl = first.indexOf(10, start);
  if (nl < 0 || !looksUtf8(first.subarray(start))) return false;
  let line = first.toString('utf8', start, nl);
  if (line.endsWith('\r')) line = line.slice(0, -1);
  const names = line.split(',');
  const { known, required } = CANONICAL[kind];
  if (new Set(names).size !== names.length || names.some((n) => !known.has(n))) return false;
  return required.every((r) => names.includes(r));
}
