/**
 * The PEP 458 default: 2^14 = 16,384 bins. tuf-js 5 parses snapshots in time
 * quadratic in their entries (a fresh refresh took 95.6 s in docs/results/2026-12-02-full.jsonl), so
 * this is the one end-to-end run at that size, with a timeout to match.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRepo, type Repo } from "./harness.js";

describe("a 16,384-bin repository (bit_length 14)", () => {
  let repo: Repo;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 14 });
  }, 180_000);
  afterAll(() => repo?.close());

  it("serves a fresh tuf-js client every bin and the published target", async () => {
    const path = "packages/source/r/requests/requests-2.31.0.tar.gz";
    const res = await repo.publish({ add: [{ path, length: 110794, hashes: { sha256: "f".repeat(64) } }] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { bins: Record<string, number> }).bins).toHaveProperty("bin-3e98");
    const updater = repo.client().updater();
    await updater.refresh();
    expect((await updater.getTargetInfo(path))?.length).toBe(110794);
  }, 300_000);
});
