import { z } from 'zod';
import { addDays, isLocalDate, LocalDate } from '../../domain/dates';
import { checkCql2, Cql2, Cql2Error, parseCql2, MAX_CQL2_CHARS } from '../../domain/cql2';
import { badRequest } from '../../errors';
import { ITEM_COLUMNS } from '../../services/maps';
import { oneValue } from '../schemas';
import { DEFAULT_LIMIT, MAX_LIMIT } from './api';

/**
 * The query parameters of OGC API items, parsed: what each means is in the /ogc/api
 * document (./api.ts); every mistake is a 400 naming the parameter.
 */

/** At most this many days in a datetime interval, once clamped to the days with levels: each day is a read of the whole day's levels. */
export const MAX_INTERVAL_DAYS = 31;

export type DayOrInterval = { day: LocalDate } | { from: LocalDate | null; to: LocalDate | null };

const INSTANT_RE = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))?$/i;

/** The date of a date or an RFC 3339 instant (its date as written), or null when it is neither. */
function dateOf(text: string): LocalDate | null {
  const m = INSTANT_RE.exec(text);
  if (!m) return null;
  const d = m[1] as string;
  const at = new Date(`${d}T00:00:00Z`);
  if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== d || !isLocalDate(d)) return null;
  if (m[2] && Number.isNaN(Date.parse(text))) return null;
  return d as LocalDate;
}

const DATETIME_HELP = 'must be a date YYYY-MM-DD, an RFC 3339 instant, or an interval a/b, ../b, a/.. or a/';

/** `datetime`: a day, or an interval with open ends ('..' or empty) — not both ends open-and-empty. */
export const datetimeParam = z.preprocess(
  oneValue,
  z
    .string()
    .max(80, DATETIME_HELP)
    .transform((s, ctx): DayOrInterval => {
      if (!s.includes('/')) {
        const day = dateOf(s);
        if (!day) {
          ctx.addIssue({ code: 'custom', message: DATETIME_HELP });
          return z.NEVER;
        }
        return { day };
      }
      const parts = s.split('/');
      const end = (p: string): LocalDate | null | undefined => (p === '..' || p === '' ? null : (dateOf(p) ?? undefined));
      const [from, to] = [end(parts[0] ?? ''), end(parts[1] ?? '')];
      if (parts.length !== 2 || from === undefined || to === undefined || (parts[0] === '' && parts[1] === '')) {
        ctx.addIssue({ code: 'custom', message: DATETIME_HELP });
        return z.NEVER;
      }
      if (from && to && from > to) {
        ctx.addIssue({ code: 'custom', message: 'the interval must not end before it starts' });
        return z.NEVER;
      }
      return { from, to };
    }),
);

/** `datetime` of one item: a day only. */
export const datetimeDayParam = z.preprocess(
  oneValue,
  z
    .string()
    .max(40)
    .transform((s, ctx) => {
      const day = s.includes('/') ? null : dateOf(s);
      if (!day) {
        ctx.addIssue({ code: 'custom', message: 'must be a date YYYY-MM-DD or an RFC 3339 instant (one feature is one day: use code@YYYY-MM-DD for another)' });
        return z.NEVER;
      }
      return day;
    }),
);

/**
 * The days an interval covers among the days with levels [first, last]: its open ends
 * taken there. Null when the interval misses them; a 400 naming `datetime` when it covers
 * more than MAX_INTERVAL_DAYS calendar days.
 */
export function clampInterval(i: { from: LocalDate | null; to: LocalDate | null }, first: LocalDate | null, last: LocalDate | null): { from: LocalDate; to: LocalDate } | null {
  if (!first || !last) return null;
  const from = i.from && i.from > first ? i.from : first;
  const to = i.to && i.to < last ? i.to : last;
  if (from > to) return null;
  if (addDays(from, MAX_INTERVAL_DAYS - 1) < to) {
    const message = `covers ${from} to ${to} among the days with levels: at most ${MAX_INTERVAL_DAYS} days — give both ends, a month at most`;
    throw badRequest('Tham số truy vấn không hợp lệ — invalid query parameters', [{ path: 'datetime', message }], 'invalid_query');
  }
  return { from, to };
}

/** `bbox`: four numbers, or six (heights ignored), in CRS84. */
export const bboxParam = z.preprocess(
  oneValue,
  z.string().transform((text, ctx) => {
    const parts = text.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
    if ((parts.length !== 4 && parts.length !== 6) || parts.some((n) => !Number.isFinite(n))) {
      ctx.addIssue({ code: 'custom', message: 'must be four numbers minLon,minLat,maxLon,maxLat (or six with heights)' });
      return z.NEVER;
    }
    const [x1, y1, x2, y2] = (parts.length === 6 ? [parts[0], parts[1], parts[3], parts[4]] : parts) as [number, number, number, number];
    if (x1 < -180 || x2 > 180 || y1 < -90 || y2 > 90) ctx.addIssue({ code: 'custom', message: 'must be within lon -180..180 and lat -90..90' });
    if (x1 > x2 || y1 > y2) ctx.addIssue({ code: 'custom', message: 'minimum must not exceed maximum' });
    return [x1, y1, x2, y2] as [number, number, number, number];
  }),
);

/** `limit`: a whole number ≥ 1; more than MAX_LIMIT is taken as MAX_LIMIT (the next link goes on). */
export const limitParam = z
  .preprocess(oneValue, z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be at least 1'))
  .transform((n) => Math.min(n, MAX_LIMIT))
  .default(DEFAULT_LIMIT);

/** `filter`: CQL2-text, parsed and checked against the queryables. */
export const filterParam = z.preprocess(
  oneValue,
  z
    .string()
    .max(MAX_CQL2_CHARS, `must be at most ${MAX_CQL2_CHARS} characters`)
    .transform((text, ctx): Cql2 => {
      try {
        const ast = parseCql2(text);
        checkCql2(ast, ITEM_COLUMNS);
        return ast;
      } catch (e) {
        if (!(e instanceof Cql2Error)) throw e;
        ctx.addIssue({ code: 'custom', message: `not a valid CQL2-text filter: ${e.message}` });
        return z.NEVER;
      }
    }),
);

/** `filter-lang`: cql2-text, or cql-text (the draft's name, which GDAL's OAPIF driver sends). */
export const filterLangParam = z.preprocess(oneValue, z.enum(['cql2-text', 'cql-text'], { error: 'only cql2-text is offered' })).optional();

export const bboxCrsParam = z.preprocess(oneValue, z.literal('http://www.opengis.net/def/crs/OGC/1.3/CRS84', { error: 'only CRS84 (http://www.opengis.net/def/crs/OGC/1.3/CRS84) is offered' })).optional();
