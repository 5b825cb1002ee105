/**
 * The repository's rows in SQLite, the source of truth: the offline roles as
 * signed, the online roles' versions and expiries, what the bins list (with the
 * counters derived from it), and the audit trail.
 */
import { Metadata, type Root, type Targets } from "../tuf/index.js";
import type { ListedRow } from "./bin-bytes.js";
import { binSizesChanged } from "./bin-sizes.js";
import type { OfflineRoles } from "./offline.js";

export function isBootstrapped(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM repository").toArray().length > 0;
}

export function insecureKeyPolicy(sql: SqlStorage): boolean {
  return sql.exec<{ insecure: number }>("SELECT insecure_key_policy AS insecure FROM repository").one().insecure === 1;
}

export function storeOfflineRole(sql: SqlStorage, name: string, md: Metadata<Root> | Metadata<Targets>): void {
  const body = md.toBytes();
  sql.exec(
    "INSERT INTO roles (name, version, expires, body) VALUES (?, ?, ?, ?) " +
      "ON CONFLICT (name) DO UPDATE SET version = excluded.version, expires = excluded.expires, body = excluded.body",
    name,
    md.signed.version,
    md.signed.expires.getTime(),
    name === "root" ? null : body,
  );
  if (name === "root") sql.exec("INSERT INTO root_history (version, body) VALUES (?, ?)", md.signed.version, body);
}

export function offlineRoleBody(sql: SqlStorage, role: string): { version: number; body: Uint8Array } {
  const row =
    role === "root"
      ? sql.exec<{ version: number; body: ArrayBuffer }>("SELECT version, body FROM root_history ORDER BY version DESC LIMIT 1").one()
      : sql.exec<{ version: number; body: ArrayBuffer }>("SELECT version, body FROM roles WHERE name = ?", role).one();
  return { version: row.version, body: new Uint8Array(row.body) };
}

export function currentOfflineRoles(sql: SqlStorage): OfflineRoles {
  const body = (role: string) => offlineRoleBody(sql, role).body;
  return {
    root: Metadata.fromBytes("root", body("root")),
    targets: Metadata.fromBytes("targets", body("targets")),
    bins: Metadata.fromBytes("targets", body("bins")),
  };
}

export function bumpRole(sql: SqlStorage, name: "snapshot" | "timestamp", expires: number): number {
  return sql.exec<{ version: number }>("UPDATE roles SET version = version + 1, expires = ? WHERE name = ? RETURNING version", expires, name).one().version;
}

export function roleRow(sql: SqlStorage, name: string): { version: number; expires: number } {
  return sql.exec<{ version: number; expires: number }>("SELECT version, expires FROM roles WHERE name = ?", name).one();
}

export function counter(sql: SqlStorage, name: "artifacts" | "queued"): number {
  return sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = ?", name).one().value;
}

export function bumpCounter(sql: SqlStorage, name: "artifacts" | "queued", delta: number): void {
  if (delta !== 0) sql.exec("UPDATE counters SET value = value + ? WHERE name = ?", delta, name);
}

export function audit(sql: SqlStorage, at: number, event: string, detail: object): void {
  sql.exec("INSERT INTO audit (at, event, detail) VALUES (?, ?, ?)", at, event, JSON.stringify(detail));
}

/** One `artifacts` row: a target as its bin-n lists it, with the bytes it adds there (client-limits.ts entryBytes). */
export interface ArtifactRow extends ListedRow {
  bin: number;
  size: number;
}

/** What a bin listed under a path before a change. */
export type PriorListing = Omit<ArtifactRow, "bin" | "path">;

export interface Listed<R> {
  /** Rows whose path was listed already, with what was listed: left as they were, or replaced with `replace`. */
  listed: Array<{ row: R; prior: PriorListing }>;
  /** Each bin the rows went to, and the bytes it lists and has queued afterwards. */
  binBytes: Map<number, number>;
}

/**
 * Lists `rows` in their bins, in order, and keeps what is derived from the
 * listing in step: each bin's `bytes` and `targets`, the bin-size counts and the
 * artifacts counter. Every insert into `artifacts` goes through here (or
 * unlistArtifact for a delete), so none of them can drift. The derived rows are
 * written once per bin and once per call, so a caller with many rows (a bulk
 * import chunk, a recovered bin-n) passes them in one call.
 * A path already listed is left as it is, or overwritten with `replace`.
 */
export function listArtifacts<R extends ArtifactRow>(sql: SqlStorage, rows: readonly R[], replace = false): Listed<R> {
  const listed: Listed<R>["listed"] = [];
  const changed = new Map<number, { bytes: number; targets: number }>();
  let added = 0;
  for (const row of rows) {
    let prior: PriorListing | undefined;
    if (replace) {
      prior = priorListing(sql, row.bin, row.path);
      sql.exec(
        "INSERT INTO artifacts (bin, path, length, hashes, custom, size) VALUES (?, ?, ?, ?, ?, ?) " +
          "ON CONFLICT (bin, path) DO UPDATE SET length = excluded.length, hashes = excluded.hashes, custom = excluded.custom, size = excluded.size",
        row.bin, row.path, row.length, row.hashes, row.custom, row.size,
      );
    } else {
      // New paths are the common case (a bulk import): one statement for them, a look-up only when the path is listed.
      const inserted = sql.exec(
        "INSERT INTO artifacts (bin, path, length, hashes, custom, size) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (bin, path) DO NOTHING",
        row.bin, row.path, row.length, row.hashes, row.custom, row.size,
      ).rowsWritten;
      if (inserted === 0) prior = priorListing(sql, row.bin, row.path);
    }
    if (prior) listed.push({ row, prior });
    if (prior && !replace) continue;
    const bin = changed.get(row.bin) ?? { bytes: 0, targets: 0 };
    bin.bytes += row.size - (prior?.size ?? 0);
    if (!prior) {
      bin.targets += 1;
      added++;
    }
    changed.set(row.bin, bin);
  }
  const binBytes = binsListingChanged(sql, changed);
  bumpCounter(sql, "artifacts", added);
  return { listed, binBytes };
}

/** Removes `path` from bin `bin`, with the same bookkeeping as listArtifacts; undefined when it was not listed. */
export function unlistArtifact(sql: SqlStorage, bin: number, path: string): PriorListing | undefined {
  const prior = sql
    .exec<PriorListing>("DELETE FROM artifacts WHERE bin = ? AND path = ? RETURNING length, hashes, custom, size", bin, path)
    .toArray()[0];
  if (!prior) return undefined;
  binsListingChanged(sql, new Map([[bin, { bytes: -prior.size, targets: -1 }]]));
  bumpCounter(sql, "artifacts", -1);
  return prior;
}

function priorListing(sql: SqlStorage, bin: number, path: string): PriorListing | undefined {
  return sql.exec<PriorListing>("SELECT length, hashes, custom, size FROM artifacts WHERE bin = ? AND path = ?", bin, path).toArray()[0];
}

/**
 * Each bin in `changed` lists `bytes` more bytes and `targets` more targets; returns each one's listed plus
 * queued bytes. One statement for all of them: an import chunk touches every bin, and four statements per
 * bin cost more than the chunk's inserts.
 */
function binsListingChanged(sql: SqlStorage, changed: ReadonlyMap<number, { bytes: number; targets: number }>): Map<number, number> {
  const binBytes = new Map<number, number>();
  if (changed.size === 0) return binBytes;
  const after = sql.exec<{ idx: number; bytes: number; targets: number }>(
    "UPDATE bins SET bytes = bins.bytes + (c.value ->> 1), targets = bins.targets + (c.value ->> 2) FROM json_each(?) AS c " +
      "WHERE bins.idx = (c.value ->> 0) RETURNING idx, bytes + queued_bytes AS bytes, targets",
    JSON.stringify([...changed].map(([idx, { bytes, targets }]) => [idx, bytes, targets])),
  );
  const sizes: Array<[number, number]> = [];
  for (const row of after) {
    binBytes.set(row.idx, row.bytes);
    sizes.push([row.targets - changed.get(row.idx)!.targets, row.targets]);
  }
  binSizesChanged(sql, sizes);
  return binBytes;
}
