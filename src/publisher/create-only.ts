/**
 * Create-only writes of the names that never change content: versioned
 * metadata and hash-prefixed targets. CDNs and clients cache them as
 * immutable, so another object under the same name must never replace one.
 *
 * R2 conditional put (`onlyIf: { etagDoesNotMatch: "*" }`, If-None-Match: *)
 * commits only when the key does not exist. When it exists, the stored bytes
 * are compared: identical bytes are a resumed publish rewriting the same file
 * (Ed25519 is deterministic) and pass; other bytes are a loud failure.
 */

/** An immutable name already holds other bytes: versions would be reused. */
export class ImmutableConflict extends Error {
  constructor(readonly key: string) {
    super(`R2 already holds other bytes under the immutable name ${key}; refusing to overwrite it (see docs/operations.md, "Recovering a repository from R2")`);
  }
}

/**
 * Returns true when this call created the object, false when it already held the same content.
 * `content` is what the stored bytes decode to (they may be gzip-compressed at rest, at-rest.ts);
 * two objects are the same file when their content is, whatever the compressor wrote.
 */
export async function putCreateOnly(bucket: R2Bucket, key: string, bytes: Uint8Array, options: R2PutOptions = {}, content: Uint8Array = bytes): Promise<boolean> {
  const created = await bucket.put(key, bytes, { ...options, onlyIf: { etagDoesNotMatch: "*" } });
  if (created !== null) return true;
  const existing = await bucket.get(key);
  // Deleted between the two calls (retention of an orphan): write it now, still create-only.
  if (existing === null) return putCreateOnly(bucket, key, bytes, options, content);
  const body = existing.httpMetadata?.contentEncoding === "gzip" ? existing.body.pipeThrough(new DecompressionStream("gzip")) : existing.body;
  if (sameBytes(new Uint8Array(await new Response(body).arrayBuffer()), content)) return false;
  console.error(JSON.stringify({ event: "immutable_conflict", key }));
  throw new ImmutableConflict(key);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
