/**
 * No input gets a 5xx, and no accepted input breaks a client or the cron
 * (issue 13, item 4): the bad-input corpus that found 500s and unreadable
 * bins, each now a documented 4xx that changes nothing.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import { MAX_CUSTOM_BYTES, MAX_CUSTOM_DEPTH, MAX_PATH_BYTES } from "../../src/http/validate.js";
import { adminHeaders, bootstrap, expectError, fetchWorker, postArtifacts, postArtifactsRaw, repoState } from "./helpers.js";

const SHA = "ab".repeat(32);
const entry = (path: string, extra: Record<string, unknown> = {}) => ({ path, length: 3, hashes: { sha256: SHA }, ...extra });
const nested = (depth: number): string => `${'{"a":'.repeat(depth - 1)}{"leaf":1}${"}".repeat(depth - 1)}`;
const withCustom = (custom: string, path = "deep/a.tar.gz") => `{"add":[{"path":${JSON.stringify(path)},"length":3,"hashes":{"sha256":"${SHA}"},"custom":${custom}}]}`;
const stub = () => env.PUBLISHER.getByName("default");
const HOUR = 3_600_000;

beforeAll(async () => {
  await bootstrap(3);
});

describe("custom's depth and size", () => {
  it.each([1_200, 5_000, 100_000])("refuses custom nested %i levels deep with 422 custom_invalid, changing nothing", async (depth) => {
    const before = await repoState();
    await expectError(await postArtifactsRaw(withCustom(nested(depth)), { query: "?wait=true" }), 422, "custom_invalid");
    expect(await repoState()).toEqual(before);
  });

  it(`refuses custom one level deeper than ${MAX_CUSTOM_DEPTH}, and accepts exactly ${MAX_CUSTOM_DEPTH}`, async () => {
    const before = await repoState();
    await expectError(await postArtifactsRaw(withCustom(nested(MAX_CUSTOM_DEPTH + 1)), { query: "?wait=true" }), 422, "custom_invalid");
    // Deep arrays count the same as objects.
    await expectError(await postArtifactsRaw(withCustom(`{"a":${"[".repeat(MAX_CUSTOM_DEPTH)}${"]".repeat(MAX_CUSTOM_DEPTH)}}`), { query: "?wait=true" }), 422, "custom_invalid");
    expect(await repoState()).toEqual(before);
    const ok = await postArtifactsRaw(withCustom(nested(MAX_CUSTOM_DEPTH)), { query: "?wait=true" });
    expect(ok.status, await ok.clone().text()).toBe(200);
  });

  it("does not count brackets inside strings", async () => {
    const res = await postArtifacts({ add: [entry("deep/strings.tar.gz", { custom: { note: "[[[[[[[[[[[[[[[[{{{{{{{{{{{{" } })] }, { query: "?wait=true" });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it(`refuses custom over ${MAX_CUSTOM_BYTES} bytes of canonical JSON with 422 custom_invalid`, async () => {
    const before = await repoState();
    const res = await postArtifacts({ add: [entry("big/a.tar.gz", { custom: { filler: "x".repeat(MAX_CUSTOM_BYTES) } })] }, { query: "?wait=true" });
    await expectError(res, 422, "custom_invalid");
    expect(await repoState()).toEqual(before);
  });

  it("refuses an admin body nested thousands of levels deep with 400, never 5xx", async () => {
    const res = await fetchWorker("/api/v1/metadata", { method: "POST", headers: adminHeaders, body: `{"root":${nested(5_000)}}` });
    await expectError(res, 400, "request_invalid");
  });
});

describe("paths", () => {
  it.each([
    { why: "is ~990 bytes (its hash-prefixed R2 key would pass 1,024)", path: `long/${"a".repeat(985)}` },
    { why: `is ${MAX_PATH_BYTES + 1} bytes`, path: "b".repeat(MAX_PATH_BYTES + 1) },
    { why: "has a C1 control (U+0085)", path: "pkg/a\u0085.tar.gz" },
    { why: "has a C1 control (U+0080)", path: "pkg/a\u0080.tar.gz" },
    { why: "has a C1 control (U+009F)", path: "pkg/a\u009f.tar.gz" },
    { why: "has a space", path: "pkg/a b.tar.gz" },
    { why: "has a non-ASCII letter", path: "pkg/caf\u00e9.tar.gz" },
    { why: "has a no-break space", path: "pkg/a\u00a0b.tar.gz" },
    ...[..."\"<>^`{|};:'()*$&[]"].map((ch) => ({ why: `has ${ch}`, path: `pkg/a${ch}b.tar.gz` })),
  ])("refuses a path that $why with 422 path_invalid, changing nothing", async ({ path }) => {
    const before = await repoState();
    await expectError(await postArtifacts({ add: [entry(path)] }, { query: "?wait=true" }), 422, "path_invalid");
    await expectError(await postArtifacts({ remove: [path] }, { query: "?wait=true" }), 422, "path_invalid");
    expect(await repoState()).toEqual(before);
  });

  it("accepts the URL-safe extras + ! = , @ ~ and serves the hosted file at the name a client builds", async () => {
    const path = "safe/pkg-1.0+local_build~2!x=y,z@w.tar.gz";
    const put = await fetchWorker(`/api/v1/targets/${path}?wait=true`, { method: "PUT", headers: adminHeaders, body: "abc" });
    expect(put.status, await put.clone().text()).toBe(200);
    const plain = await fetchWorker(`/targets/${encodeURI(path)}`);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe("abc");
  });

  it(`hosts a target whose path is exactly ${MAX_PATH_BYTES} bytes (every R2 key fits)`, async () => {
    const path = `max/${"c".repeat(MAX_PATH_BYTES - 4)}`;
    const put = await fetchWorker(`/api/v1/targets/${path}?wait=true`, { method: "PUT", headers: adminHeaders, body: "max" });
    expect(put.status, await put.clone().text()).toBe(200);
    expect((await fetchWorker(`/targets/${path}`)).status).toBe(200);
  });

  it.each([
    { why: "a 2,000-byte target name", path: `/targets/${"t".repeat(2_000)}` },
    { why: "a 2,000-byte hash-prefixed target name", path: `/targets/d/${"a".repeat(64)}.${"t".repeat(2_000)}` },
    { why: "a 2,000-byte metadata name", path: `/metadata/1.${"m".repeat(2_000)}.json` },
  ])("answers GET of $why with 404 not_found, never 5xx", async ({ path }) => {
    await expectError(await fetchWorker(path), 404, "not_found");
  });
});

describe("a failing sweep never stops renewal", () => {
  it("renews while every R2 delete fails, then sweeps once deletes work again", async () => {
    await stub().submit({ changes: [{ op: "add", path: "sweep/a.whl", length: 1, hashes: { sha256: SHA } }], bodySha256: "s1", wait: true });
    await stub().submit({ changes: [{ op: "add", path: "sweep/b.whl", length: 1, hashes: { sha256: SHA } }], bodySha256: "s2", wait: true });
    await runInDurableObject(stub(), (instance: Publisher) => {
      const self = instance as unknown as { env: Env };
      const real = self.env.BUCKET;
      (globalThis as { realBucket?: R2Bucket }).realBucket = real;
      self.env = {
        ...self.env,
        BUCKET: new Proxy(real, {
          get(target, prop) {
            if (prop === "delete") return () => Promise.reject(new Error("delete: The specified object name is not valid. (10020)"));
            const value = Reflect.get(target, prop);
            return typeof value === "function" ? value.bind(target) : value;
          },
        }),
      };
    });
    const before = (await stub().status())!.roles.timestamp.version;
    const later = Date.now() + 20 * HOUR; // past the renewal floor and the retention window
    expect(await stub().renew(later)).toMatchObject({ status: "published", timestamp: before + 1 });
    expect(await env.BUCKET.head("default/metadata/1.snapshot.json")).not.toBeNull();

    await runInDurableObject(stub(), (instance: Publisher) => {
      const self = instance as unknown as { env: Env };
      self.env = { ...self.env, BUCKET: (globalThis as { realBucket?: R2Bucket }).realBucket! };
    });
    // The keys that failed wait a day, then go.
    await stub().renew(later + 27 * HOUR);
    expect(await env.BUCKET.head("default/metadata/1.snapshot.json")).toBeNull();
  });

  it("keeps renewing and sweeping the rest when one superseded key is one R2 refuses", async () => {
    const poisoned = `default/targets/${"p".repeat(1_100)}`;
    await runInDurableObject(stub(), (instance: Publisher) => {
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      sql.exec("INSERT INTO superseded (key, since) VALUES (?, 0)", poisoned);
    });
    await stub().submit({ changes: [{ op: "add", path: "sweep/c.whl", length: 1, hashes: { sha256: SHA } }], bodySha256: "s3", wait: true });
    const status = (await stub().status())!;
    const oldSnapshot = `default/metadata/${status.roles.snapshot.version - 1}.snapshot.json`;
    expect(await env.BUCKET.head(oldSnapshot)).not.toBeNull();
    const later = Date.now() + 70 * HOUR;
    expect(await stub().renew(later)).toMatchObject({ status: "published" });
    expect(await env.BUCKET.head(oldSnapshot)).toBeNull();
    expect(await stub().renew(later + 5 * 60_000)).toBeDefined();
  });
});
