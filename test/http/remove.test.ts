/**
 * Removing a target: the next bin version no longer lists it, while the older
 * bin version stays served (consistent snapshots keep old versions until cleanup).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import { bootstrap, expectError, fetchWorker, getStatus, postArtifacts } from "./helpers.js";
import type { PublishedReceipt as Receipt } from "../../src/publisher/types.js";

const PATH = "pkg/removable-1.0.tar.gz";
const KEPT = "pkg/kept-1.0.tar.gz";


async function submit(body: unknown): Promise<Receipt> {
  const res = await postArtifacts(body, { query: "?wait=true" });
  expect(res.status, await res.clone().text()).toBe(200);
  const receipt = (await res.json()) as Receipt;
  expect(receipt.status).toBe("published");
  return receipt;
}

async function binTargets(bin: string, version: number): Promise<Record<string, unknown>> {
  const res = await fetchWorker(`/metadata/${version}.${bin}.json`);
  expect(res.status, `${version}.${bin}.json`).toBe(200);
  return Metadata.fromBytes("targets", new Uint8Array(await res.arrayBuffer())).signed.targets;
}

async function currentSnapshotMeta(): Promise<Record<string, { version: number }>> {
  const ts = Metadata.fromBytes("timestamp", new Uint8Array(await (await fetchWorker("/metadata/timestamp.json")).arrayBuffer()));
  const snap = await fetchWorker(`/metadata/${ts.signed.snapshotMeta.version}.snapshot.json`);
  return Metadata.fromBytes("snapshot", new Uint8Array(await snap.arrayBuffer())).signed.meta;
}

describe("removing a published target", () => {
  let added: Receipt;
  let removed: Receipt;
  let bin: string;
  let kept: Receipt;

  beforeAll(async () => {
    await bootstrap(4);
    added = await submit({ add: [{ path: PATH, length: 10, hashes: { sha256: "12".repeat(32) } }] });
    bin = Object.keys(added.bins)[0]!;
    kept = await submit({ add: [{ path: KEPT, length: 11, hashes: { sha256: "34".repeat(32) } }] });
    removed = await submit({ remove: [PATH] });
  });

  it("publishes a newer version of the same bin", () => {
    expect(Object.keys(removed.bins)).toEqual([bin]);
    expect(removed.bins[bin]!).toBeGreaterThan(added.bins[bin]!);
    expect(removed.timestamp).toBeGreaterThan(added.timestamp);
  });

  it("no longer lists the path in the new bin version", async () => {
    expect(await binTargets(bin, removed.bins[bin]!)).not.toHaveProperty([PATH]);
  });

  it("points the current snapshot at the new bin version", async () => {
    expect((await currentSnapshotMeta())[`${bin}.json`]!.version).toBe(removed.bins[bin]);
  });

  it("still serves the old bin version, which lists the path", async () => {
    const targets = await binTargets(bin, added.bins[bin]!);
    expect(targets).toHaveProperty([PATH]);
  });

  it("still serves the snapshot that referenced the old bin version", async () => {
    const res = await fetchWorker(`/metadata/${added.snapshot}.snapshot.json`);
    expect(res.status).toBe(200);
    const meta = Metadata.fromBytes("snapshot", new Uint8Array(await res.arrayBuffer())).signed.meta;
    expect(meta[`${bin}.json`]!.version).toBe(added.bins[bin]);
  });

  it("keeps the other target listed in the current version of its bin", async () => {
    const keptBin = Object.keys(kept.bins)[0]!;
    const version = (await currentSnapshotMeta())[`${keptBin}.json`]!.version;
    expect(await binTargets(keptBin, version)).toHaveProperty([KEPT]);
    const status = await getStatus();
    expect(status.artifacts).toBe(1);
    expect(status.queue_depth).toBe(0);
  });

  it("publishes a remove of a path that is not listed without failing", async () => {
    const before = await getStatus();
    const receipt = await submit({ remove: ["pkg/never-added.tar.gz"] });
    expect(receipt.timestamp).toBeGreaterThan(before.roles.timestamp.version);
    expect((await getStatus()).artifacts).toBe(before.artifacts);
  });

  it("returns the remove's receipt as published", async () => {
    const res = await fetchWorker(`/api/v1/receipts/${removed.receipt}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(removed);
  });

  it("refuses removing a path with a leading / with 422 path_invalid", async () => {
    await expectError(await postArtifacts({ remove: [`/${PATH}`] }, { query: "?wait=true" }), 422, "path_invalid");
  });
});
