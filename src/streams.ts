import type { Writable } from 'node:stream';

/**
 * Writing to a node Writable (a response, a file) with back-pressure: each piece waits for
 * 'drain' when the stream's buffer is full. One 'drain' and one 'close' listener for the
 * whole body (the compression middleware moves a response's listeners to its own stream and
 * never removes them, so a listener per piece would pile up), and a stream that closes or is
 * destroyed ends the wait — a body is not built for nobody. The writer resolves false once
 * the stream is gone or ended.
 */
export function backpressureWriter(out: Writable): (piece: string | Buffer) => Promise<boolean> {
  let waiting: (() => void) | null = null;
  const wake = () => {
    const w = waiting;
    waiting = null;
    w?.();
  };
  out.on('drain', wake);
  out.on('close', wake);
  return async (piece) => {
    if (out.destroyed || out.writableEnded) return false;
    if (!out.write(piece)) await new Promise<void>((resolve) => (waiting = resolve));
    return !out.destroyed;
  };
}

/** Gives the event loop back (other requests' callbacks run) before going on. */
export const yieldToOthers = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** How long work on a request's body holds the event loop before letting other requests run. */
export const SLICE_MS = 10;

/**
 * A pause to await every few steps of a long loop on the request thread: it gives the event
 * loop back (yieldToOthers) once SLICE_MS have passed since it last did, else goes on at once.
 */
export function slicer(): () => Promise<void> {
  let start = performance.now();
  return async () => {
    if (performance.now() - start < SLICE_MS) return;
    await yieldToOthers();
    start = performance.now();
  };
}
