/** `/`: the status page (status-page.ts), rendered from the same public data as /api/v1/status. */
import { Hono } from "hono";
import { policyFromEnv } from "../../publisher/policy.js";
import { publisherOf } from "../publisher-stub.js";
import { renderPage } from "../status-page.js";

/** Offline roles this close to expiry are flagged: the ceremony needs planning months ahead. */
const OFFLINE_NEAR_SECONDS = 90 * 86_400;

export const home = new Hono<{ Bindings: Env }>().get("/", async (c) => {
  const status = await publisherOf(c.env).status();
  if (!status)
    return c.html("<!doctype html><title>tuf-edge status</title><h1>tuf-edge status</h1><p>This repository is not bootstrapped yet: run <code>tuf-edge bootstrap</code>.</p>", 503, { "cache-control": "no-store" });
  const policy = policyFromEnv(c.env);
  const html = renderPage(status, {
    repository: c.env.REPOSITORY || "default",
    floorSeconds: policy.floorMs / 1000,
    // Half the renewal slack above the floor: the oldest bin-n, renewed on a rolling schedule, normally stays above it.
    nearSeconds: (policy.floorMs + policy.slackMs / 2) / 1000,
    offlineNearSeconds: OFFLINE_NEAR_SECONDS,
    now: Date.now(),
    docsUrl: c.env.DOCS_URL || undefined,
  });
  return c.html(html, 200, { "cache-control": "no-store" });
});
