/**
 * A counter of writes made by this process (ingests, recomputations, overrides, area
 * imports). Caches of derived views check it, so that this process's own changes show at
 * once; changes by other processes show when the caches' short lifetimes end.
 */
let writes = 0;

export function noteWrite(): void {
  writes++;
}

export function writeCount(): number {
  return writes;
}
