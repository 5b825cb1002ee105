/**
 * `/targets/`: target files the repository hosts itself, under their plain path
 * and under `dir/HASH.basename` for every listed hash (TUF spec 6.2.1).
 */
import { Hono } from "hono";
import { errorResponse } from "../errors.js";
import { IMMUTABLE, serveObject } from "../serve.js";
import { r2Keys } from "../../publisher/r2-keys.js";

export const targets = new Hono<{ Bindings: Env }>().get("/*", (c) => {
  const path = decodePath(new URL(c.req.url).pathname.replace(/^\/targets\//, ""));
  if (path === undefined) return errorResponse(404, "not_found", `no such target: ${new URL(c.req.url).pathname}`);
  const { key, immutable } = r2Keys(c.env).servedTarget(path);
  return serveObject(c, key, immutable ? IMMUTABLE : "public, max-age=60");
});

/** The target path a URL names, or undefined when its percent-escapes are malformed. */
export function decodePath(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}
