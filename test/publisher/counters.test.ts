/**
 * /api/v1/status and /healthz are public, so they read counters kept in the
 * transactions that change the tables, never COUNT(*) over them.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import { bootstrap, getStatus, postArtifacts } from "../http/helpers.js";

const stub = () => env.PUBLISHER.getByName(env.REPOSITORY);
const sha = (c: string) => ({ sha256: c.repeat(64) });

async function counted(): Promise<{ artifacts: number; queued: number; bytes: number; sizes: number; miscounted_bins: number; size_counts: unknown; size_truth: unknown }> {
  return runInDurableObject(stub(), (instance: Publisher) => {
    const sql = (instance as unknown as { sql: SqlStorage }).sql;
    const one = (q: string) => sql.exec<{ n: number }>(q).one().n;
    return {
      artifacts: one("SELECT COUNT(*) AS n FROM artifacts"),
      queued: one("SELECT COUNT(*) AS n FROM queue"),
      bytes: one("SELECT SUM(bytes) AS n FROM bins"),
      sizes: one("SELECT COALESCE(SUM(size), 0) AS n FROM artifacts"),
      miscounted_bins: one(
        "SELECT COUNT(*) AS n FROM bins LEFT JOIN (SELECT bin, COUNT(*) AS c, SUM(size) AS s FROM artifacts GROUP BY bin) a ON a.bin = bins.idx " +
          "WHERE bins.targets != COALESCE(a.c, 0) OR bins.bytes != COALESCE(a.s, 0)",
      ),
      size_counts: sql.exec("SELECT size, bins FROM bin_size_counts ORDER BY size").toArray(),
      size_truth: sql.exec("SELECT targets AS size, COUNT(*) AS bins FROM bins GROUP BY targets ORDER BY size").toArray(),
    };
  });
}

describe("status counters", () => {
  beforeAll(async () => {
    await bootstrap(4);
  });

  it("follow adds, replacements and removals exactly", async () => {
    const add = (path: string, c: string) => ({ path, length: 1, hashes: sha(c) });
    for (const body of [
      { add: [add("a/1", "a"), add("a/2", "b"), add("a/3", "c")] },
      { add: [add("a/1", "d")] }, // a replacement: still three
      { remove: ["a/2"] },
      { remove: ["a/never-listed"] },
      { add: [add("b/1", "e"), add("b/2", "f")], remove: ["a/3"] },
    ]) {
      const res = await postArtifacts(body, { query: "?wait=true" });
      expect(res.status, await res.text()).toBe(200);
      const truth = await counted();
      const status = await getStatus();
      expect(status.artifacts).toBe(truth.artifacts);
      expect(status.queue_depth).toBe(truth.queued);
      expect(truth.bytes).toBe(truth.sizes);
      expect(truth.miscounted_bins).toBe(0);
      expect(truth.size_counts).toEqual(truth.size_truth);
    }
    expect((await getStatus()).artifacts).toBe(3);
  });

  it("count queued changes before they are published", async () => {
    await runInDurableObject(stub(), async (instance: Publisher) => {
      const r = await instance.submit({ changes: [{ op: "add", path: "c/1", length: 2, hashes: sha("0") }], bodySha256: "x".repeat(64) });
      expect(r.status).toMatch(/queued|published/);
    });
    const truth = await counted();
    expect((await getStatus()).queue_depth).toBe(truth.queued);
  });

  it("reports no size warnings for small bins", async () => {
    expect((await getStatus()) as unknown as { warnings: string[] }).toMatchObject({ warnings: [] });
  });
});
