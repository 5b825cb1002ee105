/** Shared helpers of the HTTP contract tests: requests to the real Worker and snapshots of repository state. */
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { recordApiResponse } from "./openapi-conformance.js";
import { ADMIN_TOKEN, makeCeremony, webhookSignature, type Ceremony } from "../fixtures/ceremony.js";

export const BASE = "http://tuf.test";

/** A request to the Worker; /api/v1 responses are also checked against the OpenAPI document (openapi-conformance.ts). */
export async function fetchWorker(path: string, init?: RequestInit): Promise<Response> {
  return recordApiResponse(init?.method ?? "GET", path, await exports.default.fetch(new Request(`${BASE}${path}`, init)));
}

export const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };

export function bootstrapBody(ceremony: Pick<Ceremony, "root" | "targets" | "bins">): string {
  return JSON.stringify({ root: ceremony.root, targets: ceremony.targets, bins: ceremony.bins });
}

export function postBootstrap(body: string, headers: Record<string, string> = adminHeaders): Promise<Response> {
  return fetchWorker("/api/v1/bootstrap", { method: "POST", headers, body });
}

/** Bootstraps the repository of the current test file with the fixture ceremony. */
export async function bootstrap(bitLength = 4): Promise<Ceremony> {
  const ceremony = await makeCeremony({ bitLength });
  const res = await postBootstrap(bootstrapBody(ceremony));
  expect(res.status, await res.clone().text()).toBe(201);
  return ceremony;
}

export interface PostOptions {
  query?: string;
  headers?: Record<string, string>;
  /** Overrides the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature); null sends none. */
  webhook?: Record<string, string> | null;
  /** The delivery id to sign with (a fresh one otherwise). */
  id?: string;
}

/** POST /api/v1/artifacts with raw text, signed with the test WEBHOOK_SECRET unless told otherwise (a stream must bring its own headers). */
export async function postArtifactsRaw(text: string | Uint8Array, options: PostOptions = {}): Promise<Response> {
  const webhook = options.webhook === undefined ? await webhookSignature(text, options.id === undefined ? {} : { id: options.id }) : options.webhook;
  const headers: Record<string, string> = { "content-type": "application/json", ...webhook, ...options.headers };
  return fetchWorker(`/api/v1/artifacts${options.query ?? ""}`, { method: "POST", headers, body: text });
}

export const postArtifacts = (body: unknown, options: PostOptions = {}): Promise<Response> =>
  postArtifactsRaw(JSON.stringify(body), options);

/** Asserts the API's error shape `{"error":{"code","message"}}` with `status` and `code`, and returns the message. */
export async function expectError(res: Response, status: number, code: string): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error ?? {}).sort()).toEqual(["code", "message"]);
  expect(body.error!.code).toBe(code);
  expect(typeof body.error!.message).toBe("string");
  expect((body.error!.message as string).length).toBeGreaterThan(0);
  return body.error!.message as string;
}

export interface StatusBody {
  roles: Record<"timestamp" | "snapshot" | "oldest_bin" | "bins" | "targets" | "root", { version: number; expires: string; seconds_left: number; role?: string }>;
  queue_depth: number;
  artifacts: number;
  last_publish: string | null;
  oldest_queued_seconds: number | null;
  publishing: boolean;
  bins: number;
}

export async function getStatus(): Promise<StatusBody> {
  const res = await fetchWorker("/api/v1/status");
  expect(res.status, "GET /api/v1/status").toBe(200);
  return (await res.json()) as StatusBody;
}

export async function getBytes(path: string): Promise<Uint8Array> {
  const res = await fetchWorker(path);
  expect(res.status, path).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

export interface RepoState {
  timestamp: string;
  timestampVersion: number;
  queueDepth: number;
  artifacts: number;
}

/**
 * What a refused request must leave untouched: timestamp.json's bytes, the queue and the artifact count.
 * timestamp.json is read from R2, the object /metadata/timestamp.json serves: every request through
 * exports.default.fetch makes the next one slower in the test harness, so state checks spare them.
 */
export async function repoState(): Promise<RepoState> {
  const object = await env.BUCKET.get("default/metadata/timestamp.json");
  expect(object, "default/metadata/timestamp.json in R2").not.toBeNull();
  const timestamp = await object!.text();
  const status = await getStatus();
  return { timestamp, timestampVersion: status.roles.timestamp.version, queueDepth: status.queue_depth, artifacts: status.artifacts };
}

export async function metadataKeys(): Promise<string[]> {
  const listed = await env.BUCKET.list({ prefix: "default/metadata/" });
  return listed.objects.map((o) => o.key);
}

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha(alg: "SHA-256" | "SHA-512", bytes: Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest(alg, bytes));
}
