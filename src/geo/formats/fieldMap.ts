import { z } from 'zod';
import { AREA_KINDS, AreaKind } from '../../domain/areas';
import { badRequest, unprocessable } from '../../errors';
import { issueText } from '../../domain/issues';

/**
 * Field maps: which attribute of a boundary file becomes which canonical property of an
 * area (code, name, kind, parent, population). An attribute not mapped keeps its canonical
 * name if the file already uses it, so a file with code, name, … needs no map.
 */
export const FIELD_MAP_KEYS = ['code', 'name', 'kind', 'parent', 'population'] as const;
export type FieldMapKey = (typeof FIELD_MAP_KEYS)[number];

export type FieldMap = Partial<Record<FieldMapKey, string>> & { kind_value?: AreaKind };

const attributeName = z.string({ error: 'must be an attribute name' }).min(1, 'must not be empty').max(64, 'must be at most 64 characters');

export const fieldMapSchema = z
  .strictObject(
    {
      code: attributeName.optional(),
      name: attributeName.optional(),
      kind: attributeName.optional(),
      parent: attributeName.optional(),
      population: attributeName.optional(),
      kind_value: z.enum(AREA_KINDS, { error: `must be one of ${AREA_KINDS.join(', ')}` }).optional(),
    },
    { error: `must map ${FIELD_MAP_KEYS.join(', ')} or kind_value` },
  )
  .refine((m) => !(m.kind && m.kind_value), { message: 'give kind (an attribute) or kind_value (a constant), not both', path: ['kind'] });

const MAX_FIELD_MAP_TEXT = 1024;

/**
 * A field map written as text, for query strings and the CLI:
 * "code=Com_ID,name=Ten_Xa,population=Dan_So,kind=commune". `kind=` followed by a kind
 * (province, district, commune, subcommune) is the constant kind_value; any other value of
 * kind= names the attribute holding the kind. Spaces around names are dropped; an empty text
 * is the empty map. Mistakes are a 400 naming the part.
 */
export function parseFieldMapText(text: string): FieldMap {
  if (text.length > MAX_FIELD_MAP_TEXT) throw badRequest(`Bảng ánh xạ trường quá dài — the field map is longer than ${MAX_FIELD_MAP_TEXT} characters`, [{ path: 'field_map', message: 'too long' }]);
  const raw: Record<string, string> = {};
  const details: { path: string; message: string }[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (eq < 0 || value === '') details.push({ path: `field_map.${key}`, message: 'expected key=attribute' });
    else if (key === 'kind' && (AREA_KINDS as readonly string[]).includes(value)) setOnce(raw, 'kind_value', value, details);
    else if ((FIELD_MAP_KEYS as readonly string[]).includes(key) || key === 'kind_value') setOnce(raw, key, value, details);
    else details.push({ path: `field_map.${key}`, message: `unknown key; expected ${FIELD_MAP_KEYS.join(', ')}` });
  }
  if (details.length === 0) {
    const parsed = fieldMapSchema.safeParse(raw, { error: issueText });
    if (parsed.success) return parsed.data;
    for (const i of parsed.error.issues) details.push({ path: ['field_map', ...i.path].join('.'), message: i.message });
  }
  throw badRequest(`Bảng ánh xạ trường không hợp lệ — the field map is not valid: ${text.slice(0, 200)}`, details);
}

function setOnce(raw: Record<string, string>, key: string, value: string, details: { path: string; message: string }[]): void {
  if (key in raw) details.push({ path: `field_map.${key}`, message: 'given twice' });
  else raw[key] = value;
}

/** Every attribute the map names must be in the file; else 422 naming it and listing the file's. */
export function checkFieldMap(map: FieldMap, attributes: string[]): void {
  const have = new Set(attributes);
  const missing = FIELD_MAP_KEYS.filter((k) => map[k] !== undefined && !have.has(map[k] as string));
  if (missing.length === 0) return;
  const list = attributes.length > 0 ? attributes.join(', ') : '(none)';
  throw unprocessable(
    `Tệp không có thuộc tính ${missing.map((k) => map[k]).join(', ')} — the file has no attribute ${missing.map((k) => `"${map[k]}"`).join(', ')}; its attributes are: ${list}`,
    missing.map((k) => ({ path: `field_map.${k}`, message: `no attribute "${map[k]}" in the file; its attributes are: ${list}` })),
    'unknown_attribute',
  );
}

const text = (v: string) => v.normalize('NFC').trim();

/** A code (or parent code) as text: numbers (a DBF numeric column) become their digits. */
function codeValue(v: unknown, emptyIsNull: boolean): unknown {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string') {
    const t = text(v);
    return t === '' && emptyIsNull ? null : t;
  }
  return v === undefined ? (emptyIsNull ? null : undefined) : v;
}

/**
 * A population: numbers stay; a text of plain digits becomes its number; blank is null.
 * Anything else ("12.345", "12,345", "~5000") stays text, for validation to name: a dot may
 * be a thousands separator (vi-VN) or a decimal point.
 */
export function populationValue(v: unknown): unknown {
  if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') return null;
    if (/^\d{1,15}$/.test(t)) return Number(t);
    return v;
  }
  return v === undefined ? null : v;
}

/** The canonical properties of one feature under a (checked) field map. */
export function canonicalProperties(props: Record<string, unknown>, map: FieldMap): Record<string, unknown> {
  const source = (k: FieldMapKey) => props[map[k] ?? k];
  const out: Record<string, unknown> = {};
  const code = codeValue(source('code'), false);
  if (code !== undefined) out.code = code;
  const name = source('name');
  if (name !== undefined) out.name = typeof name === 'string' ? text(name) : typeof name === 'number' ? String(name) : name;
  const kind = map.kind_value ?? source('kind');
  if (kind !== undefined) out.kind = typeof kind === 'string' ? text(kind).toLowerCase() : kind;
  // no parent attribute at all (none mapped, none named parent): left out, so that an existing area keeps its parent
  if (map.parent !== undefined || Object.hasOwn(props, 'parent')) out.parent = codeValue(source('parent'), true);
  out.population = populationValue(source('population'));
  return out;
}
