import { z } from 'zod';

/**
 * Free text from clients (names, sources, reasons, notes). PostgreSQL text cannot hold
 * U+0000, so a NUL is refused here, naming the field, rather than failing in the database.
 */
export const NUL_MESSAGE = 'must not contain NUL characters (U+0000)';

export function freeText(max: number, message = `must be at most ${max} characters`) {
  return z
    .string({ error: 'must be a string' })
    .max(max, message)
    .refine((s) => !s.includes('\u0000'), NUL_MESSAGE);
}
