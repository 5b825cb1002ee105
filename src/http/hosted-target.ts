/**
 * The bytes of `PUT /api/v1/targets/<path>`, streamed into R2 and never held in memory.
 *
 * A target's names come from its hashes (TUF spec 6.2.1: `dir/HASH.basename`),
 * and the hashes are known only once the whole body has gone by. So the body is
 * streamed once into a staging object (`<repository>/uploads/<id>`, never served)
 * while it is hashed, and each copy clients read is then streamed from that
 * object with R2's own sha256 check (`R2PutOptions.sha256`): R2 refuses a copy
 * whose bytes are not the ones hashed. The caller deletes the staging object
 * when it is done; the Publisher has recorded it first, so retention deletes it
 * if the Worker dies before that.
 *
 * Not here: the legacy upload (`POST /legacy/`, routes/legacy.ts) receives a
 * multipart form, which the runtime's form parser holds once; it needs the
 * form's other fields before it may store the file.
 */
import { toHex } from "../tuf/index.js";
import { ImmutableConflict } from "../publisher/create-only.js";

export interface TargetHashes {
  sha256: string;
  sha512: string;
}

const httpMetadata = { contentType: "application/octet-stream" };

/** Streams `length` bytes of `body` into `key`, hashing them on the way. */
export async function stageBody(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array> | null, length: number): Promise<TargetHashes> {
  const sha256 = new crypto.DigestStream("SHA-256");
  const sha512 = new crypto.DigestStream("SHA-512");
  const w256 = sha256.getWriter();
  const w512 = sha512.getWriter();
  const hashing = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, out) {
      await Promise.all([w256.write(chunk), w512.write(chunk)]);
      out.enqueue(chunk);
    },
    async flush() {
      await Promise.all([w256.close(), w512.close()]);
    },
  });
  // R2 takes a stream only when its length is known; FixedLengthStream also fails a body that is not `length` bytes.
  const source = body ?? new Response(new Uint8Array()).body!;
  await bucket.put(key, source.pipeThrough(hashing).pipeThrough(new FixedLengthStream(length)), { httpMetadata });
  return { sha256: toHex(new Uint8Array(await sha256.digest)), sha512: toHex(new Uint8Array(await sha512.digest)) };
}

/**
 * Streams the staged object to `to`, create-only like every hash-named copy (create-only.ts).
 * Returns true when this call created it, false when `to` already held the same bytes.
 */
export async function copyCreateOnly(bucket: R2Bucket, from: string, to: string, hashes: TargetHashes): Promise<boolean> {
  for (;;) {
    if (await copy(bucket, from, to, hashes.sha256, { etagDoesNotMatch: "*" })) return true;
    const existing = await bucket.head(to);
    if (existing === null) continue; // deleted between the two calls: write it now, still create-only
    if (existing.size === (await bucket.head(from))!.size && (await storedSha256(bucket, existing)) === hashes.sha256) return false;
    console.error(JSON.stringify({ event: "immutable_conflict", key: to }));
    throw new ImmutableConflict(to);
  }
}

/** Streams the staged object to `to`, which R2 writes only if its sha256 is `sha256`; false when `onlyIf` held it back. */
export async function copy(bucket: R2Bucket, from: string, to: string, sha256: string, onlyIf?: R2Conditional): Promise<boolean> {
  const staged = await bucket.get(from);
  if (staged === null) throw new Error(`the staged upload ${from} is gone`);
  const written = await bucket.put(to, staged.body.pipeThrough(new FixedLengthStream(staged.size)), { httpMetadata, sha256, ...(onlyIf ? { onlyIf } : {}) });
  return written !== null;
}

/** The sha256 of a stored object: R2's checksum when it was written with one, else hashed by streaming it. */
async function storedSha256(bucket: R2Bucket, object: R2Object): Promise<string> {
  if (object.checksums.sha256) return toHex(new Uint8Array(object.checksums.sha256));
  const body = await bucket.get(object.key);
  if (body === null) return "";
  const digest = new crypto.DigestStream("SHA-256");
  await body.body.pipeTo(digest);
  return toHex(new Uint8Array(await digest.digest));
}
