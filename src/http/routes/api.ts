/**
 * `/api/v1/`: the index's webhook, the operator's admin calls, and public status.
 * Every request that is accepted is durable in the Publisher before the 2xx goes out.
 */
import { Hono, type Context } from "hono";
import { digestHex, sha256Sync, toHex, utf8 } from "../../tuf/index.js";
import type { ReceiptView, SubmitResult } from "../../publisher/types.js";
import { requireAdmin, verifyWebhook } from "../auth.js";
import { ApiError } from "../errors.js";
import { publisherOf } from "../publisher-stub.js";
import { requireUsableSettings } from "../settings-guard.js";
import { decodePath } from "./targets.js";
import { copy, copyCreateOnly, stageBody } from "../hosted-target.js";
import { r2Keys } from "../../publisher/r2-keys.js";
import { routeDocs } from "../api-docs.js";
import { log } from "./log.js";
import { parseArtifactChanges, parseJSON, parseOfflineRoles, parseWebhookJSON, readBody, validatePath } from "../validate.js";

/** Largest file `PUT /api/v1/targets/<path>` takes (it is streamed, not held: hosted-target.ts). */
export const MAX_HOSTED_TARGET_BYTES = 64 * 1024 * 1024;

type Ctx = Context<{ Bindings: Env }>;

/** Status is public: caches may answer a flood of it for a few seconds instead of the Publisher. */
export const STATUS_CACHE_CONTROL = "public, max-age=5";

export const api = new Hono<{ Bindings: Env }>()
  .use("*", requireUsableSettings)
  .post("/bootstrap", routeDocs.bootstrap, requireAdmin, async (c) => {
    const parsed = parseJSON(await readBody(c.req.raw));
    // The one opt-out of the PEP 458 key policy, for test repositories; /api/v1/status shows it for good.
    const { insecure_key_policy: insecure, ...ceremony } = isObject(parsed) ? parsed : { ceremony: parsed };
    if (insecure !== undefined && typeof insecure !== "boolean") throw new ApiError(400, "request_invalid", "insecure_key_policy must be true or false");
    const { root, targets, bins } = parseOfflineRoles(isObject(parsed) ? ceremony : parsed, "all");
    const result = await publisherOf(c.env).bootstrap({ root: root!, targets: targets!, bins: bins!, insecureKeyPolicy: insecure === true });
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
  .post("/recover", routeDocs.recover, requireAdmin, async (c) => {
    const result = await publisherOf(c.env).recover();
    switch (result.status) {
      case "recovering":
        return c.json(result, 202);
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
      case "root_pending":
        throw new ApiError(409, "root_pending", result.message);
      case "rejected":
        throw new ApiError(422, result.code, result.message);
      case "unavailable":
        throw new ApiError(503, result.code, result.message);
    }
  })
  .post("/artifacts", routeDocs.artifacts, async (c) => {
    const raw = await readBody(c.req.raw);
    const headers = { id: c.req.header("webhook-id"), timestamp: c.req.header("webhook-timestamp"), signature: c.req.header("webhook-signature") };
    const deliveryId = await verifyWebhook(headers, raw, c.env.WEBHOOK_SECRET, Math.floor(Date.now() / 1000));
    const changes = parseArtifactChanges(parseWebhookJSON(raw));
    // The signed delivery id is the idempotency key: a retry (same id and body) gets the first
    // delivery's receipt and changes nothing; a captured delivery replayed later does the same.
    const result = await publisherOf(c.env).submit({
      changes,
      bodySha256: (await digestHex(raw)).sha256!,
      idempotencyKey: `webhook:${deliveryId}`,
      wait: c.req.query("wait") === "true",
    });
    return submitResponse(c, result, "webhook-id");
  })
  .get("/receipts/:id", routeDocs.receipt, async (c) => {
    const view = await publisherOf(c.env).receipt(c.req.param("id"));
    if (!view) throw new ApiError(404, "receipt_not_found", `no receipt ${c.req.param("id")}`);
    return c.json(view);
  })
  .put("/targets/:path{.+}", routeDocs.hostedTarget, requireAdmin, async (c) => {
    const path = validatePath(decodePath(new URL(c.req.url).pathname.replace(/^\/api\/v1\/targets\//, "")) ?? 0, "path");
    const key = idempotencyKey(c);
    const length = declaredLength(c);
    const keys = r2Keys(c.env);
    const bucket = c.env.BUCKET;
    const publisher = publisherOf(c.env);
    // Streamed, never held in memory (hosted-target.ts): first into a staging object, hashed on the way.
    const staging = keys.upload(crypto.randomUUID());
    await publisher.uploadStarted(staging);
    try {
      const hashes = await stageBody(bucket, staging, c.req.raw.body, length);
      // TUF spec 6.2.1: one identical copy per listed hash, in R2 before any timestamp lists it.
      // Their names come from the content, so writing them before the request is accepted replaces nothing.
      const copies = Object.values(hashes).map((h) => keys.consistentTarget(path, h));
      const created = await Promise.all(copies.map((to) => copyCreateOnly(bucket, staging, to, hashes)));
      const result = await publisher.submit({
        changes: [{ op: "add", path, length, hashes: { ...hashes } }],
        // The fingerprint covers the path too: the same key for the same bytes under another path is a different request.
        bodySha256: toHex(sha256Sync(utf8(`${path}\n${hashes.sha256}`))),
        ...(key === undefined ? {} : { idempotencyKey: `put:${key}` }),
        wait: c.req.query("wait") === "true",
      });
      if (result.status === "queued" || result.status === "published") {
        // A retention sweep that checked a copy before this add was queued may have deleted it since;
        // submit answers only once such a sweep is done, so a copy missing now is written again.
        for (const to of copies) if ((await bucket.head(to)) === null) await copyCreateOnly(bucket, staging, to, hashes);
        // The plain name, for clients without TUF, changes only once the change is accepted.
        await copy(bucket, staging, keys.plainTarget(path), hashes.sha256);
      }
      // A refused request changes nothing: the copies this request created go again.
      else if (created.some(Boolean)) await bucket.delete(copies.filter((_, i) => created[i]));
      return submitResponse(c, result, "Idempotency-Key");
    } finally {
      await bucket.delete(staging);
    }
  })
  .get("/status", routeDocs.status, async (c) => {
    const status = await publisherOf(c.env).status();
    if (!status) throw new ApiError(409, "not_bootstrapped", "this repository is not bootstrapped yet: run tuf-edge bootstrap");
    return c.json(status, 200, { "cache-control": STATUS_CACHE_CONTROL });
  })
  .route("/log", log);

function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === "object" && body !== null && !Array.isArray(body);
}

function idempotencyKey(c: Ctx): string | undefined {
  const key = c.req.header("idempotency-key");
  if (key !== undefined && (key.length === 0 || key.length > 200))
    throw new ApiError(400, "idempotency_key_invalid", "Idempotency-Key must be 1 to 200 characters");
  return key;
}

/** A streamed body's length must be known up front: R2 stores a stream only of known length. */
function declaredLength(c: Ctx): number {
  const declared = c.req.header("content-length");
  if (declared === undefined || !/^[0-9]{1,16}$/.test(declared)) throw new ApiError(411, "length_required", "send Content-Length with the file");
  const length = Number(declared);
  if (length > MAX_HOSTED_TARGET_BYTES) throw new ApiError(413, "body_too_large", `the body is larger than ${MAX_HOSTED_TARGET_BYTES} bytes`);
  return length;
}

function submitResponse(c: Ctx, result: SubmitResult, keyHeader: "webhook-id" | "Idempotency-Key"): Response {
  switch (result.status) {
    case "not_bootstrapped":
      throw new ApiError(409, "not_bootstrapped", "this repository is not bootstrapped yet: run tuf-edge bootstrap");
    case "idempotency_conflict":
      throw keyHeader === "webhook-id"
        ? new ApiError(422, "webhook_id_reused", "this webhook-id was delivered before with a different body; each delivery needs its own id")
        : new ApiError(422, "idempotency_key_reused", "this Idempotency-Key was used with a different path or content");
    case "rejected":
      throw new ApiError(422, result.code, result.message);
    case "published":
      return c.json(result satisfies ReceiptView, 200);
    case "queued":
      // Accepted and durable either way; `problem` tells the sender why it is not published yet.
      return c.json({ receipt: result.receipt, status: "queued", ...("problem" in result ? { problem: result.problem } : {}) }, 202);
  }
}
