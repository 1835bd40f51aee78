import { z } from 'zod';
import { AreaKind, Bilingual, Instant, Level, LevelOrUnknown, LocalDate, named, RuleSetRef, Version } from './common';

/** What a steering committee reads: the summary, the change feed, publications, previews. */

export const LevelCount = named(
  z.object({
    areas: z.number().int(),
    population: z.number().int(),
    no_new_community_cases_24h: z.number().int().describe('areas that reported no new community case on the day'),
    not_reported_24h: z.number().int().describe('areas that sent no report for the day'),
  }),
  'LevelCount',
  'Areas and population at a level, and their reporting of the day',
);

const AreaMove = z.object({ code: z.string(), name: z.string(), from: LevelOrUnknown.optional(), to: LevelOrUnknown });

export const Summary = z.object({
  date: LocalDate,
  parent: z.string().nullable(),
  kind: AreaKind,
  version: Version,
  as_of: Instant.nullable(),
  total: z.object({ areas: z.number().int(), population: z.number().int() }),
  by_level: z.object({ green: LevelCount, yellow: LevelCount, orange: LevelCount, red: LevelCount, unknown: LevelCount }),
  sentence: Bilingual.describe('the 24-hour sentence of the weekly briefing'),
  escalated: z.array(AreaMove).describe('areas whose level rose since the day before'),
  deescalated: z.array(AreaMove).describe('areas whose level fell since the day before'),
});
export type Summary = z.input<typeof Summary>;

export const ChangeItem = named(
  z.object({ code: z.string(), name: z.string(), kind: AreaKind, date: LocalDate, from: LevelOrUnknown, to: LevelOrUnknown, reason: z.string(), reason_text: Bilingual }),
  'ChangeItem',
  "A change of an area's level on a day",
);

export const Changes = z.object({
  since: LocalDate,
  until: LocalDate,
  version: Version,
  items: z.array(ChangeItem),
  next_cursor: z.string().nullable().describe('the next page (null: the last page)'),
});
export type Changes = z.input<typeof Changes>;

export const Publication = named(z.object({ id: z.number().int(), date: LocalDate, published_at: Instant, note: z.string().nullable() }), 'Publication', "A day's levels published");
export const Publications = z.object({ items: z.array(Publication) });
export type Publications = z.input<typeof Publications>;

/** One event of GET /v1/changes/stream (`data:` of an `event: level`). */
export const LevelEvent = named(
  z.object({
    id: z.number().int(),
    at: Instant,
    area: z.string(),
    name: z.string(),
    date: LocalDate,
    from: z.string().nullable().describe('the level before (green, yellow, orange, red, unknown; null: none)'),
    to: z.string().describe('the level after'),
    reason: z.string().nullable(),
    reason_text: Bilingual.optional(),
  }),
  'LevelEvent',
  'A level change as the event stream and webhooks send it',
);

export const Preview = z.object({
  rule_set: RuleSetRef,
  date: LocalDate,
  areas: z.number().int(),
  changed: z.number().int(),
  items: z.array(z.object({ code: z.string(), kind: AreaKind, level: LevelOrUnknown, reason: z.string().nullable(), current: LevelOrUnknown.nullable(), changed: z.boolean() })),
});

export { Level };
