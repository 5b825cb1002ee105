/**
 * `GET /api/v1/log?after=SEQ`: the signing log, public, one page at a time
 * (docs/signing-log.md). A full page never changes, so it is cached as
 * immutable; the last page grows and is not cached.
 */
import { Hono } from "hono";
import { ApiError } from "../errors.js";
import { publisherOf } from "../publisher-stub.js";
import { IMMUTABLE } from "../serve.js";
import { routeDocs } from "../api-docs.js";

export const log = new Hono<{ Bindings: Env }>().get("/", routeDocs.log, async (c) => {
  const raw = c.req.query("after") ?? "0";
  if (!/^(0|[1-9][0-9]{0,15})$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new ApiError(400, "after_invalid", "after must be a sequence number: a non-negative integer");
  const after = Number(raw);
  const page = await publisherOf(c.env).log(after);
  if (!page) throw new ApiError(503, "log_page_unavailable", `the archived log page holding entry ${after + 1} is missing from R2 (see "Archived pages" in docs/signing-log.md)`);
  const last = page.entries[page.entries.length - 1];
  return c.json(
    { entries: page.entries, next: page.full && last ? `/api/v1/log?after=${last.seq}` : null },
    200,
    { "cache-control": page.full ? IMMUTABLE : "no-cache" },
  );
});
