export default async function globalTeardown(): Promise<void> {
  const g = globalThis as { __zonerisk_teardown__?: () => Promise<void> };
  await g.__zonerisk_teardown__?.();
}
