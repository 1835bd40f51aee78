import type { LocalDate } from '../domain/dates';
import { inputsReader, PackedValue } from '../domain/inputs';
import type { RuleSet } from '../domain/rules/definition';
import type { Inputs } from '../domain/rules/engine';

/**
 * The inputs of a zone level as zone_levels.inputs (json) holds them. Rows written since
 * migration 20261123000003 hold the packed form (domain/inputs.ts, `PackedValue`): a JSON
 * array, one entry per stored metric of the row's rule set, in name order. Rows written
 * before it hold their inputs verbatim: an object of metric name → value, with details.
 * Both are read back as the engine's `Inputs`.
 */
export type StoredInputs = PackedValue[] | Inputs;

/**
 * The inputs as stored for area `code` on `date` under rule set `rs` (the row's own); without
 * `details` (for classifying only) no text is made. With details, every indicator value carries
 * its `origin` (the area's own, an ancestor's, or derived from the children: how many of how
 * many, the population share, the method) and a `detail`. Every packed form ever written reads
 * back: rows packed before derivation existed hold 'stale' for an indicator not found, read as
 * `stale_metric:<name>` as when their level was computed; rows written since say 'missing'
 * (`missing_metric:<name>`). Verbatim rows are returned as they are.
 */
export function readStoredInputs(rs: RuleSet, date: LocalDate, code: string, stored: StoredInputs, details = true): Inputs {
  if (!Array.isArray(stored)) return stored;
  return inputsReader(rs)(date, code, stored, details);
}
