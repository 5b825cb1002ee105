/**
 * Crashes under load: webhooks keep arriving while the Publisher stands at a crash point, and
 * workerd is SIGKILLed with some of them in flight. Every change acknowledged before the kill
 * must be published after the restart; those never answered may or may not be (the index retries them).
 * CI runs 2 rounds; `CRASH_SOAK=10 npx vitest run --project e2e test/e2e/crash-soak.test.ts` runs a longer soak.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { CrashStep } from "../../src/publisher/crash-point.js";
import { artifact, CrashRepo } from "./crash-harness.js";

const ROUNDS = Number(process.env.CRASH_SOAK ?? 2);
const STEPS: CrashStep[] = ["after-begin", "bins-partial", "after-snapshot", "after-timestamp"];

describe(`${ROUNDS} crashes under load`, () => {
  let r: CrashRepo;
  afterAll(() => r?.close());

  it("loses nothing acknowledged, rewrites nothing differently, and verifies after each", async () => {
    r = await CrashRepo.start();
    expect((await r.bootstrap()).status).toBe(201);
    for (let round = 0; round < ROUNDS; round++) {
      const step = STEPS[(round * 3) % STEPS.length]!;
      const byAlarm = round % 2 === 0;
      await r.worker.kill();
      await r.boot(byAlarm ? step : `${step},no-alarm`);
      const reached = r.crashPointReached();
      let crashed = false;
      void reached.then(() => (crashed = true));
      // Eight webhooks at a time until the Publisher stops, then eight more that land in its queue.
      const inFlight: Promise<unknown>[] = [];
      for (let wave = 0; !crashed || wave < 2; wave++) {
        const batch = Array.from({ length: 8 }, () => r.publish({ add: [artifact(`soak-${round}`)] }).catch(() => undefined));
        inFlight.push(...batch);
        if (crashed) break;
        await Promise.race([Promise.all(batch), reached]);
      }
      await reached;
      await r.crashAndRestart();
      await Promise.all(inFlight);
      if (byAlarm) await r.settled();
      else expect((await r.publish({ add: [artifact()] }, "?wait=true")).status).toBe(200);
      await r.settled();
      await r.check();
    }
  }, ROUNDS * 120_000 + 60_000);
});
