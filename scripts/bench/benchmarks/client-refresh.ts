/**
 * 7. Client refresh cost against bin count: a fresh, unmodified tuf-js client
 * (trusted root only) runs refresh() against repositories of 2^8, 2^10, 2^12
 * and 2^14 bins. tuf-js 5 (@tufjs/models 4.1.1) is quadratic in the number of
 * snapshot entries, so this is the client-side cost of the bin count.
 * --quick skips 2^14 (over a minute: 95.6 s in docs/results/2026-12-02-full.jsonl).
 */
import { join } from "node:path";
import type { Benchmark } from "../lib/context.js";
import { BenchRepo } from "../lib/repo.js";
import { round } from "../lib/stats.js";
import { clientDir, updater } from "../lib/tuf-client.js";

export const clientRefresh: Benchmark = {
  name: "client-refresh",
  describe: "fresh tuf-js refresh() time at bit_length 8, 10, 12, 14 (quick skips 14)",
  async run(ctx) {
    const all = ctx.quick ? [8, 10, 12] : [8, 10, 12, 14];
    for (const bits of all) {
      const repo = await BenchRepo.bootstrapped(bits);
      try {
        // Small repositories are fast enough to repeat; report the median.
        const runs = bits <= 10 ? 5 : bits === 12 ? (ctx.quick ? 1 : 3) : 1;
        const times: number[] = [];
        let snapshotBytes = 0;
        for (let i = 0; i < runs; i++) {
          const dir = clientDir(join(repo.dir, `client-${i}`), repo.ceremony.root);
          ctx.log(`client-refresh: bit_length ${bits}, run ${i + 1}/${runs}`);
          const t0 = performance.now();
          await updater(dir, repo.url).refresh();
          times.push(performance.now() - t0);
          if (i === 0) {
            const ts = await repo.json<{ signed: { meta: Record<string, { version: number }> } }>("/metadata/timestamp.json");
            const res = await repo.http.retrying("GET", `/metadata/${ts.signed.meta["snapshot.json"]!.version}.snapshot.json`);
            snapshotBytes = res.body.length;
          }
        }
        times.sort((a, b) => a - b);
        ctx.emit("client-refresh", {
          bits,
          bins: 2 ** bits,
          runs,
          refresh_ms: round(times[Math.floor(times.length / 2)]!, 0),
          min_ms: round(times[0]!, 0),
          max_ms: round(times[times.length - 1]!, 0),
          snapshot_bytes: snapshotBytes,
          client: "tuf-js",
        });
      } finally {
        await repo.stop();
      }
    }
    if (ctx.quick) ctx.emit("client-refresh", { bits: 14, bins: 2 ** 14, skipped: "quick mode: a fresh tuf-js refresh at 16,384 bins takes over a minute; run without --quick" });
  },
};
