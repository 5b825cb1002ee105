/**
 * Retention: files no state references any more are kept for the retention
 * window (PEP 458 §Cleaning up old metadata), then deleted from R2.
 *
 * A mark-and-sweep. `superseded` holds candidates: keys some commit stopped
 * referencing, and since when. A candidate older than the window is deleted
 * only if no state still inside the window references it. States older than
 * the newest commit that superseded a key cannot reference it again without a
 * change that refreshes or drops its row, so the mark comes down to the
 * current state, checked here for each key before it goes: the listed
 * artifacts, the queued adds, the current version of every role, and every
 * root version (never deleted). A key referenced again loses its row; the
 * commit that supersedes it next writes a new one with a new window.
 *
 * The mark uses indexed look-ups only (one per key, by primary key or the
 * queue's path index), in bounded chunks, so its cost does not grow with the
 * number of artifacts. While a publish is in flight the sweep waits for the
 * next run: until that publish commits, what clients are served is neither
 * the old nor the new state alone.
 */
import type { SuccinctRoles } from "../tuf/index.js";
import { crashPoint } from "./crash-point.js";
import type { R2Keys } from "./r2-keys.js";

/** Superseded files one sweep deletes at most (R2 deletes up to 1,000 keys per call). */
const SWEEP_CHUNK = 1_000;
const SWEEP_CHUNKS_PER_RUN = 10;
/** A key R2 would not delete is tried again this much later, so it never holds up the others. */
const SWEEP_RETRY_MS = 86_400_000;

/** Deletes files superseded longer ago than the retention window that nothing references, in bounded chunks; the rest waits for the next run. */
export async function sweep(storage: DurableObjectStorage, env: Env, keys: R2Keys, succinct: SuccinctRoles, retentionMs: number, now: number): Promise<void> {
  const sql = storage.sql;
  const cutoff = now - retentionMs;
  if (sql.exec("SELECT 1 FROM publishes WHERE committed_at IS NULL LIMIT 1").toArray().length > 0) return;
  for (let chunk = 0; chunk < SWEEP_CHUNKS_PER_RUN; chunk++) {
    const candidates = sql
      .exec<{ key: string }>("SELECT key FROM superseded WHERE since <= ? ORDER BY since LIMIT ?", cutoff, SWEEP_CHUNK)
      .toArray()
      .map((r) => r.key);
    if (candidates.length === 0) return;
    // Mark and drop the rows of what is referenced again, in one transaction: nothing interleaves with the check.
    const garbage = storage.transactionSync(() =>
      candidates.filter((key) => {
        if (!isReferenced(sql, keys, succinct, key)) return true;
        sql.exec("DELETE FROM superseded WHERE key = ?", key);
        return false;
      }),
    );
    if (garbage.length === 0) continue;
    const failed = await deleteEach(env.BUCKET, garbage);
    await crashPoint(env, storage, "sweep");
    storage.transactionSync(() => {
      for (const key of garbage)
        if (failed.has(key)) sql.exec("UPDATE superseded SET since = ? WHERE key = ?", now + SWEEP_RETRY_MS, key);
        else sql.exec("DELETE FROM superseded WHERE key = ?", key);
    });
  }
}

/** Whether the current state references `key`: listed or queued for listing, or a current role version. One indexed look-up. */
function isReferenced(sql: SqlStorage, keys: R2Keys, succinct: SuccinctRoles, key: string): boolean {
  const name = keys.parse(key);
  switch (name?.kind) {
    case undefined:
      return false; // not a name clients read (an upload's staging copy)
    case "timestamp":
      return true;
    case "versioned": {
      // PEP 458: old root versions are never deleted.
      if (name.role === "root") return true;
      const idx = succinct.indexOf(name.role);
      const current =
        idx !== undefined
          ? sql.exec<{ version: number }>("SELECT version FROM bins WHERE idx = ?", idx).toArray()[0]
          : sql.exec<{ version: number }>("SELECT version FROM roles WHERE name = ?", name.role).toArray()[0];
      return current !== undefined && name.version >= current.version;
    }
    case "plain":
      return listedHashes(sql, succinct, name.path).length > 0;
    case "consistent":
      return listedHashes(sql, succinct, name.path).some((hashes) => Object.values(hashes).includes(name.hash));
  }
}

/** The hashes `path` is listed with now and queued to be listed with. */
function listedHashes(sql: SqlStorage, succinct: SuccinctRoles, path: string): Array<Record<string, string>> {
  const listed = sql.exec<{ hashes: string }>("SELECT hashes FROM artifacts WHERE bin = ? AND path = ?", succinct.binIndexFor(path), path).toArray();
  const queued = sql.exec<{ hashes: string }>("SELECT hashes FROM queue WHERE path = ? AND op = 'add'", path).toArray();
  return [...listed, ...queued].map((r) => JSON.parse(r.hashes) as Record<string, string>);
}

/** Deletes `keys` in one call; if R2 refuses the batch, one by one. Returns the keys that could not be deleted. */
async function deleteEach(bucket: R2Bucket, keys: string[]): Promise<Set<string>> {
  try {
    await bucket.delete(keys);
    return new Set();
  } catch {
    const failed = new Set<string>();
    for (const key of keys)
      await bucket.delete(key).catch((e) => {
        failed.add(key);
        console.error(JSON.stringify({ event: "sweep_delete_failed", key, error: e instanceof Error ? e.message : String(e) }));
      });
    return failed;
  }
}
