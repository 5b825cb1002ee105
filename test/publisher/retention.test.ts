/**
 * Retention cleanup (PEP 458 §Cleaning up old metadata): files no published
 * state needs are deleted once the retention window has passed since they
 * were superseded; the newest state and every root version are kept.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import { DEFAULT_POLICY } from "../../src/publisher/policy.js";
import { adminHeaders, bootstrap } from "../http/helpers.js";

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
