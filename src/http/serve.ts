/** Serving R2 objects to TUF clients: ETags, conditional GETs, cache lifetimes and compression. */
import type { Context } from "hono";
import { COMPRESS_MIN_BYTES, decodedBody, LENGTH_FIELD } from "../publisher/at-rest.js";
import { errorResponse } from "./errors.js";
import { keyBytes, R2_MAX_KEY_BYTES } from "../publisher/r2-keys.js";

/** Versioned and hash-prefixed names never change content (TUF spec 6.2.1), so caches may keep them forever. */
export const IMMUTABLE = "public, max-age=31536000, immutable";


/** The content codings the runtime can apply, best first. */
const CODINGS = ["br", "gzip"] as const;
type Coding = (typeof CODINGS)[number];

/** Serves `key`; `inspect`, if given, sees the object's R2 metadata (on 200 and 304) without a second R2 call. */
export async function serveObject(
  c: Context<{ Bindings: Env }>,
  key: string,
  cacheControl: string,
  inspect?: (object: R2Object) => void,
): Promise<Response> {
  // Only the validators a cache revalidates with: a failed If-Match must not turn into a 304.
  const conditional = new Headers();
  for (const name of ["if-none-match", "if-modified-since"]) {
    const value = c.req.header(name);
    // If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" names the same content as "x".
    if (value !== undefined) conditional.set(name, name === "if-none-match" ? value.replace(/W\//g, "") : value);
  }
  // A name R2 cannot hold is a file that does not exist (R2 would refuse the lookup with an error, a 500).
  if (keyBytes(key) > R2_MAX_KEY_BYTES) return errorResponse(404, "not_found", `no such file: ${new URL(c.req.url).pathname}`);
  const object = await c.env.BUCKET.get(key, { onlyIf: conditional });
  if (object === null) return errorResponse(404, "not_found", `no such file: ${new URL(c.req.url).pathname}`);
  inspect?.(object);
  const contentType = object.httpMetadata?.contentType ?? "application/octet-stream";
  const headers = new Headers({ etag: object.httpEtag, "cache-control": cacheControl, "content-type": contentType });

  // TUF metadata compresses well (the snapshot of 16,384 bins is ~490 KB of
  // near-identical entries). Setting Content-Encoding on an uncompressed body
  // makes the Workers runtime encode it on the way out (encodeBody "automatic").
  // Hashes and lengths in metadata always refer to the uncompressed bytes, which
  // is what a client sees after it decodes the response. Target files are not
  // touched: they are served byte for byte as hosted. Cloudflare's front line
  // (and Miniflare's entry worker, which emulates it) re-negotiates against
  // the client's own Accept-Encoding, so this choice is never wider than the client's.
  // Metadata of COMPRESS_MIN_BYTES or more is stored gzip-compressed (src/publisher/at-rest.ts): a client
  // that accepts gzip gets the stored bytes as they are; any other gets them decoded, and re-encoded
  // by the runtime if it accepts br.
  const stored = object.httpMetadata?.contentEncoding === "gzip" ? "gzip" : undefined;
  let coding: Coding | undefined;
  let asStored = false;
  if (isJSON(contentType)) {
    headers.set("vary", "accept-encoding");
    const accept = clientAcceptEncoding(c.req.raw);
    if (stored && accepts(accept, stored)) {
      coding = stored;
      asStored = true;
    } else if (stored || object.size >= COMPRESS_MIN_BYTES) coding = negotiate(accept);
  }
  if (coding !== undefined) {
    headers.set("content-encoding", coding);
    // The encoded bytes are another representation of the same content: a strong ETag must not name both (RFC 9110 8.8.1).
    headers.set("etag", `W/${object.httpEtag}`);
  }
  if (!("body" in object)) return new Response(null, { status: 304, headers });
  const uncompressedLength = stored ? object.customMetadata?.[LENGTH_FIELD] : String(object.size);
  if (asStored) headers.set("content-length", String(object.size));
  // Otherwise the encoded length is known only once the runtime has compressed the body.
  else if (coding === undefined && uncompressedLength !== undefined) headers.set("content-length", uncompressedLength);
  let body: ReadableStream | null = c.req.method === "HEAD" ? null : asStored || !stored ? object.body : decodedBody(object);
  // A decoded stream has no length the runtime knows; FixedLengthStream keeps the Content-Length on the wire.
  if (body && stored && !asStored && coding === undefined && uncompressedLength !== undefined)
    body = body.pipeThrough(new FixedLengthStream(Number(uncompressedLength)));
  // "manual": the body already is in the coding the headers name; the runtime must not encode it again.
  return new Response(body, { headers, ...(asStored ? { encodeBody: "manual" as const } : {}) });
}

function isJSON(contentType: string): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType);
}

/**
 * What the client itself accepts. Cloudflare rewrites the Accept-Encoding a
 * Worker sees (to "br, gzip", even for a client that sent none) and keeps the
 * client's value in `request.cf.clientAcceptEncoding` when it did so.
 */
function clientAcceptEncoding(request: Request): string | undefined {
  const original = (request.cf as { clientAcceptEncoding?: unknown } | undefined)?.clientAcceptEncoding;
  return typeof original === "string" ? original : (request.headers.get("accept-encoding") ?? undefined);
}

/** The best coding that `Accept-Encoding` names with q > 0, or undefined for identity (`*` alone does not opt in, as with most servers). */
export function negotiate(acceptEncoding: string | undefined): Coding | undefined {
  const q = weights(acceptEncoding);
  return CODINGS.find((coding) => (q.get(coding) ?? 0) > 0);
}

function accepts(acceptEncoding: string | undefined, coding: Coding): boolean {
  return (weights(acceptEncoding).get(coding) ?? 0) > 0;
}

function weights(acceptEncoding: string | undefined): Map<string, number> {
  const q = new Map<string, number>();
  if (!acceptEncoding) return q;
  for (const part of acceptEncoding.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name.trim(), Number.isFinite(weight) ? weight : 0);
  }
  return q;
}
