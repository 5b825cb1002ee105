/** Serving R2 objects to TUF clients: ETags, conditional GETs and cache lifetimes. */
import type { Context } from "hono";
import { errorResponse } from "./errors.js";

/** Versioned and hash-prefixed names never change content (TUF spec 6.2.1), so caches may keep them forever. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

export async function serveObject(c: Context<{ Bindings: Env }>, key: string, cacheControl: string): Promise<Response> {
  // Only the validators a cache revalidates with: a failed If-Match must not turn into a 304.
  const conditional = new Headers();
  for (const name of ["if-none-match", "if-modified-since"]) {
    const value = c.req.header(name);
    if (value !== undefined) conditional.set(name, value);
  }
  const object = await c.env.BUCKET.get(key, { onlyIf: conditional });
  if (object === null) return errorResponse(404, "not_found", `no such file: ${new URL(c.req.url).pathname}`);
  const headers = new Headers({ etag: object.httpEtag, "cache-control": cacheControl });
  headers.set("content-type", object.httpMetadata?.contentType ?? "application/octet-stream");
  if (!("body" in object)) return new Response(null, { status: 304, headers });
  headers.set("content-length", String(object.size));
  return new Response(c.req.method === "HEAD" ? null : object.body, { headers });
}
