/**
 * Metadata as stored in R2: files of COMPRESS_MIN_BYTES or more are gzip-
 * compressed, with `Content-Encoding: gzip` recorded on the object and the
 * uncompressed length in its custom metadata. The snapshot of 16,384 bins
 * shrinks from ~492 KB to ~42 KB, and a publish rewrites it every time.
 * TUF lengths and hashes always describe the uncompressed bytes (what a
 * client has after decoding); src/http/serve.ts serves the stored bytes to
 * clients that accept gzip and decompresses them for the rest.
 * The snapshot's gzip is joined from deflate segments it keeps between publishes
 * (snapshot-bytes.ts), with the helpers below; `node:zlib`, because
 * `CompressionStream` cannot flush without ending its stream.
 */
import { constants, crc32, deflateRawSync, gzipSync } from "node:zlib";
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
  const body = compressed ? (gzipped ?? gzip(bytes)) : bytes;
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

/** The gzip of `bytes`, in one piece. */
export function gzip(bytes: Uint8Array): Uint8Array {
  return gzipSync(bytes);
}

/**
 * A deflate segment of its own (no back-reference into another), ended by a sync
 * flush, so it is byte-aligned and segments can be joined; the last one ends the stream.
 */
export function deflateSegment(bytes: Uint8Array, last = false): Uint8Array {
  return deflateRawSync(bytes, last ? {} : { finishFlush: constants.Z_SYNC_FLUSH });
}

/** The CRC-32 gzip's trailer carries, continued from `crc` when given (bytes split in parts). */
export const gzipCrc = (bytes: Uint8Array, crc?: number): number => crc32(bytes, crc);

/** One gzip member (RFC 1952) of deflate segments in order, whose uncompressed bytes have CRC `crc` and `length` bytes. */
export function gzipMember(segments: readonly Uint8Array[], crc: number, length: number): Uint8Array {
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc >>> 0, true);
  view.setUint32(4, length >>> 0, true);
  const parts = [GZIP_HEADER, ...segments, trailer];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Deflate, no flags, no modification time, unknown OS. */
const GZIP_HEADER = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
