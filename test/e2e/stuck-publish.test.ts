/**
 * The operator's bad day (issue 14): after an online-key rotation, the
 * secrets are switched in the wrong order (`wrangler secret delete
 * ONLINE_KEY_NEXT` before `secret put ONLINE_KEY`), so the Worker holds only
 * the old key, which root v2 no longer names. Against a running Worker:
 *  - /healthz turns 503 within QUEUE_STUCK_SECONDS, naming the failing publish and why;
 *  - /api/v1/status reports the served versions, and the reserved one as in flight;
 *  - admin uploads answer a named 503, webhooks are accepted (202) with the problem named;
 *  - once ONLINE_KEY is fixed everything publishes, with nothing lost and no version reused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ed25519Signer, Metadata, toHex } from "../../src/tuf/index.js";
import { ADMIN_TOKEN } from "../fixtures/ceremony.js";
import { startRepo, type Repo } from "./harness.js";
import { uploadRotation } from "./rotation.js";

const STUCK_SECONDS = 8;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("a publish stuck on the wrong online key", () => {
  let repo: Repo;
  let nextSeedHex: string;
  const artifact = (name: string) => ({ path: `packages/${name}/${name}-1.0.tar.gz`, length: name.length, hashes: { sha256: toHex(new Uint8Array(32).fill(name.length)) } });
  const get = async (path: string) => {
    const res = await fetch(`${repo.worker.url}${path}`);
    return { status: res.status, body: (await res.json()) as any };
  };
  const servedTimestamp = async () => Metadata.fromBytes("timestamp", new Uint8Array(await (await fetch(`${repo.worker.url}/metadata/timestamp.json`)).arrayBuffer())).signed;

  beforeAll(async () => {
    repo = await startRepo({ bitLength: 4, vars: { TIMESTAMP_MAX_AGE: "1" } });
    await repo.worker.setBindings({ QUEUE_STUCK_SECONDS: String(STUCK_SECONDS) });
    expect((await repo.publish({ add: [artifact("before")] })).status).toBe(200);
    // docs/operations.md section 7, steps 1-3, done right.
    nextSeedHex = "4d".repeat(32);
    await repo.worker.setBindings({ ONLINE_KEY_NEXT: nextSeedHex });
    const { res } = await uploadRotation(repo, await Ed25519Signer.fromSeed(new Uint8Array(32).fill(0x4d)));
    expect(res.status, await res.clone().text()).toBe(200);
    await until("root v2 served", 10, async () => ((await get("/api/v1/status")).body.roles.root.version === 2 ? true : undefined));
    // Step 4 in the wrong order: ONLINE_KEY_NEXT deleted first, ONLINE_KEY still the old key.
    await repo.worker.setBindings({ ONLINE_KEY_NEXT: "" });
  });
  afterAll(async () => repo?.close());

  it("goes 503 naming the problem, reports what is served, refuses admin calls by name, and recovers with nothing lost", async () => {
    const served = await servedTimestamp();
    expect((await get("/healthz")).status).toBe(200);

    const started = Date.now();
    const queued = await repo.publish({ add: [artifact("during")] });
    expect(queued.status).toBe(202);
    const receipt = (await queued.json()) as { receipt: string; status: string; problem?: string };
    expect(receipt.status).toBe("queued");
    expect(receipt.problem).toMatch(/ONLINE_KEY is not the key root v2 names for timestamp/);

    const health = await until("/healthz 503", STUCK_SECONDS + 5, async () => {
      const h = await get("/healthz");
      return h.status === 503 ? h.body : undefined;
    });
    expect(Date.now() - started).toBeLessThan(STUCK_SECONDS * 1000);
    expect(health.ok).toBe(false);
    const problem = (health.problems as string[]).find((p) => p.startsWith("publish of timestamp"));
    expect(problem).toMatch(new RegExp(`^publish of timestamp v${served.version + 1} failing since \\S+ \\(\\d+ attempts\\): ONLINE_KEY is not the key root v2 names`));

    // Status tells served from in flight; what R2 serves agrees.
    const status = await get("/api/v1/status");
    expect(status.status).toBe(200);
    expect(status.body.roles.timestamp.version).toBe(served.version);
    expect(status.body.roles.snapshot.version).toBe(served.snapshotMeta.version);
    // Metadata carries whole seconds.
    expect(Math.floor(Date.parse(status.body.roles.timestamp.expires) / 1000)).toBe(served.expires.getTime() / 1000);
    expect(status.body.in_flight).toMatchObject({ timestamp: served.version + 1, snapshot: served.snapshotMeta.version + 1 });
    expect(status.body.failing.attempts).toBeGreaterThanOrEqual(3);
    expect(status.body.queue_depth).toBe(0);
    expect((await servedTimestamp()).version).toBe(served.version);
    expect((await fetch(`${repo.worker.url}/metadata/${served.snapshotMeta.version + 1}.snapshot.json`)).status).toBe(404);

    // After QUEUE_STUCK_SECONDS the waiting change is named as well.
    await until("the stuck change to be named", STUCK_SECONDS + 5, async () =>
      ((await get("/healthz")).body.problems as string[]).some((p) => /a change in the publish of timestamp v\d+ has waited \d+ s, longer than QUEUE_STUCK_SECONDS/.test(p)) || undefined,
    );

    // Admin calls: a named 503, never a bare 500. Hosted uploads are accepted and say why they wait.
    const upload = await repo.post("/api/v1/metadata", { root: repo.ceremony.root }, admin);
    expect(upload.status).toBe(503);
    const error = ((await upload.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("publish_failing");
    expect(error.message).toMatch(/ONLINE_KEY is not the key root v2 names/);
    const hosted = await fetch(`${repo.worker.url}/api/v1/targets/files/hosted.txt?wait=true`, { method: "PUT", headers: admin, body: "hosted" });
    expect(hosted.status).toBe(202);
    expect(((await hosted.json()) as { problem?: string }).problem).toMatch(/ONLINE_KEY is not the key/);

    // The fix: ONLINE_KEY becomes the new key. The alarm's retry publishes everything accepted meanwhile.
    await repo.worker.setBindings({ ONLINE_KEY: nextSeedHex });
    await until("/healthz 200", 30, async () => ((await get("/healthz")).status === 200 ? true : undefined));
    const after = await get("/api/v1/status");
    expect(after.body.in_flight).toBeNull();
    expect(after.body.failing).toBeNull();
    expect(after.body.queue_depth).toBe(0);
    const view = await get(`/api/v1/receipts/${receipt.receipt}`);
    expect(view.body).toMatchObject({ status: "published", timestamp: served.version + 1 });
    expect((await servedTimestamp()).version).toBe(after.body.roles.timestamp.version);

    const client = repo.client().updater();
    await client.refresh();
    for (const path of ["packages/before/before-1.0.tar.gz", "packages/during/during-1.0.tar.gz", "files/hosted.txt"])
      expect(await client.getTargetInfo(path), path).toBeDefined();
  });
});
