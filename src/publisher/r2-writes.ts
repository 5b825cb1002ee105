/** Writing metadata to R2: create-only versioned names, and timestamp.json. */
import { putMetadata } from "./at-rest.js";

/** Versioned metadata: create-only, so no storage accident can give a published version other bytes. */
export async function putJSON(bucket: R2Bucket, key: string, bytes: Uint8Array, gzipped?: Uint8Array): Promise<void> {
  await putMetadata(bucket, key, bytes, { createOnly: true, gzipped });
}

/** Tries at writing timestamp.json, a second apart (R2: one write per second per key). */
const TIMESTAMP_PUT_ATTEMPTS = 3;

/** timestamp.json, the one mutable name. R2 takes one write per second to a key, so a refused write is retried after a second. */
export async function putTimestamp(bucket: R2Bucket, key: string, bytes: Uint8Array, customMetadata: Record<string, string>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await putMetadata(bucket, key, bytes, { createOnly: false, customMetadata });
      return;
    } catch (e) {
      if (attempt === TIMESTAMP_PUT_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
