import { z } from 'zod';

/** Administrative hierarchy: province ⊃ district ⊃ commune ⊃ subcommune. */
export const AREA_KINDS = ['province', 'district', 'commune', 'subcommune'] as const;
export type AreaKind = (typeof AREA_KINDS)[number];

export const AREA_CODE_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** An area code where clients send one (rows, features, query parameters). */
export const areaCodeSchema = z
  .string({ error: 'phải là mã địa bàn (chuỗi) — must be an area code (string)' })
  .regex(AREA_CODE_RE, 'phải gồm 1–64 ký tự A-Z a-z 0-9 . _ - — must be 1–64 characters from A-Z a-z 0-9 . _ -');

/** Lower rank is higher in the hierarchy; a parent must rank strictly above its child. */
export function kindRank(kind: AreaKind): number {
  return AREA_KINDS.indexOf(kind);
}

/** The kind directly below `kind` (what a summary over a parent counts by default). */
export function childKind(kind: AreaKind): AreaKind | null {
  return AREA_KINDS[kindRank(kind) + 1] ?? null;
}

/**
 * Search key for Vietnamese names: lower case, diacritics removed, đ → d, spaces folded,
 * so "long binh" finds "Phường Long Bình".
 */
export function searchKey(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * GADM codes carry the hierarchy: commune VNM.17.1.28_1 → district VNM.17.1_1 → province
 * VNM.17_1. Returns null for a code that is not a GADM level-1..3 id.
 */
export function gadmParentCode(code: string): string | null {
  const m = /^([A-Z]{3}(?:\.\d+)+)_(\d+)$/.exec(code);
  if (!m) return null;
  const parts = (m[1] as string).split('.');
  if (parts.length <= 2) return null; // a province (VNM.17_1) has no parent in the file
  return `${parts.slice(0, -1).join('.')}_${m[2]}`;
}
