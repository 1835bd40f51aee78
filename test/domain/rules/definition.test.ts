import { parseRuleSet } from '../../../src/domain/rules/definition';
import { PRESET_INPUTS } from '../../../src/domain/rules/presets';

const base = () => JSON.parse(JSON.stringify(PRESET_INPUTS['vn-moh-4800-2021'])) as Record<string, any>;

describe('rule-set definitions', () => {
  test('every preset is a valid definition', () => {
    for (const [id, input] of Object.entries(PRESET_INPUTS)) expect([id, parseRuleSet(input).ok]).toEqual([id, true]);
  });

  test.each([
    ['unknown metric', (d: any) => (d.levels[0].steps[1].when.metric = 'nope'), 'levels[0].steps[1].when', /unknown metric "nope"/],
    ['an inherited name is no metric', (d: any) => (d.levels[0].steps[1].when.metric = 'toString'), 'levels[0].steps[1].when', /unknown metric "toString"/],
    ['non-ascending thresholds', (d: any) => (d.levels[0].steps[0].rows.thresholds = [20, 150, 50]), 'levels[0].steps[0].rows.thresholds', /must be ascending/],
    ['matrix of the wrong shape (rows)', (d: any) => d.levels[0].steps[0].table.pop(), 'levels[0].steps[0].table', /needs 4 rows/],
    ['matrix of the wrong shape (columns)', (d: any) => d.levels[0].steps[0].table[2].push('red'), 'levels[0].steps[0].table[2]', /needs 2 columns/],
    ['unknown level', (d: any) => (d.levels[0].steps[0].table[0][0] = 'purple'), 'levels[0].steps[0].table[0][0]', /must be one of green, yellow, orange, red/],
    ['unknown step type', (d: any) => (d.levels[0].steps[1].type = 'boost'), 'levels[0].steps[1].type', /type must be one of/],
    ['bands with too few levels', (d: any) => d.levels[0].steps.splice(0, 1, { type: 'bands', metric: 'community_incidence_7d', thresholds: [20, 50], levels: ['green', 'red'] }), 'levels[0].steps[0].levels', /needs 3 levels/],
    ['an adjustment before any level', (d: any) => d.levels[0].steps.shift(), 'levels[0].steps[0]', /an earlier step must set one/],
    ['unknown area kind', (d: any) => (d.levels[0].kinds = ['village']), 'levels[0].kinds[0]', /province/],
    ['bad metric kind', (d: any) => (d.metrics.community_incidence_7d.kind = 'average'), 'metrics.community_incidence_7d.kind', /kind must be one of/],
    ['window too long', (d: any) => (d.metrics.community_incidence_7d.window_days = 1000), 'metrics.community_incidence_7d.window_days', /366/],
  ])('%s → an error naming %s', (_name, mutate, path, message) => {
    const d = base();
    mutate(d);
    const r = parseRuleSet(d);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const hit = r.issues.find((i) => i.path === path);
      expect(hit?.message ?? JSON.stringify(r.issues)).toMatch(message);
    }
  });
});
