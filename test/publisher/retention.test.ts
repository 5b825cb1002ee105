/**
 * Retention cleanup (PEP 458 §Cleaning up old metadata): files no published
 * state needs are deleted once the retention window has passed since they
 * were superseded; the newest state and every root version are kept. The
 * sweep is a mark-and-sweep (issue 13, item 6): whatever the current state
 * lists, queues or serves as a current version is kept, whatever the
 * superseded table says.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import { DEFAULT_POLICY } from "../../src/publisher/policy.js";
import type { Publisher } from "../../src/publisher/publisher.js";
import { R2Keys } from "../../src/publisher/r2-keys.js";
import type { Change } from "../../src/publisher/types.js";
import { adminHeaders, bootstrap, sha } from "../http/helpers.js";

const stub = () => env.PUBLISHER.getByName(env.REPOSITORY);
const HOUR = 3_600_000;
const exists = async (key: string) => (await env.BUCKET.head(key)) !== null;

async function reachableKeys(): Promise<string[]> {
  const ts = Metadata.fromBytes("timestamp", new Uint8Array(await (await env.BUCKET.get("default/metadata/timestamp.json"))!.arrayBuffer()));
  const snapName = `default/metadata/${ts.signed.snapshotMeta.version}.snapshot.json`;
  const snapshot = Metadata.fromBytes("snapshot", new Uint8Array(await (await env.BUCKET.get(snapName))!.arrayBuffer()));
  return [snapName, ...Object.entries(snapshot.signed.meta).map(([file, m]) => `default/metadata/${m.version}.${file}`)];
}

describe("retention cleanup", () => {
  beforeAll(async () => {
    await bootstrap(3);
  });

  it("keeps superseded files within the window and deletes them after it, never the newest state or a root", async () => {
    const hosted = await exports.default.fetch(
      new Request("http://tuf.test/api/v1/targets/files/old.txt?wait=true", { method: "PUT", headers: adminHeaders, body: "old" }),
    );
    expect(hosted.status).toBe(200);
    for (let i = 0; i < 5; i++)
      await stub().submit({ changes: [{ op: "add", path: `pkg/${i}.whl`, length: i, hashes: { sha256: "e".repeat(64) } }], bodySha256: `r${i}`, wait: true });
    await stub().submit({ changes: [{ op: "remove", path: "files/old.txt" }], bodySha256: "rm", wait: true });
    expect(await exists("default/metadata/1.snapshot.json")).toBe(true);
    expect(await exists("default/targets/files/old.txt")).toBe(true);

    // Within the window nothing goes.
    await stub().renew(Date.now() + DEFAULT_POLICY.retentionMs / 2);
    expect(await exists("default/metadata/1.snapshot.json")).toBe(true);

    // After it, everything superseded goes: old snapshots, old bin versions, the removed target's copies.
    await stub().renew(Date.now() + DEFAULT_POLICY.retentionMs + HOUR);
    expect(await exists("default/metadata/1.snapshot.json")).toBe(false);
    expect(await exists("default/targets/files/old.txt")).toBe(false);
    for (const prefix of ["default/targets/", "default/consistent/"])
      expect((await env.BUCKET.list({ prefix })).objects.map((o) => o.key), prefix).toEqual([]);

    const keep = await reachableKeys();
    for (const key of keep) expect(await exists(key), key).toBe(true);
    expect(await exists("default/metadata/1.root.json")).toBe(true);
    // What else remains was superseded by this very run's renewal publish, and keeps its own window:
    // exactly one version behind the current one.
    const current = new Map(keep.map((k) => { const [, v, role] = /^default\/metadata\/(\d+)\.(.+)$/.exec(k)!; return [role!, Number(v)]; }));
    const others = (await env.BUCKET.list({ prefix: "default/metadata/" })).objects
      .map((o) => o.key)
      .filter((k) => !keep.includes(k) && k !== "default/metadata/1.root.json" && k !== "default/metadata/timestamp.json");
    for (const key of others) {
      const [, v, role] = /^default\/metadata\/(\d+)\.(.+)$/.exec(key)!;
      expect(Number(v), key).toBe(current.get(role!)! - 1);
    }
  });
});

/**
 * Mark-and-sweep. These tests run on their own simulated clock, later than the test above's renewals,
 * and write each hosted target's copies to R2 directly, as the PUT route does before it submits.
 */
describe("the sweep keeps what the current state references", () => {
  const keys = new R2Keys("default");
  const WINDOW = DEFAULT_POLICY.retentionMs;
  let now = Date.now() + 10 * HOUR;
  const tick = (ms: number) => (now += ms);

  async function host(path: string, text: string): Promise<Extract<Change, { op: "add" }>> {
    const bytes = new TextEncoder().encode(text);
    const hashes = { sha256: await sha("SHA-256", bytes), sha512: await sha("SHA-512", bytes) };
    for (const key of keys.targetKeys(path, hashes)) await env.BUCKET.put(key, bytes);
    return { op: "add", path, length: bytes.length, hashes };
  }
  const publish = async (changes: Change[], tag: string) =>
    expect((await stub().submit({ changes, bodySha256: tag, wait: true }, now)).status).toBe("published");
  const copies = (add: Extract<Change, { op: "add" }>) => keys.targetKeys(add.path, add.hashes);
  async function expectKept(add: Extract<Change, { op: "add" }>) {
    for (const key of copies(add)) expect(await exists(key), key).toBe(true);
  }
  /** Runs `fn` with publishing switched off, so what it queues stays queued while a renewal sweeps. */
  function withoutPublishing<T>(fn: (publisher: Publisher) => Promise<T>): Promise<T> {
    return runInDurableObject(stub(), async (instance: Publisher) => {
      const p = instance as unknown as { drain: unknown };
      p.drain = async () => ({ status: "unchanged" });
      try {
        return await fn(instance);
      } finally {
        delete p.drain; // back to the prototype's
      }
    });
  }

  it("keeps a removed target queued again with the same content, after the removal's window", async () => {
    const add = await host("mark/again.txt", "again");
    await publish([add], "again-add");
    await publish([{ op: "remove", path: add.path }], "again-rm");
    tick(WINDOW + HOUR);
    await withoutPublishing(async (publisher) => {
      expect((await publisher.submit({ changes: [add], bodySha256: "again-readd" }, now)).status).toBe("queued");
      await publisher.renew(now);
    });
    await expectKept(add);
    // Published, its copies are served.
    expect((await stub().renew(now)).status).toBe("published");
    const served = await exports.default.fetch(new Request(`http://tuf.test/targets/mark/${add.hashes.sha256}.again.txt`));
    expect(await served.text()).toBe("again");
  });

  it("keeps a removed target that a bulk import lists again, and later sweeps it once it is removed for good", async () => {
    const add = await host("mark/imported.txt", "imported");
    await publish([add], "imp-add");
    await publish([{ op: "remove", path: add.path }], "imp-rm");
    const imported = await stub().importLines({ id: "mark-import", firstLine: 1, endLine: 2, onConflict: "stop", entries: [{ line: 1, change: add }] }, now);
    expect(imported.status).toBe("staged");
    await stub().publishImport("mark-import", now);
    expect((await stub().renew(now)).status).toBe("published");
    tick(WINDOW + HOUR);
    await stub().renew(now);
    await expectKept(add);

    // Removed again: the window runs from this removal, not the first one.
    await publish([{ op: "remove", path: add.path }], "imp-rm-2");
    tick(10 * 60_000);
    await stub().renew(now);
    await expectKept(add);
    tick(WINDOW + HOUR);
    await stub().renew(now);
    for (const key of copies(add)) expect(await exists(key), key).toBe(false);
  });

  it("keeps a target superseded long ago, listed again without a sweep between, for a window after its next removal", async () => {
    const add = await host("mark/refresh.txt", "refresh");
    await publish([add], "ref-add");
    await publish([{ op: "remove", path: add.path }], "ref-rm");
    // Listed again through the import, which writes no superseded row of its own; no sweep runs until after the next removal.
    await stub().importLines({ id: "mark-refresh", firstLine: 1, endLine: 2, onConflict: "stop", entries: [{ line: 1, change: add }] }, now);
    await stub().publishImport("mark-refresh", now);
    tick(2 * WINDOW);
    await runInDurableObject(stub(), async (instance: Publisher) => {
      // Publish the import without the renewal's sweep.
      const p = instance as unknown as { drain(clock: () => number): Promise<unknown> };
      await p.drain(() => now);
    });
    await publish([{ op: "remove", path: add.path }], "ref-rm-2");
    tick(10 * 60_000);
    await stub().renew(now);
    await expectKept(add);
  });

  it("never deletes a current role version, timestamp.json or a root, whatever the superseded table says", async () => {
    const current = await reachableKeys();
    const pinned = [...current, "default/metadata/timestamp.json", "default/metadata/1.root.json"];
    await withoutPublishing(async (publisher) => {
      const sql = (publisher as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      for (const key of pinned) sql.exec("INSERT OR REPLACE INTO superseded (key, since) VALUES (?, 0)", key);
      await publisher.renew(now);
      // Referenced again: the rows are gone, so no later sweep tries again.
      expect(sql.exec("SELECT COUNT(*) AS n FROM superseded WHERE since = 0").one().n).toBe(0);
    });
    for (const key of pinned) expect(await exists(key), key).toBe(true);
  });

  it("a PUT of a removed target while the sweep deletes its copies waits for the sweep and writes them again", async () => {
    const add = await host("mark/raced.txt", "raced");
    await publish([add], "race-add");
    await publish([{ op: "remove", path: add.path }], "race-rm");
    tick(WINDOW + HOUR);
    // Hold the sweep's R2 delete until the PUT has queued its add: the sweep checked the copies before that.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let deleting!: () => void;
    const deleteCalled = new Promise<void>((r) => (deleting = r));
    await runInDurableObject(stub(), (instance: Publisher) => {
      const p = instance as unknown as { env: Env };
      const bucket = p.env.BUCKET;
      const gated = new Proxy(bucket, {
        get: (target, prop) =>
          prop === "delete"
            ? async (keys: string | string[]) => {
                if (Array.isArray(keys) && keys.some((k) => k.includes("raced.txt"))) {
                  deleting();
                  await gate;
                }
                return target.delete(keys);
              }
            : (Reflect.get(target, prop) as (...a: unknown[]) => unknown).bind(target),
      });
      p.env = { ...p.env, BUCKET: gated };
    });
    const renewal = stub().renew(now);
    await deleteCalled;
    const putting = exports.default.fetch(
      new Request(`http://tuf.test/api/v1/targets/${add.path}`, { method: "PUT", headers: adminHeaders, body: "raced" }),
    );
    // Let the delete go once the add is queued (or the PUT is answered, whichever comes first).
    const queued = async () =>
      runInDurableObject(stub(), (instance: Publisher) =>
        (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql.exec("SELECT 1 FROM queue WHERE path = ?", add.path).toArray().length > 0,
      );
    let answered = false;
    void putting.then(() => (answered = true));
    while (!answered && !(await queued())) await new Promise((r) => setTimeout(r, 10));
    release();
    await renewal;
    expect((await putting).status).toBe(202);
    await runInDurableObject(stub(), (instance: Publisher) => {
      const p = instance as unknown as { env: Env };
      p.env = { ...p.env, BUCKET: env.BUCKET };
    });
    await expectKept(add);
  });

  it("tells a plain name that looks hash-prefixed from a consistent copy", () => {
    const h = "a".repeat(64);
    expect(keys.parse(keys.plainTarget(`d/${h}.x`))).toEqual({ kind: "plain", path: `d/${h}.x` });
    expect(keys.parse(keys.consistentTarget(`d/${h}.x`, "b".repeat(128)))).toEqual({ kind: "consistent", path: `d/${h}.x`, hash: "b".repeat(128) });
    expect(keys.parse(keys.consistentTarget("x", h))).toEqual({ kind: "consistent", path: "x", hash: h });
    expect(keys.parse("other/targets/x")).toBeUndefined();
  });
});
