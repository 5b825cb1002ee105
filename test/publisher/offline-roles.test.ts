/** Offline-role updates through the Publisher: a yearly renewal and an online-key rotation. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Delegations, Ed25519Signer, Metadata, Root, Role, SuccinctRoles, Targets, verifyDelegate } from "../../src/tuf/index.js";
import type { Ceremony } from "../fixtures/ceremony.js";
import { bootstrap } from "../http/helpers.js";

const stub = () => env.PUBLISHER.getByName(env.REPOSITORY);
const YEAR = 365 * 86_400_000;
const read = async (key: string) => new Uint8Array(await (await env.BUCKET.get(key))!.arrayBuffer());

describe("offline-role updates", () => {
  let ceremony: Ceremony;
  beforeAll(async () => {
    ceremony = await bootstrap(3);
  });

  it("publishes a renewed targets v2 and lists it in the snapshot", async () => {
    const current = Metadata.fromJSON("targets", ceremony.targets).signed;
    let targets = new Metadata(new Targets({ version: 2, expires: new Date(Date.now() + YEAR) }, {}, current.delegations));
    for (const s of ceremony.signers.targets) targets = await targets.sign(s);
    const result = await stub().updateOfflineRoles({ targets: JSON.stringify(targets.toJSON()) });
    expect(result).toMatchObject({ status: "published", roles: { root: 1, targets: 2, bins: 1 } });
    const ts = Metadata.fromBytes("timestamp", await read("default/metadata/timestamp.json"));
    const snapshot = Metadata.fromBytes("snapshot", await read(`default/metadata/${ts.signed.snapshotMeta.version}.snapshot.json`));
    expect(snapshot.signed.meta["targets.json"]!.version).toBe(2);
    expect(await env.BUCKET.head("default/metadata/2.targets.json")).not.toBeNull();
  });

  it("rotates the online key: every bin-n re-signed, dual-signed online roles, root v2 written last", async () => {
    const next = await Ed25519Signer.fromSeed(new Uint8Array(32).fill(99));
    // The Worker only signs with a configured key: emulate `wrangler secret put ONLINE_KEY_NEXT`.
    const { runInDurableObject } = await import("cloudflare:test");
    await runInDurableObject(stub(), (instance) => {
      const self = instance as unknown as { env: Env };
      self.env = { ...self.env, ONLINE_KEY_NEXT: "63".repeat(32) };
    });
    const root1 = Metadata.fromJSON("root", ceremony.root).signed;
    const online = ceremony.signers.online.key.keyid;
    const keys = { ...root1.keys };
    delete keys[online];
    keys[next.key.keyid] = next.key;
    let root2 = new Metadata(
      new Root({ version: 2, expires: new Date(Date.now() + YEAR) }, keys, {
        ...root1.roles,
        snapshot: new Role([next.key.keyid], 1),
        timestamp: new Role([next.key.keyid], 1),
      }, true),
    );
    for (const s of ceremony.signers.root.slice(0, 2)) root2 = await root2.sign(s);
    const bins1 = Metadata.fromJSON("targets", ceremony.bins).signed;
    const succinct = bins1.delegations!.succinctRoles!;
    let bins2 = new Metadata(
      new Targets({ version: 2, expires: new Date(Date.now() + YEAR) }, {}, new Delegations({ [next.key.keyid]: next.key }, undefined,
        new SuccinctRoles([next.key.keyid], 1, succinct.bitLength, succinct.namePrefix))),
    );
    for (const s of ceremony.signers.targets) bins2 = await bins2.sign(s);

    const result = await stub().updateOfflineRoles({ root: JSON.stringify(root2.toJSON()), bins: JSON.stringify(bins2.toJSON()) });
    expect(result).toMatchObject({ status: "published", roles: { root: 2, bins: 2 }, root_pending: { version: 2 } });

    const ts = Metadata.fromBytes("timestamp", await read("default/metadata/timestamp.json"));
    expect(ts.signatures.map((s) => s.keyid).sort()).toEqual([online, next.key.keyid].sort());
    await verifyDelegate(root1, "timestamp", ts);
    await verifyDelegate(root2.signed, "timestamp", ts);
    const snapshot = Metadata.fromBytes("snapshot", await read(`default/metadata/${ts.signed.snapshotMeta.version}.snapshot.json`));
    for (const name of succinct.roles()) {
      const bin = Metadata.fromBytes("targets", await read(`default/metadata/${snapshot.signed.meta[`${name}.json`]!.version}.${name}.json`));
      await verifyDelegate(bins2.signed, name, bin);
      await verifyDelegate(bins1, name, bin);
    }
    // A CDN may still serve the old-key-only timestamp.json for TIMESTAMP_MAX_AGE: root v2 waits that out.
    expect(await env.BUCKET.head("default/metadata/2.root.json")).toBeNull();
    expect((await stub().status())!.roles.root.version).toBe(1);
    const serveAfter = Date.parse((result as { root_pending: { serve_after: string } }).root_pending.serve_after);
    expect(serveAfter - Date.now()).toBeGreaterThan(55_000);

    // Retiring the old key before root v2 is out: the Publisher signs nothing (clients on root v1 would refuse it).
    let oldSeed = "";
    await runInDurableObject(stub(), (instance) => {
      const self = instance as unknown as { env: Env; signers?: unknown };
      oldSeed = self.env.ONLINE_KEY;
      self.env = { ...self.env, ONLINE_KEY: "63".repeat(32), ONLINE_KEY_NEXT: undefined };
      self.signers = undefined;
    });
    const servedTimestamp = await read("default/metadata/timestamp.json");
    const refused = await runInDurableObject(stub(), (instance) =>
      (instance as unknown as { renew(at: number): Promise<unknown> }).renew(serveAfter).then(() => "published", (e: Error) => e.message),
    );
    expect(refused).toMatch(/clients stay on root v1 until root v2 is written/);
    expect(await read("default/metadata/timestamp.json")).toEqual(servedTimestamp);
    expect(await env.BUCKET.head("default/metadata/2.root.json")).toBeNull();
    await runInDurableObject(stub(), (instance) => {
      const self = instance as unknown as { env: Env; signers?: unknown };
      self.env = { ...self.env, ONLINE_KEY: oldSeed, ONLINE_KEY_NEXT: "63".repeat(32) };
      self.signers = undefined;
    });

    await stub().renew(serveAfter);
    expect(await env.BUCKET.head("default/metadata/2.root.json")).not.toBeNull();
    expect((await stub().status())!.roles.root.version).toBe(2);
    const released = Metadata.fromBytes("timestamp", await read("default/metadata/timestamp.json"));
    expect(released.signatures.map((s) => s.keyid).sort()).toEqual([online, next.key.keyid].sort());
  });
});
