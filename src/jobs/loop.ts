/**
 * A background loop: `pass` every `everyMs` (and when asked), one pass at a time — a pass
 * asked for while one runs starts after it — a pass's failure handed to `onError`, the loop
 * going on. `stop()` starts no pass any more and resolves once the pass in flight (and any
 * already asked for) has ended. The timer keeps no process alive.
 */
export type Loop = {
  /** Runs a pass now, after those in flight; resolves when it has ended (it never rejects). */
  run(): Promise<void>;
  stop(): Promise<void>;
};

export type LoopOptions = {
  everyMs: number;
  /** Run a pass at once as well (not only after the first period). */
  atStart?: boolean;
  onError(e: unknown): void;
};

export function startLoop(pass: () => Promise<void>, opts: LoopOptions): Loop {
  let last: Promise<void> = Promise.resolve();
  let stopped = false;
  const run = () => {
    last = last
      .then(async () => {
        if (!stopped) await pass();
      })
      .catch((e: unknown) => opts.onError(e));
    return last;
  };
  if (opts.atStart) void run();
  const timer = setInterval(() => void run(), opts.everyMs);
  timer.unref();
  return {
    run,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await last;
    },
  };
}
