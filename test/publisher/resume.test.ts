/**
 * A publish bigger than one invocation can write (bootstrap and online-key
 * rotation write every bin-n; Workers cap subrequests per invocation) resumes
 * from its recorded progress instead of starting over.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import { makeCeremony } from "../fixtures/ceremony.js";

const stub = () => env.PUBLISHER.getByName(env.REPOSITORY);

/** Counts the Publisher's R2 puts and fails every put after the first `limit`, until restored. */
async function limitPuts(limit: number): Promise<{ count: () => Promise<number>; restore: () => Promise<void> }> {
  await runInDurableObject(stub(), (instance: Publisher) => {
    const self = instance as unknown as { env: Env };
    const real = self.env.BUCKET;
    const g = globalThis as { puts?: number; restorePuts?: () => void };
    g.puts = 0;
    self.env = {
      ...self.env,
      BUCKET: new Proxy(real, {
        get(target, prop) {
          if (prop === "put")
            return (...args: Parameters<R2Bucket["put"]>) =>
              ++g.puts! > limit ? Promise.reject(new Error("too many subrequests")) : target.put(...args);
          const value = Reflect.get(target, prop);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    };
    g.restorePuts = () => {
      self.env = { ...self.env, BUCKET: real };
    };
  });
  return {
    count: () => runInDurableObject(stub(), () => (globalThis as { puts?: number }).puts!),
    restore: () => runInDurableObject(stub(), () => (globalThis as { restorePuts?: () => void }).restorePuts!()),
  };
}

describe("a bootstrap that stops at the invocation's limit", () => {
  it("reports bootstrapped, then resumes the rest of the bins without rewriting the first chunks", async () => {
    const c = await makeCeremony({ bitLength: 11 }); // 2,048 bins: two progress chunks
    const limited = await limitPuts(1_500);
    const result = await stub().bootstrap({ root: JSON.stringify(c.root), targets: JSON.stringify(c.targets), bins: JSON.stringify(c.bins) });
    expect(result).toMatchObject({ status: "bootstrapped", bins: 2048, published: false });
    expect(await env.BUCKET.head("default/metadata/timestamp.json")).toBeNull();

    // The next invocation counts its own puts: only the chunks not yet recorded, plus snapshot, timestamp, roles.
    await limited.restore();
    const resumed = await limitPuts(Number.MAX_SAFE_INTEGER);
    await stub().renew();
    expect(await resumed.count()).toBeLessThanOrEqual(2048 - 1024 + 5);
    await resumed.restore();

    for (const name of ["bin-000", "bin-3ff", "bin-7ff"]) expect(await env.BUCKET.head(`default/metadata/1.${name}.json`), name).not.toBeNull();
    expect(await env.BUCKET.head("default/metadata/timestamp.json")).not.toBeNull();
    expect((await stub().status())!.publishing).toBe(false);
  }, 60_000);
});
