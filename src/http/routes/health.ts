/**
 * `/healthz` for load balancers and monitors: 503, naming the problem, when
 * the served roles run low, a publish keeps failing, a change is stuck past
 * QUEUE_STUCK_SECONDS, or the settings are invalid.
 *
 * It answers within HEALTH_DEADLINE_MS even while the Publisher is busy
 * signing: if the Durable Object does not answer in time, health is judged
 * from what R2 serves (timestamp.json's version and expiry) and says so.
 */
import { Hono } from "hono";
import { settingsFromEnv } from "../../publisher/config.js";
import { publisherOf } from "../publisher-stub.js";
import { r2Keys } from "../../publisher/r2-keys.js";
import { STATUS_CACHE_CONTROL } from "./api.js";

/** Longest /healthz waits for the Publisher before answering from R2 alone. */
export const HEALTH_DEADLINE_MS = 2_000;

export const health = new Hono<{ Bindings: Env }>().get("/healthz", async (c) => {
  const settings = settingsFromEnv(c.env);
  // Public like status: caches may answer a flood of it for a few seconds instead of the Publisher.
  const headers = { "cache-control": STATUS_CACHE_CONTROL };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const answer = await Promise.race([
    publisherOf(c.env).health().then((view) => ({ view }), (e: unknown) => ({ error: e instanceof Error ? e.message : String(e) })),
    new Promise<"busy">((resolve) => (timer = setTimeout(() => resolve("busy"), HEALTH_DEADLINE_MS))),
  ]);
  clearTimeout(timer);
  if (answer === "busy" || "error" in answer) {
    const problems = [...settings.problems];
    const served = await c.env.BUCKET.head(r2Keys(c.env).timestamp);
    const version = served?.customMetadata?.version;
    const secondsLeft = Math.floor((Number(served?.customMetadata?.expires) - Date.now()) / 1000);
    if (!served) problems.push("not bootstrapped: no timestamp.json is served");
    else if (!(secondsLeft >= settings.policy.floorMs / 1000))
      problems.push(`served timestamp v${version} has ${secondsLeft} s of validity left, below the ${settings.policy.floorMs / 1000} s floor (RENEW_FLOOR_HOURS)`);
    const publisher = answer === "busy" ? `busy: did not answer within ${HEALTH_DEADLINE_MS} ms` : `unreachable: ${answer.error}`;
    if (answer !== "busy") problems.push(`the Publisher is ${publisher}`);
    return c.json({ ok: problems.length === 0, problems, publisher, served: { timestamp: version ? Number(version) : null } }, problems.length === 0 ? 200 : 503, headers);
  }
  const { view } = answer;
  if (!view) return c.json({ ok: false, problems: [...settings.problems, "not bootstrapped"] }, 503, headers);
  return c.json({ ok: view.ok, problems: view.problems }, view.ok ? 200 : 503, headers);
});
