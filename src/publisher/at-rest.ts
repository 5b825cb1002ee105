/**
 * Metadata as stored in R2: files of COMPRESS_MIN_BYTES or more are gzip-
 * compressed, with `Content-Encoding: gzip` recorded on the object and the
 * uncompressed length in its custom metadata. The snapshot of 16,384 bins
 * shrinks from ~492 KB to ~42 KB, and a publish rewrites it every time.
 * TUF lengths and hashes always describe the uncompressed bytes (what a
 * client has after decoding); src/http/serve.ts serves the stored bytes to
 * clients that accept gzip and decompresses them for the rest.
 */
import { putCreateOnly } from "./create-only.js";

/** Smaller files are stored (and served) as they are: compressing them saves a few hundred bytes at most. */
export const COMPRESS_MIN_BYTES = 1024;

/** Custom-metadata field with the uncompressed length of a compressed object. */
export const LENGTH_FIELD = "length";

/**
 * Writes metadata as stored at rest. Versioned names are create-only (create-only.ts): the one
 * mutable name, timestamp.json, is written with `createOnly: false`.
 */
export async function putMetadata(
  bucket: R2Bucket,
  key: string,
  bytes: Uint8Array,
  {
    createOnly,
    customMetadata = {},
    gzipped,
  }: {
    createOnly: boolean;
    customMetadata?: Record<string, string>;
    /** The bytes' gzip, when the caller makes it more cheaply (the snapshot's, snapshot-bytes.ts). */
    gzipped?: Uint8Array;
  },
): Promise<void> {
  const compressed = bytes.length >= COMPRESS_MIN_BYTES;
  const body = compressed ? (gzipped ?? (await gzip(bytes))) : bytes;
  const options: R2PutOptions = {
    httpMetadata: { contentType: "application/json", ...(compressed ? { contentEncoding: "gzip" } : {}) },
    customMetadata: compressed ? { ...customMetadata, [LENGTH_FIELD]: String(bytes.length) } : customMetadata,
  };
  if (createOnly) await putCreateOnly(bucket, key, body, options, bytes);
  else await bucket.put(key, body, options);
}

/** The uncompressed bytes of a metadata object, or undefined when there is none. */
export async function readMetadata(bucket: R2Bucket, key: string): Promise<Uint8Array | undefined> {
  const object = await bucket.get(key);
  if (!object) return undefined;
  return new Uint8Array(await new Response(decodedBody(object)).arrayBuffer());
}

/** The object's body as the uncompressed bytes. */
export function decodedBody(object: R2ObjectBody): ReadableStream {
  return object.httpMetadata?.contentEncoding === "gzip" ? object.body.pipeThrough(new DecompressionStream("gzip")) : object.body;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
