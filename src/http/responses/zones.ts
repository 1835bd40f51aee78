import { z } from 'zod';
import { AreaKind, Bilingual, Instant, Level, LevelOrUnknown, LocalDate, named, RuleSetRef, Version } from './common';

/** Levels: the zones of a day, one zone explained, a zone's history, overrides. */

export const Override = named(
  z.object({
    id: z.number().int(),
    level: LevelOrUnknown,
    reason: z.string(),
    note: z.string().nullable(),
    author: z.string().nullable(),
    from: LocalDate,
    until: LocalDate.nullable().describe('its last day (null: open-ended)'),
    created_at: Instant,
    ended_at: Instant.nullable().describe('when its period was shortened (null: not ended)'),
  }),
  'Override',
  'A command-centre override of a level for a period',
);

/** What every zone answer begins with. */
const zoneCore = {
  code: z.string(),
  name: z.string(),
  kind: AreaKind,
  parent: z.string().nullable(),
  level: LevelOrUnknown,
  level_number: z.number().int().min(1).max(4).nullable().describe('1–4 (null: unknown)'),
  since: LocalDate.nullable().describe('the first day of the current level (null: unknown)'),
};

export const ZoneItem = named(
  z.object({
    ...zoneCore,
    level_label: Bilingual,
    rule_set: z.string().nullable().describe('the id of the rule set that computed the level'),
    reason: z.string().nullable().describe('why the level is unknown, when it is'),
    overridden: z.boolean(),
    population: z.number().int().nullable().optional().describe('figures=true'),
    community_cases_7d: z.number().int().nullable().optional().describe('figures=true: community cases of the 7 days ending date (null: nothing reported)'),
    incidence_per_100k_7d: z.number().nullable().optional().describe('figures=true: community cases per 100,000 over those 7 days'),
    override: Override.nullable().optional().describe('figures=true: the override in force'),
    computed_at: Instant.nullable().optional().describe('figures=true: when the level was computed'),
  }),
  'ZoneItem',
  "A zone's level on a day (GET /v1/zones)",
);

export const ZoneList = z.object({ date: LocalDate, as_of: Instant.nullable(), version: Version, items: z.array(ZoneItem) });
export type ZoneList = z.input<typeof ZoneList>;

/** Where an input's value came from. */
const Origin = z.union([
  z.object({ from: z.literal('area'), date: z.string() }),
  z.object({ from: z.literal('ancestor'), code: z.string(), date: z.string() }),
  z.object({ from: z.literal('children'), children: z.number().int(), of: z.number().int(), population_share: z.number(), method: z.enum(['population_weighted_mean', 'min', 'max']) }),
]);

export const ExplanationStep = named(
  z.looseObject({
    step: z.number().int(),
    type: z.string().describe('the kind of step: matrix, threshold, raise, override, lineage…'),
    result: LevelOrUnknown.optional(),
    note: z.string().optional(),
    text: Bilingual.describe('the step in words'),
  }),
  'ExplanationStep',
  'One step of how a level was reached (its values, margins and words; members depend on the step type)',
);

export const ZoneDetail = z.object({
  ...zoneCore,
  level_label: Bilingual,
  population: z.number().int().nullable(),
  date: LocalDate,
  computed_level: LevelOrUnknown.describe('the rules’ level, before any override'),
  reason: z.string().nullable(),
  rule_set: RuleSetRef.nullable(),
  inputs: z.record(z.string(), z.number().nullable()).describe('each metric of the rule set: its value (null: missing)'),
  input_details: z.record(z.string(), z.object({ missing: z.string().optional(), detail: z.string().optional(), origin: Origin.optional() })),
  input_labels: z.record(z.string(), Bilingual.extend({ values: z.record(z.string(), Bilingual).optional() })),
  children: z.record(z.string(), z.number()).nullable().describe('a roll-up: how many children at each level'),
  explanation: z.array(ExplanationStep),
  pending: z.unknown().describe('a change waiting for persistence (null: none)'),
  override: Override.nullable(),
  computed_at: Instant.nullable(),
});
export type ZoneDetail = z.input<typeof ZoneDetail>;

export const LevelChange = named(
  z.object({ date: LocalDate, from: LevelOrUnknown, to: LevelOrUnknown, reason: z.string(), reason_text: Bilingual }),
  'LevelChange',
  "A change of a zone's level",
);

export const ZoneHistory = z.object({
  code: z.string(),
  from: LocalDate,
  to: LocalDate,
  version: Version,
  as_of: Instant.nullable(),
  days: z.array(
    z.object({
      date: LocalDate,
      level: LevelOrUnknown,
      level_number: z.number().int().nullable(),
      rule_set: z.string().nullable(),
      override: z.literal(true).optional(),
      published: z.boolean().optional().describe('version=published: whether the day was published'),
      ended: z.literal(true).optional().describe('the area no longer existed'),
      via: z.array(z.object({ code: z.string(), name: z.string(), level: LevelOrUnknown })).optional().describe('before the area existed: its predecessors’ levels'),
    }),
  ),
  changes: z.array(LevelChange),
});
export type ZoneHistory = z.input<typeof ZoneHistory>;

/** The job that recomputes the classified days whose roll-ups an override's change moves (null: none needed). */
const RollUpJob = z
  .object({ job: z.number().int(), from: LocalDate, to: LocalDate })
  .nullable()
  .describe('the job recomputing the classified days from the first one the change touches, so that the parent rolls up the override’s level (null: the parent’s kind is not rolled up, or no such day is classified)');

export const OverrideSet = z.object({
  id: z.number().int(),
  code: z.string(),
  level: Level,
  reason: z.string(),
  note: z.string().nullable(),
  author: z.string().nullable(),
  from: LocalDate,
  until: LocalDate.nullable(),
  created_at: Instant,
  recompute: RollUpJob,
});
export const OverrideEnded = z.object({ id: z.number().int(), code: z.string(), from: LocalDate, until: LocalDate.nullable(), covers_nothing: z.boolean(), ended_at: Instant, recompute: RollUpJob });
export const OverrideWithdrawn = z.object({ id: z.number().int(), code: z.string(), withdrawn_at: Instant, reason: z.string(), recompute: RollUpJob });
