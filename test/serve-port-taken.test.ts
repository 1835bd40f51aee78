import { serviceEnv, Service, startProcess, stopProcess } from './helpers/service';

/**
 * `zonerisk serve` on a port another process holds ends with a non-zero code (and says why)
 * instead of staying up with its database pool and instance registration open, listening
 * nowhere: a supervisor then sees the failure and restarts it.
 */
let first: Service | null = null;
afterAll(async () => {
  if (first) await stopProcess(first);
});

test('a second service on a taken port exits non-zero, naming EADDRINUSE', async () => {
  first = await startProcess(serviceEnv());
  const port = new URL(first.url).port;
  const began = Date.now();
  const second = await startProcess(serviceEnv({ PORT: port }), 60_000).then(
    async (s) => {
      await stopProcess(s);
      return 'listened';
    },
    (e: Error) => e.message,
  );
  expect(second).toMatch(/^exited with [1-9]/);
  expect(second).toMatch(/EADDRINUSE/);
  expect(Date.now() - began).toBeLessThan(60_000);
}, 120_000);
