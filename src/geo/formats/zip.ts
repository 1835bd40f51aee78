import zlib from 'node:zlib';
import { Inflate } from 'fflate';
import { AppError, unprocessable } from '../../errors';
import { tooLarge } from './limits';
import { LIMITS } from './types';

/**
 * A zip archive read defensively: the central directory is read first (at most
 * LIMITS.zipEntries entries) and every declared size is checked before anything is
 * inflated; then an entry is inflated (fflate, streaming) only when asked for, stopping as
 * soon as it produces more than it declared, and its CRC-32 is checked. A zip bomb is thus
 * refused either from its directory or within 16 KiB of compressed input past its claim.
 */
export type ZipEntry = {
  name: string;
  compression: number;
  compressedSize: number;
  size: number;
  crc: number;
  localHeader: number;
};

const CHUNK = 16 * 1024;

const corrupt = (what: string, why: string) =>
  unprocessable(`Tệp nén hỏng hoặc không đọc được — the ${what} is not a readable zip: ${why}`, [{ path: what, message: why }], 'unreadable_file');

/** The entries of a zip (its central directory), after the count and size checks. */
export function listZip(bytes: Uint8Array, what: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= 0 && i >= bytes.length - 22 - 0xffff; i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt(what, 'no end of central directory record');
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  let p = view.getUint32(eocd + 16, true);
  if (count === 0xffff || p === 0xffffffff) throw corrupt(what, 'ZIP64 archives are not accepted');
  if (count > LIMITS.zipEntries) {
    throw tooLarge(`Tệp nén có ${count} mục, tối đa ${LIMITS.zipEntries} — the ${what} has ${count} entries, at most ${LIMITS.zipEntries} are accepted`, what);
  }
  if (p + cdSize > eocd) throw corrupt(what, 'the central directory lies outside the file');
  const entries: ZipEntry[] = [];
  let total = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== 0x02014b50) throw corrupt(what, `central directory entry ${n + 1} is damaged`);
    const flags = view.getUint16(p + 8, true);
    const nameLength = view.getUint16(p + 28, true);
    const next = p + 46 + nameLength + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
    if (next > eocd) throw corrupt(what, `central directory entry ${n + 1} is damaged`);
    // names without the UTF-8 flag (0x800) are CP437 by the standard, but archivers write UTF-8 anyway
    const name = new TextDecoder('utf-8').decode(bytes.subarray(p + 46, p + 46 + nameLength)).normalize('NFC');
    const entry: ZipEntry = {
      name,
      compression: view.getUint16(p + 10, true),
      crc: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localHeader: view.getUint32(p + 42, true),
    };
    if (flags & 1) throw corrupt(what, `${name} is encrypted`);
    if (entry.size === 0xffffffff || entry.compressedSize === 0xffffffff) throw corrupt(what, 'ZIP64 archives are not accepted');
    if (entry.size > LIMITS.zipEntryBytes) {
      throw tooLarge(`Mục ${name} quá lớn khi giải nén — ${name} in the ${what} declares ${entry.size} bytes uncompressed, at most ${LIMITS.zipEntryBytes}`, `${what}/${name}`);
    }
    if (entry.size > LIMITS.zipRatioFloorBytes && entry.size > LIMITS.zipRatio * Math.max(1, entry.compressedSize)) {
      throw tooLarge(
        `Mục ${name} bị nén bất thường (có thể là bom nén) — ${name} in the ${what} expands ${Math.round(entry.size / Math.max(1, entry.compressedSize))}:1, more than ${LIMITS.zipRatio}:1 (a zip bomb?)`,
        `${what}/${name}`,
      );
    }
    total += entry.size;
    if (total > LIMITS.zipTotalBytes) {
      throw tooLarge(`Tệp nén quá lớn khi giải nén — the ${what} declares more than ${LIMITS.zipTotalBytes} bytes uncompressed`, what);
    }
    entries.push(entry);
    p = next;
  }
  return entries;
}

/** One entry's contents: stops inflating past its declared size; checks its CRC-32. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, what: string): Uint8Array {
  const where = `${what}/${entry.name}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = entry.localHeader;
  if (h + 30 > bytes.length || view.getUint32(h, true) !== 0x04034b50) throw corrupt(what, `the local header of ${entry.name} is damaged`);
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw corrupt(what, `${entry.name} runs past the end of the file`);
  const data = bytes.subarray(start, end);
  let out: Uint8Array;
  if (entry.compression === 0) {
    if (entry.compressedSize !== entry.size) throw corrupt(what, `${entry.name} is stored with two different sizes`);
    out = data;
  } else if (entry.compression === 8) {
    out = new Uint8Array(entry.size);
    let at = 0;
    const inflate = new Inflate((chunk) => {
      if (at + chunk.length > entry.size) {
        throw tooLarge(`Mục ${entry.name} lớn hơn kích thước khai báo (bom nén?) — ${entry.name} inflates past its declared ${entry.size} bytes (a zip bomb?)`, where);
      }
      out.set(chunk, at);
      at += chunk.length;
    });
    try {
      for (let i = 0; i < data.length; i += CHUNK) inflate.push(data.subarray(i, Math.min(i + CHUNK, data.length)), i + CHUNK >= data.length);
      if (data.length === 0) inflate.push(new Uint8Array(0), true);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw corrupt(what, `${entry.name} cannot be inflated (${e instanceof Error ? e.message : String(e)})`);
    }
    if (at !== entry.size) throw corrupt(what, `${entry.name} inflates to ${at} bytes, not the declared ${entry.size}`);
  } else {
    throw corrupt(what, `${entry.name} uses compression method ${entry.compression}; only stored and deflate are accepted`);
  }
  const crc32 = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
  if (crc32 && crc32(out) >>> 0 !== entry.crc >>> 0) throw corrupt(what, `${entry.name} fails its CRC-32 check`);
  return out;
}

/** The file part of a zip entry name, lower-cased extension split off: "a/Xa.SHP" → { base: "a/Xa", ext: "shp" }. */
export function splitName(name: string): { base: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= name.lastIndexOf('/')) return { base: name, ext: '' };
  return { base: name.slice(0, dot), ext: name.slice(dot + 1).toLowerCase() };
}

/** Entries that are files of the archive's content (no directories, no macOS resource forks). */
export const contentEntries = (entries: ZipEntry[]) => entries.filter((e) => !e.name.endsWith('/') && !/(^|\/)__MACOSX\//.test(e.name) && !/(^|\/)\._/.test(e.name));
