import { loadPresets, PRESET_INPUTS, PRESETS } from '../../../src/domain/rules/presets';

/**
 * The presets are data files (src/domain/rules/presets/<id>.json), validated by the rule-set
 * schema when they load. Pure.
 */
const valid = () => JSON.parse(JSON.stringify(PRESET_INPUTS['vn-moh-4800-2021'])) as Record<string, unknown>;

describe('preset data files', () => {
  test('the five presets, in order, each named by its file', () => {
    expect(Object.keys(PRESETS)).toEqual(['vn-moh-4800-2021', 'vn-moh-218-2022', 'vn-2686-2021', 'us-cdc-transmission-2021', 'eu-ecdc-combined-2021']);
    expect(Object.keys(PRESET_INPUTS)).toEqual(Object.keys(PRESETS));
    for (const [id, def] of Object.entries(PRESETS)) expect(def.name).toBe(id);
  });

  test('the data as written, and parsed with the defaults filled in', () => {
    const { inputs, parsed } = loadPresets({ 'vn-moh-4800-2021': valid() });
    expect(inputs).toStrictEqual({ 'vn-moh-4800-2021': valid() });
    expect(parsed['vn-moh-4800-2021']?.persistence).toStrictEqual({ escalate_after_days: 1, deescalate_after_days: 1, max_step_down: 3, min_stay_days: 0 });
  });

  test('an invalid file stops the load, naming the file and every error', () => {
    const bad = valid();
    bad.levels = [];
    bad.source = 7;
    expect(() => loadPresets({ 'vn-moh-4800-2021': bad })).toThrow(
      new Error('preset vn-moh-4800-2021.json is not a valid rule set: source: phải là chuỗi — must be a string; levels: tối thiểu 1 phần tử — Too small: expected array to have >=1 items'),
    );
  });

  test("a file whose name is not the rule set's name stops the load", () => {
    expect(() => loadPresets({ 'vn-moh-4800-2021': valid(), 'vn-moh-4800': valid() })).toThrow(
      new Error('preset vn-moh-4800.json is named "vn-moh-4800-2021": a preset\'s name must be its file name'),
    );
  });
});
