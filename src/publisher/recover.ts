/**
 * Reading a repository back from what R2 serves, for `tuf-edge recover`: when
 * the Publisher's SQLite storage is lost, or a new deployment takes over a
 * bucket. The served state is checked as a client would check it (TUF spec 5,
 * checkRepository) and its highest versions are found by listing, so the
 * Publisher can continue strictly above every version any cache may hold.
 */
import { readMetadata } from "./at-rest.js";
import { canonicalString, Metadata, TufError, type JSONObject, type Root, type Snapshot, type Targets, type Timestamp } from "../tuf/index.js";
import { checkRepository } from "../tuf/repository-check.js";
import type { R2Keys } from "./r2-keys.js";
import { binTargetsChanged, initBinSizes } from "./bin-sizes.js";
import { entryBytes } from "./client-limits.js";
import { succinctRolesOf } from "./offline.js";
import { insertPlan, type PublishPlan } from "./plan.js";
import { staggeredExpiry, type Policy } from "./policy.js";
import { audit, bumpCounter, storeOfflineRole } from "./store.js";

const VERSIONED = /^(\d+)\.([a-z0-9][a-z0-9.-]*)\.json$/;

export interface RecoveredArtifact {
  path: string;
  bin: number;
  length: number;
  hashes: Record<string, string>;
  custom?: JSONObject;
}

export interface RecoveredRepository {
  /** Every root, from 1 to the newest served. */
  roots: Metadata<Root>[];
  targets: Metadata<Targets>;
  bins: Metadata<Targets>;
  timestamp: Metadata<Timestamp>;
  snapshot: Metadata<Snapshot>;
  /** Every target listed by the served bin-n. */
  artifacts: RecoveredArtifact[];
  /** The highest version under which R2 holds each role's file, served or not (an unfinished publish leaves some). */
  highest: ReadonlyMap<string, number>;
}

/**
 * `onlineExpiryMs` dates the check: the served state is verified as of the time
 * its timestamp was signed, so a repository whose online roles ran out while
 * the Publisher was gone can still be recovered (and is re-signed at once).
 */
export async function readRepository(bucket: R2Bucket, keys: R2Keys, onlineExpiryMs: number): Promise<RecoveredRepository> {
  const files = new Map<string, Uint8Array>();
  const fetch = async (name: string): Promise<Uint8Array | undefined> => {
    const bytes = await readMetadata(bucket, keys.metadata(name));
    if (bytes === undefined) return undefined;
    files.set(name, bytes);
    return bytes;
  };
  const rootOne = await fetch("1.root.json");
  const timestampBytes = await fetch("timestamp.json");
  if (!rootOne || !timestampBytes)
    throw new TufError("malformed", `R2 holds no repository under ${keys.metadataPrefix} (no 1.root.json or timestamp.json): bootstrap instead`);
  const signedAt = new Date(Metadata.fromBytes("timestamp", timestampBytes).signed.expires.getTime() - onlineExpiryMs);
  const state = await checkRepository({ fetch, trustedRoot: Metadata.fromBytes("root", rootOne), now: signedAt, concurrency: 32 });

  const roots: Metadata<Root>[] = [];
  for (let v = 1; v <= state.root.signed.version; v++) roots.push(Metadata.fromBytes("root", files.get(`${v}.root.json`)!));
  const served = (role: string) => Metadata.fromBytes("targets", files.get(`${state.snapshot.signed.meta[`${role}.json`]!.version}.${role}.json`)!);
  const bins = served("bins");
  const succinct = bins.signed.delegations!.succinctRoles!;
  const artifacts: RecoveredArtifact[] = [];
  for (const [role, signed] of state.targets) {
    if (role === "targets" || role === "bins") continue;
    const bin = succinct.indexOf(role)!;
    for (const [path, file] of Object.entries(signed.targets)) {
      if (succinct.binIndexFor(path) !== bin) throw new TufError("malformed", `${role} lists ${path}, which belongs to ${succinct.succinctBinFor(path)}`);
      artifacts.push({ path, bin, length: file.length, hashes: { ...file.hashes }, ...(file.custom === undefined ? {} : { custom: file.custom }) });
    }
  }
  return {
    roots,
    targets: served("targets"),
    bins,
    timestamp: state.timestamp,
    snapshot: state.snapshot,
    artifacts,
    highest: await highestVersions(bucket, keys),
  };
}

async function highestVersions(bucket: R2Bucket, keys: R2Keys): Promise<Map<string, number>> {
  const highest = new Map<string, number>();
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: keys.metadataPrefix, cursor, limit: 1000 });
    for (const object of page.objects) {
      const m = VERSIONED.exec(object.key.slice(keys.metadataPrefix.length));
      if (m) highest.set(m[2]!, Math.max(highest.get(m[2]!) ?? 0, Number(m[1])));
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return highest;
}

/**
 * Rebuilds the Publisher's rows from what R2 serves, one version above the highest R2 holds under each
 * name, and reserves the publish of every bin-n, the snapshot and the timestamp. Runs in a transactionSync.
 */
export function restore(sql: SqlStorage, found: RecoveredRepository, p: Policy, now: number): PublishPlan {
  const succinct = succinctRolesOf(found.bins.signed);
  const n = succinct.numberOfBins;
  const above = (role: string, served: number) => Math.max(found.highest.get(role) ?? 0, served) + 1;
  sql.exec("INSERT INTO repository (id, bit_length, name_prefix, bootstrapped_at) VALUES (1, ?, ?, ?)", succinct.bitLength, succinct.namePrefix, now);
  for (const root of found.roots) storeOfflineRole(sql, "root", root);
  storeOfflineRole(sql, "targets", found.targets);
  storeOfflineRole(sql, "bins", found.bins);
  const bins: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const role = succinct.roleName(i);
    const version = above(role, found.snapshot.signed.meta[`${role}.json`]!.version);
    sql.exec("INSERT INTO bins (idx, version, expires) VALUES (?, ?, ?)", i, version, staggeredExpiry(i, n, now, p));
    bins.push([i, version]);
  }
  initBinSizes(sql, n);
  const listed = new Map<number, { bytes: number; targets: number }>();
  for (const a of found.artifacts) {
    const size = entryBytes(a.path, a.length, a.hashes, a.custom);
    sql.exec(
      "INSERT INTO artifacts (bin, path, length, hashes, custom, size) VALUES (?, ?, ?, ?, ?, ?)",
      a.bin, a.path, a.length, canonicalString(a.hashes), a.custom === undefined ? null : canonicalString(a.custom), size,
    );
    const bin = listed.get(a.bin) ?? { bytes: 0, targets: 0 };
    bin.bytes += size;
    bin.targets += 1;
    listed.set(a.bin, bin);
  }
  for (const [idx, bin] of listed) {
    sql.exec("UPDATE bins SET bytes = ? WHERE idx = ?", bin.bytes, idx);
    binTargetsChanged(sql, idx, bin.targets);
  }
  bumpCounter(sql, "artifacts", found.artifacts.length);
  const expires = now + p.onlineExpiryMs;
  const plan: PublishPlan = {
    snapshotVersion: above("snapshot", found.snapshot.signed.version),
    timestampVersion: found.timestamp.signed.version + 1,
    referenceTime: now,
    bins,
    offline: [],
    receipts: {},
    superseded: [],
  };
  sql.exec("INSERT INTO roles (name, version, expires) VALUES ('snapshot', ?, ?), ('timestamp', ?, ?)", plan.snapshotVersion, expires, plan.timestampVersion, expires);
  insertPlan(sql, plan, "recovery");
  audit(sql, now, "recovery", { root: found.roots.length, timestamp: found.timestamp.signed.version, snapshot: found.snapshot.signed.version, artifacts: found.artifacts.length });
  return plan;
}
