import { LocalDate } from '../../src/domain/dates';
import { startLoop } from '../../src/jobs/loop';
import { runFrom } from '../../src/jobs/scheduler';

/** The timer loop shared by the scheduler and the webhook worker, and the daily run's range. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('startLoop', () => {
  test('passes never overlap, a failed pass does not stop the loop, stop() waits for the pass in flight', async () => {
    let running = 0;
    let most = 0;
    let passes = 0;
    const errors: unknown[] = [];
    const loop = startLoop(
      async () => {
        running++;
        most = Math.max(most, running);
        passes++;
        await sleep(30);
        running--;
        if (passes === 1) throw new Error('first pass fails');
      },
      { everyMs: 5, atStart: true, onError: (e) => errors.push(e) },
    );
    await Promise.all([loop.run(), loop.run()]); // asked for while others run: they wait
    await sleep(40);
    await loop.stop();
    expect(running).toBe(0);
    expect(most).toBe(1);
    expect(errors).toHaveLength(1);
    const after = passes;
    await loop.run(); // stopped: no pass any more
    await sleep(20);
    expect(passes).toBe(after);
  });

  test('without atStart the first pass waits for the period', async () => {
    let passes = 0;
    const loop = startLoop(async () => void passes++, { everyMs: 60_000, onError: () => undefined });
    await sleep(20);
    expect(passes).toBe(0);
    await loop.run();
    expect(passes).toBe(1);
    await loop.stop();
  });
});

describe('runFrom: the first day a daily run recomputes', () => {
  const day = '2021-10-31' as LocalDate;
  test.each([
    ['no run before', null, '2021-10-30'],
    ['the run before was yesterday', '2021-10-30', '2021-10-30'],
    ['the same day claimed before', '2021-10-31', '2021-10-30'],
    ['missed runs: caught up from the last one', '2021-10-20', '2021-10-20'],
    ['31 days back at most', '2021-08-01', '2021-09-30'],
  ])('%s', (_name, last, from) => {
    expect(runFrom(day, last as LocalDate | null)).toBe(from);
  });
});
