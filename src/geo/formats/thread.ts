import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError, ErrorDetail } from '../../errors';
import { projectRoot } from '../../paths';
import { log } from '../../log';
import type { BoundaryFormat, BoundaryOptions, BoundaryRead } from './types';

export type WorkerTask = { bytes: Uint8Array; format: BoundaryFormat; options: BoundaryOptions };
export type WorkerReply = { ok: BoundaryRead } | { error: { status: number; code: string; message: string; details: ErrorDetail[] } } | { crash: string };

/** Files read at the same time; more wait, and beyond WAITING are refused (503, retry). */
export const BOUNDARY_RUNNING = 2;
export const BOUNDARY_WAITING = 8;
/** A file not read by then is refused (its worker is terminated). */
export const BOUNDARY_TIMEOUT_MS = 120_000;
const HEAP_MB = 3072;

/**
 * The worker's entry: compiled, worker.js beside this file. Under ts-jest (this file is .ts
 * and dist/ may be stale or absent) the worker runs worker.ts through TypeScript's
 * transpileModule, registered as the .ts loader inside the worker — tests only, never in
 * production (the service runs from dist/).
 */
function startWorker(task: WorkerTask): Worker {
  const options = { workerData: task, resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } };
  if (__filename.endsWith('.js')) return new Worker(path.join(__dirname, 'worker.js'), options);
  const loader = `
    const ts = require(${JSON.stringify(path.join(projectRoot, 'node_modules', 'typescript'))});
    const fs = require('node:fs');
    require.extensions['.ts'] = (m, filename) => m._compile(ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText, filename);
    require(${JSON.stringify(path.join(__dirname, 'worker.ts'))});`;
  return new Worker(loader, { ...options, eval: true });
}

let running = 0;
const waiting: (() => void)[] = [];

async function turn(): Promise<void> {
  if (running < BOUNDARY_RUNNING) {
    running++;
    return;
  }
  if (waiting.length >= BOUNDARY_WAITING) {
    const e = new AppError(503, 'busy', 'Máy chủ đang bận đọc các tệp khác — the service is reading other boundary files; try again shortly');
    e.retryAfter = 10;
    throw e;
  }
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function done(): void {
  const next = waiting.shift();
  if (next) next();
  else running--;
}

/**
 * readBoundaryFile in a worker thread of its own, so that a 30 MB file never holds the
 * request thread; the same result, and the same AppError (status, code, message, details).
 * At most BOUNDARY_RUNNING files at a time; a worker that runs out of memory is a 413.
 */
export async function readBoundaryFileInWorker(bytes: Buffer, format: BoundaryFormat, options: BoundaryOptions = {}): Promise<BoundaryRead> {
  await turn();
  try {
    return await new Promise<BoundaryRead>((resolve, reject) => {
      const worker = startWorker({ bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), format, options });
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void worker.terminate();
        f();
      };
      const timer = setTimeout(
        () => settle(() => reject(new AppError(422, 'file_too_slow', `Đọc tệp quá lâu — the ${format} file took more than ${BOUNDARY_TIMEOUT_MS / 1000} s to read`))),
        BOUNDARY_TIMEOUT_MS,
      );
      worker.on('message', (r: WorkerReply) =>
        settle(() => {
          if ('ok' in r) resolve(r.ok);
          else if ('error' in r) reject(new AppError(r.error.status, r.error.code, r.error.message, r.error.details));
          else {
            // everything the reader sees is the client's file: an exception it did not expect is
            // still about that file (a 422 without the trace; the trace goes to the log)
            log.error('boundary file reader failed', { format, error: r.crash });
            reject(new AppError(422, 'unreadable_file', `Không đọc được tệp — the ${format} file cannot be read (the reader stopped on something in it)`, [{ path: '(file)', message: 'cannot be read' }]));
          }
        }),
      );
      worker.on('error', (e: Error & { code?: string }) =>
        settle(() =>
          reject(
            e.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? new AppError(413, 'file_too_large', `Tệp quá lớn để đọc — the ${format} file needs more than ${HEAP_MB} MB to read`)
              : e,
          ),
        ),
      );
      worker.on('exit', (code) => settle(() => reject(new Error(`boundary worker stopped (exit code ${code}) without an answer`))));
    });
  } finally {
    done();
  }
}
