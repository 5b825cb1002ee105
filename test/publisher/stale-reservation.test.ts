/**
 * Resumed reservations (issue 13, item 7): one resumed after its online
 * expiry has passed does not publish expired metadata, and one resumed after
 * the online keys changed does not give a reserved version other bytes. Both
 * are given up and published again one version up.
 */
import { readMetadata } from "../../src/publisher/at-rest.js";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Ed25519Signer, Metadata, type JSONObject } from "../../src/tuf/index.js";
import type { Publisher } from "../../src/publisher/publisher.js";
import { R2Keys } from "../../src/publisher/r2-keys.js";
import { makeCeremony, type Ceremony } from "../fixtures/ceremony.js";
import { verifyServed } from "./served.js";

const HOUR = 3_600_000;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A Publisher for `name` whose R2 puts fail from the `failAt`-th on while `failing` is set. */
async function publisher(name: string, extraEnv: Partial<Env> = {}) {
  const stub = env.PUBLISHER.getByName(name);
  await runInDurableObject(stub, (instance: Publisher) => {
    const self = instance as unknown as { env: Env };
    const real = self.env.BUCKET;
    const g = globalThis as { faults?: Record<string, { failAt: number; puts: number }> };
    g.faults ??= {};
    const fault = (g.faults[name] = { failAt: Infinity, puts: 0 });
    const bucket = new Proxy(real, {
      get(target, prop) {
        if (prop === "put")
          return (...args: Parameters<R2Bucket["put"]>) =>
            ++fault.puts >= fault.failAt ? Promise.reject(new Error(`injected failure at put ${fault.puts}`)) : target.put(...args);
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    self.env = { ...self.env, REPOSITORY: name, BUCKET: bucket, ...extraEnv };
  });
  const setFault = (failAt: number) =>
    runInDurableObject(stub, () => {
      const f = (globalThis as { faults?: Record<string, { failAt: number; puts: number }> }).faults![name]!;
      f.failAt = failAt;
      f.puts = 0;
    });
  const setEnv = (changes: Partial<Env>) =>
    runInDurableObject(stub, (instance: Publisher) => {
      const self = instance as unknown as { env: Env; signers?: unknown };
      self.env = { ...self.env, ...changes };
      self.signers = undefined;
    });
  return { stub, setFault, setEnv, keys: new R2Keys(name) };
}

async function read(key: string): Promise<Uint8Array | undefined> {
  return readMetadata(env.BUCKET, key);
}

const add = (path: string) => ({ changes: [{ op: "add" as const, path, length: 1, hashes: { sha256: "1".repeat(64) } }], bodySha256: path });

describe("a reservation resumed after its online expiry", () => {
  it("is published again under new versions, never as expired metadata", async () => {
    const c = await makeCeremony({ bitLength: 3 });
    const { stub, setFault, keys } = await publisher("expiry");
    const t0 = Date.now();
    await stub.bootstrap({ root: JSON.stringify(c.root), targets: JSON.stringify(c.targets), bins: JSON.stringify(c.bins) }, t0);
    await setFault(3); // the bin-n and the snapshot are written, timestamp.json is not
    expect((await stub.submit({ ...add("stale/a.whl"), wait: true }, t0)).status).toBe("queued");
    const reserved = (await stub.status(t0))!.roles.timestamp.version;
    await setFault(Infinity);

    const later = t0 + 30 * HOUR; // past the 24 h online expiry of the reservation
    const result = await stub.renew(later);
    expect(result).toMatchObject({ status: "published" });
    const ts = Metadata.fromBytes("timestamp", (await read(keys.timestamp))!);
    expect(ts.signed.version).toBeGreaterThan(reserved);
    expect(ts.signed.expires.getTime()).toBeGreaterThan(later);
    const state = await verifyServed(env.BUCKET, keys, Metadata.fromJSON("root", c.root), new Date(later));
    expect([...state.targets.values()].some((t) => Object.hasOwn(t.targets, "stale/a.whl"))).toBe(true);
  });
});

async function twoOnlineKeyCeremony(c: Ceremony, next: Ed25519Signer): Promise<Pick<Ceremony, "root" | "targets" | "bins">> {
  const resign = async (type: "root" | "targets", raw: JSONObject, signers: Ed25519Signer[], edit: (s: Json) => void) => {
    const copy = JSON.parse(JSON.stringify(raw)) as Json;
    edit(copy.signed);
    let md: Metadata = new Metadata(Metadata.fromJSON(type, copy).signed);
    for (const s of signers) md = await md.sign(s);
    return md.toJSON();
  };
  const id = next.key.keyid;
  const root = await resign("root", c.root, c.signers.root.slice(0, 2), (s) => {
    s.keys[id] = next.key.toJSON();
    s.roles.snapshot.keyids.push(id);
    s.roles.timestamp.keyids.push(id);
  });
  const bins = await resign("targets", c.bins, c.signers.targets, (s) => {
    s.delegations.keys[id] = next.key.toJSON();
    s.delegations.succinct_roles.keyids.push(id);
  });
  return { root, targets: c.targets, bins };
}

describe("a reservation resumed after the online keys changed", () => {
  it("keeps every reserved version's bytes and publishes under new versions", async () => {
    const c = await makeCeremony({ bitLength: 3 });
    const nextSeed = "09".repeat(32);
    const next = await Ed25519Signer.fromSeed(new Uint8Array(32).fill(9));
    const layout = await twoOnlineKeyCeremony(c, next);
    const { stub, setFault, setEnv, keys } = await publisher("rekey", { ONLINE_KEY_NEXT: nextSeed });
    expect(await stub.bootstrap({ root: JSON.stringify(layout.root), targets: JSON.stringify(layout.targets), bins: JSON.stringify(layout.bins) })).toMatchObject({ status: "bootstrapped", published: true });

    await setFault(2); // one file (a bin-n or the snapshot) is written, signed by both keys; then the publish stops
    expect((await stub.submit({ changes: [...add("k/a.whl").changes, { op: "add", path: "k/zz-other.whl", length: 2, hashes: { sha256: "2".repeat(64) } }], bodySha256: "two", wait: true })).status).toBe("queued");
    await new Promise((r) => setTimeout(r, 300)); // the write that raced the failed one lands
    const listed = (await env.BUCKET.list({ prefix: keys.metadataPrefix })).objects.filter((o) => /\/2\.(bin-|snapshot)/.test(o.key));
    expect(listed.length).toBeGreaterThan(0);
    const before = new Map(await Promise.all(listed.map(async (o) => [o.key, await read(o.key)] as const)));

    // The operator drops ONLINE_KEY_NEXT: the same versions would now be signed by one key only.
    await setEnv({ ONLINE_KEY_NEXT: undefined });
    await setFault(Infinity);
    expect(await stub.renew()).toMatchObject({ status: "published" });
    for (const [key, bytes] of before) expect(await read(key), key).toEqual(bytes);
    const state = await verifyServed(env.BUCKET, keys, Metadata.fromJSON("root", layout.root));
    const names = [...state.targets.values()].flatMap((t) => Object.keys(t.targets));
    expect(names).toEqual(expect.arrayContaining(["k/a.whl", "k/zz-other.whl"]));
    expect(state.timestamp.version).toBeGreaterThan(2);
  });
});
