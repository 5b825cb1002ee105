/**
 * A refused request changes nothing and a receipt tells the truth (issue 13,
 * items 5 and 6): a refused PUT leaves no bytes in R2, the PUT fingerprint
 * covers the path, a request larger than one publish is "published" only once
 * all of it is, and a plain name that looks hash-prefixed cannot make the
 * sweep delete another target's listed copy. A large PUT is streamed into R2
 * (item 5): it needs Content-Length, and leaves no staging object behind.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import { enqueue } from "../../src/publisher/queue.js";
import type { SuccinctRoles } from "../../src/tuf/index.js";
import { R2Keys } from "../../src/publisher/r2-keys.js";
import { adminHeaders, bootstrap, expectError, fetchWorker, hex, sha } from "./helpers.js";

const keys = new R2Keys("default");
const stub = () => env.PUBLISHER.getByName("default");
const bytes = (text: string) => new TextEncoder().encode(text);
const put = (path: string, body: string, key?: string) =>
  fetchWorker(`/api/v1/targets/${path}?wait=true`, { method: "PUT", headers: { ...adminHeaders, ...(key ? { "idempotency-key": key } : {}) }, body });
const HOUR = 3_600_000;

beforeAll(async () => {
  await bootstrap(3);
});

describe("a refused PUT /api/v1/targets", () => {
  it("reusing an Idempotency-Key with other bytes leaves no copy of those bytes in R2", async () => {
    expect((await put("refused/a.txt", "first", "k-1")).status).toBe(200);
    await expectError(await put("refused/a.txt", "second", "k-1"), 422, "idempotency_key_reused");
    for (const h of [await sha("SHA-256", bytes("second")), await sha("SHA-512", bytes("second"))])
      expect(await env.BUCKET.head(keys.consistentTarget("refused/a.txt", h)), h).toBeNull();
    expect(await (await env.BUCKET.get(keys.plainTarget("refused/a.txt")))!.text()).toBe("first");
    // The first upload's copies stay: they are listed.
    expect(await env.BUCKET.head(keys.consistentTarget("refused/a.txt", await sha("SHA-256", bytes("first"))))).not.toBeNull();
    expect(await stagedUploads()).toEqual([]);
  });

  it("the fingerprint covers the path: the same key and bytes under another path is refused, and stores nothing there", async () => {
    await expectError(await put("refused/b.txt", "first", "k-1"), 422, "idempotency_key_reused");
    expect((await env.BUCKET.list({ prefix: `${keys.prefix}consistent/refused/b` })).objects).toEqual([]);
    expect(await env.BUCKET.head(keys.plainTarget("refused/b.txt"))).toBeNull();
  });

  it("the same key, bytes and path is the same request: the same receipt", async () => {
    const a = (await (await put("refused/c.txt", "same", "k-2")).json()) as { receipt: string };
    const b = (await (await put("refused/c.txt", "same", "k-2")).json()) as { receipt: string };
    expect(b.receipt).toBe(a.receipt);
  });
});

const stagedUploads = async () => (await env.BUCKET.list({ prefix: keys.upload("") })).objects.map((o) => o.key);

/** `size` bytes of a fixed pattern, made 1 MiB at a time as the Worker reads them, hashed on the way out. */
function generated(size: number) {
  const sha256 = new crypto.DigestStream("SHA-256");
  const sha512 = new crypto.DigestStream("SHA-512");
  const writers = [sha256.getWriter(), sha512.getWriter()];
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(out) {
      if (sent === size) {
        await Promise.all(writers.map((w) => w.close()));
        out.close();
        return;
      }
      const chunk = new Uint8Array(Math.min(1 << 20, size - sent)).map((_, i) => (sent + i) * 31);
      sent += chunk.length;
      await Promise.all(writers.map((w) => w.write(chunk)));
      out.enqueue(chunk);
    },
  });
  return { body, hashes: async () => ({ sha256: hex(await sha256.digest), sha512: hex(await sha512.digest) }) };
}

async function storedHash(key: string, algorithm: "SHA-256" | "SHA-512"): Promise<string> {
  const object = await env.BUCKET.get(key);
  expect(object, key).not.toBeNull();
  const digest = new crypto.DigestStream(algorithm);
  await object!.body.pipeTo(digest);
  return hex(await digest.digest);
}

describe("a large PUT /api/v1/targets", () => {
  it("is streamed into R2: a 50 MB file is published with its hashes, every copy holds its bytes, and no staging object is left", async () => {
    const size = 50 * 1024 * 1024;
    const file = generated(size);
    const res = await fetchWorker("/api/v1/targets/large/big.bin?wait=true", {
      method: "PUT",
      headers: { ...adminHeaders, "content-length": String(size) },
      body: file.body,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { sha256, sha512 } = await file.hashes();
    const listed = await runInDurableObject(stub(), (instance: Publisher) =>
      (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql
        .exec<{ length: number; hashes: string }>("SELECT length, hashes FROM artifacts WHERE path = 'large/big.bin'")
        .one(),
    );
    expect(listed.length).toBe(size);
    expect(JSON.parse(listed.hashes)).toEqual({ sha256, sha512 });
    for (const key of [keys.consistentTarget("large/big.bin", sha256), keys.consistentTarget("large/big.bin", sha512), keys.plainTarget("large/big.bin")])
      expect(await storedHash(key, "SHA-256"), key).toBe(sha256);
    expect(await stagedUploads()).toEqual([]);
  }, 60_000); // ~5 s: 50 MB is written four times to local R2 (staging, two copies, the plain name) and read back

  it("without Content-Length is refused with 411 and stores nothing", async () => {
    const res = await fetchWorker("/api/v1/targets/large/chunked.bin", {
      method: "PUT",
      headers: adminHeaders,
      // A stream of unknown length goes chunked. (Empty: a refused stream that still has data to send is cut off,
      // which the test pool reports as an uncaught "Network connection lost".)
      body: new ReadableStream({ start: (s) => s.close() }),
    });
    await expectError(res, 411, "length_required");
    expect((await env.BUCKET.list({ prefix: `${keys.prefix}consistent/large/` })).objects.map((o) => o.key).some((k) => k.endsWith(".chunked.bin"))).toBe(false);
    expect(await env.BUCKET.head(keys.plainTarget("large/chunked.bin"))).toBeNull();
    expect(await stagedUploads()).toEqual([]);
  });

  it("leaves its staging object to retention if it never finishes", async () => {
    const staging = keys.upload("crashed-upload");
    await stub().uploadStarted(staging);
    await env.BUCKET.put(staging, bytes("half an upload"));
    // Kept a day (an upload may take longer than the retention window), then deleted.
    await stub().renew(Date.now() + 3 * HOUR);
    expect(await env.BUCKET.head(staging)).not.toBeNull();
    await stub().renew(Date.now() + 26 * HOUR);
    expect(await env.BUCKET.head(staging)).toBeNull();
  });
});

describe("a request with more changes than one publish takes", () => {
  it("stays queued until the publish that takes its last change, whose versions it then reports", async () => {
    const n = 20_001; // MAX_BATCH + 1
    const ids = await runInDurableObject(stub(), async (instance: Publisher) => {
      const p = instance as unknown as {
        currentLayout(): { succinct: SuccinctRoles };
        publishOnce(now: number, renewDue: boolean): Promise<{ status: string; timestamp?: number }>;
        ctx: DurableObjectState;
      };
      const id = "receipt-big";
      p.ctx.storage.transactionSync(() => {
        p.ctx.storage.sql.exec("INSERT INTO receipts (id, idempotency_key, body_sha256, received_at) VALUES (?, NULL, 'big', ?)", id, Date.now());
        const { succinct } = p.currentLayout();
        for (let i = 0; i < n; i++) enqueue(p.ctx.storage.sql, id, { op: "remove", path: `big/${i}.whl` }, succinct);
      });
      const first = await p.publishOnce(Date.now(), false);
      const afterFirst = await instance.receipt(id);
      const second = await p.publishOnce(Date.now(), false);
      const afterSecond = await instance.receipt(id);
      return { first, afterFirst, second, afterSecond };
    });
    expect(ids.first.status).toBe("published");
    expect(ids.afterFirst).toEqual({ receipt: "receipt-big", status: "queued" });
    expect(ids.afterSecond).toMatchObject({ receipt: "receipt-big", status: "published", timestamp: ids.second.timestamp });
    // Every bin either batch touched is reported.
    expect(Object.keys((ids.afterSecond as { bins: Record<string, number> }).bins).length).toBe(8);
  });
});

describe("a plain target name that equals another target's hash-prefixed name", () => {
  it("is removed and swept without touching the other target's listed copy", async () => {
    expect((await put("d/x", "the real x")).status).toBe(200);
    const h = await sha("SHA-256", bytes("the real x"));
    // A second target whose plain name is d/x's consistent name.
    expect((await put(`d/${h}.x`, "an impostor")).status).toBe(200);
    const remove = await stub().submit({ changes: [{ op: "remove", path: `d/${h}.x` }], bodySha256: "rm-impostor", wait: true });
    expect(remove.status).toBe("published");
    await stub().renew(Date.now() + 3 * HOUR);
    const served = await fetchWorker(`/targets/d/${h}.x`);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe("the real x");
  });
});
