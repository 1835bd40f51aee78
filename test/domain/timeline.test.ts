import { LocalDate } from '../../src/domain/dates';
import { Activation, inForceOn, periodOn, periods, segments } from '../../src/domain/rules/timeline';

/** The rule-set timeline: which set is in force on which day (src/domain/rules/timeline.ts). */
const d = (s: string) => s as LocalDate;
const act = (id: number, rule_set_id: string, effective_from: string | null, activated_at: string): Activation => ({ id, rule_set_id, effective_from: effective_from as LocalDate | null, activated_at });

const A = act(1, '4800', '2021-10-12', '2021-10-12T01:00:00.000Z');
const B = act(2, '218', '2022-01-27', '2022-01-27T01:00:00.000Z');
const LEGACY = act(3, 'old', null, '2021-01-01T00:00:00.000Z');

test.each([
  ['no activation: nothing in force', [], '2022-01-01', null],
  ['before the first effective day', [A, B], '2021-10-11', null],
  ['on the first effective day', [A, B], '2021-10-12', '4800'],
  ['the day before the switch', [A, B], '2022-01-26', '4800'],
  ['on the switch day', [A, B], '2022-01-27', '218'],
  ['long after', [A, B], '2030-01-01', '218'],
  ['recorded in any order', [B, A], '2021-12-20', '4800'],
  ['an activation from the beginning of time (migrated)', [LEGACY, B], '1999-01-01', 'old'],
  ['the later-recorded of two on the same day wins', [A, act(4, 'fix', '2021-10-12', '2021-11-01T00:00:00.000Z')], '2021-12-01', 'fix'],
  ['the later-recorded wins even with a smaller id (same instant: id decides)', [act(5, 'x', '2021-10-12', '2021-11-01T00:00:00.000Z'), act(6, 'y', '2021-10-12', '2021-11-01T00:00:00.000Z')], '2021-12-01', 'y'],
  ['a later activation with an earlier date does not override a later period', [B, act(7, 'late', '2021-10-12', '2022-03-01T00:00:00.000Z')], '2022-02-01', '218'],
  ['the later-recorded wins whatever the order given', [act(4, 'fix', '2021-10-12', '2021-11-01T00:00:00.000Z'), A], '2021-12-01', 'fix'],
  ['the later-recorded wins though its id is smaller', [act(9, 'first', '2021-10-12', '2021-10-01T00:00:00.000Z'), act(2, 'second', '2021-10-12', '2021-10-02T00:00:00.000Z')], '2021-12-01', 'second'],
  ['the later-recorded wins though its id is smaller, given first', [act(2, 'second', '2021-10-12', '2021-10-02T00:00:00.000Z'), act(9, 'first', '2021-10-12', '2021-10-01T00:00:00.000Z')], '2021-12-01', 'second'],
  ['same instant: the larger id wins, given first', [act(6, 'y', '2021-10-12', '2021-11-01T00:00:00.000Z'), act(5, 'x', '2021-10-12', '2021-11-01T00:00:00.000Z')], '2021-12-01', 'y'],
  ['a migrated activation given after a dated one is still first', [B, LEGACY], '2021-12-01', 'old'],
  ['a day in force only from the migrated one, given last', [A, LEGACY], '2021-10-11', 'old'],
])('%s', (_name, acts, date, expected) => {
  expect(inForceOn(periods(acts as Activation[]), d(date))).toBe(expected);
});

test.each([
  ['before the first', [A, B], '2021-10-11', undefined],
  ['the first period, on its first day', [A, B], '2021-10-12', 1],
  ['the first period, on its last day', [A, B], '2022-01-26', 1],
  ['the open last period', [A, B], '2030-01-01', 2],
  ['the migrated period', [LEGACY, A], '1990-01-01', 3],
  ['the later-recorded of two on the same day', [A, act(4, '4800', '2021-10-12', '2021-11-01T00:00:00.000Z')], '2021-12-01', 4],
])('periodOn: %s', (_name, acts, date, activation) => {
  expect(periodOn(periods(acts as Activation[]), d(date))?.activation_id).toBe(activation);
});

test('periods end the day before the next begins; the last is open', () => {
  expect(periods([B, LEGACY, A]).map((p) => [p.rule_set_id, p.effective_from, p.effective_to])).toEqual([
    ['old', null, '2021-10-11'],
    ['4800', '2021-10-12', '2022-01-26'],
    ['218', '2022-01-27', null],
  ]);
});

test.each([
  ['inside one period', [A, B], '2021-12-01', '2021-12-31', [['2021-12-01', '2021-12-31', '4800']]],
  ['across the switch', [A, B], '2022-01-20', '2022-02-03', [['2022-01-20', '2022-01-26', '4800'], ['2022-01-27', '2022-02-03', '218']]],
  ['starting before anything is in force', [A], '2021-10-01', '2021-10-20', [['2021-10-01', '2021-10-11', null], ['2021-10-12', '2021-10-20', '4800']]],
  ['entirely before', [A], '2021-01-01', '2021-01-31', [['2021-01-01', '2021-01-31', null]]],
  ['nothing activated', [], '2021-01-01', '2021-01-02', [['2021-01-01', '2021-01-02', null]]],
  ['one day, the switch', [A, B], '2022-01-27', '2022-01-27', [['2022-01-27', '2022-01-27', '218']]],
  ['one day, the last before the switch', [A, B], '2022-01-26', '2022-01-26', [['2022-01-26', '2022-01-26', '4800']]],
  ['adjacent periods of one set make one run', [A, act(8, '4800', '2021-11-01', '2021-11-01T00:00:00.000Z')], '2021-10-20', '2021-11-10', [['2021-10-20', '2021-11-10', '4800']]],
  ['a one-day span before anything', [A], '2021-10-11', '2021-10-11', [['2021-10-11', '2021-10-11', null]]],
  ['ending on the day before the first', [A, B], '2021-10-01', '2021-10-11', [['2021-10-01', '2021-10-11', null]]],
  ['starting on the first day', [A, B], '2021-10-12', '2021-10-13', [['2021-10-12', '2021-10-13', '4800']]],
  ['periods of one set apart are two runs', [A, B, act(10, '4800', '2022-02-01', '2022-03-01T00:00:00.000Z')], '2022-01-26', '2022-02-02', [['2022-01-26', '2022-01-26', '4800'], ['2022-01-27', '2022-01-31', '218'], ['2022-02-01', '2022-02-02', '4800']]],
  ['three sets', [LEGACY, A, B], '2021-10-10', '2022-01-28', [['2021-10-10', '2021-10-11', 'old'], ['2021-10-12', '2022-01-26', '4800'], ['2022-01-27', '2022-01-28', '218']]],
])('segments: %s', (_name, acts, from, to, expected) => {
  expect(segments(periods(acts as Activation[]), d(from), d(to)).map((s) => [s.from, s.to, s.rule_set_id])).toEqual(expected);
});
