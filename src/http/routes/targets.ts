/**
 * `/targets/`: target files the repository hosts itself, under their plain path
 * and under `dir/HASH.basename` for every listed hash (TUF spec 6.2.1).
 */
import { Hono } from "hono";
import { IMMUTABLE, serveObject } from "../serve.js";

const HASH_PREFIXED = /(^|\/)([0-9a-f]{64}|[0-9a-f]{128})\.[^/]+$/;

export const targets = new Hono<{ Bindings: Env }>().get("/*", (c) => {
  const path = decodeURIComponent(new URL(c.req.url).pathname.replace(/^\/targets\//, ""));
  return serveObject(c, `targets/${path}`, HASH_PREFIXED.test(path) ? IMMUTABLE : "public, max-age=60");
});
