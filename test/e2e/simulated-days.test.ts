/**
 * Days of operation on a simulated clock, seen by an unmodified tuf-js client:
 * a cron tick every 5 minutes, random uploads and removes, and one 6-hour
 * outage of the cron. Every 6 simulated hours and right after the outage a
 * fresh client and one that keeps its cache must refresh with no error, with
 * tuf-js's own clock set to the simulated time so its expiry checks bite.
 * (test/publisher/simulation.test.ts checks every tick inside workerd.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import { startRepo, type Client, type Repo } from "./harness.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAYS = Number(process.env.SIM_DAYS ?? 2);
const OUTAGE_START = 20 * HOUR;
const OUTAGE_END = OUTAGE_START + 6 * HOUR;

/** A small seeded PRNG (mulberry32), so every run makes the same uploads. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe(`${DAYS} simulated days seen by tuf-js (bit_length 10)`, () => {
  let repo: Repo;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 10 });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await repo?.close();
  });

  it("refreshes every 6 hours and right after the outage, fresh and warm, and finds what is published", async () => {
    const ns = await repo.worker.mf.getDurableObjectNamespace("PUBLISHER");
    const publisher = ns.get(ns.idFromName("default")) as unknown as Pick<Publisher, "renew" | "submit">;
    const random = prng(458);
    const start = Date.now();
    const live = new Set<string>();
    const warm: Client = repo.client();
    let refreshes = 0;

    const refresh = async (at: number, why: string) => {
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(at);
      try {
        for (const client of [repo.client(), warm]) {
          const updater = client.updater();
          await updater.refresh().catch((e: Error) => {
            throw new Error(`${why} at +${((at - start) / HOUR).toFixed(2)} h: ${e.message}`);
          });
          const some = [...live][0];
          if (some) expect(await updater.getTargetInfo(some), `${why}: ${some}`).toBeDefined();
          refreshes++;
        }
      } finally {
        vi.useRealTimers();
      }
    };

    let n = 0;
    for (let t = start + 5 * MINUTE; t <= start + DAYS * 24 * HOUR; t += 5 * MINUTE) {
      const elapsed = t - start;
      if (elapsed > OUTAGE_START && elapsed < OUTAGE_END) continue;
      if (random() < 0.3) {
        const remove = live.size > 0 && random() < 0.3 ? [...live][Math.floor(random() * live.size)]! : undefined;
        const path = `packages/p${n}/p${n}-1.0.tar.gz`;
        const changes = remove
          ? [{ op: "remove" as const, path: remove }]
          : [{ op: "add" as const, path, length: n, hashes: { sha256: n.toString(16).padStart(64, "0") } }];
        const receipt = await publisher.submit({ changes, bodySha256: `sim-${n++}`, wait: true }, t);
        expect(receipt.status).toBe("published");
        if (remove) live.delete(remove);
        else live.add(path);
      }
      await publisher.renew(t);
      if (elapsed === OUTAGE_END || elapsed % (6 * HOUR) === 0) await refresh(t, elapsed === OUTAGE_END ? "after the outage" : "6-hourly");
    }
    expect(refreshes).toBeGreaterThanOrEqual(2 * (DAYS * 4));
  }, 600_000);
});
