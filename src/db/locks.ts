/**
 * Every PostgreSQL advisory lock of the project, in one place, so that no two uses of one
 * key can drift apart and no new lock can take a key already in use unseen.
 *
 * Single-key locks take a 32-bit key (`lockKey` of a name; a bigint in PostgreSQL's
 * one-argument functions). Two-key locks take (class, id): the class is the first key.
 *
 * | lock                  | kind                              | serialises                                                  |
 * |-----------------------|-----------------------------------|-------------------------------------------------------------|
 * | RECOMPUTE_LOCK        | session (a run), transaction       | recomputations, across processes; publications against them  |
 * | JOB_QUEUE_LOCK        | transaction                        | coalescing enqueuers of the job queue                        |
 * | SCHEDULE_LOCK         | transaction                        | replicas claiming the daily run                              |
 * | AREA_IMPORT_LOCK      | transaction                        | area imports                                                 |
 * | AREAS_LOCK            | transaction (shared by ingests)    | area creation against fact ingests                           |
 * | factTableLock(table)  | transaction                        | ingests of one fact table                                    |
 * | OVERRIDE_LOCK, area   | transaction, two keys              | override writes of one area                                  |
 * | ruleSetLockName(name) | transaction, hashed by `hashtext`  | new versions of one rule set name                            |
 * | RULE_SET_TIMELINE_LOCK| transaction                        | rule-set activations (each reads the timeline it changes)    |
 * | LIVENESS_CLASS, id    | session, two keys                  | held by a live service instance (see db/instances.ts)        |
 */

/** The 32-bit key of a lock name (Java's string hash; stable across processes and versions). */
export function lockKey(name: string): number {
  let h = 0;
  for (const c of name) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

/** Recomputation (one run at a time in an installation); publications take it to avoid a half-written day. */
export const RECOMPUTE_LOCK = lockKey('zonerisk:recompute');

/** Enqueuers that coalesce late-data ranges into a pending job take turns under it. */
export const JOB_QUEUE_LOCK = lockKey('zonerisk:job-queue');

/** The claim of the daily run in schedule_runs. */
export const SCHEDULE_LOCK = lockKey('zonerisk:schedule');

/** Area imports one at a time: each reads and writes the same rows (codes, parents, the area tree). */
export const AREA_IMPORT_LOCK = lockKey('zonerisk:areas:import');

/** Taken exclusively by an import that creates areas, shared by every fact ingest. */
export const AREAS_LOCK = lockKey('zonerisk:areas');

/** Ingests of one fact table (`reports`, `metrics`) one at a time. */
export const factTableLock = (table: string): number => lockKey(table);

/** Rule-set activations one at a time: each reads the timeline (and the classified days) it changes. */
export const RULE_SET_TIMELINE_LOCK = lockKey('zonerisk:rule-set-timeline');

/** Two-key advisory locks (this, area id): one override write per area at a time. */
export const OVERRIDE_LOCK = lockKey('zonerisk:override');

/** The name whose PostgreSQL `hashtext` is the lock of a rule set name's next version. */
export const ruleSetLockName = (name: string): string => `zonerisk:rule_set:${name}`;

/** Two-key session locks (this, instance id), held by each live service instance. */
export const LIVENESS_CLASS = 0x7a72; // "zr"
