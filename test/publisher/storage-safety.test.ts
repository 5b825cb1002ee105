/**
 * Versions that storage accidents cannot reuse (issue 13, item 1): R2 keys are
 * scoped by repository, versioned files are written create-only, bootstrap
 * refuses a bucket that already serves the repository, and recovery rebuilds
 * a Publisher from what R2 serves and continues above every version it holds.
 */
import { readMetadata } from "../../src/publisher/at-rest.js";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import type { Publisher } from "../../src/publisher/publisher.js";
import { R2Keys } from "../../src/publisher/r2-keys.js";
import { makeCeremony, type Ceremony } from "../fixtures/ceremony.js";
import { verifyServed as verify } from "./served.js";
import { adminHeaders, bootstrapBody, expectError, fetchWorker, postBootstrap } from "../http/helpers.js";

const HOUR = 3_600_000;

/** A Publisher named `name` as a Worker with `REPOSITORY = repository` would run it. */
async function publisherFor(name: string, repository: string) {
  const stub = env.PUBLISHER.getByName(name);
  await runInDurableObject(stub, (instance: Publisher) => {
    const self = instance as unknown as { env: Env };
    self.env = { ...self.env, REPOSITORY: repository };
  });
  return stub;
}

const body = (ceremony: Ceremony) => ({ root: JSON.stringify(ceremony.root), targets: JSON.stringify(ceremony.targets), bins: JSON.stringify(ceremony.bins) });
const add = (path: string, n: number) => ({ op: "add" as const, path, length: n, hashes: { sha256: n.toString(16).padStart(64, "0") } });

async function read(key: string): Promise<Uint8Array | undefined> {
  return readMetadata(env.BUCKET, key);
}

/** The whole served repository, checked as tuf-edge verify checks it. */
function verifyServed(keys: R2Keys, ceremony: Ceremony) {
  return verify(env.BUCKET, keys, Metadata.fromJSON("root", ceremony.root));
}

/** Calls recover() until it stops answering "recovering": what `tuf-edge recover` does. */
async function recoverAll(stub: DurableObjectStub<Publisher>, steps: string[] = []) {
  for (;;) {
    const result = await stub.recover();
    steps.push(result.status);
    if (result.status !== "recovering") return result;
  }
}

describe("two repositories on one bucket", () => {
  it("write, serve and sweep only their own keys", async () => {
    const ceremony = await makeCeremony({ bitLength: 3 });
    const a = await publisherFor("repo-a", "alpha");
    const b = await publisherFor("repo-b", "beta");
    expect(await a.bootstrap(body(ceremony))).toMatchObject({ status: "bootstrapped", published: true });
    expect(await b.bootstrap(body(ceremony))).toMatchObject({ status: "bootstrapped", published: true });
    for (let i = 0; i < 3; i++) {
      await a.submit({ changes: [add(`a/${i}.whl`, i + 1)], bodySha256: `a${i}`, wait: true });
      await b.submit({ changes: [add(`b/${i}.whl`, i + 1)], bodySha256: `b${i}`, wait: true });
    }
    await a.submit({ changes: [add("a/extra.whl", 9)], bodySha256: "a-extra", wait: true });
    const alpha = new R2Keys("alpha");
    const beta = new R2Keys("beta");
    // Each sweeps far past the retention window: the other's current state must survive.
    await a.renew(Date.now() + 3 * HOUR);
    await b.renew(Date.now() + 3 * HOUR);
    const stateA = await verifyServed(alpha, ceremony);
    const stateB = await verifyServed(beta, ceremony);
    expect(stateA.timestamp.version).toBeGreaterThan(stateB.timestamp.version);
    expect([...stateA.targets.values()].flatMap((t) => Object.keys(t.targets)).sort()).toEqual(["a/0.whl", "a/1.whl", "a/2.whl", "a/extra.whl"]);
    expect([...stateB.targets.values()].flatMap((t) => Object.keys(t.targets)).sort()).toEqual(["b/0.whl", "b/1.whl", "b/2.whl"]);
    const unscoped = (await env.BUCKET.list()).objects.map((o) => o.key).filter((k) => !k.startsWith("alpha/") && !k.startsWith("beta/"));
    expect(unscoped).toEqual([]);
  });
});

describe("a versioned name that already holds other bytes", () => {
  it("fails the publish loudly and keeps the stored bytes; the publish completes once the name is free", async () => {
    const ceremony = await makeCeremony({ bitLength: 3 });
    const p = await publisherFor("repo-c", "gamma");
    const keys = new R2Keys("gamma");
    await p.bootstrap(body(ceremony));
    const planted = new TextEncoder().encode('{"not":"ours"}');
    await env.BUCKET.put(keys.versioned("snapshot", 2), planted);
    const before = await read(keys.timestamp);

    const result = await p.submit({ changes: [add("c/1.whl", 1)], bodySha256: "c1", wait: true });
    expect(result.status).toBe("queued");
    expect(await read(keys.versioned("snapshot", 2))).toEqual(planted);
    expect(await read(keys.timestamp)).toEqual(before);
    expect((await p.status())!.publishing).toBe(true);

    await env.BUCKET.delete(keys.versioned("snapshot", 2));
    expect(await p.renew()).toMatchObject({ status: "published", timestamp: 2 });
    expect((await verifyServed(keys, ceremony)).snapshot.version).toBe(2);
  });
});

describe("bootstrap over a bucket that already serves the repository, then recovery", () => {
  let ceremony: Ceremony;
  const keys = new R2Keys("default");
  beforeAll(async () => {
    ceremony = await makeCeremony({ bitLength: 3 });
    const res = await postBootstrap(bootstrapBody(ceremony));
    expect(res.status).toBe(201);
    const stub = env.PUBLISHER.getByName("default");
    for (let i = 0; i < 4; i++) await stub.submit({ changes: [add(`pkg/p-${i}.whl`, i + 10)], bodySha256: `p${i}`, wait: true });
    await stub.submit({ changes: [{ op: "remove", path: "pkg/p-0.whl" }], bodySha256: "rm", wait: true });
  });

  it("refuses a second bootstrap from an empty Publisher with 409 repository_in_bucket, writing nothing", async () => {
    const listed = (await env.BUCKET.list({ prefix: keys.prefix })).objects.map((o) => `${o.key} ${o.etag}`).sort();
    const fresh = await publisherFor("lost-storage", "default");
    expect(await fresh.bootstrap(body(ceremony))).toEqual({ status: "bucket_in_use" });
    expect((await env.BUCKET.list({ prefix: keys.prefix })).objects.map((o) => `${o.key} ${o.etag}`).sort()).toEqual(listed);
    // And through the route, for the operator: the Publisher there is bootstrapped, so it is 409 either way.
    await expectError(await postBootstrap(bootstrapBody(ceremony)), 409, "already_bootstrapped");
  });

  it("recovers the repository from R2 into an empty Publisher and continues above every version found", async () => {
    const served = await verifyServed(keys, ceremony);
    // An unfinished publish left a newer bin file than the snapshot lists: recovery must go above it too.
    const bin = "bin-0";
    const orphan = served.snapshot.meta[`${bin}.json`]!.version + 5;
    await env.BUCKET.put(keys.versioned(bin, orphan), new TextEncoder().encode("orphan"));

    const fresh = await publisherFor("lost-storage", "default");
    const steps: string[] = [];
    const result = await recoverAll(fresh, steps);
    // 8 bins: the start, one listing step, and one step that reads every bin-n and finishes.
    expect(steps).toEqual(["recovering", "recovering", "recovered"]);
    expect(result).toMatchObject({
      status: "recovered",
      found: { root: 1, targets: 1, bins: 1, timestamp: served.timestamp.version, artifacts: 3 },
      timestamp: served.timestamp.version + 1,
      snapshot: served.snapshot.version + 1,
      published: true,
    });
    const after = await verifyServed(keys, ceremony);
    expect(after.snapshot.meta[`${bin}.json`]!.version).toBe(orphan + 1);
    for (const [file, meta] of Object.entries(after.snapshot.meta))
      if (file.startsWith("bin-")) expect(meta.version, file).toBeGreaterThan(served.snapshot.meta[file]!.version);
    expect([...after.targets.values()].flatMap((t) => Object.keys(t.targets)).sort()).toEqual(["pkg/p-1.whl", "pkg/p-2.whl", "pkg/p-3.whl"]);

    // It goes on publishing as before.
    expect(await fresh.submit({ changes: [add("pkg/after.whl", 99)], bodySha256: "after", wait: true })).toMatchObject({ status: "published" });
    expect(await fresh.recover()).toEqual({ status: "already_bootstrapped" });
  });

  it("refuses POST /api/v1/recover without the admin token, and on a Publisher that holds the repository", async () => {
    await expectError(await fetchWorker("/api/v1/recover", { method: "POST" }), 401, "unauthorized");
    await expectError(await fetchWorker("/api/v1/recover", { method: "POST", headers: adminHeaders }), 409, "already_bootstrapped");
  });

  it("refuses recovery when R2 holds nothing for the repository", async () => {
    const empty = await publisherFor("nothing-here", "empty");
    expect(await empty.recover()).toMatchObject({ status: "rejected", code: "malformed" });
  });
});

describe("recovery of a repository larger than one step", () => {
  it("goes on across calls, is not bootstrapped until done, and retries a step that failed", async () => {
    const ceremony = await makeCeremony({ bitLength: 6 }); // 64 bins: two steps of bin-n
    const keys = new R2Keys("delta");
    const lost = await publisherFor("delta-lost", "delta");
    expect(await lost.bootstrap(body(ceremony))).toMatchObject({ status: "bootstrapped", published: true });
    const paths = Array.from({ length: 40 }, (_, i) => `big/p-${i}.whl`);
    await lost.submit({ changes: paths.map((p, i) => add(p, i + 1)), bodySha256: "forty", wait: true });
    const served = await verifyServed(keys, ceremony);

    const fresh = await publisherFor("delta-fresh", "delta");
    expect(await fresh.recover()).toEqual({ status: "recovering", bins_read: 0, bins: 64, listed: false });
    expect(await fresh.recover()).toEqual({ status: "recovering", bins_read: 0, bins: 64, listed: true });
    expect(await fresh.recover()).toEqual({ status: "recovering", bins_read: 32, bins: 64, listed: true });
    // Half read: the Publisher takes nothing yet.
    expect(await fresh.submit({ changes: [add("big/early.whl", 1)], bodySha256: "early" })).toEqual({ status: "not_bootstrapped" });
    expect(await fresh.health()).toBeUndefined();

    // A bin-n of the next step is gone: the step is refused and changes nothing; once it is back, recovery goes on.
    const missing = keys.versioned("bin-33", served.snapshot.meta["bin-33.json"]!.version);
    const object = (await env.BUCKET.get(missing))!;
    const stored = { bytes: await object.arrayBuffer(), options: { httpMetadata: object.httpMetadata, customMetadata: object.customMetadata } };
    await env.BUCKET.delete(missing);
    expect(await fresh.recover()).toMatchObject({ status: "rejected", code: "download", message: expect.stringContaining("bin-33") });
    await env.BUCKET.put(missing, stored.bytes, stored.options);
    expect(await fresh.recover()).toMatchObject({ status: "recovered", found: { artifacts: 40 }, timestamp: served.timestamp.version + 1, published: true });

    const after = await verifyServed(keys, ceremony);
    expect([...after.targets.values()].flatMap((t) => Object.keys(t.targets)).sort()).toEqual([...paths].sort());
    expect((await fresh.status())!.artifacts).toBe(40);
    // What listArtifacts keeps per bin equals a recount of the rows it listed.
    const drift = await runInDurableObject(fresh, (instance: Publisher) => {
      const sql = (instance as unknown as { sql: SqlStorage }).sql;
      const bins = sql.exec(
        "SELECT COUNT(*) AS n FROM bins b WHERE bytes != (SELECT COALESCE(SUM(size), 0) FROM artifacts a WHERE a.bin = b.idx) " +
          "OR targets != (SELECT COUNT(*) FROM artifacts a WHERE a.bin = b.idx)",
      ).one().n;
      const sizes = sql.exec("SELECT COUNT(*) AS n FROM (SELECT targets, COUNT(*) AS c FROM bins GROUP BY targets) g LEFT JOIN bin_size_counts s ON s.size = g.targets WHERE s.bins IS NOT g.c").one().n;
      return { bins, sizes };
    });
    expect(drift).toEqual({ bins: 0, sizes: 0 });
  });
});
