import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import { startRepo, type Repo } from "./harness.js";

const sha = (i: number) => i.toString(16).padStart(64, "0");

describe("200 webhooks sent at once (bit_length 10)", () => {
  let repo: Repo;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 10 });
  });
  afterAll(() => repo?.close());

  it("publishes each exactly once, with gap-free versions, while a client keeps refreshing", async () => {
    const paths = Array.from({ length: 200 }, (_, i) => `packages/p${i}/p${i}-1.0.tar.gz`);
    const client = repo.client();
    let loading = true;
    let refreshes = 0;
    const refresher = (async () => {
      while (loading) {
        await client.updater().refresh();
        refreshes++;
      }
    })();

    const responses = await Promise.all(
      paths.map((path, i) =>
        repo.publish({ add: [{ path, length: i, hashes: { sha256: sha(i) } }] }, "").then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { receipt: string },
        })),
      ),
    );
    expect(responses.every((r) => r.status === 202)).toBe(true);
    const receipts = responses.map((r) => r.body.receipt);
    expect(new Set(receipts).size).toBe(200);

    // Every receipt is published by some timestamp.
    const published: Array<{ timestamp: number; snapshot: number; bins: Record<string, number> }> = [];
    for (const id of receipts) {
      let view: { status: string; timestamp: number; snapshot: number; bins: Record<string, number> };
      for (;;) {
        view = await (await fetch(`${repo.worker.url}/api/v1/receipts/${id}`)).json();
        if (view.status === "published") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      published.push(view);
    }
    loading = false;
    await refresher;
    expect(refreshes).toBeGreaterThan(0);

    // Versions: every snapshot from 1 to the newest exists, and every bin's versions are gap-free.
    const ts = Metadata.fromBytes("timestamp", new Uint8Array(await (await fetch(`${repo.worker.url}/metadata/timestamp.json`)).arrayBuffer()));
    const newest = ts.signed.snapshotMeta.version;
    expect(newest).toBe(ts.signed.version);
    for (let v = 1; v <= newest; v++) expect((await fetch(`${repo.worker.url}/metadata/${v}.snapshot.json`, { method: "HEAD" })).status).toBe(200);
    const snapshot = Metadata.fromBytes("snapshot", new Uint8Array(await (await fetch(`${repo.worker.url}/metadata/${newest}.snapshot.json`)).arrayBuffer()));
    const touched = new Set(published.flatMap((p) => Object.keys(p.bins)));
    for (const bin of touched) {
      const current = snapshot.signed.meta[`${bin}.json`]!.version;
      for (let v = 1; v <= current; v++)
        expect((await fetch(`${repo.worker.url}/metadata/${v}.${bin}.json`, { method: "HEAD" })).status, `${v}.${bin}`).toBe(200);
    }

    // Each artifact is listed exactly once, in its own bin, by the final state.
    const updater = client.updater();
    await updater.refresh();
    for (const [i, path] of paths.entries()) expect((await updater.getTargetInfo(path))?.hashes.sha256).toBe(sha(i));
  });
});
