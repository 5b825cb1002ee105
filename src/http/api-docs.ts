/**
 * The OpenAPI description of `/api/v1/*`: request and response schemas (zod)
 * and one `describeRoute` per route, which the routes in routes/api.ts,
 * routes/log.ts, routes/imports.ts and routes/python-admin.ts carry as their
 * first middleware. hono-openapi collects them
 * from the app's routes into the document served at /api/v1/openapi.json.
 * A route without a description is missing from the document, and
 * test/http/openapi.test.ts fails.
 */
import { describeRoute, resolver } from "hono-openapi";
import { z } from "zod";
import { PAGE_ENTRIES, PAGE_FILES } from "../publisher/signing-log.js";

type Responses = NonNullable<Parameters<typeof describeRoute>[0]["responses"]>;

const TUF_CODES = ["malformed", "not_canonical", "threshold", "rollback", "expired", "length_or_hash", "unknown_role", "unknown_key", "key_policy"] as const;

/** `{"error":{"code","message"}}`, with the codes a response may carry. */
const errorBody = (codes: readonly [string, ...string[]]) =>
  z.object({ error: z.object({ code: z.enum(codes), message: z.string().min(1) }).strict() }).strict();

const json = (schema: z.ZodType, description: string) => ({ description, content: { "application/json": { schema: resolver(schema) } } });

function errors(byStatus: Record<number, readonly [string, ...string[]]>): Responses {
  const out: Responses = {};
  for (const [status, codes] of Object.entries({ ...byStatus, 500: ["internal"] as const }))
    out[status] = json(errorBody(codes), `error: ${codes.join(", ")}`);
  return out;
}

const ADMIN_ERRORS = { 401: ["unauthorized"], 413: ["body_too_large"] } as const;
/** Writes refuse to run with a bad [vars] combination or online-key secret (settings-guard.ts). */
const CONFIG_INVALID = { 503: ["config_invalid"] } as const;
const WEBHOOK_AUTH = ["signature_missing", "signature_malformed", "signature_expired", "signature_invalid"] as const;
/** What validate.ts refuses in one target entry, and what the Publisher refuses when a bin would outgrow what clients download. */
const TARGET_CODES = ["path_invalid", "hashes_invalid", "hash_algorithm_unsupported", "length_invalid", "custom_invalid", "role_too_large"] as const;

const version = z.number().int().min(1);
const signedMetadata = z.object({ signatures: z.array(z.object({ keyid: z.string(), sig: z.string() })), signed: z.record(z.string(), z.unknown()) });
/**
 * POST /api/v1/metadata's answer. root_pending: the uploaded root is written only once no cache holds a
 * timestamp.json signed before the publish that signs for it (TIMESTAMP_MAX_AGE later); serve_after is
 * null while that publish is still being written.
 */
const offlineUpdate = (status: "published" | "publishing") =>
  z
    .object({
      status: z.literal(status),
      timestamp: version,
      snapshot: version,
      roles: z.object({ root: version, targets: version, bins: version }).strict(),
      root_pending: z.object({ version, serve_after: z.string().nullable() }).strict().optional(),
    })
    .strict();
// Status objects may gain fields (clients ignore what they do not know); error and log bodies may not.
const roleStatus = z.object({ version, expires: z.string().datetime(), seconds_left: z.number().int() }).passthrough();

const receiptQueued = z.object({ receipt: z.string(), status: z.literal("queued") }).strict();
/** The answer to an accepted change: durable; `problem` says why it is not published yet when publishing is failing. */
const acceptedQueued = receiptQueued.extend({ problem: z.string().optional().describe("publishing is failing: why (as /healthz says)") }).strict();
const receiptPublished = z
  .object({
    receipt: z.string(),
    status: z.literal("published"),
    bins: z.record(z.string(), version).describe("each bin the request touched, at the version that first included the change"),
    snapshot: version,
    timestamp: version,
  })
  .strict();

const loggedFile = z.object({ role: z.string(), version, length: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/), keyids: z.array(z.string()) }).strict();
const logEntry = z
  .object({
    seq: z.number().int().min(1),
    prev: z.string().regex(/^[0-9a-f]{64}$/),
    started: z.number().int(),
    time: z.number().int(),
    cause: z.union([
      z.object({ kind: z.enum(["bootstrap", "renewal"]) }).strict(),
      z.object({ kind: z.literal("artifacts"), receipts: z.array(z.string()) }).strict(),
      z.object({ kind: z.enum(["offline_roles", "online_key_rotation"]), roles: z.array(z.enum(["root", "targets", "bins"])) }).strict(),
    ]),
    files: z.array(loggedFile),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

const inFlight = z
  .object({
    timestamp: version,
    snapshot: version,
    bins: z.number().int().min(0),
    reason: z.string(),
    since: z.string().datetime(),
    seconds: z.number().int(),
    oldest_change_seconds: z.number().int().nullable(),
  })
  .strict()
  .describe("the publish reserved but not yet committed");
const failing = z
  .object({ timestamp: version.nullable(), since: z.string().datetime(), last_attempt: z.string().datetime(), attempts: z.number().int().min(1), error: z.string() })
  .strict()
  .describe("the current streak of failed publish attempts; cleared by the next commit");

const status = z
  .object({
    ok: z.boolean(),
    problems: z.array(z.string()),
    in_flight: inFlight.nullable(),
    failing: failing.nullable(),
    roles: z
      .object({ timestamp: roleStatus, snapshot: roleStatus, oldest_bin: roleStatus.extend({ role: z.string() }), bins: roleStatus, targets: roleStatus, root: roleStatus })
      .passthrough(),
    last_publish: z.string().datetime().nullable(),
    queue_depth: z.number().int().min(0),
    oldest_queued_seconds: z.number().int().nullable(),
    publishing: z.boolean(),
    artifacts: z.number().int().min(0),
    bins: z.number().int().min(1),
    log: z.object({ seq: z.number().int().min(1), hash: z.string() }).strict().nullable().describe("the signing log's head"),
    recent_publishes: z.array(
      z.object({ seq: z.number().int(), started: z.string().datetime(), time: z.string().datetime(), duration_ms: z.number().int(), cause: z.string(), files: z.number().int() }).strict(),
    ),
    bin_sizes: z.array(z.object({ min: z.number().int(), max: z.number().int(), bins: z.number().int() }).strict()).describe("how many bins list min to max targets"),
    warnings: z.array(z.string()).describe("bins nearing the size TUF clients download by default"),
    key_policy: z.enum(["pep458", "insecure"]).describe("insecure when bootstrap skipped the PEP 458 key policy"),
  })
  .passthrough();

const artifactsBody = z
  .object({
    add: z
      .array(
        z
          .object({
            path: z.string().describe("relative, /-separated, at most 1,024 bytes"),
            length: z.number().int().min(0),
            hashes: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(), sha512: z.string().regex(/^[0-9a-f]{128}$/).optional() }),
            custom: z.record(z.string(), z.unknown()).optional(),
          })
          .strict(),
      )
      .optional(),
    remove: z.array(z.string()).optional(),
  })
  .strict();

const importView = z
  .object({
    id: z.string(),
    next_line: z.number().int().min(1).describe("every input line before it is staged"),
    added: z.number().int().min(0),
    unchanged: z.number().int().min(0),
    skipped: z.number().int().min(0),
    state: z.enum(["new", "staging", "publishing", "published"]),
    timestamp: version.nullable().describe("the timestamp that covers every staged line, once published"),
  })
  .strict();
const importIdParam = { name: "id", in: "path" as const, required: true, schema: { type: "string" as const, pattern: "^[A-Za-z0-9._-]{1,100}$" } };

const releaseParams = [
  { name: "project", in: "path" as const, required: true, schema: { type: "string" as const } },
  { name: "version", in: "path" as const, required: true, schema: { type: "string" as const }, description: "a PEP 440 version" },
];
const releaseAction = z.enum(["yank", "unyank", "delete"]);

/** Only yank reads a body, so only it answers 400 and 413. */
function releaseResponses(withBody: Record<number, readonly [string, ...string[]]> = {}, invalid: readonly [string, ...string[]] = ["version_invalid"]): Responses {
  return {
    200: json(receiptPublished.extend({ action: releaseAction }).strict(), "published"),
    202: json(receiptQueued.extend({ action: releaseAction }).strict(), "queued"),
    ...errors({ ...withBody, 401: ["unauthorized"], 404: ["release_not_found"], 409: ["not_bootstrapped"], 422: invalid, ...CONFIG_INVALID }),
  };
}

const idempotencyKey = { name: "idempotency-key", in: "header" as const, required: false, schema: { type: "string" as const, minLength: 1, maxLength: 200 } };
const wait = { name: "wait", in: "query" as const, required: false, schema: { type: "string" as const, enum: ["true"] }, description: "answer once a timestamp covers the change (at most 10 s)" };
const admin = [{ adminToken: [] }];

export const routeDocs = {
  bootstrap: describeRoute({
    tags: ["admin"],
    summary: "Bootstrap the repository with the ceremony's root v1, targets and bins",
    security: admin,
    requestBody: {
      required: true,
      content: {
        "application/json": {
          schema: resolver(
            z
              .object({
                root: signedMetadata,
                targets: signedMetadata,
                bins: signedMetadata,
                insecure_key_policy: z.boolean().optional().describe("skip the PEP 458 key policy (test repositories only); /api/v1/status shows it for good"),
              })
              .strict(),
          ),
        },
      },
    },
    responses: {
      201: json(z.object({ status: z.literal("bootstrapped"), bins: z.number().int(), snapshot: version, timestamp: version, published: z.boolean() }).strict(), "bootstrapped"),
      ...errors({ 400: ["malformed_json", "request_invalid"], ...ADMIN_ERRORS, 409: ["already_bootstrapped", "repository_in_bucket"], 422: TUF_CODES, ...CONFIG_INVALID }),
    },
  }),
  recover: describeRoute({
    tags: ["admin"],
    summary: "Rebuild an empty Publisher from the repository R2 serves, one step per call, and publish one version above it",
    description:
      "Each call does one bounded step (verify the served state, list R2, or read the next bin-n) and answers 202 until the last, which answers 200 and starts the publish. Progress is kept in the Publisher, so an interrupted recovery goes on where it stopped.",
    security: admin,
    responses: {
      202: json(
        z
          .object({ status: z.literal("recovering"), bins_read: z.number().int().min(0), bins: z.number().int().min(1), listed: z.boolean().describe("R2's metadata names listed for their highest versions") })
          .strict(),
        "one step done; call again",
      ),
      200: json(
        z
          .object({
            status: z.literal("recovered"),
            found: z
              .object({ root: version, targets: version, bins: version, snapshot: version, timestamp: version, artifacts: z.number().int().min(0) })
              .strict()
              .describe("what R2 served"),
            snapshot: version,
            timestamp: version,
            published: z.boolean(),
          })
          .strict(),
        "recovered",
      ),
      // What R2 serves is refused as src/client refuses it: its UpdateError codes besides TufError's.
      ...errors({ 401: ["unauthorized"], 409: ["already_bootstrapped"], 422: [...TUF_CODES, "too_large", "not_in_snapshot", "download"], ...CONFIG_INVALID }),
    },
  }),
  metadata: describeRoute({
    tags: ["admin"],
    summary: "Publish new offline-signed root, targets and/or bins",
    security: admin,
    requestBody: {
      required: true,
      content: { "application/json": { schema: resolver(z.object({ root: signedMetadata.optional(), targets: signedMetadata.optional(), bins: signedMetadata.optional() }).strict()) } },
    },
    responses: {
      200: json(offlineUpdate("published"), "published; a root that moves the targets or online keys may still be pending (root_pending)"),
      202: json(offlineUpdate("publishing"), "accepted; the alarm finishes publishing"),
      ...errors({ 400: ["malformed_json", "request_invalid"], ...ADMIN_ERRORS, 409: ["not_bootstrapped", "root_pending"], 422: TUF_CODES, 503: ["config_invalid", "publish_failing"] }),
    },
  }),
  artifacts: describeRoute({
    tags: ["webhook"],
    summary: "The index's webhook: add and remove targets",
    // Standard Webhooks (standardwebhooks.com): the signed webhook-id is also the idempotency key.
    parameters: [
      wait,
      { name: "webhook-id", in: "header", required: true, schema: { type: "string" }, description: "the delivery's unique id; a redelivery reuses it" },
      { name: "webhook-timestamp", in: "header", required: true, schema: { type: "string" }, description: "unix seconds, within 5 minutes of the server's clock" },
      { name: "webhook-signature", in: "header", required: true, schema: { type: "string" }, description: "v1,<base64 HMAC-SHA256(WEBHOOK_SECRET, \"<webhook-id>.<webhook-timestamp>.<raw body>\")>" },
    ],
    requestBody: { required: true, content: { "application/json": { schema: resolver(artifactsBody) } } },
    responses: {
      200: json(receiptPublished, "published (with ?wait=true)"),
      202: json(acceptedQueued, "queued: durable, published soon"),
      ...errors({
        400: ["malformed_json", "request_invalid"],
        401: WEBHOOK_AUTH,
        409: ["not_bootstrapped"],
        413: ["body_too_large"],
        422: [...TARGET_CODES, "duplicate_path", "webhook_id_reused"],
        ...CONFIG_INVALID,
      }),
    },
  }),
  receipt: describeRoute({
    tags: ["webhook"],
    summary: "A receipt, queued or published",
    responses: { 200: json(z.union([receiptPublished, receiptQueued]), "the receipt"), ...errors({ 404: ["receipt_not_found"] }) },
  }),
  hostedTarget: describeRoute({
    tags: ["admin"],
    summary: "Host a target file: store its bytes in R2 and publish it with its sha256 and sha512",
    security: admin,
    parameters: [{ name: "path", in: "path", required: true, schema: { type: "string" }, description: "the target path, may contain /" }, wait, idempotencyKey],
    description: "The body is streamed into R2, not held in memory, so its length must be sent up front: `Content-Length` is required (411 without it).",
    requestBody: { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
    responses: {
      200: json(receiptPublished, "published (with ?wait=true)"),
      202: json(acceptedQueued, "queued"),
      ...errors({ 400: ["idempotency_key_invalid"], ...ADMIN_ERRORS, 409: ["not_bootstrapped"], 411: ["length_required"], 422: ["path_invalid", "idempotency_key_reused", "role_too_large"], ...CONFIG_INVALID }),
    },
  }),
  status: describeRoute({
    tags: ["public"],
    summary: "Versions and expiries of every role, the queue, the signing log's head and recent publishes",
    responses: { 200: json(status, "the repository's status"), ...errors({ 409: ["not_bootstrapped"] }) },
  }),
  log: describeRoute({
    tags: ["public"],
    summary: "The signing log, one page at a time (docs/signing-log.md)",
    description: `Entries after \`after\`, to the end of their page. A page holds ${PAGE_ENTRIES} entries, or ends after the entry that brings it to ${PAGE_FILES} files; a full page never changes and is served immutable, and \`next\` links the one after. Full pages but the newest are kept in R2.`,
    parameters: [{ name: "after", in: "query", required: false, schema: { type: "integer", minimum: 0, default: 0 } }],
    responses: {
      200: json(z.object({ entries: z.array(logEntry), next: z.string().nullable() }).strict(), "a page of the log"),
      ...errors({ 400: ["after_invalid"], 503: ["log_page_unavailable"] }),
    },
  }),
  importStatus: describeRoute({
    tags: ["import"],
    summary: "How far a bulk import got",
    security: admin,
    parameters: [importIdParam],
    responses: { 200: json(importView, "the import"), ...errors({ 400: ["request_invalid"], 401: ["unauthorized"], 409: ["not_bootstrapped"] }) },
  }),
  importLines: describeRoute({
    tags: ["import"],
    summary: "Stage a chunk of a bulk import, all or none",
    description: "JSON Lines, one {\"path\",\"length\",\"hashes\",\"custom\"?} per line, validated like the webhook's `add`; staged durably before the 200, published only by POST .../publish.",
    security: admin,
    parameters: [
      importIdParam,
      { name: "first_line", in: "query", required: false, schema: { type: "integer", minimum: 1, default: 1 }, description: "the input line number of the body's first line: where the import stopped" },
      { name: "on_conflict", in: "query", required: false, schema: { type: "string", enum: ["stop", "skip"], default: "stop" }, description: "a path already listed with other length, hashes or custom: refuse the chunk, or keep the listed one" },
    ],
    requestBody: { required: true, content: { "application/jsonl": { schema: { type: "string" } } } },
    responses: {
      200: json(
        z.object({ import: importView, skipped: z.array(z.object({ line: z.number().int().min(1), path: z.string() }).strict()).describe("lines on_conflict=skip kept the listed target for") }).strict(),
        "staged",
      ),
      ...errors({
        400: ["request_invalid", "malformed_json"],
        ...ADMIN_ERRORS,
        409: ["import_out_of_order", "import_conflict", "not_bootstrapped"],
        422: TARGET_CODES,
        ...CONFIG_INVALID,
      }),
    },
  }),
  importPublish: describeRoute({
    tags: ["import"],
    summary: "Publish every bin a bulk import staged, in one publish",
    security: admin,
    parameters: [importIdParam],
    responses: {
      200: json(importView, "published: a timestamp covers every staged line"),
      202: json(importView, "publishing; poll GET /api/v1/imports/{id}"),
      ...errors({ 400: ["request_invalid"], 401: ["unauthorized"], 404: ["import_not_found"], 409: ["not_bootstrapped"], ...CONFIG_INVALID }),
    },
  }),
  yank: describeRoute({
    tags: ["python"],
    summary: "Yank every file of a release (PEP 592), re-signing the project's pages",
    security: admin,
    parameters: releaseParams,
    requestBody: { required: false, content: { "application/json": { schema: resolver(z.object({ reason: z.string().max(1000).optional() }).strict()) } } },
    responses: releaseResponses({ 400: ["malformed_json", "request_invalid"], 413: ["body_too_large"] }, ["version_invalid", "reason_invalid"]),
  }),
  unyank: describeRoute({
    tags: ["python"],
    summary: "Unyank every file of a release",
    security: admin,
    parameters: releaseParams,
    responses: releaseResponses(),
  }),
  deleteRelease: describeRoute({
    tags: ["python"],
    summary: "Delete every file of a release; its filenames can never be used again",
    security: admin,
    parameters: releaseParams,
    responses: releaseResponses(),
  }),
  openapi: describeRoute({
    tags: ["public"],
    summary: "This document",
    responses: { 200: { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } } },
  }),
};

export const documentation = {
  openapi: "3.1.0",
  info: {
    title: "tuf-edge API",
    version: "1",
    description: "The webhook, admin and public API of a tuf-edge repository. Errors are always {\"error\":{\"code\",\"message\"}}; see README.md §The API.",
  },
  components: { securitySchemes: { adminToken: { type: "http" as const, scheme: "bearer", description: "ADMIN_TOKEN" } } },
};
