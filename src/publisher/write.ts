/**
 * Step 2 of a publish: writing a reserved plan's files to R2, bin-n, offline
 * roles and the snapshot first, timestamp.json (the commit point) after them,
 * and a new root last. Every file is signed and self-checked here; a crash at
 * any point is redone by the next run with the same bytes (create-only names).
 *
 * The signing log learns of each file in one of two writes: bin-n covered by a
 * progress record are staged with it (a resumed publish does not write them
 * again), and the rest are returned for the commit's transaction to stage (a
 * resumed publish writes them again). One SQLite write a step, not one a file.
 */
import { mapLimit, type Ed25519Signer } from "../tuf/index.js";
import { binSignedBytes, type ListedRow } from "./bin-bytes.js";
import { assertWithinClientLimit } from "./client-limits.js";
import { crashPoint } from "./crash-point.js";
import type { LoggedFile } from "./log-entry.js";
import type { Layout, PublishPlan } from "./plan.js";
import type { PythonIndex } from "./python-index.js";
import type { R2Keys } from "./r2-keys.js";
import { putJSON, putTimestamp } from "./r2-writes.js";
import { envelope, loggedFile, selfCheckSnapshot, signTimestamp, verifyEnvelope } from "./signing.js";
import type { SigningLog } from "./signing-log.js";
import { offlineRoleBody, roleRow } from "./store.js";

/**
 * Bin-n signed and in flight at once. Each holds its rows and its bytes
 * (~0.3 MB at 10M artifacts over 16,384 bins), so this bounds the
 * publish's memory; production opens at most 6 connections at a time anyway.
 */
const PUT_CONCURRENCY = 32;

/**
 * Wall time one invocation spends writing bin-n before it hands the rest of
 * the publish to the alarm. Wall time bounds CPU time, and an invocation that
 * overruns its CPU limit (30 s by default) is killed without a chance to record progress.
 */
const WRITE_BUDGET_MS = 20_000;

/** Bin-n files written between two progress records of a publish. */
const WRITE_CHUNK = 1_024;

/**
 * Bin-n files signed and written between two pauses on a timer. While a publish
 * has work ready, the event loop never waits for new I/O, so requests that
 * arrive meanwhile (health, status) would wait for the whole publish.
 */
const YIELD_EVERY = 256;

/** What writing a plan needs from the Publisher. */
export interface Writer {
  env: Env;
  storage: DurableObjectStorage;
  keys: R2Keys;
  layout: Layout;
  signingLog: SigningLog;
  python: PythonIndex;
  /** When the current invocation's work began: WRITE_BUDGET_MS counts from here. */
  budgetFrom: number;
}

/** The plan's bin-n are not all written within this invocation's budget; the alarm continues it. */
export class Unfinished extends Error {}

/**
 * Writes the plan's files to R2: bin-n, offline roles, snapshot, and timestamp.json last. Returns the
 * files written that no progress record staged in the signing log: the commit stages them.
 */
export async function writePlan(w: Writer, plan: PublishPlan, signers: readonly Ed25519Signer[]): Promise<LoggedFile[]> {
  await crashPoint(w.env, w.storage, "after-begin");
  const { snapshot } = w.layout;
  const sql = w.storage.sql;
  sql.exec("UPDATE publishes SET signers = ? WHERE timestamp_version = ? AND signers IS NULL", JSON.stringify(signers.map((s) => s.key.keyid)), plan.timestampVersion);
  const bucket = w.env.BUCKET;

  const snapshotExpires = new Date(roleRow(sql, "snapshot").expires);
  const snapshotBytes = await envelope(snapshot.signedBytes(plan.snapshotVersion, snapshotExpires), signers);
  await selfCheckSnapshot(snapshotBytes, signers);
  assertWithinClientLimit("snapshot", "snapshot", snapshotBytes.length);
  // Bins, offline roles and the snapshot are independent new names; only timestamp.json must wait for all of them.
  const [unstaged, ...written] = await Promise.all([
    writeBins(w, plan, signers),
    ...plan.offline.filter((role) => role !== "root").map(async (role) => {
      const { version, body } = offlineRoleBody(sql, role);
      await putJSON(bucket, w.keys.versioned(role, version), body);
      return loggedFile(role, version, body);
    }),
    putJSON(bucket, w.keys.versioned("snapshot", plan.snapshotVersion), snapshotBytes, snapshot.gzip(snapshotBytes)).then(() => loggedFile("snapshot", plan.snapshotVersion, snapshotBytes, signers)),
  ]);
  const files = [...unstaged, ...written];
  await crashPoint(w.env, w.storage, "after-snapshot");

  const expires = roleRow(sql, "timestamp").expires;
  const timestampBytes = await signTimestamp(plan.timestampVersion, new Date(expires), plan.snapshotVersion, snapshotBytes, signers);
  // The commit point: every file it references is already in R2.
  await putTimestamp(bucket, w.keys.timestamp, timestampBytes, { version: String(plan.timestampVersion), expires: String(expires) });
  files.push(await loggedFile("timestamp", plan.timestampVersion, timestampBytes, signers));
  await crashPoint(w.env, w.storage, "after-timestamp");
  // Plain copies of Python files and pages, for clients without TUF, change only once a timestamp covers them.
  await w.python.copyPlain(w.layout.succinct);
  // Clients fetch N+1.root.json before timestamp.json, so a new root goes
  // last: until it appears, every file above still verifies under root N.
  if (plan.offline.includes("root")) {
    const { version, body } = offlineRoleBody(sql, "root");
    await putJSON(bucket, w.keys.versioned("root", version), body);
    files.push(await loggedFile("root", version, body));
    await crashPoint(w.env, w.storage, "after-root");
  }
  return files;
}

/**
 * Writes the plan's bin-n in chunks and records progress after each but the
 * last, so a publish larger than one invocation's subrequest limit (bootstrap
 * and key rotation write every bin) resumes where it stopped instead of
 * starting over. Returns the last chunk's files, for the commit to stage.
 */
async function writeBins(w: Writer, plan: PublishPlan, signers: readonly Ed25519Signer[]): Promise<LoggedFile[]> {
  const { succinct } = w.layout;
  const sql = w.storage.sql;
  const done = sql
    .exec<{ bins_written: number }>("SELECT bins_written FROM publishes WHERE timestamp_version = ?", plan.timestampVersion)
    .one().bins_written;
  for (let start = done; start < plan.bins.length; start += WRITE_CHUNK) {
    const chunk = plan.bins.slice(start, start + WRITE_CHUNK);
    const written: LoggedFile[] = [];
    // Yield between parts, so health and status answer during a long publish.
    for (let part = 0; part < chunk.length; part += YIELD_EVERY) {
      if (start + part > done) await new Promise((resolve) => setTimeout(resolve, 0));
      await mapLimit(chunk.slice(part, part + YIELD_EVERY), PUT_CONCURRENCY, async ([idx, version]) => {
        const bytes = await signBin(w, idx, version, signers);
        await putJSON(w.env.BUCKET, w.keys.versioned(succinct.roleName(idx), version), bytes);
        written.push(await loggedFile(succinct.roleName(idx), version, bytes, signers));
        await crashPoint(w.env, w.storage, "bins-partial");
      });
    }
    if (start + chunk.length === plan.bins.length) return written;
    w.signingLog.stage(plan.timestampVersion, written);
    sql.exec("UPDATE publishes SET bins_written = ? WHERE timestamp_version = ?", start + chunk.length, plan.timestampVersion);
    if (Date.now() - w.budgetFrom > WRITE_BUDGET_MS) throw new Unfinished();
  }
  return [];
}

async function signBin(w: Writer, idx: number, version: number, signers: readonly Ed25519Signer[]): Promise<Uint8Array> {
  const sql = w.storage.sql;
  // The (bin, path) primary key hands the rows over in path order: canonical order.
  const rows = sql
    .exec<ListedRow>("SELECT path, length, hashes, custom FROM artifacts WHERE bin = ? ORDER BY path", idx)
    .toArray();
  const expires = sql.exec<{ expires: number }>("SELECT expires FROM bins WHERE idx = ?", idx).one().expires;
  const bytes = await envelope(binSignedBytes(version, new Date(expires), rows), signers);
  assertWithinClientLimit("targets", w.layout.succinct.roleName(idx), bytes.length);
  await verifyEnvelope(bytes, signers);
  return bytes;
}
