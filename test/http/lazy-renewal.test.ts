/**
 * Lazy renewal: a request for timestamp.json that finds it inside the
 * last-resort margin still gets the current file, and starts a renewal in the
 * background (for when the cron has stopped).
 */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import worker from "../../src/index.js";
import { makeCeremony } from "../fixtures/ceremony.js";

const HOUR = 3_600_000;

describe("GET /metadata/timestamp.json near expiry", () => {
  it("serves the current timestamp and renews it in the background", async () => {
    // Bootstrapped 23.5 h ago: timestamp.json has 30 minutes left, inside the 1 h margin.
    const past = Date.now() - 23.5 * HOUR;
    const c = await makeCeremony({ bitLength: 3, now: past });
    const stub = env.PUBLISHER.getByName(env.REPOSITORY);
    const boot = await stub.bootstrap({ root: JSON.stringify(c.root), targets: JSON.stringify(c.targets), bins: JSON.stringify(c.bins) }, past);
    expect(boot.status).toBe("bootstrapped");
    const before = (await stub.status())!.roles.timestamp.version;

    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("http://tuf.test/metadata/timestamp.json"), env, ctx);
    expect(res.status).toBe(200);
    const served = Metadata.fromBytes("timestamp", new Uint8Array(await res.arrayBuffer()));
    expect(served.signed.version).toBe(before);

    await waitOnExecutionContext(ctx);
    const after = (await stub.status())!;
    expect(after.roles.timestamp.version).toBeGreaterThan(before);
    expect(after.roles.timestamp.seconds_left).toBeGreaterThan(18 * 3600);

    // A fresh timestamp needs nothing: the next request leaves it alone.
    const again = await exports.default.fetch(new Request("http://tuf.test/metadata/timestamp.json"));
    expect(again.status).toBe(200);
    expect((await stub.status())!.roles.timestamp.version).toBe(after.roles.timestamp.version);
  });
});
