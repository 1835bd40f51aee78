import { z } from 'zod';
import { AreaKind, Bilingual, Instant, LevelOrUnknown, LocalDate, Version } from './common';

/** The weekly steering-committee briefing (GET /v1/briefing; the same as XLSX, PDF, CSV, HTML). */

const Count = z.object({ areas: z.number().int(), population: z.number().int() });
const CountRow = Count.extend({ level: LevelOrUnknown, level_number: z.number().int().nullable(), level_label: Bilingual, week_before: Count.nullable(), change: Count.nullable() });
const DayCount = z.object({ areas: z.number().int(), no_new_community_cases_24h: z.number().int(), not_reported_24h: z.number().int() });
const byLevel = <T extends z.ZodType>(t: T) => z.object({ red: t, orange: t, yellow: t, green: t, unknown: t });
const District = z.object({ code: z.string(), name: z.string() }).nullable();

const Commune = z.looseObject({
  code: z.string(),
  name: z.string(),
  district: District,
  level: LevelOrUnknown,
  level_number: z.number().int().nullable(),
  level_label: Bilingual,
  population: z.number().int().nullable(),
  community_cases_7d: z.number().int().nullable(),
  incidence_per_100k_7d: z.number().nullable(),
  reported_24h: z.boolean(),
  community_cases_24h: z.number().int().nullable(),
  since: LocalDate.nullable(),
  override: z.unknown(),
});

export const Briefing = z.object({
  title: Bilingual,
  area: z.object({ code: z.string().nullable(), name: z.string(), kind: AreaKind.nullable(), kind_label: Bilingual.nullable() }),
  date: LocalDate,
  week: z.object({ from: LocalDate, to: LocalDate }),
  version: Version,
  as_of: Instant,
  as_of_text: z.string(),
  data_as_of: Instant.nullable(),
  data_as_of_text: z.string().nullable(),
  rule_set: z.object({ id: z.string(), name: z.string(), version: z.number().int(), effective_from: LocalDate.nullable(), effective_to: LocalDate.nullable() }).nullable(),
  counts: z.object({ date: LocalDate, week_before_date: LocalDate, by_level: byLevel(CountRow), total: Count.extend({ week_before: Count.nullable(), change: Count.nullable() }) }),
  last_24h: z.object({ by_level: byLevel(DayCount), total: DayCount, sentence: Bilingual }),
  hotspots: z.array(Commune).describe('red and orange communes, red first, the highest incidence first'),
  changes: z.object({
    escalated: z.number().int(),
    deescalated: z.number().int(),
    items: z.array(z.looseObject({ code: z.string(), name: z.string(), date: LocalDate, from: LevelOrUnknown, to: LevelOrUnknown, reason: z.string(), reason_text: Bilingual })),
    compared_with: LocalDate.nullable(),
  }),
  map_changes: z.array(z.object({ date: LocalDate, text: Bilingual })),
  overrides: z.array(z.looseObject({ code: z.string(), name: z.string() })),
  not_reporting: z.array(z.object({ code: z.string(), name: z.string(), district: District })),
  communes: z.array(Commune).describe('every commune of the scope, by district then name'),
});
