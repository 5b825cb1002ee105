/**
 * Publish plans: the reservation that step 1 of a publish (begin) writes as a
 * `publishes` row with committed_at NULL, and what its commit settles. Each
 * function here runs inside the caller's transactionSync.
 */
import { Metadata, type SuccinctRoles } from "../tuf/index.js";
import { takeStaged } from "./import.js";
import { succinctRolesOf, type OfflineRoles } from "./offline.js";
import { binsPerRun, isDue, isOverdue, staggeredExpiry, type Policy } from "./policy.js";
import type { R2Keys } from "./r2-keys.js";
import { SnapshotBytes } from "./snapshot-bytes.js";
import { audit, bumpCounter, bumpRole, listArtifacts, roleRow, storeOfflineRole, unlistArtifact, type PriorListing } from "./store.js";
import type { LogCause } from "./log-entry.js";

/** The most queued changes one publish takes; the rest go in the next one. */
const MAX_BATCH = 20_000;

export interface PublishPlan {
  timestampVersion: number;
  snapshotVersion: number;
  referenceTime: number;
  bins: Array<[index: number, version: number]>;
  offline: string[];
  receipts: Record<string, number[]>;
  /** Target files that no state after this publish lists. */
  superseded: string[];
}

/** The bin layout and the snapshot bytes cache, rebuilt from SQLite after a restart. */
export interface Layout {
  succinct: SuccinctRoles;
  snapshot: SnapshotBytes;
}

export function loadLayout(sql: SqlStorage): Layout {
  const bins = sql.exec<{ body: ArrayBuffer }>("SELECT body FROM roles WHERE name = 'bins'").one();
  const succinct = succinctRolesOf(Metadata.fromBytes("targets", new Uint8Array(bins.body)).signed);
  const meta = new Map<string, number>();
  for (const row of sql.exec<{ idx: number; version: number }>("SELECT idx, version FROM bins"))
    meta.set(`${succinct.roleName(row.idx)}.json`, row.version);
  for (const role of ["targets", "bins"]) meta.set(`${role}.json`, roleRow(sql, role).version);
  return { succinct, snapshot: new SnapshotBytes(meta) };
}

export function pendingPlan(sql: SqlStorage): PublishPlan | undefined {
  const row = sql
    .exec<{ timestamp_version: number; snapshot_version: number; reference_time: number; bins: string; offline: string; receipts: string; superseded: string }>(
      "SELECT * FROM publishes WHERE committed_at IS NULL ORDER BY timestamp_version LIMIT 1",
    )
    .toArray()[0];
  return (
    row && {
      timestampVersion: row.timestamp_version,
      snapshotVersion: row.snapshot_version,
      referenceTime: row.reference_time,
      bins: JSON.parse(row.bins),
      offline: JSON.parse(row.offline),
      receipts: JSON.parse(row.receipts),
      superseded: JSON.parse(row.superseded),
    }
  );
}

export function insertPlan(sql: SqlStorage, plan: PublishPlan, reason: string): void {
  sql.exec(
    "INSERT INTO publishes (timestamp_version, snapshot_version, reference_time, bins, offline, receipts, superseded, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    plan.timestampVersion,
    plan.snapshotVersion,
    plan.referenceTime,
    JSON.stringify(plan.bins),
    JSON.stringify(plan.offline),
    JSON.stringify(plan.receipts),
    JSON.stringify(plan.superseded),
    reason,
  );
}

/** The bin-n and snapshot files the plan's new versions replace. */
export function previousVersions(plan: PublishPlan, keys: R2Keys, succinct: SuccinctRoles): string[] {
  return [
    ...plan.bins.filter(([, v]) => v > 1).map(([idx, v]) => keys.versioned(succinct.roleName(idx), v - 1)),
    ...(plan.snapshotVersion > 1 ? [keys.versioned("snapshot", plan.snapshotVersion - 1)] : []),
  ];
}

/** Reserves the next consistent snapshot, or returns undefined when nothing changed or is due. */
export function reserve(sql: SqlStorage, keys: R2Keys, p: Policy, { succinct, snapshot }: Layout, now: number, renewDue: boolean): PublishPlan | undefined {
  let queued = sql
    .exec<{ seq: number; receipt: string; op: string; path: string; bin: number; length: number | null; hashes: string | null; custom: string | null; size: number | null }>(
      "SELECT * FROM queue ORDER BY seq LIMIT ?",
      MAX_BATCH,
    )
    .toArray();
  // A receipt is published whole (a page and its files go together): a batch that cuts one leaves it to the next publish.
  if (queued.length === MAX_BATCH) {
    const cut = queued.findIndex((q) => q.receipt === queued[queued.length - 1]!.receipt);
    if (cut > 0) queued = queued.slice(0, cut);
  }
  const touched = new Set<number>();
  const receipts: Record<string, number[]> = {};
  const staged = takeStaged(sql);
  for (const idx of staged?.bins ?? []) touched.add(idx);
  const stagedBins = new Set(staged?.bins);
  const superseded = new Set<string>();
  // Bytes leave a bin's queue as its changes are listed; written once per bin.
  const dequeued = new Map<number, number>();
  for (const item of queued) {
    let prior: PriorListing | undefined;
    if (item.op === "add") {
      const row = { bin: item.bin, path: item.path, length: item.length!, hashes: item.hashes!, custom: item.custom, size: item.size! };
      prior = listArtifacts(sql, [row], true).listed[0]?.prior;
      dequeued.set(item.bin, (dequeued.get(item.bin) ?? 0) + row.size);
    } else prior = unlistArtifact(sql, item.bin, item.path);
    if (prior) for (const key of keys.targetKeys(item.path, JSON.parse(prior.hashes))) superseded.add(key);
    if (item.op === "add")
      // Still listed, so none of its copies may be swept, even if an earlier change superseded them.
      for (const key of keys.targetKeys(item.path, JSON.parse(item.hashes!))) {
        superseded.delete(key);
        sql.exec("DELETE FROM superseded WHERE key = ?", key);
      }
    touched.add(item.bin);
    (receipts[item.receipt] ??= []).push(item.bin);
  }
  for (const [idx, bytes] of dequeued) sql.exec("UPDATE bins SET queued_bytes = queued_bytes - ? WHERE idx = ?", bytes, idx);
  if (queued.length > 0) {
    sql.exec("DELETE FROM queue WHERE seq <= ?", queued[queued.length - 1]!.seq);
    bumpCounter(sql, "queued", -queued.length);
  }

  // PEP 458 §Metadata Expiry Times: bin-n expire daily, so they are re-signed
  // on a rolling schedule. Overdue bins are always renewed; due ones up to the per-run bound.
  const bound = binsPerRun(succinct.numberOfBins, p);
  const due = sql
    .exec<{ idx: number; expires: number }>("SELECT idx, expires FROM bins WHERE expires <= ? ORDER BY expires", now + p.floorMs + p.slackMs)
    .toArray();
  const renewed: number[] = [];
  for (const bin of due) {
    if (touched.has(bin.idx)) continue;
    if ((!renewDue || renewed.length >= bound) && !isOverdue(bin.expires, now, p)) break;
    touched.add(bin.idx);
    renewed.push(bin.idx);
  }
  // A backlog (after an outage) re-signed at once would fall due again at once:
  // spread its expiries over the next renewal period, as bootstrap does.
  const backlog = renewed.length > bound ? new Map(renewed.map((idx, k) => [idx, staggeredExpiry(k, renewed.length, now, p)])) : undefined;
  const online = sql.exec<{ expires: number }>("SELECT MIN(expires) AS expires FROM roles WHERE name IN ('snapshot', 'timestamp')").one();
  if (touched.size === 0 && !staged && !isDue(online.expires, now, p)) return undefined;

  const expires = now + p.onlineExpiryMs;
  const bins: Array<[number, number]> = [];
  for (const idx of [...touched].sort((a, b) => a - b)) {
    // Imported bins are new to renewal: stagger them as bootstrap does, so they do not all fall due at once.
    const binExpires = backlog?.get(idx) ?? (stagedBins.has(idx) ? staggeredExpiry(idx, succinct.numberOfBins, now, p) : expires);
    const version = sql.exec<{ version: number }>("UPDATE bins SET version = version + 1, expires = ? WHERE idx = ? RETURNING version", binExpires, idx).one().version;
    bins.push([idx, version]);
  }
  const plan: PublishPlan = {
    snapshotVersion: bumpRole(sql, "snapshot", expires),
    timestampVersion: bumpRole(sql, "timestamp", expires),
    referenceTime: now,
    bins,
    offline: [],
    receipts,
    superseded: [...superseded],
  };
  for (const id of Object.keys(receipts))
    sql.exec("UPDATE receipts SET published_in = ? WHERE id = ?", plan.timestampVersion, id);
  staged?.commit(plan.timestampVersion);
  insertPlan(sql, plan, staged ? "import" : queued.length > 0 ? "artifacts" : "renewal");
  for (const [idx, version] of bins) snapshot.set(`${succinct.roleName(idx)}.json`, version);
  return plan;
}

/**
 * Gives up a stale reservation (its versions are never used again) and reserves its work anew, one version up.
 * `expired`: its online expiry passed; else the online keys changed.
 */
export function reserveAnew(sql: SqlStorage, keys: R2Keys, p: Policy, { succinct, snapshot }: Layout, plan: PublishPlan, now: number, expired: boolean): PublishPlan {
  const n = succinct.numberOfBins;
  sql.exec("UPDATE publishes SET committed_at = ?, abandoned = 1 WHERE timestamp_version = ?", now, plan.timestampVersion);
  const expires = now + p.onlineExpiryMs;
  const bins: Array<[number, number]> = plan.bins.map(([idx], k) => {
    const binExpires = plan.bins.length === n ? staggeredExpiry(k, n, now, p) : expires;
    return [idx, sql.exec<{ version: number }>("UPDATE bins SET version = version + 1, expires = ? WHERE idx = ? RETURNING version", binExpires, idx).one().version];
  });
  const next: PublishPlan = {
    ...plan,
    snapshotVersion: bumpRole(sql, "snapshot", expires),
    timestampVersion: bumpRole(sql, "timestamp", expires),
    referenceTime: now,
    bins,
    // What the given-up versions would have superseded goes too; their own files are superseded by the new ones.
    superseded: [...plan.superseded, ...previousVersions(plan, keys, succinct)],
  };
  for (const id of Object.keys(plan.receipts)) sql.exec("UPDATE receipts SET published_in = ? WHERE id = ?", next.timestampVersion, id);
  insertPlan(sql, next, expired ? "expired_reservation" : "online_keys_changed");
  audit(sql, now, "reservation_abandoned", { timestamp: plan.timestampVersion, snapshot: plan.snapshotVersion, reason: expired ? "expired" : "online keys changed" });
  for (const [idx, version] of bins) snapshot.set(`${succinct.roleName(idx)}.json`, version);
  return next;
}

/**
 * Stores new offline-signed roles and reserves the snapshot that publishes them.
 * When the online key changed, every bin-n is re-signed in it. `holdRoot`: the
 * new root is stored but not written; it becomes a pending_root, which
 * reserveRootRelease publishes once cached timestamps have run out.
 */
export function reserveOfflineUpdate(
  sql: SqlStorage,
  p: Policy,
  update: Partial<OfflineRoles>,
  numberOfBins: number,
  onlineKeyChanged: boolean,
  holdRoot: boolean,
  now: number,
): PublishPlan {
  const changed = (["bins", "targets", "root"] as const).filter((r) => update[r] !== undefined);
  for (const role of changed) storeOfflineRole(sql, role, update[role]!);
  if (holdRoot) sql.exec("INSERT INTO pending_root (version, serve_after) VALUES (?, NULL)", update.root!.signed.version);
  const expires = now + p.onlineExpiryMs;
  const bins: Array<[number, number]> = [];
  if (onlineKeyChanged) {
    // Every bin-n must carry the new key's signature; expiries are staggered again as at bootstrap.
    for (const row of sql.exec<{ idx: number; version: number }>("SELECT idx, version FROM bins ORDER BY idx").toArray()) {
      sql.exec("UPDATE bins SET version = ?, expires = ? WHERE idx = ?", row.version + 1, staggeredExpiry(row.idx, numberOfBins, now, p), row.idx);
      bins.push([row.idx, row.version + 1]);
    }
  }
  const planned: PublishPlan = {
    snapshotVersion: bumpRole(sql, "snapshot", expires),
    timestampVersion: bumpRole(sql, "timestamp", expires),
    referenceTime: now,
    bins,
    offline: holdRoot ? changed.filter((r) => r !== "root") : changed,
    receipts: {},
    superseded: [],
  };
  insertPlan(sql, planned, onlineKeyChanged ? "online_key_rotation" : "offline_roles");
  audit(sql, now, "offline_roles", Object.fromEntries(changed.map((r) => [r, update[r]!.signed.version])));
  return planned;
}

/** The root accepted but not yet written, and when it may be (undefined until the publish that signs for it commits). */
export function pendingRoot(sql: SqlStorage): { version: number; serveAfter: number | undefined } | undefined {
  const row = sql.exec<{ version: number; serve_after: number | null }>("SELECT version, serve_after FROM pending_root").toArray()[0];
  return row && { version: row.version, serveAfter: row.serve_after ?? undefined };
}

/**
 * The publish that writes a held root, once every timestamp.json a cache may
 * still serve was signed for it: a new snapshot and timestamp (unchanged
 * content; every publish writes one), then N.root.json last.
 */
export function reserveRootRelease(sql: SqlStorage, p: Policy, now: number): PublishPlan | undefined {
  const pending = pendingRoot(sql);
  if (pending?.serveAfter === undefined || pending.serveAfter > now) return undefined;
  const expires = now + p.onlineExpiryMs;
  const plan: PublishPlan = {
    snapshotVersion: bumpRole(sql, "snapshot", expires),
    timestampVersion: bumpRole(sql, "timestamp", expires),
    referenceTime: now,
    bins: [],
    offline: ["root"],
    receipts: {},
    superseded: [],
  };
  insertPlan(sql, plan, "offline_roles");
  return plan;
}

/**
 * Settles pending_root in the commit of `plan`: the publish that writes the
 * root ends the wait; the first publish after the hold starts it, since its
 * timestamp.json is the first that a client on the held root verifies.
 */
export function settlePendingRoot(sql: SqlStorage, p: Policy, plan: PublishPlan, committedAt: number): void {
  if (plan.offline.includes("root")) sql.exec("DELETE FROM pending_root");
  // A cache that fetched the previous timestamp.json just before this one was written keeps it for
  // up to TIMESTAMP_MAX_AGE; CDNs count that age in whole seconds, hence the extra second.
  else sql.exec("UPDATE pending_root SET serve_after = ? WHERE serve_after IS NULL", committedAt + p.timestampMaxAgeMs + CACHE_AGE_ROUNDING_MS);
}

const CACHE_AGE_ROUNDING_MS = 1_000;

/** Why the plan was published, as the signing log records it. */
export function logCause(sql: SqlStorage, plan: PublishPlan): LogCause {
  const { reason } = sql.exec<{ reason: string }>("SELECT reason FROM publishes WHERE timestamp_version = ?", plan.timestampVersion).one();
  switch (reason) {
    case "artifacts":
      return { kind: "artifacts", receipts: Object.keys(plan.receipts).sort() };
    case "offline_roles":
    case "online_key_rotation":
      return { kind: reason, roles: [...plan.offline].sort() };
    default:
      return { kind: reason as "bootstrap" | "renewal" };
  }
}
