/**
 * Who may call what: the webhook's Standard Webhooks signature, the admin bearer token, and
 * bootstrap's refusal of ceremonies that are not fully signed, fresh and bound
 * to ONLINE_KEY. A refused bootstrap leaves the repository unbootstrapped and R2 empty.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Ed25519Signer, Metadata, type JSONObject } from "../../src/tuf/index.js";
import { ADMIN_TOKEN, makeCeremony, webhookSignature, type Ceremony } from "../fixtures/ceremony.js";
import {
  adminHeaders,
  bootstrapBody,
  expectError,
  fetchWorker,
  metadataKeys,
  postArtifactsRaw,
  postBootstrap,
  repoState,
} from "./helpers.js";

const BODY = JSON.stringify({ add: [{ path: "auth/demo-1.0.tar.gz", length: 3, hashes: { sha256: "ab".repeat(32) } }] });
const now = () => Math.floor(Date.now() / 1000);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const clone = (value: JSONObject): Json => JSON.parse(JSON.stringify(value));

/** Re-signs `raw` (after `edit` changed its signed part) with `signers` only. */
async function resign(type: "root" | "targets", raw: JSONObject, signers: Ed25519Signer[], edit: (signed: Json) => void = () => {}): Promise<JSONObject> {
  const copy = clone(raw);
  edit(copy.signed);
  let md: Metadata = new Metadata(Metadata.fromJSON(type, copy).signed);
  for (const s of signers) md = await md.sign(s);
  return md.toJSON();
}

/** The fixture ceremony, but with another key as the online key of snapshot, timestamp and every bin-n. */
async function ceremonyWithOnlineKey(c: Ceremony, other: Ed25519Signer): Promise<Pick<Ceremony, "root" | "targets" | "bins">> {
  const id = other.key.keyid;
  const root = await resign("root", c.root, c.signers.root.slice(0, 2), (s) => {
    delete s.keys[c.signers.online.key.keyid];
    s.keys[id] = other.key.toJSON();
    s.roles.snapshot.keyids = [id];
    s.roles.timestamp.keyids = [id];
  });
  const bins = await resign("targets", c.bins, c.signers.targets, (s) => {
    s.delegations.keys = { [id]: other.key.toJSON() };
    s.delegations.succinct_roles.keyids = [id];
  });
  return { root, targets: c.targets, bins };
}

describe("a repository that is not bootstrapped", () => {
  let ceremony: Ceremony;
  beforeAll(async () => {
    ceremony = await makeCeremony({ bitLength: 4 });
  });

  it("refuses a correctly signed artifact submission with 409 not_bootstrapped", async () => {
    const res = await postArtifactsRaw(BODY, { query: "?wait=true" });
    await expectError(res, 409, "not_bootstrapped");
  });

  it("answers GET /api/v1/status with 409 not_bootstrapped", async () => {
    await expectError(await fetchWorker("/api/v1/status"), 409, "not_bootstrapped");
  });

  it("answers /healthz with 503", async () => {
    const res = await fetchWorker("/healthz");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ok: false });
  });

  it("answers /metadata/timestamp.json with 404 not_found", async () => {
    await expectError(await fetchWorker("/metadata/timestamp.json"), 404, "not_found");
  });

  it("refuses PUT /api/v1/targets with 409 not_bootstrapped and serves no file under that path", async () => {
    const res = await fetchWorker("/api/v1/targets/early/hello.txt?wait=true", { method: "PUT", headers: adminHeaders, body: "early bytes" });
    await expectError(res, 409, "not_bootstrapped");
    // A refused request changes nothing: the plain name must not be published outside signed metadata.
    expect(await env.BUCKET.head("default/targets/early/hello.txt")).toBeNull();
    expect((await fetchWorker("/targets/early/hello.txt")).status).toBe(404);
  });

  describe("refuses a bootstrap ceremony with 422 and stays unbootstrapped", () => {
    const variants: Array<{ rule: string; code: string; build: (c: Ceremony) => Promise<Pick<Ceremony, "root" | "targets" | "bins">> }> = [
      {
        rule: "root is signed by only 1 of its 2 required keys",
        code: "threshold",
        build: async (c) => ({ ...c, root: { ...c.root, signatures: [(c.root.signatures as JSONObject[])[0]!] } }),
      },
      {
        rule: "root is signed twice by the same key",
        code: "threshold",
        build: async (c) => ({ ...c, root: await resign("root", c.root, [c.signers.root[0]!]) }),
      },
      {
        rule: "root is signed by a key it does not name for root",
        code: "threshold",
        build: async (c) => ({ ...c, root: await resign("root", c.root, [c.signers.root[0]!, c.signers.targets[0]!]) }),
      },
      {
        rule: "a targets signature was altered",
        code: "threshold",
        build: async (c) => {
          const targets = clone(c.targets);
          const sig: string = targets.signatures[0].sig;
          targets.signatures[0].sig = (sig[0] === "0" ? "1" : "0") + sig.slice(1);
          return { ...c, targets };
        },
      },
      {
        rule: "targets was changed after signing",
        code: "threshold",
        build: async (c) => {
          const targets = clone(c.targets);
          targets.signed.version = 1;
          targets.signed.expires = "2099-01-01T00:00:00Z";
          return { ...c, targets };
        },
      },
      {
        rule: "bins is signed by only 1 of the 2 targets keys",
        code: "threshold",
        build: async (c) => ({ ...c, bins: await resign("targets", c.bins, [c.signers.targets[0]!]) }),
      },
      {
        rule: "root has expired",
        code: "expired",
        build: async (c) => ({
          ...c,
          root: await resign("root", c.root, c.signers.root.slice(0, 2), (s) => {
            s.expires = "2020-01-01T00:00:00Z";
          }),
        }),
      },
      {
        rule: "bins has expired",
        code: "expired",
        build: async (c) => ({
          ...c,
          bins: await resign("targets", c.bins, c.signers.targets, (s) => {
            s.expires = "2020-01-01T00:00:00Z";
          }),
        }),
      },
      {
        rule: "the whole ceremony was signed two years ago and has expired",
        code: "expired",
        build: () => makeCeremony({ bitLength: 4, now: Date.now() - 2 * 365 * 86_400_000 }),
      },
      {
        rule: "the ceremony's online key is not ONLINE_KEY",
        code: "unknown_key",
        build: async (c) => ceremonyWithOnlineKey(c, await Ed25519Signer.fromSeed(new Uint8Array(32).fill(99))),
      },
      {
        rule: "root names ONLINE_KEY for timestamp but another key for snapshot",
        code: "unknown_key",
        build: async (c) => {
          const other = await Ed25519Signer.fromSeed(new Uint8Array(32).fill(98));
          const root = await resign("root", c.root, c.signers.root.slice(0, 2), (s) => {
            s.keys[other.key.keyid] = other.key.toJSON();
            s.roles.snapshot.keyids = [other.key.keyid];
          });
          return { ...c, root };
        },
      },
      {
        rule: "bins' succinct_roles need 2 keys besides ONLINE_KEY",
        code: "unknown_key",
        build: async (c) => ({
          ...c,
          bins: await resign("targets", c.bins, c.signers.targets, (s) => {
            s.delegations.succinct_roles.threshold = 2;
          }),
        }),
      },
      {
        rule: "root is version 2",
        code: "rollback",
        build: async (c) => ({
          ...c,
          root: await resign("root", c.root, c.signers.root.slice(0, 2), (s) => {
            s.version = 2;
          }),
        }),
      },
      {
        rule: "root does not set consistent_snapshot",
        code: "malformed",
        build: async (c) => ({
          ...c,
          root: await resign("root", c.root, c.signers.root.slice(0, 2), (s) => {
            delete s.consistent_snapshot;
          }),
        }),
      },
    ];

    it.each(variants)("when $rule ($code)", async ({ code, build }) => {
      const res = await postBootstrap(bootstrapBody(await build(ceremony)));
      await expectError(res, 422, code);
      await expectError(await fetchWorker("/api/v1/status"), 409, "not_bootstrapped");
      expect(await metadataKeys()).toEqual([]);
    });

    it.each([
      { rule: "bins is missing", body: () => JSON.stringify({ root: ceremony.root, targets: ceremony.targets }), status: 400, code: "request_invalid" },
      { rule: "root is a string", body: () => JSON.stringify({ root: "x", targets: ceremony.targets, bins: ceremony.bins }), status: 400, code: "request_invalid" },
      { rule: "the body is a JSON array", body: () => "[]", status: 400, code: "request_invalid" },
      { rule: "the body is not JSON", body: () => "{root", status: 400, code: "malformed_json" },
    ])("when $rule ($status $code)", async ({ body, status, code }) => {
      await expectError(await postBootstrap(body()), status, code);
      await expectError(await fetchWorker("/api/v1/status"), 409, "not_bootstrapped");
      expect(await metadataKeys()).toEqual([]);
    });
  });

  describe("admin endpoints", () => {
    it.each<{ rule: string; headers: Record<string, string> }>([
      { rule: "has no Authorization header", headers: {} },
      { rule: "has the wrong bearer token", headers: { authorization: "Bearer wrong-token" } },
      { rule: "has the token without the Bearer scheme", headers: { authorization: ADMIN_TOKEN } },
      { rule: "has a Basic scheme", headers: { authorization: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}` } },
      { rule: "has the token with a trailing character", headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } },
      { rule: "has an empty bearer token", headers: { authorization: "Bearer " } },
    ])("refuse POST /api/v1/bootstrap that $rule with 401 unauthorized and do not bootstrap", async ({ headers }) => {
      await expectError(await postBootstrap(bootstrapBody(ceremony), headers), 401, "unauthorized");
      await expectError(await fetchWorker("/api/v1/status"), 409, "not_bootstrapped");
      expect(await metadataKeys()).toEqual([]);
    });

    it.each<{ rule: string; headers: Record<string, string> }>([
      { rule: "has no Authorization header", headers: {} },
      { rule: "has the wrong bearer token", headers: { authorization: "Bearer wrong-token" } },
    ])("refuse PUT /api/v1/targets/<path> that $rule with 401 unauthorized and store nothing", async ({ headers }) => {
      const res = await fetchWorker("/api/v1/targets/noauth/hello.txt", { method: "PUT", headers, body: "bytes" });
      await expectError(res, 401, "unauthorized");
      expect((await env.BUCKET.list({ prefix: "default/targets/noauth/" })).objects).toEqual([]);
    });
  });
});

describe("the webhook signature on a bootstrapped repository", () => {
  beforeAll(async () => {
    const ceremony = await makeCeremony({ bitLength: 4 });
    const res = await postBootstrap(bootstrapBody(ceremony));
    expect(res.status, await res.clone().text()).toBe(201);
  });

  type Headers = Record<string, string>;
  const signed = (options: Parameters<typeof webhookSignature>[1] = {}) => webhookSignature(BODY, options);
  const edit = async (change: (h: Headers) => void, options: Parameters<typeof webhookSignature>[1] = {}) => {
    const h = await signed(options);
    change(h);
    return h;
  };
  const OTHER_SECRET = `whsec_${btoa("another secret, 24 bytes")}`;
  const cases: Array<{ rule: string; code: string; webhook: () => Promise<Headers | null> }> = [
    { rule: "no webhook header is sent", code: "signature_missing", webhook: async () => null },
    { rule: "webhook-id is missing", code: "signature_missing", webhook: () => edit((h) => delete h["webhook-id"]) },
    { rule: "webhook-timestamp is missing", code: "signature_missing", webhook: () => edit((h) => delete h["webhook-timestamp"]) },
    { rule: "webhook-signature is missing", code: "signature_missing", webhook: () => edit((h) => delete h["webhook-signature"]) },
    { rule: "webhook-signature is an empty string", code: "signature_missing", webhook: () => edit((h) => (h["webhook-signature"] = "")) },
    { rule: "webhook-signature is not v1,<base64>", code: "signature_malformed", webhook: () => edit((h) => (h["webhook-signature"] = "garbage")) },
    { rule: "webhook-signature is only v1a (asymmetric)", code: "signature_malformed", webhook: () => edit((h) => (h["webhook-signature"] = h["webhook-signature"]!.replace("v1,", "v1a,"))) },
    { rule: "webhook-timestamp is not a number", code: "signature_malformed", webhook: () => edit((h) => (h["webhook-timestamp"] = "soon")) },
    { rule: "webhook-timestamp is negative", code: "signature_malformed", webhook: () => edit((h) => (h["webhook-timestamp"] = "-5")) },
    { rule: "webhook-id has a space", code: "signature_malformed", webhook: () => signed({ id: "msg 1" }) },
    { rule: "webhook-id is longer than 200 characters", code: "signature_malformed", webhook: () => signed({ id: "m".repeat(201) }) },
    { rule: "the HMAC uses the wrong secret", code: "signature_invalid", webhook: () => signed({ secret: OTHER_SECRET }) },
    { rule: "the body was altered after signing", code: "signature_invalid", webhook: () => webhookSignature(BODY.replace("1.0", "1.1")) },
    { rule: "webhook-id was changed after signing", code: "signature_invalid", webhook: () => edit((h) => (h["webhook-id"] = "msg_other")) },
    { rule: "the v1 value is empty", code: "signature_invalid", webhook: () => edit((h) => (h["webhook-signature"] = "v1,")) },
    { rule: "webhook-timestamp was changed after signing", code: "signature_invalid", webhook: () => edit((h) => (h["webhook-timestamp"] = String(now())), { timestamp: now() - 10 }) },
    { rule: "webhook-timestamp is more than 5 minutes old", code: "signature_expired", webhook: () => signed({ timestamp: now() - 3600 }) },
    { rule: "webhook-timestamp is more than 5 minutes in the future", code: "signature_expired", webhook: () => signed({ timestamp: now() + 3600 }) },
    { rule: "webhook-timestamp is in milliseconds", code: "signature_expired", webhook: () => signed({ timestamp: Date.now() }) },
  ];

  it.each(cases)("refuses a request when $rule with 401 $code and changes nothing", async ({ code, webhook }) => {
    const before = await repoState();
    const res = await postArtifactsRaw(BODY, { query: "?wait=true", webhook: await webhook() });
    await expectError(res, 401, code);
    expect(await repoState()).toEqual(before);
  });

  it("ignores the retired X-TUF-Edge-Signature and Idempotency-Key headers: without Standard Webhooks headers it is 401", async () => {
    const res = await postArtifactsRaw(BODY, { webhook: null, headers: { "x-tuf-edge-signature": "t=1,v1=00", "idempotency-key": "k" } });
    await expectError(res, 401, "signature_missing");
  });

  it("checks the signature before the body's JSON, so an unsigned malformed body is 401 not 400", async () => {
    await expectError(await postArtifactsRaw("{nope", { webhook: null }), 401, "signature_missing");
  });

  it("accepts several space-separated signatures when one of them matches (secret rotation)", async () => {
    const id = "msg_rotation";
    const timestamp = now();
    const good = await signed({ id, timestamp });
    const old = await signed({ id, timestamp, secret: OTHER_SECRET });
    const header = `${old["webhook-signature"]} v1a,bm90LWEta2V5 ${good["webhook-signature"]}`;
    const res = await postArtifactsRaw(BODY, { query: "?wait=true", webhook: { ...good, "webhook-signature": header } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ status: "published" });
  });

  it("accepts a signature whose webhook-timestamp is a minute old", async () => {
    const body = JSON.stringify({ add: [{ path: "auth/demo-1.1.tar.gz", length: 4, hashes: { sha256: "cd".repeat(32) } }] });
    const res = await postArtifactsRaw(body, { query: "?wait=true", webhook: await webhookSignature(body, { timestamp: now() - 60 }) });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("refuses a second bootstrap with 409 already_bootstrapped", async () => {
    const ceremony = await makeCeremony({ bitLength: 4 });
    await expectError(await postBootstrap(bootstrapBody(ceremony)), 409, "already_bootstrapped");
  });

  it("refuses a second bootstrap without the admin token with 401 before anything else", async () => {
    await expectError(await postBootstrap("{}", {}), 401, "unauthorized");
  });
});
