import { addDays, LocalDate } from '../../../src/domain/dates';
import { Level, LevelOrUnknown } from '../../../src/domain/levels';
import { Persistence } from '../../../src/domain/rules/definition';
import { applyPersistence, PersistenceState, step } from '../../../src/domain/rules/persistence';

const P = (over: Partial<Persistence> = {}): Persistence => ({ escalate_after_days: 1, deescalate_after_days: 1, max_step_down: 3, min_stay_days: 0, ...over });
const code: Record<string, LevelOrUnknown> = { G: 'green', Y: 'yellow', O: 'orange', R: 'red', U: 'unknown' };

/** "GGOR" → a series from 2021-10-01; the result as the same letters. */
function run(raw: string, p: Persistence): string {
  const series = [...raw].map((c, i) => ({ date: addDays('2021-10-01' as LocalDate, i), raw: code[c] as LevelOrUnknown }));
  return applyPersistence(series, p)
    .map((d) => Object.entries(code).find(([, l]) => l === d.level)?.[0])
    .join('');
}

describe('persistence', () => {
  test.each([
    // raw series, settings, expected levels
    ['GGOORRYG', P(), 'GGOORRYG'], // defaults: the raw level every day
    ['GORGGG', P({ escalate_after_days: 2 }), 'GGOGGG'], // up only after 2 days above, to the lowest of them; down at once
    ['GOGOOG', P({ escalate_after_days: 2 }), 'GGGGOG'], // a break resets the count
    ['RGGGGG', P({ deescalate_after_days: 3 }), 'RRRGGG'], // down after 3 days below
    ['RGGGGGG', P({ deescalate_after_days: 2, max_step_down: 1 }), 'RROOYYG'], // one step at a time
    ['GRGGGG', P({ min_stay_days: 3 }), 'GRRRGG'], // must stay 3 days before going down
    ['RRUGG', P({ deescalate_after_days: 3 }), 'RRUGG'], // unknown starts afresh
  ])('%s with %j → %s', (raw, p, expected) => {
    expect(run(raw, p)).toBe(expected);
  });

  test('a change building up is visible as pending', () => {
    const days = applyPersistence(
      [...'RGG'].map((c, i) => ({ date: addDays('2021-10-01' as LocalDate, i), raw: code[c] as LevelOrUnknown })),
      P({ deescalate_after_days: 3 }),
    );
    expect(days[2]).toMatchObject({ level: 'red', since: '2021-10-01', pending: { direction: 'down', target: 'green', days: 2, needed: 3 } });
  });
});

test('with the default settings the level is the rules\' level every day and nothing is pending, from any state (recomputation does not step them: jobs/recompute/assemble.ts)', () => {
  const p: Persistence = { escalate_after_days: 1, deescalate_after_days: 1, max_step_down: 3, min_stay_days: 0 };
  const levels: LevelOrUnknown[] = ['green', 'yellow', 'orange', 'red', 'unknown'];
  // every sequence of four days' rules' levels, after every state a stricter rule set may have left
  const states: PersistenceState[] = [null];
  for (const level of ['green', 'yellow', 'orange', 'red'] as const)
    for (const up of [[], ['red'], ['orange', 'red']] as Level[][])
      for (const down of [[], ['green'], ['yellow', 'green']] as Level[][]) states.push({ level, since: '2021-09-01' as LocalDate, held: 3, up, down });
  let checked = 0;
  for (const initial of states) {
    for (let n = 0; n < levels.length ** 4; n++) {
      const raws = [0, 1, 2, 3].map((k) => levels[Math.floor(n / levels.length ** k) % levels.length] as LevelOrUnknown);
      let state = initial;
      raws.forEach((raw, k) => {
        const r = step(state, addDays('2021-10-01' as LocalDate, k), raw, p);
        expect([r.day.level, r.day.pending]).toEqual([raw, null]);
        state = r.state;
        checked++;
      });
    }
  }
  expect(checked).toBe(states.length * levels.length ** 4 * 4);
});
