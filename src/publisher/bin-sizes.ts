/**
 * Counters behind the bin-size distribution: `bins.targets` per bin and
 * `bin_size_counts` per size, kept up to date as targets come and go, so
 * status reads them without scanning `artifacts`.
 */

/** At bootstrap every bin lists nothing. */
export function initBinSizes(sql: SqlStorage, numberOfBins: number): void {
  sql.exec("INSERT INTO bin_size_counts (size, bins) VALUES (0, ?)", numberOfBins);
}

/** `delta` targets were added to (> 0) or removed from (< 0) bin `idx`. */
export function binTargetsChanged(sql: SqlStorage, idx: number, delta: number): void {
  const before = sql.exec<{ targets: number }>("UPDATE bins SET targets = targets + ? WHERE idx = ? RETURNING targets", delta, idx).one().targets - delta;
  sql.exec("UPDATE bin_size_counts SET bins = bins - 1 WHERE size = ?", before);
  sql.exec("DELETE FROM bin_size_counts WHERE size = ? AND bins = 0", before);
  sql.exec(
    "INSERT INTO bin_size_counts (size, bins) VALUES (?, 1) ON CONFLICT (size) DO UPDATE SET bins = bins + 1",
    before + delta,
  );
}

export interface BinSizeBucket {
  /** Bins listing from `min` to `max` targets, inclusive. */
  min: number;
  max: number;
  bins: number;
}

/** Bins by how many targets they list, in buckets 0, 1, 2-3, 4-7, … (one row per distinct size is read). */
export function binSizeDistribution(sql: SqlStorage): BinSizeBucket[] {
  const buckets = new Map<number, BinSizeBucket>();
  for (const row of sql.exec<{ size: number; bins: number }>("SELECT size, bins FROM bin_size_counts ORDER BY size")) {
    const k = row.size === 0 ? 0 : 32 - Math.clz32(row.size);
    const bucket = buckets.get(k) ?? { min: k === 0 ? 0 : 2 ** (k - 1), max: k === 0 ? 0 : 2 ** k - 1, bins: 0 };
    bucket.bins += row.bins;
    buckets.set(k, bucket);
  }
  return [...buckets.values()];
}
