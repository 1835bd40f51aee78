import { z } from 'zod';

/**
 * Free text from clients (names, sources, reasons, notes). PostgreSQL text cannot hold
 * U+0000, so a NUL is refused here, naming the field, rather than failing in the database.
 */
export const NUL_MESSAGE = 'không được chứa ký tự NUL (U+0000) — must not contain NUL characters (U+0000)';

export function freeText(max: number, message = `tối đa ${max} ký tự — must be at most ${max} characters`) {
  return z
    .string({ error: 'phải là chuỗi — must be a string' })
    .max(max, message)
    .refine((s) => !s.includes('\u0000'), NUL_MESSAGE);
}

/** Control characters (C0, DEL, C1) and the bidirectional formatting characters (which can make a name read as another: Trojan Source). */
const NOT_IN_A_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

export const NAME_CHAR_MESSAGE = 'phải là một dòng chữ: không có ký tự điều khiển (CR, LF, TAB…) hay ký tự định dạng hai chiều (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) — must be one line of text: no control characters (CR, LF, TAB…) nor bidirectional formatting characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)';

/**
 * A name shown on maps, lists and briefings (an area's name, an alias): one line, no control
 * or bidirectional formatting characters, stored in Unicode NFC (so that "Hòa" typed with a
 * combining accent is the same name as the precomposed one).
 */
export function nameText(max: number) {
  return z
    .string({ error: 'phải là chuỗi — must be a string' })
    .max(max, `tối đa ${max} ký tự — must be at most ${max} characters`)
    .refine((s) => !NOT_IN_A_NAME.test(s), NAME_CHAR_MESSAGE)
    .transform((s) => s.normalize('NFC'));
}
