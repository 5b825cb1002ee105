/**
 * Counters behind the bin-size distribution: `bins.targets` per bin and
 * `bin_size_counts` per size, kept up to date as targets come and go, so
 * status reads them without scanning `artifacts`; and the bins near the
 * size TUF clients download, which status warns about.
 */
import type { SuccinctRoles } from "../tuf/index.js";
import { BIN_ENVELOPE_BYTES, CLIENT_MAX_BYTES, WARN_FRACTION } from "./client-limits.js";

/** At bootstrap every bin lists nothing. */
export function initBinSizes(sql: SqlStorage, numberOfBins: number): void {
  sql.exec("INSERT INTO bin_size_counts (size, bins) VALUES (0, ?)", numberOfBins);
}

/** Bins went from listing `before` targets to `after`, one `[before, after]` each: moves them between the size counts. */
export function binSizesChanged(sql: SqlStorage, changes: Iterable<readonly [before: number, after: number]>): void {
  const delta = new Map<number, number>();
  for (const [before, after] of changes) {
    if (before === after) continue;
    delta.set(before, (delta.get(before) ?? 0) - 1);
    delta.set(after, (delta.get(after) ?? 0) + 1);
  }
  let emptied = false;
  for (const [size, bins] of delta) {
    if (bins === 0) continue;
    sql.exec("INSERT INTO bin_size_counts (size, bins) VALUES (?, ?) ON CONFLICT (size) DO UPDATE SET bins = bins + excluded.bins", size, bins);
    emptied ||= bins < 0;
  }
  if (emptied) sql.exec("DELETE FROM bin_size_counts WHERE bins = 0");
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

/** Bins past WARN_FRACTION of the clients' targets limit, largest first (bins_by_bytes: reads only those). */
export function sizeWarnings(sql: SqlStorage, succinct: SuccinctRoles): string[] {
  const limit = CLIENT_MAX_BYTES.targets;
  return sql
    .exec<{ idx: number; bytes: number }>("SELECT idx, bytes FROM bins WHERE bytes > ? ORDER BY bytes DESC LIMIT 10", WARN_FRACTION * limit - BIN_ENVELOPE_BYTES)
    .toArray()
    .map((b) => `${succinct.roleName(b.idx)} lists about ${b.bytes + BIN_ENVELOPE_BYTES} bytes, ${Math.round((100 * (b.bytes + BIN_ENVELOPE_BYTES)) / limit)}% of the ${limit} bytes TUF clients download by default: see "A bin is nearly full" in docs/operations.md`);
}
