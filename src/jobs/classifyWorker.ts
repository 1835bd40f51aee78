import { parentPort } from 'node:worker_threads';
import { inputSeriesOf } from '../domain/factText';
import { LevelOrUnknown } from '../domain/levels';
import { classifyTree } from '../domain/rules/tree';
import type { ClassifyReply, PreviewRequest } from './classifyThread';

/**
 * The classification worker thread: the CPU-heavy, pure part of a rule-set preview — the
 * facts parsed into input series, every area classified, the answer written as JSON. The
 * request thread only loads the facts and sends the bytes on, so a large rule set over a
 * national set of areas never stops it (see classifyThread.ts).
 */
function preview(m: PreviewRequest): Uint8Array {
  const inputs = inputSeriesOf(m.definition, m.areas, m.facts, m.lineage).inputsOn(m.date);
  const current = new Map<number, string>();
  m.current.ids.forEach((id, i) => current.set(id, m.current.levels[i] as string));
  const overridden = new Map<number, LevelOrUnknown>();
  m.overridden.ids.forEach((id, i) => overridden.set(id, m.overridden.levels[i] as LevelOrUnknown));
  const items = classifyTree(m.definition, m.areas, (a) => inputs.get(a.id) ?? {}, (a, c) => {
    const now = (current.get(a.id) ?? 'unknown') as LevelOrUnknown;
    // a parent rolls up an overridden child at the override's level, as a recomputation does
    return { level: overridden.get(a.id) ?? c.level, result: { code: a.code, kind: a.kind, level: c.level, reason: c.reason, current: now, changed: now !== c.level } };
  });
  items.sort((a, b) => a.code.localeCompare(b.code));
  const body = { rule_set: m.ruleSet, date: m.date, areas: items.length, changed: items.filter((i) => i.changed).length, items };
  return new Uint8Array(Buffer.from(JSON.stringify(body)));
}

parentPort?.on('message', (m: PreviewRequest) => {
  let reply: ClassifyReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const bytes = preview(m);
    reply = { id: m.id, bytes };
    // hand the bytes over rather than copy them (Buffer.from of a string may be a view into a shared pool: copied into its own array first)
    transfer.push(bytes.buffer as ArrayBuffer);
  } catch (e) {
    reply = { id: m.id, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(reply, transfer);
});
