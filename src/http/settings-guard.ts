/**
 * Writes need usable settings: with a bad [vars] combination or a malformed
 * online-key secret, the webhook and admin calls answer `503 config_invalid`
 * naming the problem (reads, /healthz and /api/v1/status keep working).
 */
import type { MiddlewareHandler } from "hono";
import { settingsFromEnv } from "../publisher/config.js";
import { ApiError } from "./errors.js";

export const requireUsableSettings: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  if (c.req.method !== "GET" && c.req.method !== "HEAD") {
    const { problems } = settingsFromEnv(c.env);
    if (problems.length > 0)
      throw new ApiError(503, "config_invalid", `the Worker's settings are invalid, so nothing can be published: ${problems.join("; ")}. Fix wrangler.toml [vars] or the secrets and deploy`);
  }
  await next();
};
