import { z } from 'zod';
import { AnyObject, Instant, LocalDate, named, RuleSetRef } from './common';

/** Rule sets, their timeline and presets; recomputation jobs. */

export const RuleSetInfo = named(
  z.object({
    id: z.string().describe('name@version'),
    name: z.string(),
    version: z.number().int(),
    active: z.boolean().describe('in force today'),
    effective_from: LocalDate.nullable(),
    preset: z.string().nullable(),
    created_at: Instant,
  }),
  'RuleSetInfo',
  'A stored rule set (without its definition)',
);
export const RuleSets = z.object({ items: z.array(RuleSetInfo) });
export const RuleSet = RuleSetInfo.extend({ definition: AnyObject.describe('the definition (see the rule set schema in docs/)') });
export const RuleSetStored = RuleSet.extend({ created: z.boolean().describe('false: an identical definition was stored already') });

export const Timeline = z.object({
  as_of: Instant.nullable(),
  items: z.array(z.object({ rule_set: RuleSetRef, effective_from: LocalDate.nullable().describe('null: from the beginning'), effective_to: LocalDate.nullable(), activated_at: Instant })),
});

export const Presets = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      title: z.string().nullable(),
      description: z.string().nullable(),
      source: z.string().nullable(),
      effective_from: LocalDate.nullable(),
      definition: z.unknown().describe('the definition'),
    }),
  ),
});

export const Job = named(
  z.object({
    id: z.number().int(),
    owner: z.number().int().nullable(),
    kind: z.literal('recompute'),
    params: z.object({ from: LocalDate, to: LocalDate, trigger: z.string().optional() }),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    created_at: Instant,
    started_at: Instant.nullable(),
    finished_at: Instant.nullable(),
    days: z.number().int(),
    days_done: z.number().int(),
    areas: z.number().int(),
    changed: z.number().int(),
    written: z.number().int(),
    error: z.string().nullable(),
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    next_attempt_at: Instant.nullable(),
    last_error: z.string().nullable(),
    merged: z.number().int().describe('requests merged into this job'),
  }),
  'Job',
  'A recomputation job',
);
export const Jobs = z.object({ items: z.array(Job), next_cursor: z.string().nullable().describe('the next page: pass it as cursor (null: the last page)') });
export const Recompute = z.object({ job: Job, areas: z.number().int().nullable(), changed: z.number().int().nullable() });

export const Activated = RuleSet.extend({
  activation: z
    .object({ id: z.number().int(), effective_from: LocalDate.nullable().describe('null: in force since always'), activated_at: Instant })
    .describe('the activation recorded, or (unchanged) the one that already puts the set in force on the day asked for'),
  job: Job.nullable().describe('the recomputation of the days already classified from effective_from on'),
  unchanged: z.boolean().describe('true: the set was in force on that day already; nothing was recorded (no activation, audit entry or recomputation)'),
});
