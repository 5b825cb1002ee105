/** `/healthz` for load balancers and monitors: 503 when renewal or publishing is stuck. */
import { Hono } from "hono";
import { policyFromEnv } from "../../publisher/policy.js";
import { publisherOf } from "../publisher-stub.js";

/** Queued changes older than this mean publishing is stuck. */
export const DEFAULT_QUEUE_STUCK_SECONDS = 300;

export const health = new Hono<{ Bindings: Env }>().get("/healthz", async (c) => {
  const status = await publisherOf(c.env).status();
  if (!status) return c.json({ ok: false, problems: ["not bootstrapped"] }, 503, { "cache-control": "no-store" });
  const floorSeconds = policyFromEnv(c.env).floorMs / 1000;
  const stuckAfter = Number(c.env.QUEUE_STUCK_SECONDS ?? DEFAULT_QUEUE_STUCK_SECONDS);
  const problems: string[] = [];
  for (const [name, role] of Object.entries({ timestamp: status.roles.timestamp, snapshot: status.roles.snapshot, [status.roles.oldest_bin.role]: status.roles.oldest_bin }))
    if (role.seconds_left < floorSeconds) problems.push(`${name} has ${role.seconds_left} s of validity left, below the ${floorSeconds} s floor`);
  if (status.oldest_queued_seconds !== null && status.oldest_queued_seconds > stuckAfter)
    problems.push(`the oldest queued change has waited ${status.oldest_queued_seconds} s`);
  return c.json({ ok: problems.length === 0, problems }, problems.length === 0 ? 200 : 503, { "cache-control": "no-store" });
});
