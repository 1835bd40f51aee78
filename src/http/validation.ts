import { z } from 'zod';
import { issueText } from '../domain/issues';
import { badRequest, ErrorDetail, unprocessable } from '../errors';

function details(error: z.ZodError, prefix = ''): ErrorDetail[] {
  return error.issues.slice(0, 50).map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)',
    message: i.message, // Vietnamese — English (issueText), or the schema's own
  }));
}

/** Query strings that do not parse are malformed requests: 400. */
export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const r = schema.safeParse(query, { error: issueText });
  if (!r.success) throw badRequest('Tham số truy vấn không hợp lệ — invalid query parameters', details(r.error), 'invalid_query');
  return r.data;
}

/** Well-formed JSON whose content is wrong: 422. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, prefix = ''): T {
  const r = schema.safeParse(body, { error: issueText });
  if (!r.success) throw unprocessable('Nội dung yêu cầu không hợp lệ — the request body is not valid', details(r.error, prefix));
  return r.data;
}

/** A numeric id from a path (`:id`): a positive integer written in plain digits (at most 2^53 − 1), else 400 naming `id` ("<what> must be a positive integer"). */
export function idParam(text: string | undefined, what = 'id'): number {
  // one spelling only: digits, no sign, no leading zero, no exponent, no fraction, no hex
  const id = text !== undefined && /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id)) throw badRequest(`${what} must be a positive integer`, [{ path: 'id', message: 'invalid' }], 'invalid_query');
  return id;
}
