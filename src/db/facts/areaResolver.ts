import { Knex } from 'knex';

/** Area codes → ids, looked up inside the ingest's transaction (areas are locked against change). */
export class AreaResolver {
  private readonly ids = new Map<string, number>();
  private readonly looked = new Set<string>();
  private all = false;
  constructor(private readonly trx: Knex.Transaction) {}

  /** Looks up these codes (or every area) unless they were looked up already. */
  async load(codes: Iterable<string> | 'all'): Promise<void> {
    if (this.all) return;
    if (codes === 'all') {
      const rows = (await this.trx('areas').select('id', 'code')) as { id: number; code: string }[];
      for (const r of rows) this.ids.set(r.code, r.id);
      this.all = true;
      return;
    }
    const missing = new Set<string>();
    for (const c of codes) if (!this.looked.has(c)) missing.add(c);
    if (missing.size === 0) return;
    const rows = (await this.trx('areas').whereIn('code', [...missing]).select('id', 'code')) as { id: number; code: string }[];
    for (const c of missing) this.looked.add(c);
    for (const r of rows) this.ids.set(r.code, r.id);
  }

  get known(): ReadonlyMap<string, number> {
    return this.ids;
  }
}
