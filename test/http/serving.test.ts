/**
 * What clients fetch after bootstrap and one publish: cache lifetimes, ETags and
 * conditional GETs, HEAD, 404s that are JSON and never 5xx, hosted targets under
 * plain and hash-prefixed names, receipts, /healthz and /api/v1/status.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import {
  adminHeaders,
  bootstrap,
  expectError,
  fetchWorker,
  getStatus,
  postArtifacts,
  sha,
  type StatusBody,
} from "./helpers.js";
import type { PublishedReceipt as Receipt } from "../../src/publisher/types.js";

const IMMUTABLE = "public, max-age=31536000, immutable";
const HELLO = new TextEncoder().encode("hello, tuf-edge\n");


let published: Receipt;

beforeAll(async () => {
  await bootstrap(4);
  const res = await postArtifacts(
    { add: [{ path: "pkg/served-1.0.tar.gz", length: 5, hashes: { sha256: "ab".repeat(32) } }] },
    { query: "?wait=true" },
  );
  expect(res.status, await res.clone().text()).toBe(200);
  published = (await res.json()) as Receipt;
  expect(published.status).toBe("published");
});

describe("GET /metadata/timestamp.json", () => {
  it("is JSON with a 60 s public cache and an ETag", async () => {
    const res = await fetchWorker("/metadata/timestamp.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("etag")).toMatch(/^"[^"]+"$/);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(res.headers.get("content-length")).toBe(String(bytes.length));
    expect(Metadata.fromBytes("timestamp", bytes).signed.version).toBe(published.timestamp);
  });

  it("answers If-None-Match with its ETag with 304 and no body", async () => {
    const etag = (await fetchWorker("/metadata/timestamp.json")).headers.get("etag")!;
    const res = await fetchWorker("/metadata/timestamp.json", { headers: { "if-none-match": etag } });
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(etag);
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(await res.text()).toBe("");
  });

  it("answers If-None-Match with another ETag with 200 and the body", async () => {
    const res = await fetchWorker("/metadata/timestamp.json", { headers: { "if-none-match": '"not-the-etag"' } });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it("does not answer a failed If-Match with 304 Not Modified (RFC 9110: 412 or the full response)", async () => {
    const res = await fetchWorker("/metadata/timestamp.json", { headers: { "if-match": '"not-the-etag"' } });
    expect(res.status).not.toBe(304);
    expect([200, 412]).toContain(res.status);
    await res.arrayBuffer();
  });

  it("answers HEAD with the GET headers and no body", async () => {
    const get = await fetchWorker("/metadata/timestamp.json");
    const getLength = (await get.arrayBuffer()).byteLength;
    const res = await fetchWorker("/metadata/timestamp.json", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(get.headers.get("etag"));
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("content-length")).toBe(String(getLength));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });
});

describe("GET /metadata/N.role.json", () => {
  const versioned = () => [
    "1.root.json",
    "1.targets.json",
    "1.bins.json",
    `${published.snapshot}.snapshot.json`,
    ...Object.entries(published.bins).map(([bin, version]) => `${version}.${bin}.json`),
    "1.bin-0.json",
  ];

  it("serves every versioned file as immutable JSON with an ETag", async () => {
    for (const name of versioned()) {
      const res = await fetchWorker(`/metadata/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get("cache-control"), name).toBe(IMMUTABLE);
      expect(res.headers.get("content-type"), name).toMatch(/^application\/json/);
      expect(res.headers.get("etag"), name).toMatch(/^"[^"]+"$/);
      expect(JSON.parse(await res.text()), name).toHaveProperty("signed.version");
    }
  });

  it("answers If-None-Match on a versioned file with 304", async () => {
    const first = await fetchWorker("/metadata/1.root.json");
    await first.arrayBuffer();
    const res = await fetchWorker("/metadata/1.root.json", { headers: { "if-none-match": first.headers.get("etag")! } });
    expect(res.status).toBe(304);
    expect(res.headers.get("cache-control")).toBe(IMMUTABLE);
    expect(await res.text()).toBe("");
  });

  it("answers HEAD on a versioned file with headers and no body", async () => {
    const res = await fetchWorker("/metadata/1.root.json", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe(IMMUTABLE);
    expect(res.headers.get("etag")).toMatch(/^"[^"]+"$/);
    expect(Number(res.headers.get("content-length"))).toBeGreaterThan(0);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it.each([
    "/metadata/99.root.json",
    "/metadata/2.root.json",
    "/metadata/99.snapshot.json",
    "/metadata/99.bin-0.json",
    "/metadata/1.bin-99.json",
    "/metadata/0.root.json",
  ])("answers %s, which is not published, with 404 not_found (never 5xx)", async (path) => {
    await expectError(await fetchWorker(path), 404, "not_found");
  });

  it.each([
    "/metadata/foo.json",
    "/metadata/root.json",
    "/metadata/1.ROOT.json",
    "/metadata/1.root.JSON",
    "/metadata/1.root",
    "/metadata/-1.root.json",
    "/metadata/1..json",
    "/metadata/",
    "/metadata",
    "/metadata/../x",
    "/metadata/%2e%2e/x",
    "/metadata/..%2fx",
    "/metadata/1.root.json/extra",
    "/metadata/timestamp.json.bak",
  ])("answers the unknown metadata name %s with a 404 JSON error", async (path) => {
    await expectError(await fetchWorker(path), 404, "not_found");
  });

  it("does not let the metadata route read other R2 keys", async () => {
    // 1.root.json exists; a name that R2 would resolve elsewhere must not.
    await expectError(await fetchWorker("/metadata/1.root.json%00"), 404, "not_found");
  });
});

describe("routes that do not exist", () => {
  // "/" is the status page (test/http/status-page.test.ts).
  it.each(["/nope", "/api/v1", "/api/v1/nope", "/api/v2/status", "/healthz/extra"])("answer GET %s with a 404 JSON error", async (path) => {
    await expectError(await fetchWorker(path), 404, "not_found");
  });

  it("answer POST /metadata/timestamp.json with a 404 JSON error", async () => {
    await expectError(await fetchWorker("/metadata/timestamp.json", { method: "POST", body: "{}" }), 404, "not_found");
  });

  it("answer GET /api/v1/artifacts with a 404 JSON error", async () => {
    await expectError(await fetchWorker("/api/v1/artifacts"), 404, "not_found");
  });
});

describe("hosted targets via PUT /api/v1/targets/<path>", () => {
  let receipt: Receipt;
  let sha256: string;
  let sha512: string;

  beforeAll(async () => {
    sha256 = await sha("SHA-256", HELLO);
    sha512 = await sha("SHA-512", HELLO);
    const res = await fetchWorker("/api/v1/targets/files/hello.txt?wait=true", { method: "PUT", headers: adminHeaders, body: HELLO });
    expect(res.status, await res.clone().text()).toBe(200);
    receipt = (await res.json()) as Receipt;
  });

  it("returns a published receipt that lists one bin", () => {
    expect(receipt.status).toBe("published");
    expect(Object.keys(receipt.bins)).toHaveLength(1);
    expect(Object.keys(receipt.bins)[0]).toMatch(/^bin-[0-9a-f]$/);
    expect(receipt.timestamp).toBeGreaterThan(published.timestamp);
  });

  it("lists the file with its length and both hashes in the bin version of the receipt", async () => {
    const [bin, version] = Object.entries(receipt.bins)[0]!;
    const res = await fetchWorker(`/metadata/${version}.${bin}.json`);
    expect(res.status).toBe(200);
    const md = Metadata.fromBytes("targets", new Uint8Array(await res.arrayBuffer()));
    const target = md.signed.targets["files/hello.txt"]!;
    expect(target.length).toBe(HELLO.length);
    expect(target.hashes).toEqual({ sha256, sha512 });
  });

  it("serves the bytes under the plain path with a short cache", async () => {
    const res = await fetchWorker("/targets/files/hello.txt");
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(HELLO);
    expect(res.headers.get("cache-control")).not.toBe(IMMUTABLE);
    expect(res.headers.get("etag")).toMatch(/^"[^"]+"$/);
  });

  it.each(["sha256", "sha512"] as const)("serves the bytes under the %s-prefixed name as immutable", async (alg) => {
    const digest = alg === "sha256" ? sha256 : sha512;
    const res = await fetchWorker(`/targets/files/${digest}.hello.txt`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(HELLO);
    expect(res.headers.get("cache-control")).toBe(IMMUTABLE);
  });

  it("answers HEAD on a hosted target with headers and no body", async () => {
    const res = await fetchWorker(`/targets/files/${sha256}.hello.txt`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(HELLO.length));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("answers If-None-Match on a hosted target with 304", async () => {
    const first = await fetchWorker(`/targets/files/${sha256}.hello.txt`);
    await first.arrayBuffer();
    const res = await fetchWorker(`/targets/files/${sha256}.hello.txt`, { headers: { "if-none-match": first.headers.get("etag")! } });
    expect(res.status).toBe(304);
  });

  it("returns the receipt from GET /api/v1/receipts/<id> as published", async () => {
    const res = await fetchWorker(`/api/v1/receipts/${receipt.receipt}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(receipt);
  });

  it("returns the first publish's receipt from GET /api/v1/receipts/<id> too", async () => {
    const res = await fetchWorker(`/api/v1/receipts/${published.receipt}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(published);
  });

  it.each(["00000000-0000-0000-0000-000000000000", "nope"])("answers the unknown receipt %s with 404 receipt_not_found", async (id) => {
    await expectError(await fetchWorker(`/api/v1/receipts/${id}`), 404, "receipt_not_found");
  });

  it.each([
    "/targets/files/missing.txt",
    `/targets/files/${"0".repeat(64)}.hello.txt`,
    "/targets/files/",
    "/targets/",
  ])("answers the unknown target %s with a 404 JSON error", async (path) => {
    await expectError(await fetchWorker(path), 404, "not_found");
  });

  it.each([
    { why: "a lone % escape", path: "/targets/files/100%.txt" },
    { why: "an invalid UTF-8 escape", path: "/targets/files/%E0%A4%A.txt" },
    { why: "%zz", path: "/targets/files/%zz" },
  ])("answers a target URL with $why with a 404 JSON error, never 5xx", async ({ path }) => {
    await expectError(await fetchWorker(path), 404, "not_found");
  });

  it.each([
    { why: "a lone % escape", path: "/api/v1/targets/files/100%.txt" },
    { why: "%zz", path: "/api/v1/targets/files/%zz" },
  ])("refuses PUT of a path with $why with 422 path_invalid, never 5xx", async ({ path }) => {
    await expectError(await fetchWorker(path, { method: "PUT", headers: adminHeaders, body: "x" }), 422, "path_invalid");
  });

  it("either refuses a path with a literal % or serves it at the unencoded URL a TUF client builds", async () => {
    // tuf-js and python-tuf join the target path into the URL unencoded (see validatePath).
    const res = await fetchWorker("/api/v1/targets/files/100%25.txt?wait=true", { method: "PUT", headers: adminHeaders, body: HELLO });
    if (res.status === 422) {
      await expectError(res, 422, "path_invalid");
      return;
    }
    expect(res.status, await res.clone().text()).toBe(200);
    const served = await fetchWorker(`/targets/files/${sha256}.100%.txt`);
    expect(served.status).toBe(200);
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(HELLO);
  });

  it.each([
    { why: "has a .. segment", path: "/api/v1/targets/files/..%2Fescape.txt" },
    { why: "has a trailing /", path: "/api/v1/targets/files/dir/" },
    { why: "has a backslash", path: "/api/v1/targets/files%5Cwin.txt" },
  ])("refuses PUT of a path that $why with 422 path_invalid", async ({ path }) => {
    await expectError(await fetchWorker(path, { method: "PUT", headers: adminHeaders, body: "x" }), 422, "path_invalid");
  });

  it("refuses a PUT that reuses an Idempotency-Key with other bytes with 422 and keeps serving the published bytes", async () => {
    const key = "upload-hello-2";
    const first = await fetchWorker("/api/v1/targets/files/hello2.txt?wait=true", {
      method: "PUT",
      headers: { ...adminHeaders, "idempotency-key": key },
      body: HELLO,
    });
    expect(first.status, await first.clone().text()).toBe(200);
    const statusBefore = await getStatus();
    const res = await fetchWorker("/api/v1/targets/files/hello2.txt?wait=true", {
      method: "PUT",
      headers: { ...adminHeaders, "idempotency-key": key },
      body: "other bytes",
    });
    await expectError(res, 422, "idempotency_key_reused");
    expect((await getStatus()).roles.timestamp.version).toBe(statusBefore.roles.timestamp.version);
    // The signed metadata still lists HELLO's hashes; the plain name must still serve HELLO.
    const served = await fetchWorker("/targets/files/hello2.txt");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(HELLO);
  });
});

describe("GET /healthz", () => {
  it("answers 200 {ok:true} after bootstrap", async () => {
    const res = await fetchWorker("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, problems: [] });
    expect(res.headers.get("cache-control")).toBe("public, max-age=5");
  });
});

describe("GET /api/v1/status", () => {
  let status: StatusBody;
  beforeAll(async () => {
    status = await getStatus();
  });

  it.each(["timestamp", "snapshot", "oldest_bin", "bins", "targets", "root"] as const)("reports the %s role with version, expires and seconds_left", (role) => {
    const view = status.roles[role];
    expect(Number.isSafeInteger(view.version) && view.version >= 1).toBe(true);
    expect(view.expires).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
    expect(Number.isSafeInteger(view.seconds_left)).toBe(true);
    expect(view.seconds_left).toBeGreaterThan(0);
  });

  it("names the oldest bin", () => {
    expect(status.roles.oldest_bin.role).toMatch(/^bin-[0-9a-f]$/);
  });

  it("reports the published versions of timestamp and snapshot", async () => {
    const ts = Metadata.fromBytes("timestamp", new Uint8Array(await (await fetchWorker("/metadata/timestamp.json")).arrayBuffer()));
    expect(status.roles.timestamp.version).toBe(ts.signed.version);
    expect(status.roles.snapshot.version).toBe(ts.signed.snapshotMeta.version);
    expect(status.roles.root.version).toBe(1);
  });

  it("reports queue_depth, artifacts, last_publish and the number of bins", () => {
    expect(status.queue_depth).toBe(0);
    expect(status.artifacts).toBeGreaterThanOrEqual(2);
    expect(status.last_publish).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(status.bins).toBe(16);
  });

  it("may be cached for a few seconds (it is public; a flood must not reach the Publisher)", async () => {
    const res = await fetchWorker("/api/v1/status");
    expect(res.headers.get("cache-control")).toBe("public, max-age=5");
    await res.arrayBuffer();
  });
});
