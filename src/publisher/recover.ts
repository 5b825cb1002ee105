/**
 * `tuf-edge recover`: rebuilding the Publisher's rows from what R2 serves, when
 * its SQLite storage is lost or a new deployment takes over a bucket. The served
 * repository is read by src/client's Updater (TUF spec 5, the client that
 * `tuf-edge verify` runs) over R2, and its highest versions are found by
 * listing, so the Publisher continues strictly above every version any cache
 * may hold.
 *
 * At PEP 458's size (16,384 bins, 10M artifacts) one invocation cannot read it
 * all: it has a subrequest limit and 128 MB. So recovery goes in steps, one per
 * call, each reading at most STEP_READS objects or listing pages from R2, with
 * its progress in SQLite (the `recovery` tables):
 *   1. start  the root chain, timestamp, snapshot, targets and bins, verified as
 *             a client does, and the offline roles checked as at bootstrap. The
 *             timestamp read here is pinned: every later step reads the same
 *             consistent snapshot, however many calls it takes.
 *   2. list   the metadata names in R2, for the highest version under each.
 *   3. bins   bin-n after bin-n, each verified by its delegator (bins) and its
 *             targets listed in `artifacts`.
 *   4. finish (with the last bins) the versions one above the highest found,
 *             and the reservation of a publish of every bin-n, the snapshot and
 *             the timestamp.
 * Until it finishes the Publisher is not bootstrapped: it takes no changes and
 * publishes nothing. A step that fails changes nothing, and the next call retries it.
 */
import { MemoryStore, Updater } from "../client/index.js";
import { canonicalString, mapLimit, Metadata, TufError, type Key, type Root, type Snapshot, type Targets } from "../tuf/index.js";
import { initBinSizes } from "./bin-sizes.js";
import { rowBytes } from "./client-limits.js";
import { requireKeyPolicy } from "./key-policy.js";
import { succinctRolesOf, verifyOfflineSet } from "./offline.js";
import { insertPlan, type PublishPlan } from "./plan.js";
import { staggeredExpiry, type Policy } from "./policy.js";
import { fromR2, r2Fetcher, R2_METADATA_URL } from "./r2-fetcher.js";
import type { R2Keys } from "./r2-keys.js";
import { audit, counter, listArtifacts, storeOfflineRole, type ArtifactRow } from "./store.js";
import type { RecoverResult } from "./types.js";

/**
 * R2 reads (objects or listing pages) one step makes, besides the root walk's one. Well under the 50
 * subrequests a Workers invocation may make on the free plan, and at 10M artifacts over 16,384 bins
 * (~0.3 MB a bin-n) about 25 MB of bin-n bytes and their parsed form.
 */
const STEP_READS = 32;
/** Of those, the reads in flight at once. */
const READ_CONCURRENCY = 16;
/** Objects per R2 listing page (R2's maximum). */
const LIST_PAGE = 1_000;

const VERSIONED = /^(\d+)\.([a-z0-9][a-z0-9.-]*)\.json$/;
/** The files the Updater keeps between steps, under its unversioned names; bin-n go to `artifacts` instead. */
const KEPT = new Set(["root.json", "timestamp.json", "snapshot.json", "targets.json", "bins.json"]);

type Progress = {
  reference_time: number;
  list_cursor: string | null;
  listed: number;
  bins_read: number;
};

export type RecoveryStep =
  | Extract<RecoverResult, { status: "recovering" }>
  | { status: "finished"; found: Extract<RecoverResult, { status: "recovered" }>["found"]; plan: PublishPlan };

/** The Publisher's side of a step: its storage, R2, and the online keys it is configured with. */
export interface RecoveryContext {
  sql: SqlStorage;
  transaction: <T>(work: () => T) => T;
  bucket: R2Bucket;
  keys: R2Keys;
  policy: Policy;
  onlineKeys: readonly Key[];
}

/**
 * Runs the next step of the recovery (starting it, if none is under way). Throws TufError or
 * UpdateError (src/client) when what R2 serves is not a repository a client accepts.
 */
export async function recoveryStep(c: RecoveryContext, now: number): Promise<RecoveryStep> {
  const progress = c.sql.exec<Progress>("SELECT reference_time, list_cursor, listed, bins_read FROM recovery").toArray()[0];
  if (!progress) return start(c, now);
  if (progress.listed === 0) return list(c, progress);
  return readBins(c, progress, now);
}

async function start(c: RecoveryContext, now: number): Promise<RecoveryStep> {
  const r2 = fromR2(c.bucket, c.keys);
  const rootOne = await r2("1.root.json");
  const timestamp = await r2("timestamp.json");
  if (!rootOne || !timestamp)
    throw new TufError("malformed", `R2 holds no repository under ${c.keys.metadataPrefix} (no 1.root.json or timestamp.json): bootstrap instead`);
  // The served state is verified as of the time its timestamp was signed, so a repository whose online
  // roles ran out while the Publisher was gone can still be recovered (and is re-signed at once).
  const referenceTime = Metadata.fromBytes("timestamp", timestamp).signed.expires.getTime() - c.policy.onlineExpiryMs;
  const store = new MemoryStore();
  await store.write("root.json", rootOne);
  const roots = new Map([[1, rootOne]]);
  const updater = recoveryUpdater(c, store, referenceTime, new Map([["timestamp.json", timestamp]]), (version, bytes) => roots.set(version, bytes));
  await updater.refresh();
  const bins = await updater.loadDelegatedTargets("bins", "targets");
  const succinct = succinctRolesOf(bins);

  // As at bootstrap: the offline roles are valid now, and the Worker holds the key root names for the online roles.
  const roles = {
    root: updater.trustedSet!.rootMetadata,
    targets: Metadata.fromBytes("targets", store.files.get("targets.json")!),
    bins: Metadata.fromBytes("targets", store.files.get("bins.json")!),
  };
  const named = roles.root.signed.roles.timestamp.keyids;
  const online = c.onlineKeys.find((k) => named.includes(k.keyid));
  if (!online) throw new TufError("unknown_key", `root v${roles.root.signed.version} names ${named.join(", ")} for timestamp, but neither ONLINE_KEY nor ONLINE_KEY_NEXT is that key`);
  await verifyOfflineSet(roles, online, new Date(now));
  requireKeyPolicy(roles, online);

  c.transaction(() => {
    c.sql.exec("INSERT INTO recovery (id, reference_time, started_at) VALUES (1, ?, ?)", referenceTime, now);
    for (const [name, bytes] of store.files) if (KEPT.has(name)) keep(c.sql, name, bytes);
    for (const [version, bytes] of roots) keep(c.sql, `${version}.root.json`, bytes);
    // listArtifacts keeps each bin's bytes and target count here; versions are 0 until finish() knows the highest in R2.
    for (let i = 0; i < succinct.numberOfBins; i++) c.sql.exec("INSERT INTO bins (idx, version, expires) VALUES (?, 0, 0)", i);
    initBinSizes(c.sql, succinct.numberOfBins);
  });
  return recovering(0, succinct.numberOfBins, false);
}

/** Reads up to STEP_READS listing pages, keeping the highest version R2 holds under each role's name. */
async function list(c: RecoveryContext, progress: Progress): Promise<RecoveryStep> {
  const highest = new Map<string, number>();
  let cursor = progress.list_cursor ?? undefined;
  for (let page = 0; page < STEP_READS; page++) {
    const listing = await c.bucket.list({ prefix: c.keys.metadataPrefix, cursor, limit: LIST_PAGE });
    for (const object of listing.objects) {
      const m = VERSIONED.exec(object.key.slice(c.keys.metadataPrefix.length));
      if (m) highest.set(m[2]!, Math.max(highest.get(m[2]!) ?? 0, Number(m[1])));
    }
    cursor = listing.truncated ? listing.cursor : undefined;
    if (!cursor) break;
  }
  c.transaction(() => {
    for (const [role, version] of highest)
      c.sql.exec(
        "INSERT INTO recovery_highest (role, version) VALUES (?, ?) ON CONFLICT (role) DO UPDATE SET version = MAX(version, excluded.version)",
        role,
        version,
      );
    c.sql.exec("UPDATE recovery SET list_cursor = ?, listed = ?", cursor ?? null, cursor ? 0 : 1);
  });
  return recovering(progress.bins_read, binCount(c.sql), !cursor);
}

/** Verifies the next STEP_READS bin-n and lists their targets; after the last, finishes. */
async function readBins(c: RecoveryContext, progress: Progress, now: number): Promise<RecoveryStep> {
  // The root chain and the timestamp the start step read: every step verifies the same state.
  const pinned = new Map(c.sql.exec<{ name: string; body: ArrayBuffer }>("SELECT name, body FROM recovery_metadata").toArray().map((r) => [r.name, new Uint8Array(r.body)]));
  const store = new MemoryStore();
  for (const [name, bytes] of pinned) if (KEPT.has(name)) store.files.set(name, bytes);
  const updater = recoveryUpdater(c, store, progress.reference_time, pinned);
  const trusted = await updater.refresh();
  const succinct = succinctRolesOf(await updater.loadDelegatedTargets("bins", "targets"));
  const n = succinct.numberOfBins;
  const from = progress.bins_read;
  const to = Math.min(n, from + STEP_READS);
  const read: Targets[] = [];
  await mapLimit(
    Array.from({ length: to - from }, (_, k) => from + k),
    READ_CONCURRENCY,
    async (idx) => {
      read[idx - from] = await updater.loadDelegatedTargets(succinct.roleName(idx), "bins");
    },
  );
  const rows: ArtifactRow[] = [];
  read.forEach((targets, k) => {
    const bin = from + k;
    for (const [path, file] of Object.entries(targets.targets)) {
      // Clients would never look for it there: the Publisher's rows must not list it there either.
      if (succinct.binIndexFor(path) !== bin) throw new TufError("malformed", `${succinct.roleName(bin)} lists ${path}, which belongs to ${succinct.succinctBinFor(path)}`);
      const entry = { path, length: file.length, hashes: canonicalString(file.hashes), custom: file.custom === undefined ? null : canonicalString(file.custom) };
      rows.push({ ...entry, bin, size: rowBytes(entry) });
    }
  });
  return c.transaction(() => {
    listArtifacts(c.sql, rows);
    if (to < n) {
      c.sql.exec("UPDATE recovery SET bins_read = ?", to);
      return recovering(to, n, true);
    }
    const snapshot = trusted.snapshot!;
    const timestampVersion = trusted.timestamp!.version;
    const roots = Array.from({ length: trusted.root.version }, (_, v) => Metadata.fromBytes("root", pinned.get(`${v + 1}.root.json`)!));
    const targets = Metadata.fromBytes("targets", pinned.get("targets.json")!);
    const bins = Metadata.fromBytes("targets", pinned.get("bins.json")!);
    const plan = finish(c.sql, { roots, targets, bins, snapshot, timestampVersion }, c.policy, now);
    return {
      status: "finished",
      found: { root: roots.length, targets: targets.signed.version, bins: bins.signed.version, snapshot: snapshot.version, timestamp: timestampVersion, artifacts: counter(c.sql, "artifacts") },
      plan,
    };
  });
}

interface Served {
  /** Every root, from 1 to the newest served. */
  roots: Metadata<Root>[];
  targets: Metadata<Targets>;
  bins: Metadata<Targets>;
  snapshot: Snapshot;
  timestampVersion: number;
}

/**
 * The rows recovery did not write yet, one version above the highest R2 holds under each name, and the
 * reservation of the publish of every bin-n, the snapshot and the timestamp. Runs in a transactionSync.
 */
function finish(sql: SqlStorage, served: Served, p: Policy, now: number): PublishPlan {
  const succinct = succinctRolesOf(served.bins.signed);
  const n = succinct.numberOfBins;
  const highest = new Map(sql.exec<{ role: string; version: number }>("SELECT role, version FROM recovery_highest").toArray().map((r) => [r.role, r.version]));
  const above = (role: string, version: number) => Math.max(highest.get(role) ?? 0, version) + 1;
  sql.exec("INSERT INTO repository (id, bit_length, name_prefix, bootstrapped_at) VALUES (1, ?, ?, ?)", succinct.bitLength, succinct.namePrefix, now);
  for (const root of served.roots) storeOfflineRole(sql, "root", root);
  storeOfflineRole(sql, "targets", served.targets);
  storeOfflineRole(sql, "bins", served.bins);
  const bins: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const role = succinct.roleName(i);
    const version = above(role, served.snapshot.meta[`${role}.json`]!.version);
    sql.exec("UPDATE bins SET version = ?, expires = ? WHERE idx = ?", version, staggeredExpiry(i, n, now, p), i);
    bins.push([i, version]);
  }
  const expires = now + p.onlineExpiryMs;
  const plan: PublishPlan = {
    snapshotVersion: above("snapshot", served.snapshot.version),
    timestampVersion: served.timestampVersion + 1,
    referenceTime: now,
    bins,
    offline: [],
    receipts: {},
    superseded: [],
  };
  sql.exec("INSERT INTO roles (name, version, expires) VALUES ('snapshot', ?, ?), ('timestamp', ?, ?)", plan.snapshotVersion, expires, plan.timestampVersion, expires);
  insertPlan(sql, plan, "recovery");
  const artifacts = counter(sql, "artifacts");
  audit(sql, now, "recovery", { root: served.roots.length, timestamp: served.timestampVersion, snapshot: served.snapshot.version, artifacts });
  for (const table of ["recovery", "recovery_metadata", "recovery_highest"]) sql.exec(`DELETE FROM ${table}`);
  return plan;
}

/**
 * src/client's Updater over R2, as of `referenceTime`, with the names in `pinned` served from it.
 * With `onRoot` (the start step) it walks the root chain in R2 and hands over each root it reads,
 * before verifying it; without, it reads no root but the pinned ones.
 */
function recoveryUpdater(
  c: RecoveryContext,
  store: MemoryStore,
  referenceTime: number,
  pinned: ReadonlyMap<string, Uint8Array>,
  onRoot?: (version: number, bytes: Uint8Array) => void,
): Updater {
  const r2 = fromR2(c.bucket, c.keys);
  const fetcher = r2Fetcher(async (name) => {
    const root = /^(\d+)\.root\.json$/.exec(name);
    const bytes = pinned.get(name) ?? (onRoot || !root ? await r2(name) : undefined);
    if (root && bytes) onRoot?.(Number(root[1]), bytes);
    return bytes;
  });
  return new Updater({ metadataBaseUrl: R2_METADATA_URL, fetcher, store, now: () => new Date(referenceTime) });
}

function keep(sql: SqlStorage, name: string, bytes: Uint8Array): void {
  sql.exec("INSERT INTO recovery_metadata (name, body) VALUES (?, ?)", name, bytes);
}

function binCount(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM bins").one().n;
}

function recovering(binsRead: number, bins: number, listed: boolean): RecoveryStep {
  return { status: "recovering", bins_read: binsRead, bins, listed };
}
