/**
 * Online-key rotation end to end (docs/operations.md section 7), with an
 * unmodified tuf-js client refreshing in a loop from a warm cache the whole
 * time:
 *  1. `wrangler secret put ONLINE_KEY_NEXT` (setBindings);
 *  2. upload root v2 + bins v2 naming the new key: every bin-n, snapshot and
 *     timestamp are re-signed by BOTH keys, root v2 is written last;
 *  3. artifacts keep being published;
 *  4. `wrangler secret put ONLINE_KEY` (new seed), then
 *     `wrangler secret delete ONLINE_KEY_NEXT`: from then on only the new key
 *     signs;
 *  5. a fresh client (trusting root v1) and the warm client both find every
 *     target.
 * Changing secrets restarts the local workerd, which a deploy on Cloudflare
 * does without downtime, so the loop pauses across each restart; every
 * refresh it runs must succeed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Ed25519Signer,
  Metadata,
  Targets,
  toHex,
  verifyDelegate,
  type Signature,
} from "../../src/tuf/index.js";
import { startRepo, type Client, type Repo } from "./harness.js";
import { RefreshLoop, untilServed, uploadRotation } from "./rotation.js";

const BIT_LENGTH = 4;

const keyids = (signatures: readonly Signature[]) => signatures.map((s) => s.keyid).sort();

describe("online-key rotation with a tuf-js client refreshing throughout", () => {
  let repo: Repo;
  let next: Ed25519Signer;
  let nextSeedHex: string;
  let oldKeyid: string;
  let warm: Client;
  let loop: RefreshLoop;
  const published: string[] = [];

  const fetchJSON = async (path: string) => {
    const res = await fetch(`${repo.worker.url}${path}`);
    expect(res.status, path).toBe(200);
    return new Uint8Array(await res.arrayBuffer());
  };

  async function publishArtifact(name: string): Promise<void> {
    const path = `packages/${name}/${name}-1.0.tar.gz`;
    const res = await repo.publish({ add: [{ path, length: name.length, hashes: { sha256: toHex(new Uint8Array(32).fill(name.length)) } }] });
    expect(res.status, await res.clone().text()).toBe(200);
    published.push(path);
  }

  /** The current timestamp, snapshot and every bin-n, as published. */
  async function current() {
    const timestamp = Metadata.fromBytes("timestamp", await fetchJSON("/metadata/timestamp.json"));
    const snapshot = Metadata.fromBytes("snapshot", await fetchJSON(`/metadata/${timestamp.signed.snapshotMeta.version}.snapshot.json`));
    const bins = Metadata.fromBytes("targets", await fetchJSON(`/metadata/${snapshot.signed.meta["bins.json"]!.version}.bins.json`));
    const binN = new Map<string, Metadata<Targets>>();
    for (const name of bins.signed.delegations!.succinctRoles!.roles())
      binN.set(name, Metadata.fromBytes("targets", await fetchJSON(`/metadata/${snapshot.signed.meta[`${name}.json`]!.version}.${name}.json`)));
    return { timestamp, snapshot, bins, binN };
  }

  /** Changes secrets with the loop held, as a deploy would between two requests. */
  async function setSecrets(bindings: Record<string, string>): Promise<void> {
    await loop.pause();
    try {
      await repo.worker.setBindings(bindings);
    } finally {
      loop.unpause();
    }
  }

  beforeAll(async () => {
    // The Worker writes root v2 TIMESTAMP_MAX_AGE (+1 s) after the dual-signed publish (no CDN here, so 1 s).
    repo = await startRepo({ bitLength: BIT_LENGTH, vars: { TIMESTAMP_MAX_AGE: "1" } });
    next = await Ed25519Signer.fromSeed(new Uint8Array(32).fill(77));
    nextSeedHex = "4d".repeat(32);
    oldKeyid = repo.ceremony.signers.online.key.keyid;
    for (const name of ["alpha", "beta"]) await publishArtifact(name);
    warm = repo.client();
    await warm.updater().refresh();
    let i = 0;
    // A tuf-js refresh plus one target lookup (bins and a bin-n), over and over.
    loop = new RefreshLoop("tuf-js", async (path) => {
      const updater = warm.updater();
      await updater.refresh();
      return { found: !!(await updater.getTargetInfo(path)) };
    }, () => published[i++ % published.length]!);
    await loop.atLeast(2);
  });
  afterAll(async () => {
    await loop?.stop();
    await repo?.close();
  });

  it("signs with the old key alone while ONLINE_KEY_NEXT is set but no root names it", async () => {
    await setSecrets({ ONLINE_KEY_NEXT: nextSeedHex });
    await publishArtifact("gamma");
    const { timestamp, snapshot } = await current();
    expect(keyids(timestamp.signatures)).toEqual([oldKeyid]);
    expect(keyids(snapshot.signatures)).toEqual([oldKeyid]);
    await loop.atLeast(2);
    expect(loop.failures).toEqual([]);
  });

  it("publishes root v2 and bins v2 for the new key: every online role signed by both keys", async () => {
    const root1 = Metadata.fromJSON("root", repo.ceremony.root).signed;
    const { root2, res } = await uploadRotation(repo, next);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text)).toMatchObject({ status: "published", roles: { root: 2, targets: 1, bins: 2 } });

    const both = [oldKeyid, next.key.keyid].sort();
    const { timestamp, snapshot, bins, binN } = await current();
    expect(bins.signed.version).toBe(2);
    expect(keyids(timestamp.signatures)).toEqual(both);
    expect(keyids(snapshot.signatures)).toEqual(both);
    // A client still on root v1 and one already on root v2 both verify.
    for (const root of [root1, root2.signed]) {
      await verifyDelegate(root, "timestamp", timestamp);
      await verifyDelegate(root, "snapshot", snapshot);
    }
    expect(binN.size).toBe(2 ** BIT_LENGTH);
    for (const [name, md] of binN) {
      expect(keyids(md.signatures), name).toEqual(both);
      await verifyDelegate(bins.signed, name, md);
    }
    expect((await fetch(`${repo.worker.url}/metadata/2.root.json`)).status).toBe(404);
    await untilServed(repo, 2);
    await loop.atLeast(3);
    expect(loop.failures).toEqual([]);
  });

  it("keeps publishing artifacts with both keys while the client refreshes", async () => {
    for (const name of ["delta", "epsilon", "zeta"]) {
      await publishArtifact(name);
      await loop.atLeast(1);
    }
    const { timestamp } = await current();
    expect(keyids(timestamp.signatures)).toEqual([oldKeyid, next.key.keyid].sort());
    expect(loop.failures).toEqual([]);
  });

  it("signs with the new key alone once ONLINE_KEY is the new seed and ONLINE_KEY_NEXT is deleted", async () => {
    await setSecrets({ ONLINE_KEY: nextSeedHex, ONLINE_KEY_NEXT: "" });
    await publishArtifact("theta");
    const receipt = await (await repo.publish({ add: [{ path: "packages/iota/iota-1.0.tar.gz", length: 4, hashes: { sha256: "ab".repeat(32) } }] })).json();
    published.push("packages/iota/iota-1.0.tar.gz");

    const { timestamp, snapshot, binN } = await current();
    expect(keyids(timestamp.signatures)).toEqual([next.key.keyid]);
    expect(keyids(snapshot.signatures)).toEqual([next.key.keyid]);
    for (const name of Object.keys((receipt as { bins: Record<string, number> }).bins))
      expect(keyids(binN.get(name)!.signatures), name).toEqual([next.key.keyid]);
    // No signature list ever names a key twice.
    for (const md of [timestamp, snapshot, ...binN.values()]) expect(new Set(keyids(md.signatures)).size).toBe(md.signatures.length);
    await loop.atLeast(3);
    expect(loop.failures).toEqual([]);
  });

  it("a fresh client trusting root v1 and the warm client both find every target", async () => {
    await loop.stop();
    expect(loop.refreshes).toBeGreaterThan(10);
    expect(loop.failures).toEqual([]);
    for (const client of [repo.client(), warm]) {
      const updater = client.updater();
      await updater.refresh();
      for (const path of published) expect(await updater.getTargetInfo(path), path).toBeDefined();
    }
  });
});

/**
 * On Cloudflare, `wrangler secret put ONLINE_KEY` and `wrangler secret delete
 * ONLINE_KEY_NEXT` are two deploys, and deleting ONLINE_KEY_NEXT first would
 * leave only the old key, which root v2 no longer names. So between the two,
 * ONLINE_KEY and ONLINE_KEY_NEXT hold the same seed. What the Worker signs then
 * must still name each key once: python-tuf and tuf-js refuse metadata with
 * two signatures by one keyid ("multiple signatures found for keyid").
 */
describe("the runbook's two-step switch: ONLINE_KEY set to the new seed while ONLINE_KEY_NEXT still holds it", () => {
  let repo: Repo;
  let next: Ed25519Signer;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 3, vars: { TIMESTAMP_MAX_AGE: "1" } });
    next = await Ed25519Signer.fromSeed(new Uint8Array(32).fill(78));
    await repo.worker.setBindings({ ONLINE_KEY_NEXT: "4e".repeat(32) });
    const { res } = await uploadRotation(repo, next);
    expect(res.status, await res.clone().text()).toBe(200);
    await untilServed(repo, 2);
    await repo.worker.setBindings({ ONLINE_KEY: "4e".repeat(32) });
  });
  afterAll(() => repo?.close());

  it("publishes a snapshot, timestamp and bin-n that name the new key once, and tuf-js accepts them", async () => {
    const path = "packages/kappa/kappa-1.0.tar.gz";
    const res = await repo.publish({ add: [{ path, length: 5, hashes: { sha256: "cd".repeat(32) } }] });
    const receipt = (await res.json()) as { bins: Record<string, number>; snapshot: number };
    expect(res.status).toBe(200);
    // Read as plain JSON: src/tuf's own parser refuses a repeated keyid, as clients do.
    const signers = async (name: string) =>
      ((await (await fetch(`${repo.worker.url}/metadata/${name}`)).json()) as { signatures: { keyid: string }[] }).signatures.map((s) => s.keyid);
    const [bin, version] = Object.entries(receipt.bins)[0]!;
    expect({
      timestamp: await signers("timestamp.json"),
      snapshot: await signers(`${receipt.snapshot}.snapshot.json`),
      [bin]: await signers(`${version}.${bin}.json`),
    }).toEqual({ timestamp: [next.key.keyid], snapshot: [next.key.keyid], [bin]: [next.key.keyid] });
    const updater = repo.client().updater();
    await updater.refresh();
    expect(await updater.getTargetInfo(path)).toBeDefined();
  });
});
