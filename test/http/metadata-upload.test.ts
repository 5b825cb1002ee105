/**
 * POST /api/v1/metadata: new offline-signed root, targets and bins versions.
 *
 * A case table of bad uploads, each with its 4xx and code, each leaving the
 * repository exactly as it was (timestamp.json's bytes and the list of R2
 * objects); then the good paths in order: the yearly renewal of targets and
 * bins, root v2 with the same keys, and root v3 that replaces the targets keys
 * together with a targets they signed. TUF spec 5.3.4-5.3.5, 6.1; PEP 458
 * §Metadata Expiry Times.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  Delegations,
  DelegatedRole,
  Ed25519Signer,
  Metadata,
  Role,
  Root,
  SuccinctRoles,
  Targets,
  verifyDelegate,
  type JSONObject,
  type Key,
} from "../../src/tuf/index.js";
import { ALL_PATHS } from "../../src/publisher/offline.js";
import type { Ceremony } from "../fixtures/ceremony.js";
import { adminHeaders, bootstrap, expectError, fetchWorker, metadataKeys } from "./helpers.js";

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const seed = (n: number) => new Uint8Array(32).fill(n);

type Body = { root?: JSONObject; targets?: JSONObject; bins?: JSONObject };

const postMetadata = (body: Body | string, headers: Record<string, string> = adminHeaders) =>
  fetchWorker("/api/v1/metadata", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

async function readR2(key: string): Promise<Uint8Array> {
  const object = await env.BUCKET.get(key);
  expect(object, key).not.toBeNull();
  return new Uint8Array(await object!.arrayBuffer());
}

/** What a refused upload must leave untouched. */
async function snapshotOfState(): Promise<{ timestamp: string; keys: string[] }> {
  return { timestamp: new TextDecoder().decode(await readR2("default/metadata/timestamp.json")), keys: (await metadataKeys()).sort() };
}

async function currentSnapshot() {
  const timestamp = Metadata.fromBytes("timestamp", await readR2("default/metadata/timestamp.json"));
  const version = timestamp.signed.snapshotMeta.version;
  return { timestamp, snapshot: Metadata.fromBytes("snapshot", await readR2(`default/metadata/${version}.snapshot.json`)) };
}

async function signed<T extends Root | Targets>(md: Metadata<T>, signers: readonly Ed25519Signer[]): Promise<Metadata<T>> {
  for (const s of signers) md = await md.sign(s);
  return md;
}

describe("POST /api/v1/metadata before bootstrap", () => {
  it("answers 409 not_bootstrapped", async () => {
    await expectError(await postMetadata({ targets: {} as JSONObject }), 409, "not_bootstrapped");
  });
});

describe("POST /api/v1/metadata", () => {
  let ceremony: Ceremony;
  let newRootSigners: Ed25519Signer[];
  let newTargetsSigners: Ed25519Signer[];
  let strangerOnline: Ed25519Signer;

  beforeAll(async () => {
    ceremony = await bootstrap(3);
    newRootSigners = await Promise.all([31, 32, 33].map((n) => Ed25519Signer.fromSeed(seed(n))));
    newTargetsSigners = await Promise.all([41, 42].map((n) => Ed25519Signer.fromSeed(seed(n))));
    strangerOnline = await Ed25519Signer.fromSeed(seed(51));
  });

  const expiresIn = (ms: number) => new Date(Math.floor((Date.now() + ms) / 1000) * 1000);
  const keyMap = (keys: readonly Key[]) => Object.fromEntries(keys.map((k) => [k.keyid, k]));

  /** targets version `version`, same content as v1, signed by `signers` (default: both targets holders). */
  async function targetsV(version: number, { signers = ceremony.signers.targets, expires = expiresIn(YEAR), keys = ceremony.signers.targets.map((s) => s.key) } = {}) {
    const delegations = new Delegations(keyMap(keys), [new DelegatedRole("bins", keys.map((k) => k.keyid), keys.length, false, undefined, ALL_PATHS)]);
    const md = new Metadata(new Targets({ version, expires }, {}, delegations));
    return (await signed(md, signers)).toJSON();
  }

  /** bins version `version` with the given layout and online key. */
  async function binsV(
    version: number,
    { signers = ceremony.signers.targets, expires = expiresIn(YEAR), online = ceremony.signers.online.key, bitLength = 3, namePrefix = "bin" } = {},
  ) {
    const succinct = new SuccinctRoles([online.keyid], 1, bitLength, namePrefix);
    const md = new Metadata(new Targets({ version, expires }, {}, new Delegations(keyMap([online]), undefined, succinct)));
    return (await signed(md, signers)).toJSON();
  }

  /** root version `version` listing `rootKeys` (threshold 2), signed by `signers`. */
  async function rootV(
    version: number,
    {
      rootKeys = ceremony.signers.root.map((s) => s.key),
      targetsKeys = ceremony.signers.targets.map((s) => s.key),
      online = ceremony.signers.online.key,
      signers = ceremony.signers.root.slice(0, 2),
      expires = expiresIn(YEAR),
      consistentSnapshot = true,
    } = {},
  ) {
    const root = new Root(
      { version, expires },
      keyMap([...rootKeys, ...targetsKeys, online]),
      {
        root: new Role(rootKeys.map((k) => k.keyid), 2),
        targets: new Role(targetsKeys.map((k) => k.keyid), 2),
        snapshot: new Role([online.keyid], 1),
        timestamp: new Role([online.keyid], 1),
      },
      consistentSnapshot,
    );
    return (await signed(new Metadata(root), signers)).toJSON();
  }

  /** Flips one hex digit in every signature: well formed, but none verifies. */
  function corrupt(md: JSONObject): JSONObject {
    const copy = structuredClone(md) as { signatures: { keyid: string; sig: string }[] };
    for (const s of copy.signatures) s.sig = (s.sig[0] === "0" ? "1" : "0") + s.sig.slice(1);
    return copy as unknown as JSONObject;
  }

  describe("refuses, changing nothing", () => {
    type Case = { name: string; body: () => Promise<Body | string>; status: number; code: string; headers?: Record<string, string>; message?: RegExp };
    const cases: Case[] = [
      { name: "no admin token", body: async () => ({ targets: await targetsV(2) }), headers: {}, status: 401, code: "unauthorized" },
      { name: "a wrong admin token", body: async () => ({ targets: await targetsV(2) }), headers: { authorization: "Bearer nope" }, status: 401, code: "unauthorized" },
      { name: "a body that is not JSON", body: async () => "{", status: 400, code: "malformed_json" },
      { name: "an empty body object", body: async () => ({}), status: 400, code: "request_invalid" },
      { name: "an online role", body: async () => JSON.stringify({ snapshot: {} }), status: 400, code: "request_invalid" },
      { name: "targets that is not metadata", body: async () => ({ targets: { signed: {} } as JSONObject }), status: 422, code: "malformed" },
      { name: "targets v2 with wrong signatures", body: async () => ({ targets: corrupt(await targetsV(2)) }), status: 422, code: "threshold" },
      { name: "targets v2 below its threshold (1 of 2)", body: async () => ({ targets: await targetsV(2, { signers: ceremony.signers.targets.slice(0, 1) }) }), status: 422, code: "threshold" },
      { name: "targets v2 signed by root keys", body: async () => ({ targets: await targetsV(2, { signers: ceremony.signers.root }) }), status: 422, code: "threshold" },
      { name: "targets v3 (a version skipped)", body: async () => ({ targets: await targetsV(3) }), status: 422, code: "rollback" },
      { name: "targets v1 again (a version repeated)", body: async () => ({ targets: await targetsV(1) }), status: 422, code: "rollback" },
      { name: "an expired targets v2", body: async () => ({ targets: await targetsV(2, { expires: expiresIn(-DAY) }) }), status: 422, code: "expired" },
      { name: "an expired bins v2", body: async () => ({ bins: await binsV(2, { expires: expiresIn(-DAY) }) }), status: 422, code: "expired" },
      { name: "bins v2 with another bit_length", body: async () => ({ bins: await binsV(2, { bitLength: 4 }) }), status: 422, code: "malformed", message: /bit_length/ },
      { name: "bins v2 with another name_prefix", body: async () => ({ bins: await binsV(2, { namePrefix: "hb" }) }), status: 422, code: "malformed", message: /name_prefix/ },
      { name: "bins v2 signed by root keys", body: async () => ({ bins: await binsV(2, { signers: ceremony.signers.root }) }), status: 422, code: "threshold" },
      { name: "root v3 without root v2", body: async () => ({ root: await rootV(3) }), status: 422, code: "rollback" },
      { name: "root v1 again", body: async () => ({ root: await rootV(1) }), status: 422, code: "rollback" },
      {
        name: "root v2 with new root keys signed only by the new keys",
        body: async () => ({ root: await rootV(2, { rootKeys: newRootSigners.map((s) => s.key), signers: newRootSigners.slice(0, 2) }) }),
        status: 422,
        code: "threshold",
      },
      {
        name: "root v2 with new root keys signed only by the old keys",
        body: async () => ({ root: await rootV(2, { rootKeys: newRootSigners.map((s) => s.key), signers: ceremony.signers.root }) }),
        status: 422,
        code: "threshold",
      },
      { name: "root v2 below root v1's threshold", body: async () => ({ root: await rootV(2, { signers: ceremony.signers.root.slice(0, 1) }) }), status: 422, code: "threshold" },
      { name: "an expired root v2", body: async () => ({ root: await rootV(2, { expires: expiresIn(-DAY) }) }), status: 422, code: "expired" },
      { name: "root v2 without consistent snapshots", body: async () => ({ root: await rootV(2, { consistentSnapshot: false }) }), status: 422, code: "malformed" },
      {
        name: "root v2 with new targets keys but the old targets",
        body: async () => ({ root: await rootV(2, { targetsKeys: newTargetsSigners.map((s) => s.key) }) }),
        status: 422,
        code: "threshold",
      },
      {
        name: "root v2 and bins v2 on an online key the Worker does not hold",
        body: async () => ({ root: await rootV(2, { online: strangerOnline.key }), bins: await binsV(2, { online: strangerOnline.key }) }),
        status: 422,
        code: "unknown_key",
      },
      {
        name: "root v2 moving the online key without a bins for it",
        body: async () => ({ root: await rootV(2, { online: strangerOnline.key }) }),
        status: 422,
        code: "unknown_key",
      },
      {
        name: "a good root v2 with a badly signed targets v2 (all or nothing)",
        body: async () => ({ root: await rootV(2), targets: corrupt(await targetsV(2)) }),
        status: 422,
        code: "threshold",
      },
      {
        name: "a good targets v2 with bins v3 (all or nothing)",
        body: async () => ({ targets: await targetsV(2), bins: await binsV(3) }),
        status: 422,
        code: "rollback",
      },
    ];

    it.each(cases)("$name: $status $code", async ({ body, status, code, headers, message }) => {
      const before = await snapshotOfState();
      const text = await expectError(await postMetadata(await body(), headers), status, code);
      if (message) expect(text).toMatch(message);
      expect(await snapshotOfState()).toEqual(before);
    });
  });

  describe("publishes, in order", () => {
    async function publishOk(body: Body, roles: { root: number; targets: number; bins: number }) {
      const before = await currentSnapshot();
      const res = await postMetadata(body);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const result = JSON.parse(text) as { status: string; timestamp: number; snapshot: number; roles: typeof roles };
      expect(result).toEqual({
        status: "published",
        timestamp: before.timestamp.signed.version + 1,
        snapshot: before.snapshot.signed.version + 1,
        roles,
      });
      const after = await currentSnapshot();
      expect(after.timestamp.signed.version).toBe(result.timestamp);
      expect(after.snapshot.signed.version).toBe(result.snapshot);
      expect(after.snapshot.signed.meta["targets.json"]!.version).toBe(roles.targets);
      expect(after.snapshot.signed.meta["bins.json"]!.version).toBe(roles.bins);
      return after;
    }

    /** The served file is the canonical bytes of what was uploaded. */
    async function expectServed(name: string, uploaded: JSONObject, type: "root" | "targets") {
      const res = await fetchWorker(`/metadata/${name}`);
      expect(res.status, name).toBe(200);
      const served = new Uint8Array(await res.arrayBuffer());
      expect(served).toEqual(Metadata.fromJSON(type, uploaded).toBytes());
    }

    it("the yearly renewal of targets: targets v2", async () => {
      const targets = await targetsV(2);
      await publishOk({ targets }, { root: 1, targets: 2, bins: 1 });
      await expectServed("2.targets.json", targets, "targets");
    });

    it("the yearly renewal of bins: bins v2, with every bin-n still verifying", async () => {
      const bins = await binsV(2);
      const { snapshot } = await publishOk({ bins }, { root: 1, targets: 2, bins: 2 });
      await expectServed("2.bins.json", bins, "targets");
      const bins2 = Metadata.fromJSON("targets", bins).signed;
      for (const name of bins2.delegations!.succinctRoles!.roles()) {
        const version = snapshot.signed.meta[`${name}.json`]!.version;
        await verifyDelegate(bins2, name, Metadata.fromBytes("targets", await readR2(`default/metadata/${version}.${name}.json`)));
      }
    });

    it("root v2 with the same keys, served as 2.root.json", async () => {
      const root = await rootV(2);
      await publishOk({ root }, { root: 2, targets: 2, bins: 2 });
      await expectServed("2.root.json", root, "root");
      await expectServed("1.root.json", ceremony.root, "root");
      const { timestamp } = await currentSnapshot();
      await verifyDelegate(Metadata.fromJSON("root", root).signed, "timestamp", timestamp);
      expect((await fetchWorker("/metadata/3.root.json")).status).toBe(404);
    });

    it("then refuses root v2 again and root v4", async () => {
      for (const [root, code] of [[await rootV(2), "rollback"], [await rootV(4), "rollback"]] as const) {
        const before = await snapshotOfState();
        await expectError(await postMetadata({ root }), 422, code);
        expect(await snapshotOfState()).toEqual(before);
      }
    });

    it("refuses root v3 with new targets keys and a targets v3 only they signed: clients on root v2 could not verify it", async () => {
      const root = await rootV(3, { targetsKeys: newTargetsSigners.map((s) => s.key) });
      const before = await snapshotOfState();
      const res = await postMetadata({ root, targets: await targetsV(3, { signers: newTargetsSigners }) });
      await expectError(res, 422, "threshold");
      expect(await snapshotOfState()).toEqual(before);
    });

    it("root v3 with new targets keys together with targets v3 signed by the old and the new keys; root v3 waits out cached timestamps", async () => {
      const root = await rootV(3, { targetsKeys: newTargetsSigners.map((s) => s.key) });
      const targets = await targetsV(3, { signers: [...ceremony.signers.targets, ...newTargetsSigners] });
      const res = await postMetadata({ root, targets });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await res.json()).toMatchObject({ roles: { root: 3, targets: 3, bins: 2 }, root_pending: { version: 3, serve_after: expect.any(String) } });
      await expectServed("3.targets.json", targets, "targets");
      // Held for TIMESTAMP_MAX_AGE (60 s in wrangler.toml) + 1 s after the timestamp that carries targets v3.
      expect((await fetchWorker("/metadata/3.root.json")).status).toBe(404);
      await expectError(await postMetadata({ bins: await binsV(3) }), 409, "root_pending");
      await env.PUBLISHER.getByName(env.REPOSITORY).renew(Date.now() + 62_000);
      await expectServed("3.root.json", root, "root");
      // bins is still delegated to the old targets holders by targets v3 (default keys); a bins v3 they sign publishes.
      await publishOk({ bins: await binsV(3) }, { root: 3, targets: 3, bins: 3 });
    });
  });
});
