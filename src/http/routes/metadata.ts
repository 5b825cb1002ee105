/**
 * `/metadata/`: what TUF clients fetch (TUF spec 5; pep458.md §4).
 * `timestamp.json` is the only mutable file and gets a short cache; every
 * `N.role.json` is immutable. A root past the newest is a 404, which ends a
 * client's root walk.
 */
import { Hono } from "hono";
import { errorResponse } from "../errors.js";
import { IMMUTABLE, serveObject } from "../serve.js";
import { publisherOf } from "../publisher-stub.js";
import { r2Keys } from "../../publisher/r2-keys.js";

/** If timestamp.json has less than this left, the request also triggers a renewal. */
export const LAST_RESORT_MARGIN_MS = 3_600_000;

export const metadata = new Hono<{ Bindings: Env }>()
  .get("/timestamp.json", async (c) => {
    const maxAge = Number(c.env.TIMESTAMP_MAX_AGE ?? "60");
    // Lazy renewal, checked on 304s too (most CDN traffic is revalidation): the cron should
    // never let this happen, but if it stopped, a client request restarts renewal.
    return serveObject(c, r2Keys(c.env).timestamp, `public, max-age=${Number.isFinite(maxAge) ? maxAge : 60}`, (object) => {
      const expires = Number(object.customMetadata?.expires ?? NaN);
      if (expires - Date.now() < LAST_RESORT_MARGIN_MS) c.executionCtx.waitUntil(publisherOf(c.env).renew());
    });
  })
  .get("/:file{[0-9]+\\.[a-z0-9][a-z0-9.-]*\\.json}", (c) => serveObject(c, r2Keys(c.env).metadata(c.req.param("file")), IMMUTABLE))
  .all("*", (c) => errorResponse(404, "not_found", `no such metadata file: ${new URL(c.req.url).pathname}`));
