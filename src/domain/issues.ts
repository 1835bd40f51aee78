import { z } from 'zod';

/**
 * What an input that does not fit its schema is told about each field: Vietnamese first,
 * English beside it ("… — …"), for every check that names no message of its own. Passed to
 * each parse at the edges (`schema.safeParse(input, { error: issueText })`: requests, report
 * and indicator rows, area features, import maps, rule sets). A message a schema gives itself
 * (`refine(…, 'must be …')`) is kept as it is.
 *
 * The common cases are worded here (a missing field, a wrong type, a bound, a choice, an
 * unknown field); the rest take zod's own Vietnamese and English (`z.locales.vi`, `en`).
 * Unknown fields are named, at most MAX_KEYS of them and each cut to KEY_CHARS characters: a
 * body with a million unknown keys, or keys of a megabyte, gets a short answer. Pure.
 */
export const MAX_KEYS = 20;
export const KEY_CHARS = 64;

const VI_TYPE: Record<string, string> = {
  string: 'chuỗi',
  number: 'số',
  int: 'số nguyên',
  boolean: 'true/false',
  object: 'đối tượng JSON',
  array: 'mảng',
};

const vi = z.locales.vi().localeError;
const en = z.locales.en().localeError;

type RawIssue = Parameters<typeof en>[0];

const text = (m: ReturnType<typeof en>): string => (typeof m === 'string' ? m : (m?.message ?? ''));
/** A client's key as named in a message: at most KEY_CHARS characters. */
export const keyShown = (k: string) => ([...k].length > KEY_CHARS ? `${[...k].slice(0, KEY_CHARS).join('')}…` : k);
/** At most MAX_KEYS keys, each cut, and how many more (`more`, in the message's language). */
export const listed = (keys: readonly string[], more: (n: number) => string) => `${keys.slice(0, MAX_KEYS).map(keyShown).join(', ')}${keys.length > MAX_KEYS ? more(keys.length - MAX_KEYS) : ''}`;
const shown = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** The Vietnamese of an issue (undefined: zod's own). */
function vietnamese(iss: RawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      return iss.input === undefined ? 'bắt buộc nhưng còn thiếu' : `phải là ${VI_TYPE[iss.expected] ?? iss.expected}`;
    case 'too_small': {
      const at = iss.inclusive === false ? '>' : '≥';
      const how = iss.exact ? 'đúng' : 'tối thiểu';
      if (iss.origin === 'string') return `${how} ${iss.minimum} ký tự`;
      if (iss.origin === 'array') return `${how} ${iss.minimum} phần tử`;
      return `phải ${at} ${iss.minimum}`;
    }
    case 'too_big': {
      const at = iss.inclusive === false ? '<' : '≤';
      const how = iss.exact ? 'đúng' : 'tối đa';
      if (iss.origin === 'string') return `${how} ${iss.maximum} ký tự`;
      if (iss.origin === 'array') return `${how} ${iss.maximum} phần tử`;
      return `phải ${at} ${iss.maximum}`;
    }
    case 'invalid_value':
      return iss.values.length === 1 ? `phải là ${shown(iss.values[0])}` : `phải là một trong: ${iss.values.map(shown).join(', ')}`;
    case 'unrecognized_keys':
      return `trường không xác định: ${listed(iss.keys, (n) => ` và ${n} trường khác`)}`;
    default:
      return undefined;
  }
}

/** The English of an issue. */
function english(iss: RawIssue): string {
  if (iss.code === 'invalid_type' && iss.input === undefined) return 'required';
  if (iss.code === 'unrecognized_keys') return `unknown field(s): ${listed(iss.keys, (n) => ` and ${n} more`)}`;
  return text(en(iss));
}

/** An issue's message, Vietnamese — English (a zod error map). */
export const issueText = (iss: RawIssue): string => `${vietnamese(iss) ?? text(vi(iss))} — ${english(iss)}`;
