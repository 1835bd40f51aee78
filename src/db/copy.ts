import { Knex } from 'knex';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { rawClient } from './knex';

/**
 * COPY FROM STDIN in PostgreSQL's text format: the bulk path for ingest and recompute.
 * (The embedded engine takes no COPY; callers check `Database.supportsCopy`.)
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

async function copyInto(on: Knex.Transaction | pg.ClientBase, target: string, write: (put: (data: string | Buffer) => Promise<void>) => Promise<void>): Promise<void> {
  const client = on instanceof pg.Client ? on : await rawClient(on as Knex.Transaction);
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  await write(async (data) => {
    if (!stream.write(data)) await new Promise<void>((resolve) => stream.once('drain', resolve));
  });
  stream.end();
  await done;
}

/**
 * Streams lines (each ending in a newline) into `COPY <target> FROM STDIN` on the
 * transaction's connection — or on a client outside any transaction, where the COPY is a
 * transaction of its own.
 */
export async function copyLinesInto(trx: Knex.Transaction | pg.ClientBase, target: string, lines: Iterable<string>, batch = 5000): Promise<void> {
  await copyInto(trx, target, async (put) => {
    let text = '';
    let n = 0;
    for (const line of lines) {
      text += line;
      if (++n % batch === 0) {
        await put(text);
        text = '';
      }
    }
    if (text) await put(text);
  });
}

/** Streams ready COPY text (whole lines) into `COPY <target> FROM STDIN`. */
export async function copyBytesInto(trx: Knex.Transaction, target: string, data: Buffer): Promise<void> {
  const SLICE = 1 << 20;
  await copyInto(trx, target, async (put) => {
    for (let at = 0; at < data.length; at += SLICE) await put(data.subarray(at, at + SLICE));
  });
}

const BACKSLASH_N = Buffer.from('\\N');

/**
 * A growing byte buffer of COPY text, written without making a string per row: the
 * ingest's byte lane copies validated fields straight from the input into it.
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
      this.buf.set(src.subarray(s, e), this.pos);
      this.pos += e - s;
      return;
    }
    const out = this.buf;
    let p = this.pos;
    for (let i = s; i < e; i++) out[p++] = src[i] as number;
    this.pos = p;
  }

  null(): void {
    this.bytes(BACKSLASH_N, 0, 2);
  }

  /** A whole text line (any string; ensures room itself). */
  text(line: string): void {
    this.ensure(Buffer.byteLength(line));
    this.pos += this.buf.write(line, this.pos);
  }

  get data(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
