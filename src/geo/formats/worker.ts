import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../../errors';
import { readBoundaryFile } from './index';
import type { WorkerReply, WorkerTask } from './thread';

/** The boundary-file worker thread (thread.ts starts one per file): reads, answers, ends. */
const task = workerData as WorkerTask;
readBoundaryFile(Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength), task.format, task.options).then(
  (read) => parentPort?.postMessage({ ok: read } satisfies WorkerReply),
  (e: unknown) => {
    const reply: WorkerReply =
      e instanceof AppError
        ? { error: { status: e.status, code: e.code, message: e.message, details: e.details } }
        : { crash: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    parentPort?.postMessage(reply);
  },
);
