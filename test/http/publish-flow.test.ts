import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Metadata, verifyDelegate, digestHex } from "../../src/tuf/index.js";
import { ADMIN_TOKEN, makeCeremony, webhookSignature } from "../fixtures/ceremony.js";

const BASE = "http://tuf.test";
const fetchWorker = (path: string, init?: RequestInit) => exports.default.fetch(new Request(`${BASE}${path}`, init));

async function getMetadata<K extends "root" | "targets" | "snapshot" | "timestamp">(type: K, file: string) {
  const res = await fetchWorker(`/metadata/${file}`);
  expect(res.status, file).toBe(200);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { md: Metadata.fromBytes(type, bytes), bytes };
}

async function postArtifacts(body: unknown, query = "") {
  const text = JSON.stringify(body);
  return fetchWorker(`/api/v1/artifacts${query}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await webhookSignature(text)) },
    body: text,
  });
}

describe("a bootstrapped repository", () => {
  it("bootstraps, publishes an artifact, and every file verifies", async () => {
    const ceremony = await makeCeremony({ bitLength: 6 });
    const boot = await fetchWorker("/api/v1/bootstrap", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ root: ceremony.root, targets: ceremony.targets, bins: ceremony.bins }),
    });
    expect(boot.status, await boot.clone().text()).toBe(201);

    const again = await fetchWorker("/api/v1/bootstrap", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ root: ceremony.root, targets: ceremony.targets, bins: ceremony.bins }),
    });
    expect(again.status).toBe(409);

    const res = await postArtifacts(
      { add: [{ path: "packages/demo/demo-1.0.tar.gz", length: 3, hashes: { sha256: "a".repeat(64) } }] },
      "?wait=true",
    );
    expect(res.status).toBe(200);
    const receipt = (await res.json()) as { status: string; bins: Record<string, number>; snapshot: number; timestamp: number };
    expect(receipt.status).toBe("published");
    expect(receipt.timestamp).toBe(2);

    const { md: root } = await getMetadata("root", "1.root.json");
    const { md: timestamp } = await getMetadata("timestamp", "timestamp.json");
    await verifyDelegate(root.signed, "timestamp", timestamp);
    const snapName = `${timestamp.signed.snapshotMeta.version}.snapshot.json`;
    const { md: snapshot, bytes: snapBytes } = await getMetadata("snapshot", snapName);
    expect(timestamp.signed.snapshotMeta.length).toBe(snapBytes.length);
    expect(timestamp.signed.snapshotMeta.hashes).toEqual(await digestHex(snapBytes, ["sha256"]));
    await verifyDelegate(root.signed, "snapshot", snapshot);
    expect(Object.keys(snapshot.signed.meta)).toHaveLength(64 + 2);

    const { md: targets } = await getMetadata("targets", `${snapshot.signed.meta["targets.json"]!.version}.targets.json`);
    await verifyDelegate(root.signed, "targets", targets);
    const { md: bins } = await getMetadata("targets", `${snapshot.signed.meta["bins.json"]!.version}.bins.json`);
    await verifyDelegate(targets.signed, "bins", bins);
    const [binName, binVersion] = Object.entries(receipt.bins)[0]!;
    expect(snapshot.signed.meta[`${binName}.json`]!.version).toBe(binVersion);
    const { md: bin } = await getMetadata("targets", `${binVersion}.${binName}.json`);
    await verifyDelegate(bins.signed, binName, bin);
    expect(bin.signed.targets["packages/demo/demo-1.0.tar.gz"]!.length).toBe(3);

    const missingRoot = await fetchWorker("/metadata/2.root.json");
    expect(missingRoot.status).toBe(404);
    expect(await missingRoot.json()).toMatchObject({ error: { code: "not_found" } });
  });
});
