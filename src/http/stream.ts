import type { Response } from 'express';

/**
 * Writes a streamed body with back-pressure: each piece waits for 'drain' when the socket
 * is full. One drain listener per response (the compression middleware moves listeners to
 * its own stream and never removes them), and a client that hangs up ends the wait and the
 * stream — a body is not built for nobody. `write` resolves false once the client is gone.
 */
export function bodyWriter(res: Response): (piece: string | Buffer) => Promise<boolean> {
  let waiting: (() => void) | null = null;
  const wake = () => {
    const w = waiting;
    waiting = null;
    w?.();
  };
  res.on('drain', wake);
  res.on('close', wake);
  return async (piece) => {
    if (res.destroyed || res.writableEnded) return false;
    if (!res.write(piece)) await new Promise<void>((resolve) => (waiting = resolve));
    return !res.destroyed;
  };
}
