/**
 * Replay-proof webhooks (issue 13, item 2). Deliveries are signed by the
 * independent `standardwebhooks` library, as an index would sign them, and
 * captured; resending them after a remove, without headers, or with a new
 * timestamp changes nothing.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { WEBHOOK_SECRET } from "../fixtures/ceremony.js";
import { signWebhook } from "../../src/http/auth.js";
import { bootstrap, expectError, fetchWorker, repoState } from "./helpers.js";

const index = new Webhook(WEBHOOK_SECRET);
const PATH = "replay/demo-1.0.tar.gz";
const ADD = JSON.stringify({ add: [{ path: PATH, length: 3, hashes: { sha256: "ab".repeat(32) } }] });
const REMOVE = JSON.stringify({ remove: [PATH] });

interface Delivery {
  body: string;
  headers: Record<string, string>;
}

/** What an index using a Standard Webhooks library sends. */
function deliver(id: string, body: string, at = new Date()): Delivery {
  return {
    body,
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": index.sign(id, at, body),
    },
  };
}

const send = ({ body, headers }: Delivery) => fetchWorker("/api/v1/artifacts?wait=true", { method: "POST", headers, body });

async function listed(): Promise<boolean> {
  const status = await fetchWorker("/api/v1/status");
  expect(status.status).toBe(200);
  const ts = JSON.parse(await (await env.BUCKET.get("default/metadata/timestamp.json"))!.text());
  const snapshot = JSON.parse(await (await env.BUCKET.get(`default/metadata/${ts.signed.meta["snapshot.json"].version}.snapshot.json`))!.text());
  for (const [file, meta] of Object.entries(snapshot.signed.meta as Record<string, { version: number }>)) {
    if (!file.startsWith("bin-")) continue;
    const bin = JSON.parse(await (await env.BUCKET.get(`default/metadata/${meta.version}.${file}`))!.text());
    if (Object.hasOwn(bin.signed.targets, PATH)) return true;
  }
  return false;
}

describe("Standard Webhooks interop", () => {
  beforeAll(async () => {
    await bootstrap(3);
  });

  it("accepts a delivery signed by the standardwebhooks library", async () => {
    const res = await send(deliver("msg_interop_1", JSON.stringify({ add: [{ path: "interop/a.whl", length: 1, hashes: { sha256: "cd".repeat(32) } }] })));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ status: "published" });
  });

  it("signs (tuf-edge publish, the tests) what the standardwebhooks library verifies", async () => {
    const headers = await signWebhook(ADD, WEBHOOK_SECRET, { id: "msg_interop_2" });
    expect(index.verify(ADD, headers)).toEqual(JSON.parse(ADD));
  });
});

describe("a captured delivery, replayed", () => {
  let addDelivery: Delivery;
  let addReceipt: { receipt: string; timestamp: number };

  beforeAll(async () => {
    addDelivery = deliver("msg_add_1", ADD);
    const added = await send(addDelivery);
    expect(added.status, await added.clone().text()).toBe(200);
    addReceipt = (await added.json()) as typeof addReceipt;
    const removed = await send(deliver("msg_remove_1", REMOVE));
    expect(removed.status, await removed.clone().text()).toBe(200);
    expect(await listed()).toBe(false);
  });

  it("as captured, after the remove: answered with the first receipt, the file stays removed", async () => {
    const before = await repoState();
    const res = await send(addDelivery);
    expect(res.status).toBe(200);
    expect(((await res.json()) as typeof addReceipt).receipt).toBe(addReceipt.receipt);
    expect(await repoState()).toEqual(before);
    expect(await listed()).toBe(false);
  });

  it("without its headers: 401 signature_missing, nothing changes", async () => {
    const before = await repoState();
    await expectError(await send({ body: addDelivery.body, headers: { "content-type": "application/json" } }), 401, "signature_missing");
    expect(await repoState()).toEqual(before);
  });

  it("with a new webhook-timestamp: 401 signature_invalid, nothing changes", async () => {
    const before = await repoState();
    const headers = { ...addDelivery.headers, "webhook-timestamp": String(Number(addDelivery.headers["webhook-timestamp"]) + 30) };
    await expectError(await send({ body: addDelivery.body, headers }), 401, "signature_invalid");
    expect(await repoState()).toEqual(before);
  });

  it("with the old Idempotency-Key scheme's trick (a new id, the old signature): 401 signature_invalid, nothing changes", async () => {
    const before = await repoState();
    const headers = { ...addDelivery.headers, "webhook-id": "msg_add_2" };
    await expectError(await send({ body: addDelivery.body, headers }), 401, "signature_invalid");
    expect(await repoState()).toEqual(before);
    expect(await listed()).toBe(false);
  });

  it("the delivery id is remembered far past the timestamp tolerance", async () => {
    const stub = env.PUBLISHER.getByName("default");
    const later = Date.now() + 7 * 86_400_000;
    const again = await stub.submit({ changes: [{ op: "add", path: PATH, length: 3, hashes: { sha256: "ab".repeat(32) } }], bodySha256: "x", idempotencyKey: "webhook:msg_add_1" }, later);
    expect(again).toEqual({ status: "idempotency_conflict" });
    expect(await listed()).toBe(false);
  });
});
