import { z } from 'zod';
import { badRequest, ErrorDetail, unprocessable } from '../errors';

function details(error: z.ZodError, prefix = ''): ErrorDetail[] {
  return error.issues.slice(0, 50).map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)',
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

/** Query strings that do not parse are malformed requests: 400. */
export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const r = schema.safeParse(query);
  if (!r.success) throw badRequest('invalid query parameters', details(r.error), 'invalid_query');
  return r.data;
}

/** Well-formed JSON whose content is wrong: 422. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, prefix = ''): T {
  const r = schema.safeParse(body);
  if (!r.success) throw unprocessable('the request body is not valid', details(r.error, prefix));
  return r.data;
}
