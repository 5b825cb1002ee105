/**
 * Retention: files no state references any more are kept for the retention
 * window (PEP 458 §Cleaning up old metadata), then deleted from R2.
 */
import { crashPoint } from "./crash-point.js";

/** Superseded files one sweep deletes at most (R2 deletes up to 1,000 keys per call). */
const SWEEP_CHUNK = 1_000;
const SWEEP_CHUNKS_PER_RUN = 10;
/** A key R2 would not delete is tried again this much later, so it never holds up the others. */
const SWEEP_RETRY_MS = 86_400_000;

/** Deletes files superseded longer ago than the retention window, in bounded chunks; the rest waits for the next run. */
export async function sweep(storage: DurableObjectStorage, env: Env, retentionMs: number, now: number): Promise<void> {
  const sql = storage.sql;
  const cutoff = now - retentionMs;
  for (let chunk = 0; chunk < SWEEP_CHUNKS_PER_RUN; chunk++) {
    const keys = sql
      .exec<{ key: string }>("SELECT key FROM superseded WHERE since <= ? ORDER BY since LIMIT ?", cutoff, SWEEP_CHUNK)
      .toArray()
      .map((r) => r.key);
    if (keys.length === 0) return;
    const failed = await deleteEach(env.BUCKET, keys);
    await crashPoint(env, storage, "sweep");
    storage.transactionSync(() => {
      for (const key of keys)
        if (failed.has(key)) sql.exec("UPDATE superseded SET since = ? WHERE key = ?", now + SWEEP_RETRY_MS, key);
        else sql.exec("DELETE FROM superseded WHERE key = ?", key);
    });
  }
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
