/**
 * Resumes, logs and checks (issue 13, item 7): the snapshot is self-checked
 * before it is written, and a publish redone after a crash before its commit
 * is logged once, marked as resumed.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import { bootstrap } from "../http/helpers.js";

const stub = () => env.PUBLISHER.getByName("default");
const add = (path: string) => ({ changes: [{ op: "add" as const, path, length: 1, hashes: { sha256: "1".repeat(64) } }], bodySha256: path });
type Internals = { currentLayout(): { snapshot: { signedBytes(v: number, e: Date): Uint8Array } }; commit: unknown };

const publishedEvents = (lines: string[]) =>
  lines.map((l) => { try { return JSON.parse(l); } catch { return undefined; } }).filter((l) => l?.event === "published");

describe("checks before writing", () => {
  const bootstrapLog: string[] = [];
  beforeAll(async () => {
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => void bootstrapLog.push(String(line)));
    await bootstrap(3);
    spy.mockRestore();
  });

  it("logs bootstrap's first publish as a new one: reserved, but never written before", () => {
    expect(publishedEvents(bootstrapLog)).toEqual([expect.not.objectContaining({ resumed: true })]);
    expect(publishedEvents(bootstrapLog)[0]).toMatchObject({ timestamp: 1 });
  });
  afterEach(() => vi.restoreAllMocks());

  it("refuses to write a snapshot that is not canonical, and publishes once it is", async () => {
    const before = (await stub().status())!.roles.snapshot.version;
    await runInDurableObject(stub(), (instance: Publisher) => {
      const snapshot = (instance as unknown as Internals).currentLayout().snapshot;
      const real = snapshot.signedBytes.bind(snapshot);
      (globalThis as { restoreSnapshot?: () => void }).restoreSnapshot = () => (snapshot.signedBytes = real);
      // Valid JSON that verifies, but not the canonical form clients hash and check.
      snapshot.signedBytes = (v, e) => new TextEncoder().encode(` ${new TextDecoder().decode(real(v, e))}`);
    });
    const result = await stub().submit({ ...add("checks/a.whl"), wait: true });
    expect(result.status).toBe("queued");
    expect(await env.BUCKET.head(`default/metadata/${before + 1}.snapshot.json`)).toBeNull();
    await runInDurableObject(stub(), () => (globalThis as { restoreSnapshot?: () => void }).restoreSnapshot!());
    expect(await stub().renew()).toMatchObject({ status: "published", snapshot: before + 1 });
  });

  it("logs a publish redone after a crash before its commit once, marked resumed", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    await runInDurableObject(stub(), (instance: Publisher) => {
      const internals = instance as unknown as Internals;
      const real = internals.commit;
      // The crash: every file, timestamp.json included, is in R2, but the commit never happens.
      internals.commit = async () => {
        internals.commit = real;
        throw new Error("crash between timestamp.json and the commit");
      };
    });
    // status reports the committed state, so the crashed publish is the version after it.
    const version = (await stub().status())!.roles.timestamp.version + 1;
    const result = await stub().submit({ ...add("checks/b.whl"), wait: true });
    expect(result.status).toBe("queued");
    expect((await stub().status())!.roles.timestamp.version).toBe(version - 1);
    await stub().renew();
    expect(publishedEvents(lines)).toEqual([expect.objectContaining({ timestamp: version, resumed: true })]);
  });
});
