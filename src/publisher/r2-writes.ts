/** Writing metadata to R2: create-only versioned names, a bounded number in flight. */
import { putMetadata } from "./at-rest.js";

/** Versioned metadata: create-only, so no storage accident can give a published version other bytes. */
export async function putJSON(bucket: R2Bucket, key: string, bytes: Uint8Array): Promise<void> {
  await putMetadata(bucket, key, bytes, { createOnly: true });
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
