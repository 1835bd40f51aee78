import { Turns } from '../src/turns';
import { AppError } from '../src/errors';

/** Turns (src/turns.ts): `running` at once, `waiting` queued in order, the rest 503 busy with Retry-After. */
test('two run, two wait and start in arrival order as places free, the fifth is refused at once', async () => {
  const turns = new Turns({ running: 2, waiting: 2 }, { message: 'busy now', retryAfter: 7 });
  const started: number[] = [];
  const release: (() => void)[] = [];
  const job = (n: number) =>
    turns.run(async () => {
      started.push(n);
      await new Promise<void>((resolve) => release.push(resolve));
      return n;
    });
  const runs = [job(1), job(2), job(3), job(4)];
  await new Promise((r) => setImmediate(r));
  expect(started).toEqual([1, 2]);
  const refused = await job(5).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(AppError);
  expect(refused).toMatchObject({ status: 503, code: 'busy', message: 'busy now', retryAfter: 7 });
  release.shift()?.(); // 1 ends: 3 takes its place
  await runs[0];
  await new Promise((r) => setImmediate(r));
  expect(started).toEqual([1, 2, 3]);
  // a failing run passes its place on too
  const failing = turns.run(async () => Promise.reject(new Error('boom'))).catch((e: unknown) => e);
  release.shift()?.(); // 2 ends: 4 starts, then the failing one waits behind it
  await new Promise((r) => setImmediate(r));
  expect(started).toEqual([1, 2, 3, 4]);
  while (release.length) release.shift()?.();
  expect(await Promise.all(runs)).toEqual([1, 2, 3, 4]);
  expect(await failing).toMatchObject({ message: 'boom' });
  // every place is free again
  expect(await Promise.all([turns.run(async () => 'a'), turns.run(async () => 'b')])).toEqual(['a', 'b']);
});
