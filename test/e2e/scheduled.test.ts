/**
 * The Worker's `scheduled` handler run as the runtime runs it (Miniflare's `getWorker().scheduled()`,
 * which workerd dispatches like a cron trigger), on the real clock. The renewal policy is compressed
 * through the same vars an operator sets (ONLINE_EXPIRY_HOURS, RENEW_FLOOR_HOURS), so that bins fall
 * due within seconds: renewal period = 1.1 h − 0.01 h floor − 1 h slack = 324 s. Bootstrap staggers
 * bin i to fall due at T0 + 324 s × (i + 1) / n, so a cron run at T re-signs exactly the
 * ⌊n × (T − T0) / 324 s⌋ bins due by then — the stagger the README's "about 2^bit_length / 60 per run"
 * comes from (at the defaults, 5 min of a 5 h period). The per-run bound at the defaults is checked in
 * test/publisher/simulation.test.ts. Alarms firing for real are tested in crash.test.ts.
 */
import { afterAll, describe, expect, it } from "vitest";
import { CrashRepo } from "./crash-harness.js";

const N = 256;
const PERIOD_MS = 324_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the cron's scheduled handler", () => {
  let r: CrashRepo;
  afterAll(() => r?.close());

  it("re-signs exactly the bins whose staggered expiry has come due, and the result verifies", async () => {
    r = await CrashRepo.start({ bitLength: 8, vars: { ONLINE_EXPIRY_HOURS: "1.1", RENEW_FLOOR_HOURS: "0.01" } });
    const bootBefore = Date.now();
    expect((await r.bootstrap()).status).toBe(201);
    const bootAfter = Date.now();
    const timestampBefore = (await r.status()).roles.timestamp.version;
    await sleep(12_000);
    const runBefore = Date.now();
    await r.worker.scheduled();
    const runAfter = Date.now();
    const renewed = (await r.keys()).filter((k) => /^metadata\/2\.bin-[0-9a-f]+\.json$/.test(k)).length;
    expect(renewed).toBeGreaterThanOrEqual(Math.floor((N * (runBefore - bootAfter)) / PERIOD_MS));
    expect(renewed).toBeLessThanOrEqual(Math.floor((N * (runAfter - bootBefore)) / PERIOD_MS));
    expect(renewed).toBeGreaterThan(0);
    expect((await r.status()).roles.timestamp.version).toBe(timestampBefore + 1);
    // A second run straight after finds (almost) nothing new due: the work is spread, not bunched.
    await r.worker.scheduled();
    const again = (await r.keys()).filter((k) => /^metadata\/2\.bin-[0-9a-f]+\.json$/.test(k)).length - renewed;
    expect(again).toBeLessThanOrEqual(Math.ceil((N * (Date.now() - runBefore)) / PERIOD_MS) + 1);
    await r.check();
  });
});
