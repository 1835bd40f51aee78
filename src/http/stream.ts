import type { Response } from 'express';
import { AppError } from '../errors';
import { backpressureWriter } from '../streams';

/**
 * Writes a streamed body with back-pressure (src/streams.ts): each piece waits for 'drain'
 * when the socket is full, and a client that hangs up ends the wait and the stream — a body
 * is not built for nobody. `write` resolves false once the client is gone.
 */
export function bodyWriter(res: Response): (piece: string | Buffer) => Promise<boolean> {
  return backpressureWriter(res);
}

/** What `Gate.enter` gives: a turn (call `release` when the work is done), or why not. */
export type Turn = { release: () => void } | 'busy' | 'gone';

/**
 * A bounded number of turns for work whose memory grows with how many run at once (a
 * full-detail map streams for seconds and holds its zones and a batch of geometry): at
 * most `limit` at a time, at most `queue` more waiting, each for at most `waitMs`.
 * A request that finds the queue full, or waits too long, is told 'busy' (the caller
 * answers 503 with Retry-After); one whose client hangs up while waiting is 'gone' and
 * leaves the queue. Turns are given in arrival order.
 */
export class Gate {
  private running = 0;
  private readonly waiting: { grant: (turn: Turn) => void }[] = [];

  constructor(
    readonly limit: number,
    readonly queue: number,
    readonly waitMs: number,
  ) {}

  /** Turns in use and requests waiting (for metrics and tests). */
  get state(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  enter(res: Response): Promise<Turn> {
    if (res.destroyed) return Promise.resolve('gone');
    if (this.running < this.limit) return Promise.resolve(this.turn());
    if (this.waiting.length >= this.queue) return Promise.resolve('busy');
    return new Promise<Turn>((resolve) => {
      const waiter = {
        grant: (turn: Turn) => {
          clearTimeout(timer);
          res.off('close', hangUp);
          resolve(turn);
        },
      };
      const leave = (why: 'busy' | 'gone') => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        waiter.grant(why);
      };
      const hangUp = () => leave('gone');
      const timer = setTimeout(() => leave('busy'), this.waitMs);
      res.on('close', hangUp);
      this.waiting.push(waiter);
    });
  }

  private turn(): Turn {
    this.running++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.running--;
        const next = this.waiting.shift();
        if (next) next.grant(this.turn());
      },
    };
  }
}

/**
 * A turn of a full-detail map (zones.geojson without zoom; any route that streams geometry
 * as stored for many areas should take one) from the runtime's gate: ZONERISK_MAX_FULL_MAPS
 * at once, twice as many waiting up to 30 s (src/runtime.ts). Null when the client hung up
 * while waiting; 503 `busy` with Retry-After when there is no turn.
 */
export async function fullMapTurn(gate: Gate, res: Response): Promise<{ release: () => void } | null> {
  const turn = await gate.enter(res);
  if (turn === 'gone') return null;
  if (turn === 'busy') {
    const e = new AppError(
      503,
      'busy',
      'too many full-detail maps are being streamed; retry shortly, or ask with zoom= for a simplified map (kept, and served at once)',
      [{ path: 'zoom', message: 'without zoom the map is streamed at full detail, a few at a time (ZONERISK_MAX_FULL_MAPS)' }],
    );
    e.retryAfter = 5;
    throw e;
  }
  return turn;
}

/** Open Server-Sent Events streams of one runtime, ended when it shuts down (they would keep it waiting forever). */
export class EventStreams {
  private readonly open = new Set<() => void>();
  /** Registers a stream's end; returns its removal (when the client hangs up). */
  add(end: () => void): () => void {
    this.open.add(end);
    return () => this.open.delete(end);
  }
  endAll(): void {
    for (const end of this.open) end();
  }
}
