import { unprocessable } from '../../errors';
import type { Crs } from './crs';

/** What a format reader gives back before the field map and the CRS transform. */
export type RawFeature = { geometry: unknown; properties: Record<string, unknown> };
export type RawRead = {
  layer: string | null;
  /** the CRS the file declares (null: none; then the crs option is required) */
  crs: Crs | null;
  features: RawFeature[];
  attributes: string[];
};

/** A file part that cannot be read: 422 naming the part. */
export const unreadable = (part: string, why: string) =>
  unprocessable(`Tệp không đọc được — the file cannot be read: ${part}: ${why}`, [{ path: part, message: why }], 'unreadable_file');

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Text values NFC-normalised (Vietnamese arrives decomposed from Windows-1258 and some Macs). */
export function nfcProperties(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) out[k.normalize('NFC')] = typeof v === 'string' ? v.normalize('NFC') : v;
  return out;
}

/** The attribute names of a set of features, in first-seen order. */
export function attributesOf(features: RawFeature[], skip: ReadonlySet<string> = new Set()): string[] {
  const seen = new Set<string>();
  for (const f of features) for (const k of Object.keys(f.properties)) if (!skip.has(k)) seen.add(k);
  return [...seen];
}
