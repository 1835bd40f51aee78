import { Knex } from 'knex';
import { dayNumber, LocalDate } from '../../domain/dates';

/** The days an area exists, as day numbers (inclusive). */
export type Validity = { code: string; from: number; to: number; validFrom: LocalDate | null; validTo: LocalDate | null };
type Row = { id: number; code: string; valid_from: LocalDate | null; valid_to: LocalDate | null };
const COLUMNS = ['id', 'code', 'valid_from', 'valid_to'];

/** Area codes → ids, looked up inside the ingest's transaction (areas are locked against change). */
export class AreaResolver {
  private readonly ids = new Map<string, number>();
  /** Areas that begin or end (most never do): their days. */
  private readonly bounds = new Map<number, Validity>();
  private readonly looked = new Set<string>();
  private all = false;
  constructor(private readonly trx: Knex.Transaction) {}

  /** Looks up these codes (or every area) unless they were looked up already. */
  async load(codes: Iterable<string> | 'all'): Promise<void> {
    if (this.all) return;
    if (codes === 'all') {
      const rows = (await this.trx('areas').select(COLUMNS.map((c) => (c.startsWith('valid') ? this.trx.raw(`${c}::text AS ${c}`) : c)))) as Row[];
      for (const r of rows) this.keep(r);
      this.all = true;
      return;
    }
    const missing = new Set<string>();
    for (const c of codes) if (!this.looked.has(c)) missing.add(c);
    if (missing.size === 0) return;
    const rows = (await this.trx('areas').whereIn('code', [...missing]).select(COLUMNS.map((c) => (c.startsWith('valid') ? this.trx.raw(`${c}::text AS ${c}`) : c)))) as Row[];
    for (const c of missing) this.looked.add(c);
    for (const r of rows) this.keep(r);
  }

  private keep(r: Row): void {
    this.ids.set(r.code, r.id);
    if (r.valid_from !== null || r.valid_to !== null) {
      this.bounds.set(r.id, { code: r.code, from: r.valid_from ? dayNumber(r.valid_from) : -Infinity, to: r.valid_to ? dayNumber(r.valid_to) : Infinity, validFrom: r.valid_from, validTo: r.valid_to });
    }
  }

  /** The days of an area that begins or ends (undefined: it always exists). */
  validity(id: number): Validity | undefined {
    return this.bounds.size === 0 ? undefined : this.bounds.get(id);
  }

  get known(): ReadonlyMap<string, number> {
    return this.ids;
  }
}
