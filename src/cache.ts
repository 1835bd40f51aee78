/** A least-recently-used cache by key, bounded by the values' total length (bytes, characters). */
export class SizedCache<V extends { length: number }> {
  private readonly entries = new Map<string, V>();
  private size = 0;
  constructor(private readonly maxSize: number) {}

  get(key: string): V | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    const old = this.entries.get(key);
    if (old !== undefined) this.size -= old.length;
    this.entries.delete(key);
    this.entries.set(key, value);
    this.size += value.length;
    for (const [k, v] of this.entries) {
      if (this.size <= this.maxSize) break;
      this.entries.delete(k);
      this.size -= v.length;
    }
  }
}
