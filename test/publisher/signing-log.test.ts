/**
 * The signing log (docs/signing-log.md): one hash-chained entry per publish,
 * committed with it, naming every file written with the bytes R2 holds, served
 * at GET /api/v1/log in pages, with the head in /api/v1/status.
 */
import { readMetadata } from "../../src/publisher/at-rest.js";
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import { entryHash, GENESIS_HASH, servedPath, type LogEntry } from "../../src/publisher/log-entry.js";
import { PAGE_ENTRIES } from "../../src/publisher/signing-log.js";
import { IMMUTABLE } from "../../src/http/serve.js";
import { bootstrap, expectError, fetchWorker, getStatus, hex, sha } from "../http/helpers.js";

const stub = () => env.PUBLISHER.getByName(env.REPOSITORY);
const HOUR = 3_600_000;

async function allEntries(): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for (let after = 0; ; ) {
    const res = await fetchWorker(`/api/v1/log?after=${after}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { entries: LogEntry[]; next: string | null };
    entries.push(...page.entries);
    if (!page.next) return entries;
    after = page.entries[page.entries.length - 1]!.seq;
  }
}

describe("signing log", () => {
  beforeAll(async () => {
    await bootstrap(3);
  });

  it("logs bootstrap, uploads and renewals as a chain whose files are the bytes in R2", async () => {
    const submitted = await stub().submit({ changes: [{ op: "add", path: "a/a-1.whl", length: 1, hashes: { sha256: "a".repeat(64) } }], bodySha256: "x", wait: true });
    expect(submitted.status).toBe("published");
    await stub().renew(Date.now() + 7 * HOUR);

    const entries = await allEntries();
    expect(entries.map((e) => e.cause.kind)).toEqual(["bootstrap", "artifacts", "renewal"]);
    expect(entries[0]!.prev).toBe(GENESIS_HASH);
    expect(entries[0]!.files.map((f) => f.role)).toEqual([
      ...Array.from({ length: 8 }, (_, i) => `bin-${i}`), "bins", "root", "snapshot", "targets", "timestamp",
    ]);
    expect(entries[1]!.cause).toEqual({ kind: "artifacts", receipts: [(submitted as { receipt: string }).receipt] });
    for (const [i, entry] of entries.entries()) {
      expect(entry.seq).toBe(i + 1);
      const { hash, ...body } = entry;
      expect(entryHash(body)).toBe(hash);
      if (i > 0) expect(entry.prev).toBe(entries[i - 1]!.hash);
      expect(entry.time).toBeGreaterThanOrEqual(entry.started);
    }
    // Every file of the newest entries is still in R2 with the logged bytes and signatures.
    for (const file of entries.slice(1).flatMap((e) => e.files)) {
      if (file.role === "timestamp" && file.version !== entries.at(-1)!.files.find((f) => f.role === "timestamp")!.version) continue;
      const bytes = (await readMetadata(env.BUCKET, `default/${servedPath(file)}`))!;
      expect(bytes.length, servedPath(file)).toBe(file.length);
      expect(await sha("SHA-256", bytes)).toBe(file.sha256);
      const signed = JSON.parse(new TextDecoder().decode(bytes)) as { signatures: Array<{ keyid: string }> };
      expect(signed.signatures.map((s) => s.keyid).sort()).toEqual(file.keyids);
    }

    const status = await getStatus() as unknown as { log: { seq: number; hash: string }; recent_publishes: Array<{ seq: number; cause: string }> };
    expect(status.log).toEqual({ seq: 3, hash: entries[2]!.hash });
    expect(status.recent_publishes.map((p) => [p.seq, p.cause])).toEqual([[3, "renewal"], [2, "artifacts"], [1, "bootstrap"]]);
  });

  it("refuses to change or drop an entry in storage", async () => {
    await runInDurableObject(stub(), (instance: Publisher) => {
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      expect(() => sql.exec("UPDATE signing_log SET time = 0 WHERE seq = 1")).toThrow(/append-only/);
      expect(() => sql.exec("DELETE FROM signing_log WHERE seq = 1")).toThrow(/append-only/);
      expect(() => sql.exec("UPDATE signing_log_files SET sha256 = 'x' WHERE seq = 1")).toThrow(/append-only/);
    });
  });

  it("counts targets per bin for the bin-size distribution", async () => {
    await stub().submit({ changes: [{ op: "add", path: "b/b-1.whl", length: 1, hashes: { sha256: "b".repeat(64) } }], bodySha256: "y", wait: true });
    await stub().submit({ changes: [{ op: "add", path: "a/a-1.whl", length: 2, hashes: { sha256: "c".repeat(64) } }], bodySha256: "z", wait: true });
    const status = await getStatus() as unknown as { bin_sizes: Array<{ min: number; max: number; bins: number }>; artifacts: number };
    expect(status.artifacts).toBe(2);
    const total = status.bin_sizes.reduce((n, b) => n + b.bins, 0);
    expect(total).toBe(8);
    const listed = status.bin_sizes.filter((b) => b.min > 0).reduce((n, b) => n + b.bins * b.min, 0);
    expect(listed).toBeLessThanOrEqual(2);
    await stub().submit({ changes: [{ op: "remove", path: "a/a-1.whl" }, { op: "remove", path: "b/b-1.whl" }], bodySha256: "w", wait: true });
    expect((await getStatus() as unknown as { bin_sizes: unknown }).bin_sizes).toEqual([{ min: 0, max: 0, bins: 8 }]);
  });

  it("serves full pages as immutable and the last page uncached; refuses a bad `after`", { timeout: 120_000 }, async () => {
    await expectError(await fetchWorker("/api/v1/log?after=-1"), 400, "after_invalid");
    await expectError(await fetchWorker("/api/v1/log?after=x"), 400, "after_invalid");
    const last = await fetchWorker("/api/v1/log?after=0");
    expect(last.headers.get("cache-control")).toBe("no-cache");
    expect(((await last.json()) as { next: unknown }).next).toBeNull();
    let head = (await getStatus() as unknown as { log: { seq: number } }).log.seq;
    for (; head < PAGE_ENTRIES + 1; head++)
      await stub().submit({ changes: [{ op: "add", path: `p/p-${head}.whl`, length: head, hashes: { sha256: "d".repeat(64) } }], bodySha256: `p${head}`, wait: true });
    const full = await fetchWorker("/api/v1/log?after=0");
    expect(full.headers.get("cache-control")).toBe(IMMUTABLE);
    const page = (await full.json()) as { entries: LogEntry[]; next: string };
    expect(page.entries).toHaveLength(PAGE_ENTRIES);
    expect(page.next).toBe(`/api/v1/log?after=${PAGE_ENTRIES}`);
    const again = await fetchWorker("/api/v1/log?after=0");
    expect(hex(await again.arrayBuffer())).toBe(hex(new TextEncoder().encode(JSON.stringify(page))));
  });

  it("moves full pages but the newest to R2, and serves every page as before", { timeout: 120_000 }, async () => {
    let head = (await getStatus() as unknown as { log: { seq: number } }).log.seq;
    for (; head < 2 * PAGE_ENTRIES + 3; head++)
      await stub().submit({ changes: [{ op: "add", path: `q/q-${head}.whl`, length: head, hashes: { sha256: "e".repeat(64) } }], bodySha256: `q${head}`, wait: true });
    const before = await allEntries();
    const bytes = async (after: number) => hex(await (await fetchWorker(`/api/v1/log?after=${after}`)).arrayBuffer());
    const served = { 0: await bytes(0), 37: await bytes(37), [PAGE_ENTRIES]: await bytes(PAGE_ENTRIES) };

    await stub().renew();
    expect(await env.BUCKET.head(`${env.REPOSITORY}/log/0.json`)).not.toBeNull();
    expect(await env.BUCKET.head(`${env.REPOSITORY}/log/${PAGE_ENTRIES}.json`)).toBeNull(); // the newest full page stays
    await runInDurableObject(stub(), (instance: Publisher) => {
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      expect(sql.exec<{ first: number }>("SELECT MIN(seq) AS first FROM signing_log").one().first).toBe(PAGE_ENTRIES + 1);
      expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM signing_log_files WHERE seq <= ?", PAGE_ENTRIES).one().n).toBe(0);
      expect(() => sql.exec("DELETE FROM signing_log WHERE seq = ?", PAGE_ENTRIES + 1)).toThrow(/append-only/);
    });

    expect(await allEntries()).toEqual(before);
    for (const [after, body] of Object.entries(served)) expect(await bytes(Number(after)), `after=${after}`).toBe(body);
    expect((await fetchWorker("/api/v1/log?after=37")).headers.get("cache-control")).toBe(IMMUTABLE);
    expect((await getStatus() as unknown as { log: { seq: number } }).log.seq).toBe(before[before.length - 1]!.seq);

    // A page lost from R2 is a named 503, not a 500 or a gap in the chain.
    const page = await env.BUCKET.get(`${env.REPOSITORY}/log/0.json`);
    const kept = { body: await page!.arrayBuffer(), httpMetadata: page!.httpMetadata, customMetadata: page!.customMetadata };
    await env.BUCKET.delete(`${env.REPOSITORY}/log/0.json`);
    await expectError(await fetchWorker("/api/v1/log?after=0"), 503, "log_page_unavailable");
    await env.BUCKET.put(`${env.REPOSITORY}/log/0.json`, kept.body, { httpMetadata: kept.httpMetadata, customMetadata: kept.customMetadata });
    expect(await bytes(0)).toBe(served[0]);
  });
});
