import { AppError } from './errors';

/**
 * Turns for costly work: at most `running` at once and `waiting` waiting for a place;
 * beyond that, 503 `busy` with Retry-After at once, so that what is held in memory and
 * asked of the database stays bounded whatever arrives. A place passes straight to the
 * next one waiting, in order of arrival.
 */
export class Turns {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  constructor(
    private readonly max: { running: number; waiting: number },
    /** The 503's message and Retry-After (seconds). */
    private readonly busy: { message: string; retryAfter: number },
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.max.running) {
      if (this.queue.length >= this.max.waiting) {
        const e = new AppError(503, 'busy', this.busy.message);
        e.retryAfter = this.busy.retryAfter;
        throw e;
      }
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else this.running++;
    try {
      return await work();
    } finally {
      const next = this.queue.shift();
      if (next) next(); // the place passes to the next one
      else this.running--;
    }
  }
}
