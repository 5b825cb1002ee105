/**
 * Behaviours the README advertises, over real HTTP against a local Worker: compression and its
 * headers, every /healthz state, the 10 s bound of ?wait=true, group commit, and the plain 500.
 * (The snapshot self-check is issue 13's.)
 */
import { request } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { digestHex } from "../../src/tuf/index.js";
import { ADMIN_TOKEN } from "../fixtures/ceremony.js";
import { artifact, CrashRepo } from "./crash-harness.js";

/** A GET that leaves the body as sent (fetch would decode it), with the headers as a plain object. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on("error", reject)
      .end();
  });
}

describe("metadata compression", () => {
  let r: CrashRepo;
  let snapshotUrl: string;
  let snapshotMeta: { length: number; hashes: { sha256: string } };
  beforeAll(async () => {
    r = await CrashRepo.start({ bitLength: 8 });
    expect((await r.bootstrap()).status).toBe(201);
    const timestamp = JSON.parse((await rawGet(`${r.worker.url}/metadata/timestamp.json`)).body.toString());
    snapshotMeta = timestamp.signed.meta["snapshot.json"];
    snapshotUrl = `${r.worker.url}/metadata/${timestamp.signed.meta["snapshot.json"].version}.snapshot.json`;
  });
  afterAll(() => r?.close());

  it.each([
    ["br", brotliDecompressSync],
    ["gzip", gunzipSync],
  ] as const)("sends %s when accepted, with Vary and a weak ETag; the decoded bytes are the ones timestamp.json hashes", async (coding, decode) => {
    const res = await rawGet(snapshotUrl, { "accept-encoding": coding });
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBe(coding);
    expect(res.headers["vary"]).toMatch(/accept-encoding/i);
    expect(res.headers["etag"]).toMatch(/^W\/"/);
    const raw = decode(res.body);
    expect(res.body.length).toBeLessThan(raw.length);
    expect(raw.length).toBe(snapshotMeta.length);
    expect((await digestHex(raw, ["sha256"])).sha256).toBe(snapshotMeta.hashes.sha256);
    // The weak ETag revalidates.
    expect((await rawGet(snapshotUrl, { "accept-encoding": coding, "if-none-match": res.headers["etag"] as string })).status).toBe(304);
  });

  it("sends the identity with a strong ETag and Content-Length when no coding is accepted", async () => {
    const res = await rawGet(snapshotUrl, { "accept-encoding": "identity" });
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.headers["vary"]).toMatch(/accept-encoding/i);
    expect(res.headers["etag"]).toMatch(/^"/);
    expect(Number(res.headers["content-length"])).toBe(snapshotMeta.length);
    expect((await digestHex(res.body, ["sha256"])).sha256).toBe(snapshotMeta.hashes.sha256);
  });
});

describe("/healthz, ?wait=true and group commit", () => {
  let r: CrashRepo | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });
  const health = async (repo: CrashRepo) => {
    const res = await fetch(`${repo.worker.url}/healthz`);
    return { status: res.status, cache: res.headers.get("cache-control"), body: (await res.json()) as { ok: boolean; problems: string[] } };
  };

  it("is 503 before bootstrap, 200 after, 503 below the renewal floor, cacheable for 5 s", async () => {
    r = await CrashRepo.start();
    expect(await health(r)).toEqual({ status: 503, cache: "public, max-age=5", body: { ok: false, problems: ["not bootstrapped"] } });
    expect((await r.bootstrap()).status).toBe(201);
    expect(await health(r)).toEqual({ status: 200, cache: "public, max-age=5", body: { ok: true, problems: [] } });
    // An operator raises the floor above what the published roles have left (24 h): every online role is below it.
    await r.worker.kill();
    r.vars = { ONLINE_EXPIRY_HOURS: "48", RENEW_FLOOR_HOURS: "30" };
    await r.boot();
    const below = await health(r);
    expect(below).toMatchObject({ status: 503, cache: "public, max-age=5", body: { ok: false } });
    expect(below.body.problems.join("\n")).toMatch(/served timestamp v\d+ has \d+ s of validity left, below the 108000 s floor \(RENEW_FLOOR_HOURS\)/);
    expect(below.body.problems.join("\n")).toMatch(/served snapshot v\d+ has/);
    expect(below.body.problems.join("\n")).toMatch(/served bin-[0-9a-f]+ v\d+ has/);
  });

  it("?wait=true answers 202 after 10 s when the publish does not finish, and /healthz reports the stuck queue", async () => {
    r = await CrashRepo.start({ vars: { QUEUE_STUCK_SECONDS: "1" } });
    expect((await r.bootstrap()).status).toBe(201);
    await r.worker.kill();
    await r.boot("after-begin"); // the publish stops after begin and never finishes
    const t0 = Date.now();
    const waited = await r.publish({ add: [artifact()] }, "?wait=true");
    const elapsed = Date.now() - t0;
    expect(waited.status).toBe(202);
    expect(await waited.json()).toMatchObject({ status: "queued" });
    expect(elapsed).toBeGreaterThanOrEqual(10_000);
    expect(elapsed).toBeLessThan(15_000);
    // Queued behind the stopped publish, this one waits in the queue.
    expect((await r.publish({ add: [artifact()] })).status).toBe(202);
    await new Promise((res) => setTimeout(res, 2_100));
    const stuck = await health(r);
    expect(stuck).toMatchObject({ status: 503, cache: "public, max-age=5", body: { ok: false } });
    // The stopped publish, the change inside it, and the change queued behind it: each named (src/publisher/health.ts).
    expect(stuck.body.problems).toEqual([
      expect.stringMatching(/^publish of timestamp v2 in flight since \S+, longer than QUEUE_STUCK_SECONDS \(1 s\)$/),
      expect.stringMatching(/^a change in the publish of timestamp v2 has waited \d+ s, longer than QUEUE_STUCK_SECONDS \(1 s\)$/),
      expect.stringMatching(/^the oldest queued change has waited \d+ s, longer than QUEUE_STUCK_SECONDS \(1 s\)$/),
    ]);
  });

  it("group commit: 24 webhooks at once go out in fewer publishes than requests, each acknowledged in one of them", async () => {
    r = await CrashRepo.start();
    expect((await r.bootstrap()).status).toBe(201);
    const before = (await r.status()).roles.timestamp.version;
    const receipts = await Promise.all(
      Array.from({ length: 24 }, async () => {
        const res = await r!.publish({ add: [artifact()] }, "?wait=true");
        expect(res.status).toBe(200);
        return (await res.json()) as { timestamp: number };
      }),
    );
    const publishes = (await r.status()).roles.timestamp.version - before;
    expect(new Set(receipts.map((x) => x.timestamp)).size).toBeLessThanOrEqual(publishes);
    expect(publishes).toBeLessThan(24);
    await r.check();
  });

  it("an unexpected failure is a plain 500 that says nothing internal", async () => {
    // A malformed ONLINE_KEY is now refused up front (503 config_invalid); a WEBHOOK_SECRET that is not
    // whsec_<base64> is not checked up front, so verifying the webhook fails inside.
    r = await CrashRepo.start({ vars: { WEBHOOK_SECRET: "not-a-standard-webhooks-secret" } });
    expect((await r.bootstrap()).status).toBe(201);
    const res = await r.publish({ add: [artifact()] });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: { code: "internal", message: "internal error" } });
  });
});
