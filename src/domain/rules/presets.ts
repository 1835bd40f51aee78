import { parseRuleSet, RuleSet, RuleSetInput } from './definition';
import moh4800 from './presets/vn-moh-4800-2021.json';
import moh218 from './presets/vn-moh-218-2022.json';
import steering2686 from './presets/vn-2686-2021.json';
import cdc from './presets/us-cdc-transmission-2021.json';
import ecdc from './presets/eu-ecdc-combined-2021.json';

/**
 * The shipped presets: each official table (docs/RULES.md, Presets) written as plain data in the
 * rule-set language, one file per preset in `presets/<id>.json` (the id is the rule set's
 * `name`). [V] verified / [R] reconstructed marks follow the official sources (docs/RULES.md); reconstructed limits are
 * ordinary numbers there, so a province can change them in a custom rule set. The files are
 * bundled with the code (imported, never read from disk at run time) and validated by the
 * rule-set schema when this module loads: a preset that does not parse stops the process at
 * start, naming the file and the path of the error.
 *
 * What JSON cannot say in a comment:
 * - vn-moh-4800-2021: the matrix columns are one-dose coverage < 70 %, ≥ 70 %.
 * - vn-moh-218-2022: `response_capacity` counts the capacity conditions met (0 = low,
 *   1 = medium, 2 = high); the matrix rows are transmission levels 1–4, the columns
 *   capacity low, medium, high.
 */
const FILES: Record<string, unknown> = {
  'vn-moh-4800-2021': moh4800,
  'vn-moh-218-2022': moh218,
  'vn-2686-2021': steering2686,
  'us-cdc-transmission-2021': cdc,
  'eu-ecdc-combined-2021': ecdc,
};

export type LoadedPresets = { inputs: Record<string, RuleSetInput>; parsed: Record<string, RuleSet> };

/**
 * Validates preset data by id (the file name): each must be a valid rule set whose `name` is
 * its id. Returns the data as written (what the API shows) and parsed (defaults filled in),
 * in the given order; throws on the first invalid one.
 */
export function loadPresets(files: Record<string, unknown>): LoadedPresets {
  const inputs: Record<string, RuleSetInput> = {};
  const parsed: Record<string, RuleSet> = {};
  for (const [id, data] of Object.entries(files)) {
    const r = parseRuleSet(data);
    if (!r.ok) throw new Error(`preset ${id}.json is not a valid rule set: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    if (r.value.name !== id) throw new Error(`preset ${id}.json is named "${r.value.name}": a preset's name must be its file name`);
    // valid by the schema just applied, so it is a rule set as written
    inputs[id] = data as RuleSetInput;
    parsed[id] = r.value;
  }
  return { inputs, parsed };
}

const loaded = loadPresets(FILES);

/** The presets as written in their files, by id. */
export const PRESET_INPUTS: Record<string, RuleSetInput> = loaded.inputs;

/** The presets, parsed (and so validated) once. */
export const PRESETS: Record<string, RuleSet> = loaded.parsed;
