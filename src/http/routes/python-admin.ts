/**
 * `/api/v1/python/`: the operator's yank, unyank and delete of a release (PEP 592).
 * Each re-signs the project's pages, and removes deleted files, in one publish.
 */
import { Hono, type Context } from "hono";
import type { PythonReleaseAction } from "../../publisher/python-index.js";
import { requireAdmin } from "../auth.js";
import { ApiError } from "../errors.js";
import { publisherOf } from "../publisher-stub.js";
import { requireUsableSettings } from "../settings-guard.js";
import { parseJSON, readBody } from "../validate.js";
import { normalizeVersion } from "../../python/names.js";
import { routeDocs } from "../api-docs.js";

type Ctx = Context<{ Bindings: Env }>;

/** Longest yank reason kept; PyPI shows it to users in one line. */
const MAX_REASON_CHARS = 1_000;

export const pythonAdmin = new Hono<{ Bindings: Env }>()
  .use(requireUsableSettings)
  .use(requireAdmin)
  .post("/projects/:project/releases/:version/yank", routeDocs.yank, async (c) => release(c, "yank", await reason(c)))
  .post("/projects/:project/releases/:version/unyank", routeDocs.unyank, (c) => release(c, "unyank"))
  .delete("/projects/:project/releases/:version", routeDocs.deleteRelease, (c) => release(c, "delete"));

async function reason(c: Ctx): Promise<string | undefined> {
  const raw = await readBody(c.req.raw);
  if (raw.length === 0) return undefined;
  const body = parseJSON(raw);
  if (typeof body !== "object" || body === null || Array.isArray(body) || Object.keys(body).some((k) => k !== "reason"))
    throw new ApiError(400, "request_invalid", 'the body must be {"reason":"…"} or empty');
  const r = (body as { reason?: unknown }).reason;
  if (r === undefined) return undefined;
  if (typeof r !== "string" || r.length > MAX_REASON_CHARS || /[\u0000-\u001f\u007f]/.test(r))
    throw new ApiError(422, "reason_invalid", `reason must be one line of at most ${MAX_REASON_CHARS} characters`);
  return r;
}

async function release(c: Ctx, action: PythonReleaseAction, why?: string): Promise<Response> {
  const project = c.req.param("project")!;
  const version = c.req.param("version")!;
  if (normalizeVersion(version) === undefined) throw new ApiError(422, "version_invalid", `invalid version ${JSON.stringify(version)} (PEP 440)`);
  const result = await publisherOf(c.env).pythonRelease({ action, project, version, ...(why === undefined ? {} : { reason: why }) }, true);
  switch (result.status) {
    case "not_found":
      throw new ApiError(404, "release_not_found", result.message);
    case "not_bootstrapped":
      throw new ApiError(409, "not_bootstrapped", "this repository is not bootstrapped yet: run tuf-edge bootstrap");
    case "idempotency_conflict":
      throw new Error("unreachable: releases carry no Idempotency-Key");
    case "rejected":
      throw new ApiError(422, result.code, result.message);
    case "published":
      return c.json({ ...result, action }, 200);
    case "queued":
      return c.json({ receipt: result.receipt, status: "queued", action }, 202);
  }
}
