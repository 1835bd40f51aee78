import { Knex } from 'knex';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { rawClient } from './knex';

/**
 * COPY FROM STDIN in PostgreSQL's binary format (ByteSink, copyBinaryInto): the transport
 * under the bulk writer (bulk.ts), which is what repositories use — the embedded engine takes
 * no COPY, and bulk.ts picks for them. `copyText` is a value as COPY's text format writes it
 * (the fact ingest numbers keys by it).
 */

/** A value of a row written with COPY. */
export type Cell = string | number | null;

const COPY_SPECIAL = /[\\\t\n\r]/;

/** A value in COPY's text format (\N for null; backslash, tab and line breaks escaped). */
export function copyText(cell: Cell): string {
  if (cell === null) return '\\N';
  if (typeof cell === 'number') return String(cell);
  if (!COPY_SPECIAL.test(cell)) return cell;
  return cell.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/**
 * Where pg-copy-streams sends what it still had queued once its COPY has failed. On an error
 * it lets the connection go (`connection = null`) but keeps what it was given: a piece left
 * waiting for the socket's 'drain', or the end, is flushed later to that null connection and
 * throws outside any listener — the process would end. (Reproduced: a server slower than the
 * feed, then a row it refuses.) The server drops any CopyData after an error anyway.
 */
const DROPPED = { stream: { write: () => true, once: () => undefined }, sendCopyFail: () => undefined };

/** A COPY … FROM STDIN stream on `client`, and its end: settled when it finishes or fails. */
function copyStream(client: pg.ClientBase, sql: string): { stream: ReturnType<typeof copyFrom>; done: Promise<void> } {
  // a connection that died under us: pg would hand the COPY stream an error on a later tick
  // through a path that can throw past every listener (and end the process) — refuse it here
  const state = client as unknown as { _queryable?: boolean; _ending?: boolean };
  if (state._queryable === false || state._ending) throw new Error('Client has encountered a connection error and is not queryable');
  const stream = client.query(copyFrom(sql));
  // it lets the connection go at the end of its handleError, after emitting the error
  const internals = stream as unknown as { connection: unknown; handleError: (e: Error) => void };
  const handleError = internals.handleError.bind(stream);
  internals.handleError = (e) => {
    handleError(e);
    internals.connection = DROPPED;
  };
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  return { stream, done };
}

async function copyInto(on: Knex.Transaction | pg.ClientBase, target: string, write: (put: (data: string | Buffer) => Promise<void>) => Promise<void>): Promise<void> {
  // a knex transaction is a function; a connection of its own is a pg client
  const client = typeof on === 'function' ? await rawClient(on) : on;
  const { stream, done } = copyStream(client, `COPY ${target.includes(' FROM STDIN') ? target : `${target} FROM STDIN`}`);
  let failed = false;
  done.catch(() => (failed = true));
  await write(async (data) => {
    // a failed COPY drains no more: stop writing, its error is answered below
    if (!failed && !stream.write(data)) await Promise.race([new Promise<void>((resolve) => stream.once('drain', resolve)), done.catch(() => undefined)]);
  });
  stream.end();
  await done;
}

const BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]); // signature, flags, no extension
const BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/**
 * Streams tuples in PostgreSQL's binary COPY format (see ByteSink) into
 * `COPY <target> FROM STDIN (FORMAT binary)`: the server parses no numbers or dates.
 */
export async function copyBinaryInto(on: Knex.Transaction | pg.ClientBase, target: string, tuples: Buffer): Promise<void> {
  const SLICE = 1 << 20;
  await copyInto(on, `${target} FROM STDIN (FORMAT binary)`, async (put) => {
    await put(BINARY_HEADER);
    for (let at = 0; at < tuples.length; at += SLICE) await put(tuples.subarray(at, at + SLICE));
    await put(BINARY_TRAILER);
  });
}

/**
 * A binary COPY into `target` opened now on a connection of its own (outside a transaction:
 * the COPY is its own), fed while its rows are still being made: `put` hands over tuples
 * (pg-copy-streams holds them until the server has answered the COPY, then each is written to
 * the socket as it comes, so that the server takes them in while the caller computes the
 * rest), `end` finishes it — the rows are stored whole or not at all — and `abort` takes it
 * back (CopyFail: the server rolls it back). Rejects as the COPY does.
 */
export type CopyFeed = {
  /** Settles once the server has answered the COPY (tuples put from then on go out at once), or it failed. */
  ready: Promise<void>;
  put(tuples: Buffer): void;
  end(): Promise<void>;
  abort(reason: Error): Promise<void>;
};

export function openBinaryCopy(client: pg.ClientBase, target: string): CopyFeed {
  const { stream, done } = copyStream(client, `COPY ${target} FROM STDIN (FORMAT binary)`);
  let settled = false;
  done.then(
    () => (settled = true),
    () => (settled = true),
  ); // answered by end or abort
  // the stream holds what it is given until the server's answer; the header's callback is then
  // (or once the COPY has failed: pg-copy-streams then only emits the error, the callback never comes)
  const ready = new Promise<void>((resolve) => {
    stream.write(BINARY_HEADER, () => resolve());
    done.catch(() => resolve());
  });
  return {
    ready,
    put: (tuples) => void stream.write(tuples),
    async end() {
      stream.write(BINARY_TRAILER);
      stream.end();
      await done;
    },
    async abort(reason) {
      // a COPY that failed already is over; else CopyFail, and the server's answer to it
      if (settled) return;
      stream.destroy(reason);
      await new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));
    },
  };
}

/** Days from 1970-01-01 (our day numbers) to 2000-01-01 (PostgreSQL's binary dates). */
const PG_EPOCH_DAY = 10_957;

/**
 * A growing buffer of COPY data written without making a string per row: the ingest's
 * byte lane copies validated fields straight from the input into it. Besides raw bytes it
 * writes the fields of the binary COPY format: a tuple is its field count (int16), then per
 * field its length (int32, -1 for NULL) and its bytes, integers big-endian.
 */
export class ByteSink {
  buf: Buffer;
  pos = 0;

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Room for at least `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** Bytes [s, e) of `src` (the caller has ensured room). */
  bytes(src: Uint8Array, s: number, e: number): void {
    if (e - s > 16) {
      // the whole of `src` as it is (a field made once: no view made for each row)
      this.buf.set(s === 0 && e === src.length ? src : src.subarray(s, e), this.pos);
      this.pos += e - s;
      return;
    }
    const out = this.buf;
    let p = this.pos;
    for (let i = s; i < e; i++) out[p++] = src[i] as number;
    this.pos = p;
  }

  // The fixed-size fields are written byte by byte: Buffer's writeInt32BE checks its range
  // and offset on every call (measured over a 365-day backfill, 4.1 million rows of 13
  // fields: its checks alone took ~0.4 s of Node's time). Room is the caller's (`ensure`).

  /** A binary tuple's field count. */
  fields(n: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = n >>> 8;
    b[p + 1] = n & 255;
    this.pos = p + 2;
  }

  /** A binary NULL field. */
  binaryNull(): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = b[p + 1] = b[p + 2] = b[p + 3] = 255;
    this.pos = p + 4;
  }

  /** A binary int4 field (a 32-bit integer; out of range throws, as writeInt32BE did). */
  int4(v: number): void {
    if (!(v >= -2_147_483_648 && v <= 2_147_483_647)) throw new RangeError(`int4 out of range: ${v}`);
    const b = this.buf;
    const p = this.pos;
    b[p] = b[p + 1] = b[p + 2] = 0;
    b[p + 3] = 4;
    b[p + 4] = v >>> 24;
    b[p + 5] = (v >>> 16) & 255;
    b[p + 6] = (v >>> 8) & 255;
    b[p + 7] = v & 255;
    this.pos = p + 8;
  }

  /** A binary int8 field (a safe integer). */
  int8(v: number): void {
    this.buf.writeInt32BE(8, this.pos);
    const high = Math.floor(v / 2 ** 32);
    this.buf.writeInt32BE(high, this.pos + 4);
    this.buf.writeUInt32BE(v - high * 2 ** 32, this.pos + 8);
    this.pos += 12;
  }

  /** A binary date field, from a day number (see `dayNumber`). */
  date(day: number): void {
    this.int4(day - PG_EPOCH_DAY);
  }

  /** A binary float8 field. */
  float8(v: number): void {
    this.buf.writeInt32BE(8, this.pos);
    this.buf.writeDoubleBE(v, this.pos + 4);
    this.pos += 12;
  }

  /** A binary text field from bytes [s, e) of `src` (valid UTF-8). */
  textBytes(src: Uint8Array, s: number, e: number): void {
    this.buf.writeInt32BE(e - s, this.pos);
    this.pos += 4;
    this.bytes(src, s, e);
  }

  /** A binary text field from a string (ensures room itself: at most 3 bytes a UTF-16 unit, written once, its length after). */
  textField(value: string): void {
    this.ensure(4 + 3 * value.length);
    const n = this.buf.write(value, this.pos + 4);
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
  }

  /** A binary jsonb field from JSON text (format version 1, then the text; ensures room itself). */
  jsonbField(json: string): void {
    const n = Buffer.byteLength(json);
    this.ensure(n + 5);
    this.buf.writeInt32BE(n + 1, this.pos);
    this.buf[this.pos + 4] = 1;
    this.pos += 5 + this.buf.write(json, this.pos + 5);
  }

  /**
   * Starts a binary array field of `n` elements of type `oid` (one dimension, from 1): its
   * length and null flag are filled in by `arrayEnd`, each element is written after it as a
   * field (`int4`, `textField`, `binaryNull`, …). Room for its 24 bytes is the caller's.
   * Answers where it starts, for `arrayEnd`.
   */
  arrayStart(oid: number, n: number): number {
    const at = this.pos;
    const b = this.buf;
    b.writeInt32BE(0, at); // the field's length: arrayEnd
    b.writeInt32BE(1, at + 4); // dimensions
    b.writeInt32BE(0, at + 8); // whether an element is NULL: arrayEnd
    b.writeInt32BE(oid, at + 12);
    b.writeInt32BE(n, at + 16);
    b.writeInt32BE(1, at + 20); // lower bound
    this.pos = at + 24;
    return at;
  }

  /** Ends the array field started at `at` (`arrayStart`); `nulls`: whether an element was NULL. */
  arrayEnd(at: number, nulls: boolean): void {
    this.buf.writeInt32BE(this.pos - at - 4, at);
    if (nulls) this.buf.writeInt32BE(1, at + 8);
  }

  get data(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
