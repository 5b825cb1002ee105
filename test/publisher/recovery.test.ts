/**
 * Crash safety of the publish pipeline: a failure after each R2 write leaves a
 * state the next publish recovers from, timestamp.json never points at a
 * missing file, and every acknowledged change is published in the end.
 * Faults are injected into the real R2 binding (a wrapper that fails the Nth put).
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import type { Publisher } from "../../src/publisher/publisher.js";
import { bootstrap } from "../http/helpers.js";

const stub = () => env.PUBLISHER.getByName(env.REPOSITORY);

async function readJSON(key: string) {
  const object = await env.BUCKET.get(key);
  return object && new Uint8Array(await object.arrayBuffer());
}

/** Every file the current timestamp.json reaches exists in R2. */
async function expectConsistent(): Promise<number> {
  const ts = Metadata.fromBytes("timestamp", (await readJSON("default/metadata/timestamp.json"))!);
  const snapBytes = await readJSON(`default/metadata/${ts.signed.snapshotMeta.version}.snapshot.json`);
  expect(snapBytes, "snapshot referenced by timestamp.json").not.toBeNull();
  const snapshot = Metadata.fromBytes("snapshot", snapBytes!);
  for (const [file, meta] of Object.entries(snapshot.signed.meta))
    expect(await env.BUCKET.head(`default/metadata/${meta.version}.${file}`), file).not.toBeNull();
  return ts.signed.version;
}

/** Makes the Publisher's puts fail from the `failAt`-th on, until restored. */
async function injectPutFailure(failAt: number): Promise<() => Promise<void>> {
  await runInDurableObject(stub(), (instance: Publisher) => {
    const self = instance as unknown as { env: Env };
    const real = self.env.BUCKET;
    let puts = 0;
    const faulty = new Proxy(real, {
      get(target, prop) {
        if (prop === "put")
          return (...args: Parameters<R2Bucket["put"]>) => {
            if (++puts >= failAt) return Promise.reject(new Error(`injected failure at put ${puts}`));
            return target.put(...args);
          };
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    self.env = { ...self.env, BUCKET: faulty };
    (globalThis as { restoreBucket?: () => void }).restoreBucket = () => {
      self.env = { ...self.env, BUCKET: real };
    };
  });
  return () =>
    runInDurableObject(stub(), () => {
      (globalThis as { restoreBucket?: () => void }).restoreBucket!();
    });
}

describe("Publisher recovery", () => {
  beforeAll(async () => {
    await bootstrap(4);
  });

  // One publish of two paths in different bins writes 2 bins, the snapshot and timestamp.json: 4 puts.
  it.each([1, 2, 3, 4])("recovers when the R2 put #%i of a publish fails", async (failAt) => {
    const before = await expectConsistent();
    const restore = await injectPutFailure(failAt);
    const changes = [
      { op: "add" as const, path: `pkg/a-${failAt}.whl`, length: 1, hashes: { sha256: "1".repeat(64) } },
      { op: "add" as const, path: `pkg/zz-${failAt}.whl`, length: 2, hashes: { sha256: "2".repeat(64) } },
    ];
    const result = await stub().submit({ changes, bodySha256: `body-${failAt}`, wait: true });
    // Accepted durably even though publishing failed.
    expect(result.status).toBe("queued");
    const receipt = (result as { receipt: string }).receipt;

    // The half-written publish is invisible to clients: timestamp.json still points at a complete snapshot.
    expect(await expectConsistent()).toBe(before);
    expect((await stub().status())!.publishing).toBe(true);

    await restore();
    const renewed = await stub().renew();
    expect(renewed).toMatchObject({ status: "published", timestamp: before + 1 });
    expect(await expectConsistent()).toBe(before + 1);

    const view = await stub().receipt(receipt);
    expect(view).toMatchObject({ status: "published", timestamp: before + 1 });
    const ts = before + 1;
    const snapshot = Metadata.fromBytes("snapshot", (await readJSON(`default/metadata/${ts}.snapshot.json`))!);
    for (const [bin, version] of Object.entries((view as { bins: Record<string, number> }).bins))
      expect(snapshot.signed.meta[`${bin}.json`]!.version).toBe(version);
  });

  it("keeps snapshot and timestamp versions gap-free across failures", async () => {
    const status = (await stub().status())!;
    for (let v = 1; v <= status.roles.snapshot.version; v++)
      expect(await env.BUCKET.head(`default/metadata/${v}.snapshot.json`), `snapshot v${v}`).not.toBeNull();
    expect(status.roles.timestamp.version).toBe(status.roles.snapshot.version);
  });
});
