/**
 * `/api/v1/`: the index's webhook, the operator's admin calls, and public status.
 * Every request that is accepted is durable in the Publisher before the 2xx goes out.
 */
import { Hono, type Context } from "hono";
import { digestHex, toHex, sha256Sync } from "../../tuf/index.js";
import type { ReceiptView, SubmitResult } from "../../publisher/types.js";
import { requireAdmin, verifyWebhookSignature } from "../auth.js";
import { ApiError } from "../errors.js";
import { publisherOf } from "../publisher-stub.js";
import { requireUsableSettings } from "../settings-guard.js";
import { decodePath } from "./targets.js";
import { putCreateOnly } from "../../publisher/create-only.js";
import { r2Keys } from "../../publisher/r2-keys.js";
import { routeDocs } from "../api-docs.js";
import { log } from "./log.js";
import { parseArtifactChanges, parseJSON, parseOfflineRoles, readBody, validatePath } from "../validate.js";

/** Largest file `PUT /api/v1/targets/<path>` hashes in memory. */
export const MAX_HOSTED_TARGET_BYTES = 64 * 1024 * 1024;

type Ctx = Context<{ Bindings: Env }>;

/** Status is public: caches may answer a flood of it for a few seconds instead of the Publisher. */
export const STATUS_CACHE_CONTROL = "public, max-age=5";

export const api = new Hono<{ Bindings: Env }>()
  .use("*", requireUsableSettings)
  .post("/bootstrap", routeDocs.bootstrap, requireAdmin, async (c) => {
    const { root, targets, bins } = parseOfflineRoles(parseJSON(await readBody(c.req.raw)), "all");
    const result = await publisherOf(c.env).bootstrap({ root: root!, targets: targets!, bins: bins! });
    switch (result.status) {
      case "bootstrapped":
        return c.json(result, 201);
      case "already_bootstrapped":
        throw new ApiError(409, "already_bootstrapped", "this repository is already bootstrapped; upload new offline roles with POST /api/v1/metadata");
      case "bucket_in_use":
        throw new ApiError(409, "repository_in_bucket", "R2 already holds this repository's metadata; a new bootstrap would reuse its versions. Run tuf-edge recover to continue it");
      case "rejected":
        throw new ApiError(422, result.code, result.message);
    }
  })
  .post("/recover", requireAdmin, async (c) => {
    const result = await publisherOf(c.env).recover();
    switch (result.status) {
      case "recovered":
        return c.json(result, 200);
      case "already_bootstrapped":
        throw new ApiError(409, "already_bootstrapped", "this Publisher already holds the repository; there is nothing to recover");
      case "rejected":
        throw new ApiError(422, result.code, result.message);
    }
  })
  .post("/metadata", routeDocs.metadata, requireAdmin, async (c) => {
    const roles = parseOfflineRoles(parseJSON(await readBody(c.req.raw)), "some");
    const result = await publisherOf(c.env).updateOfflineRoles(roles);
    switch (result.status) {
      case "published":
        return c.json(result, 200);
      case "publishing":
        return c.json(result, 202);
      case "not_bootstrapped":
        throw new ApiError(409, "not_bootstrapped", "this repository is not bootstrapped yet: run tuf-edge bootstrap");
      case "rejected":
        throw new ApiError(422, result.code, result.message);
      case "unavailable":
        throw new ApiError(503, result.code, result.message);
    }
  })
  .post("/artifacts", routeDocs.artifacts, async (c) => {
    const raw = await readBody(c.req.raw);
    await verifyWebhookSignature(c.req.header("x-tuf-edge-signature"), raw, c.env.WEBHOOK_SECRET, Math.floor(Date.now() / 1000));
    const changes = parseArtifactChanges(parseJSON(raw));
    const result = await publisherOf(c.env).submit({
      changes,
      bodySha256: toHex(sha256Sync(raw)),
      idempotencyKey: idempotencyKey(c),
      wait: c.req.query("wait") === "true",
    });
    return submitResponse(c, result);
  })
  .get("/receipts/:id", routeDocs.receipt, async (c) => {
    const view = await publisherOf(c.env).receipt(c.req.param("id"));
    if (!view) throw new ApiError(404, "receipt_not_found", `no receipt ${c.req.param("id")}`);
    return c.json(view);
  })
  .put("/targets/:path{.+}", routeDocs.hostedTarget, requireAdmin, async (c) => {
    const path = validatePath(decodePath(new URL(c.req.url).pathname.replace(/^\/api\/v1\/targets\//, "")) ?? 0, "path");
    const bytes = await readBody(c.req.raw, MAX_HOSTED_TARGET_BYTES);
    const hashes = await digestHex(bytes, ["sha256", "sha512"]);
    const keys = r2Keys(c.env);
    const httpMetadata = { contentType: "application/octet-stream" };
    // TUF spec 6.2.1: one identical copy per listed hash. Their names come from
    // the content, so writing them before the request is accepted replaces nothing.
    await Promise.all(Object.values(hashes).map((h) => putCreateOnly(c.env.BUCKET, keys.consistentTarget(path, h), bytes, { httpMetadata })));
    const result = await publisherOf(c.env).submit({
      changes: [{ op: "add", path, length: bytes.length, hashes }],
      bodySha256: hashes.sha256!,
      idempotencyKey: idempotencyKey(c),
      wait: c.req.query("wait") === "true",
    });
    // The plain name, for clients without TUF, changes only once the change is accepted.
    if (result.status === "queued" || result.status === "published") await c.env.BUCKET.put(keys.plainTarget(path), bytes, { httpMetadata });
    return submitResponse(c, result);
  })
  .get("/status", routeDocs.status, async (c) => {
    const status = await publisherOf(c.env).status();
    if (!status) throw new ApiError(409, "not_bootstrapped", "this repository is not bootstrapped yet: run tuf-edge bootstrap");
    return c.json(status, 200, { "cache-control": STATUS_CACHE_CONTROL });
  })
  .route("/log", log);

function idempotencyKey(c: Ctx): string | undefined {
  const key = c.req.header("idempotency-key");
  if (key !== undefined && (key.length === 0 || key.length > 200))
    throw new ApiError(400, "idempotency_key_invalid", "Idempotency-Key must be 1 to 200 characters");
  return key;
}

function submitResponse(c: Ctx, result: SubmitResult): Response {
  switch (result.status) {
    case "not_bootstrapped":
      throw new ApiError(409, "not_bootstrapped", "this repository is not bootstrapped yet: run tuf-edge bootstrap");
    case "idempotency_conflict":
      throw new ApiError(422, "idempotency_key_reused", "this Idempotency-Key was used with a different body");
    case "rejected":
      throw new ApiError(422, result.code, result.message);
    case "published":
      return c.json(result satisfies ReceiptView, 200);
    case "queued":
      // Accepted and durable either way; `problem` tells the sender why it is not published yet.
      return c.json({ receipt: result.receipt, status: "queued", ...("problem" in result ? { problem: result.problem } : {}) }, 202);
  }
}
