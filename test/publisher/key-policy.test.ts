/**
 * The PEP 458 key policy the server documents (issue 13, item 7): root
 * threshold >= 2 and no offline role on the online key, enforced at bootstrap
 * and at later uploads, with one explicit opt-out that /api/v1/status shows.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Ed25519Signer, Metadata, type JSONObject } from "../../src/tuf/index.js";
import type { Publisher } from "../../src/publisher/publisher.js";
import { makeCeremony, type Ceremony } from "../fixtures/ceremony.js";
import { adminHeaders, bootstrapBody, expectError, fetchWorker, getStatus, metadataKeys, postBootstrap } from "../http/helpers.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const YEAR = 365 * 86_400_000;

async function resignRoot(c: Ceremony, signers: Ed25519Signer[], edit: (signed: Json) => void, raw: JSONObject = c.root): Promise<JSONObject> {
  const copy = JSON.parse(JSON.stringify(raw)) as Json;
  edit(copy.signed);
  let md: Metadata = new Metadata(Metadata.fromJSON("root", copy).signed);
  for (const s of signers) md = await md.sign(s);
  return md.toJSON();
}

async function publisherFor(name: string) {
  const stub = env.PUBLISHER.getByName(name);
  await runInDurableObject(stub, (instance: Publisher) => {
    const self = instance as unknown as { env: Env };
    self.env = { ...self.env, REPOSITORY: name };
  });
  return stub;
}

const asInput = (c: Pick<Ceremony, "root" | "targets" | "bins">) => ({ root: JSON.stringify(c.root), targets: JSON.stringify(c.targets), bins: JSON.stringify(c.bins) });

describe("the PEP 458 key policy", () => {
  it("refuses a root threshold of 1 with 422 key_policy and writes nothing", async () => {
    const c = await makeCeremony({ bitLength: 3 });
    const root = await resignRoot(c, c.signers.root.slice(0, 1), (s) => (s.roles.root.threshold = 1));
    const message = await expectError(await postBootstrap(bootstrapBody({ ...c, root })), 422, "key_policy");
    expect(message).toMatch(/at least two root signatures/);
    expect(await metadataKeys()).toEqual([]);
  });

  it("refuses an online key that is also a targets key with 422 key_policy", async () => {
    const c = await makeCeremony({ bitLength: 3 });
    const root = await resignRoot(c, c.signers.root.slice(0, 2), (s) => s.roles.targets.keyids.push(c.signers.online.key.keyid));
    await expectError(await postBootstrap(bootstrapBody({ ...c, root })), 422, "key_policy");
    expect(await metadataKeys()).toEqual([]);
  });

  it("refuses an online key that is a root key", async () => {
    const c = await makeCeremony({ bitLength: 3 });
    const root = await resignRoot(c, c.signers.root.slice(0, 2), (s) => s.roles.root.keyids.push(c.signers.online.key.keyid));
    const p = await publisherFor("root-online");
    expect(await p.bootstrap(asInput({ ...c, root }))).toMatchObject({ status: "rejected", code: "key_policy" });
  });

  it("refuses a non-boolean insecure_key_policy with 400", async () => {
    const c = await makeCeremony({ bitLength: 3 });
    const res = await fetchWorker("/api/v1/bootstrap", { method: "POST", headers: adminHeaders, body: JSON.stringify({ root: c.root, targets: c.targets, bins: c.bins, insecure_key_policy: "yes" }) });
    await expectError(res, 400, "request_invalid");
  });

  it("shows pep458 in /api/v1/status for a compliant repository, and refuses a later root that breaks the policy", async () => {
    const c = await makeCeremony({ bitLength: 3 });
    const p = await publisherFor("compliant");
    expect(await p.bootstrap(asInput(c))).toMatchObject({ status: "bootstrapped" });
    expect((await p.status())!.key_policy).toBe("pep458");
    const root2 = await resignRoot(c, c.signers.root, (s) => {
      s.version = 2;
      s.expires = new Date(Date.now() + YEAR).toISOString().replace(/\.\d+Z$/, "Z");
      s.roles.root.threshold = 1;
    });
    expect(await p.updateOfflineRoles({ root: JSON.stringify(root2) })).toMatchObject({ status: "rejected", code: "key_policy" });
  });

  it("bootstraps a threshold-1 root only with insecure_key_policy, and /api/v1/status says so", async () => {
    const c = await makeCeremony({ bitLength: 3 });
    const root = await resignRoot(c, c.signers.root.slice(0, 1), (s) => (s.roles.root.threshold = 1));
    const res = await fetchWorker("/api/v1/bootstrap", {
      method: "POST",
      headers: adminHeaders,
      body: JSON.stringify({ root, targets: c.targets, bins: c.bins, insecure_key_policy: true }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await getStatus()) as unknown as { key_policy: string }).key_policy).toBe("insecure");
  });
});
