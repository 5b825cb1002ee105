/**
 * POST /api/v1/artifacts: every validation rule answers its own 4xx code in the
 * `{"error":{"code","message"}}` shape, and a refused request changes nothing.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { webhookSignature } from "../fixtures/ceremony.js";
import {
  bootstrap,
  expectError,
  getBytes,
  getStatus,
  postArtifacts,
  postArtifactsRaw,
  repoState,
  type RepoState,
} from "./helpers.js";

const SHA256 = "ab".repeat(32);
const SHA512 = "cd".repeat(64);
const entry = (overrides: Record<string, unknown> = {}) => ({ path: "pkg/demo-1.0.tar.gz", length: 3, hashes: { sha256: SHA256 }, ...overrides });
const add = (overrides: Record<string, unknown> = {}) => JSON.stringify({ add: [entry(overrides)] });
const withoutKey = (key: string) => {
  const e: Record<string, unknown> = entry();
  delete e[key];
  return JSON.stringify({ add: [e] });
};

interface Case {
  rule: string;
  body: string;
  status: number;
  code: string;
  /** A word the message must contain, where the rule promises one. */
  mentions?: string;
}

const cases: Case[] = [
  // path
  { rule: "path is not a string", body: add({ path: 42 }), status: 422, code: "path_invalid" },
  { rule: "path is missing", body: withoutKey("path"), status: 422, code: "path_invalid" },
  { rule: "path is empty", body: add({ path: "" }), status: 422, code: "path_invalid" },
  { rule: "path has a leading /", body: add({ path: "/pkg/a.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "path has a trailing /", body: add({ path: "pkg/a/" }), status: 422, code: "path_invalid" },
  { rule: "path has //", body: add({ path: "pkg//a.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "path has a .. segment", body: add({ path: "pkg/../a.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "path is ..", body: add({ path: ".." }), status: 422, code: "path_invalid" },
  { rule: "path has a . segment", body: add({ path: "pkg/./a.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "path has a control character (U+0001)", body: add({ path: "pkg/a\u0001.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "path has a newline", body: add({ path: "pkg/a\n.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "path has DEL (U+007F)", body: add({ path: "pkg/a\u007f.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "path has a backslash", body: add({ path: "pkg\\a.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "path has ?", body: add({ path: "pkg/a.tar.gz?x=1" }), status: 422, code: "path_invalid" },
  { rule: "path has #", body: add({ path: "pkg/a.tar.gz#frag" }), status: 422, code: "path_invalid" },
  { rule: "path is 1025 ASCII bytes", body: add({ path: "a".repeat(1025) }), status: 422, code: "path_invalid" },
  { rule: "path is 513 characters but 1026 UTF-8 bytes", body: add({ path: "é".repeat(513) }), status: 422, code: "path_invalid" },
  { rule: "path has an emoji (above U+FFFF)", body: add({ path: "pkg/\u{1F600}.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "path has a private-use character (U+E000)", body: add({ path: "pkg/\ue000.tar.gz" }), status: 422, code: "path_invalid" },
  { rule: "a remove path has a leading /", body: JSON.stringify({ remove: ["/pkg/a.tar.gz"] }), status: 422, code: "path_invalid" },
  { rule: "a remove path is not a string", body: JSON.stringify({ remove: [7] }), status: 422, code: "path_invalid" },
  // hashes
  { rule: "hashes are missing", body: withoutKey("hashes"), status: 422, code: "hashes_invalid" },
  { rule: "hashes are an empty object", body: add({ hashes: {} }), status: 422, code: "hashes_invalid" },
  { rule: "hashes are a string", body: add({ hashes: SHA256 }), status: 422, code: "hashes_invalid" },
  { rule: "hashes are an array", body: add({ hashes: [SHA256] }), status: 422, code: "hashes_invalid" },
  { rule: "hashes are null", body: add({ hashes: null }), status: 422, code: "hashes_invalid" },
  {
    rule: "hashes list blake2b-256 without sha256 (ADR 0003)",
    body: add({ hashes: { sha512: SHA512, "blake2b-256": "ef".repeat(32) } }),
    status: 422,
    code: "hash_algorithm_unsupported",
    mentions: "tuf-js",
  },
  { rule: "blake2b-256 is not 64 hex characters", body: add({ hashes: { sha256: SHA256, "blake2b-256": "ef" } }), status: 422, code: "hashes_invalid" },
  { rule: "hashes list md5", body: add({ hashes: { md5: "0".repeat(32) } }), status: 422, code: "hash_algorithm_unsupported" },
  // Object.prototype members are not hash algorithms either (the lookup must use own keys only).
  { rule: "hashes list constructor", body: add({ hashes: { constructor: SHA256 } }), status: 422, code: "hash_algorithm_unsupported" },
  { rule: "hashes list __proto__", body: `{"add":[{"path":"pkg/a","length":1,"hashes":{"__proto__":"${SHA256}"}}]}`, status: 422, code: "hash_algorithm_unsupported" },
  { rule: "sha256 is uppercase hex", body: add({ hashes: { sha256: SHA256.toUpperCase() } }), status: 422, code: "hashes_invalid" },
  { rule: "sha256 is 63 hex characters", body: add({ hashes: { sha256: SHA256.slice(1) } }), status: 422, code: "hashes_invalid" },
  { rule: "sha256 is 65 hex characters", body: add({ hashes: { sha256: `${SHA256}0` } }), status: 422, code: "hashes_invalid" },
  { rule: "sha512 has sha256's length", body: add({ hashes: { sha512: SHA256 } }), status: 422, code: "hashes_invalid" },
  { rule: "sha256 is not hex", body: add({ hashes: { sha256: "zz".repeat(32) } }), status: 422, code: "hashes_invalid" },
  { rule: "sha256 is a number", body: add({ hashes: { sha256: 12 } }), status: 422, code: "hashes_invalid" },
  // length
  { rule: "length is negative", body: add({ length: -1 }), status: 422, code: "length_invalid" },
  { rule: "length is a float", body: add({ length: 1.5 }), status: 422, code: "length_invalid" },
  { rule: "length is a string", body: add({ length: "3" }), status: 422, code: "length_invalid" },
  { rule: "length is missing", body: withoutKey("length"), status: 422, code: "length_invalid" },
  { rule: "length is 2^53", body: add({ length: 2 ** 53 }), status: 422, code: "length_invalid" },
  { rule: "length is 1e300", body: add({ length: 1e300 }), status: 422, code: "length_invalid" },
  // custom
  { rule: "custom is a string", body: add({ custom: "x" }), status: 422, code: "custom_invalid" },
  { rule: "custom is an array", body: add({ custom: [1] }), status: 422, code: "custom_invalid" },
  { rule: "custom is null", body: add({ custom: null }), status: 422, code: "custom_invalid" },
  { rule: "custom holds a control character", body: add({ custom: { note: "a\u0007b" } }), status: 422, code: "custom_invalid" },
  { rule: "custom holds a control character in a key", body: add({ custom: { "a\tb": 1 } }), status: 422, code: "custom_invalid" },
  { rule: "custom holds a float", body: add({ custom: { ratio: 0.5 } }), status: 422, code: "custom_invalid" },
  { rule: "custom holds a float deep inside", body: add({ custom: { a: [{ b: 1.25 }] } }), status: 422, code: "custom_invalid" },
  // duplicates
  {
    rule: "a path appears twice in add",
    body: JSON.stringify({ add: [entry(), entry({ length: 4 })] }),
    status: 422,
    code: "duplicate_path",
  },
  {
    rule: "a path is both added and removed",
    body: JSON.stringify({ add: [entry()], remove: [entry().path] }),
    status: 422,
    code: "duplicate_path",
  },
  { rule: "a path appears twice in remove", body: JSON.stringify({ remove: ["a/b", "a/b"] }), status: 422, code: "duplicate_path" },
  // request shape
  { rule: "the body is not JSON", body: "{not json", status: 400, code: "malformed_json" },
  { rule: "the body is empty", body: "", status: 400, code: "malformed_json" },
  { rule: "the body is truncated JSON", body: add().slice(0, -2), status: 400, code: "malformed_json" },
  { rule: "the body is a JSON array", body: "[]", status: 400, code: "request_invalid" },
  { rule: "the body is JSON null", body: "null", status: 400, code: "request_invalid" },
  { rule: "the body has an unknown top-level field", body: JSON.stringify({ add: [entry()], delete: [] }), status: 400, code: "request_invalid" },
  { rule: "an add entry has an unknown field", body: add({ sha256: SHA256 }), status: 400, code: "request_invalid" },
  { rule: "an add entry is a string", body: JSON.stringify({ add: ["pkg/a"] }), status: 400, code: "request_invalid" },
  { rule: "add is not an array", body: JSON.stringify({ add: entry() }), status: 400, code: "request_invalid" },
  { rule: "remove is not an array", body: JSON.stringify({ remove: "a/b" }), status: 400, code: "request_invalid" },
  { rule: "add and remove are both empty", body: JSON.stringify({ add: [], remove: [] }), status: 400, code: "request_invalid" },
  { rule: "the body is an empty object", body: "{}", status: 400, code: "request_invalid" },
];

describe("POST /api/v1/artifacts validation on a bootstrapped repository", () => {
  /** The state right after bootstrap: every refused request below must leave it exactly so. */
  let baseline: RepoState;
  beforeAll(async () => {
    await bootstrap(4);
    baseline = await repoState();
  });

  it.each(cases)("refuses a request when $rule with $status $code and changes nothing", async ({ body, status, code, mentions }) => {
    const message = await expectError(await postArtifactsRaw(body, { query: "?wait=true" }), status, code);
    if (mentions) expect(message).toContain(mentions);
    expect(await repoState()).toEqual(baseline);
  });

  it("refuses a body that is not UTF-8 with 400 malformed_json and changes nothing", async () => {
    const before = await repoState();
    const bytes = new Uint8Array([0x7b, 0x22, 0x61, 0xff, 0x22, 0x3a, 0x5b, 0x5d, 0x7d]); // {"a\xff":[]}
    const res = await postArtifactsRaw(bytes, {
      query: "?wait=true",
      webhook: await webhookSignature(bytes),
    });
    await expectError(res, 400, "malformed_json");
    expect(await repoState()).toEqual(before);
  });

  it("refuses a signed body over 1 MiB with 413 body_too_large and changes nothing", async () => {
    const before = await repoState();
    const filler = "x".repeat(1024 * 1024);
    const body = JSON.stringify({ add: [entry({ custom: { filler } })] });
    await expectError(await postArtifactsRaw(body, { query: "?wait=true" }), 413, "body_too_large");
    expect(await repoState()).toEqual(before);
  });

  it("refuses a streamed (chunked) body over 1 MiB with 413 body_too_large before checking its signature", async () => {
    const before = await repoState();
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 17) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
      cancel() {
        sent = Infinity;
      },
    });
    const res = await postArtifactsRaw(stream as unknown as Uint8Array, { query: "?wait=true", webhook: { "webhook-id": "msg_stream", "webhook-timestamp": "1", "webhook-signature": "v1,AA==" } });
    await expectError(res, 413, "body_too_large");
    expect(await repoState()).toEqual(before);
  });

  it("accepts blake2b-256 beside sha256 and signs only sha256, which every client can check (ADR 0003)", async () => {
    const path = "packages/blake/blake-1.0.tar.gz";
    const res = await postArtifactsRaw(add({ path, hashes: { sha256: SHA256, "blake2b-256": "ef".repeat(32) } }), { query: "?wait=true" });
    expect(res.status, await res.clone().text()).toBe(200);
    const { bins } = (await res.json()) as { bins: Record<string, number> };
    const [role, version] = Object.entries(bins)[0]!;
    const bin = JSON.parse(new TextDecoder().decode(await getBytes(`/metadata/${version}.${role}.json`))) as {
      signed: { targets: Record<string, { hashes: Record<string, string> }> };
    };
    expect(bin.signed.targets[path]!.hashes).toEqual({ sha256: SHA256 });
  });

  it("accepts a body of exactly 1 MiB (the limit is inclusive)", async () => {
    // custom is bounded per entry, so the mebibyte is spread over entries of about 16 KiB each.
    const entries = Array.from({ length: 64 }, (_, i) => entry({ path: `limit/exact-${i}.bin`, custom: { filler: "" } }));
    const prefix = JSON.stringify({ add: entries });
    const room = 1024 * 1024 - prefix.length;
    const each = Math.floor(room / 64);
    let k = 0;
    const body = prefix.replace(/"filler":""/g, () => `"filler":"${"x".repeat(k++ === 0 ? room - 63 * each : each)}"`);
    expect(new TextEncoder().encode(body).length).toBe(1024 * 1024);
    const res = await postArtifactsRaw(body, { query: "?wait=true" });
    expect(res.status, await res.clone().text()).toBe(200);
  });

});

describe("POST /api/v1/artifacts redelivered with the same webhook-id", () => {
  const key = "msg_release-demo-2.0";
  const body = JSON.stringify({ add: [entry({ path: "idem/demo-2.0.tar.gz", hashes: { sha256: SHA256, sha512: SHA512 } })] });
  let first: { receipt: string; status: string; timestamp: number; bins: Record<string, number> };

  beforeAll(async () => {
    const res = await postArtifactsRaw(body, { query: "?wait=true", id: key });
    expect(res.status, await res.clone().text()).toBe(200);
    first = (await res.json()) as typeof first;
  });

  it("publishes the first request once", async () => {
    expect(first.status).toBe("published");
    expect(typeof first.receipt).toBe("string");
    const status = await getStatus();
    expect(status.roles.timestamp.version).toBe(first.timestamp);
  });

  it("answers the same id and body (re-signed later, as a retry is) with the same receipt and publishes nothing more", async () => {
    const before = await repoState();
    const res = await postArtifactsRaw(body, { query: "?wait=true", id: key });
    expect(res.status).toBe(200);
    const again = (await res.json()) as typeof first;
    expect(again.receipt).toBe(first.receipt);
    expect(again).toEqual(first);
    expect(await repoState()).toEqual(before);
    expect(before.timestampVersion).toBe(first.timestamp);
  });

  it("answers the same id and body without ?wait with the same published receipt", async () => {
    const before = await repoState();
    const res = await postArtifactsRaw(body, { id: key });
    expect(res.status).toBe(200);
    expect(((await res.json()) as typeof first).receipt).toBe(first.receipt);
    expect(await repoState()).toEqual(before);
  });

  it("refuses the same id with a different body with 422 webhook_id_reused and changes nothing", async () => {
    const before = await repoState();
    const other = JSON.stringify({ add: [entry({ path: "idem/demo-2.1.tar.gz" })] });
    const res = await postArtifactsRaw(other, { query: "?wait=true", id: key });
    await expectError(res, 422, "webhook_id_reused");
    expect(await repoState()).toEqual(before);
  });

  it("refuses the same id with the same entries serialised differently (the raw body counts)", async () => {
    const before = await repoState();
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    const res = await postArtifactsRaw(reformatted, { query: "?wait=true", id: key });
    await expectError(res, 422, "webhook_id_reused");
    expect(await repoState()).toEqual(before);
  });

  it("publishes a new id with the same body as a new receipt", async () => {
    const res = await postArtifactsRaw(body, { query: "?wait=true", id: `${key}-b` });
    expect(res.status).toBe(200);
    const other = (await res.json()) as typeof first;
    expect(other.receipt).not.toBe(first.receipt);
    expect(other.status).toBe("published");
  });
});
