import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AreaKind } from '../domain/areas';
import { LocalDate } from '../domain/dates';
import { FactTexts } from '../domain/factText';
import type { SeriesLineage } from '../domain/lineage';
import { RuleSet } from '../domain/rules/definition';
import { AppError } from '../errors';
import { projectRoot } from '../paths';
import { Turns } from '../turns';

/**
 * The request side of the classification worker (classifyWorker.ts). A rule-set preview
 * (services/ruleSets.ts) loads its facts as texts from the database, in its turn, and hands
 * them to the worker, which parses them, classifies every area and writes the answer; the
 * request thread is never held longer than it takes to copy the texts across (a few weeks
 * of reports per text).
 *
 * A `Previews` (one per process, owned by its runtime) holds one worker, started on first
 * use and again after it dies (a crash, or a task unanswered after TASK_TIMEOUT_MS: the
 * worker is then terminated and its tasks fail with 503), and the turns of previews: at
 * most PREVIEW_RUNNING previews load and classify at a time and PREVIEW_WAITING wait for a
 * turn; beyond that a preview is refused with 503 and Retry-After, so that the facts held
 * in memory stay bounded.
 */
export type PreviewArea = { id: number; code: string; kind: AreaKind; parent_id: number | null; population: number | null };

export type PreviewRequest = {
  id: number;
  ruleSet: { id: string; name: string; version: number };
  definition: RuleSet;
  date: LocalDate;
  areas: PreviewArea[];
  facts: FactTexts;
  /** Where predecessors' reports go (domain/lineage.ts; a Map crosses to the worker as it is). */
  lineage: SeriesLineage;
  /** The effective level stored for each area on the date. */
  current: { ids: number[]; levels: string[] };
  /** The levels overrides set on the date: parents roll them up (jobs/recompute/assemble.ts). */
  overridden: { ids: number[]; levels: string[] };
};
export type ClassifyReply = { id: number; bytes: Uint8Array } | { id: number; error: string };

// compiled, the worker is this file's sibling; under ts-jest the build's copy runs (npm test builds first)
const WORKER_FILE = __filename.endsWith('.js') ? path.join(__dirname, 'classifyWorker.js') : path.join(projectRoot, 'dist', 'src', 'jobs', 'classifyWorker.js');

/** A task the worker has not answered by then is taken as hung: the worker is restarted. */
const TASK_TIMEOUT_MS = 120_000;
export const PREVIEW_RUNNING = 1;
export const PREVIEW_WAITING = 4;

export class ClassifyWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (r: ClassifyReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;
  /** Worker threads started so far (a restart after a crash counts). */
  started = 0;

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_FILE);
    this.started++;
    w.on('message', (r: ClassifyReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      p.resolve(r);
    });
    const lost = (e: Error) => this.lose(w, e);
    w.on('error', lost);
    w.on('exit', (code) => lost(new AppError(503, 'worker_unavailable', `the classification worker stopped (exit code ${code}); try again`)));
    w.unref();
    this.worker = w;
    return w;
  }

  /** Fails every task of a worker that died or hung; the next task starts a new one. */
  private lose(w: Worker, e: Error): void {
    if (this.worker !== w) return;
    this.worker = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  ask(request: Omit<PreviewRequest, 'id'>): Promise<ClassifyReply> {
    const w = this.thread();
    const id = this.nextId++;
    // an idle worker must not keep a finished process alive; a busy one must
    if (this.pending.size === 0) w.ref();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lose(w, new AppError(503, 'worker_timeout', `the classification worker did not answer within ${TASK_TIMEOUT_MS / 1000} s; try again`));
        void w.terminate();
      }, TASK_TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      w.postMessage({ ...request, id });
    });
  }

  /** Tasks sent and not yet answered. */
  get pendingTasks(): number {
    return this.pending.size;
  }

  /** Stops the worker; tasks it holds fail with 503 (a later task starts a new one). */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.lose(w, new AppError(503, 'worker_unavailable', 'the classification worker was stopped; try again'));
    await w.terminate();
  }
}

/** A process's rule-set previews: the classification worker, and the turns of previews (see above). */
export class Previews {
  readonly worker = new ClassifyWorker();
  private readonly turns = new Turns(
    { running: PREVIEW_RUNNING, waiting: PREVIEW_WAITING },
    { message: `${PREVIEW_RUNNING + PREVIEW_WAITING} rule-set previews are already running or waiting; try again shortly`, retryAfter: 5 },
  );

  /** The preview answer (JSON bytes) from the loaded facts. */
  async run(request: Omit<PreviewRequest, 'id'>): Promise<Buffer> {
    const r = await this.worker.ask(request);
    if ('bytes' in r) return Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
    throw new Error(`classification worker: ${r.error}`);
  }

  /**
   * A turn for a preview: `run` starts when one of PREVIEW_RUNNING places is free; with
   * PREVIEW_WAITING previews already waiting, 503 with Retry-After at once.
   */
  turn<T>(run: () => Promise<T>): Promise<T> {
    return this.turns.run(run);
  }

  /** Stops the worker (a later preview starts a new one). */
  stop(): Promise<void> {
    return this.worker.stop();
  }
}
