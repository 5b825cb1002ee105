/**
 * `/targets/`: target files the repository hosts itself, under their plain path
 * and under `dir/HASH.basename` for every listed hash (TUF spec 6.2.1).
 */
import { Hono } from "hono";
import { errorResponse } from "../errors.js";
import { IMMUTABLE, serveObject } from "../serve.js";

const HASH_PREFIXED = /(^|\/)([0-9a-f]{64}|[0-9a-f]{128})\.[^/]+$/;

export const targets = new Hono<{ Bindings: Env }>().get("/*", (c) => {
  const path = decodePath(new URL(c.req.url).pathname.replace(/^\/targets\//, ""));
  if (path === undefined) return errorResponse(404, "not_found", `no such target: ${new URL(c.req.url).pathname}`);
  return serveObject(c, `targets/${path}`, HASH_PREFIXED.test(path) ? IMMUTABLE : "public, max-age=60");
});

/** The target path a URL names, or undefined when its percent-escapes are malformed. */
export function decodePath(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}
