import { addDays, LocalDate } from '../../../src/domain/dates';
import { LevelOrUnknown } from '../../../src/domain/levels';
import { Persistence } from '../../../src/domain/rules/definition';
import { applyPersistence } from '../../../src/domain/rules/persistence';

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
