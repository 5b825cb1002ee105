/**
 * 4. Renewal: the Publisher's renew(now) over RPC, as the cron calls it.
 *  - staggered: a cron tick ~5 minutes after bootstrap, renew(now + 5 min):
 *    only the bins whose staggered expiry has come due (about 16,384 × 5 min /
 *    5 h ≈ 274, bounded by binsPerRun).
 *  - all: renew(now + 24 h): every bin is overdue, so one run re-signs all 16,384.
 * The count of re-signed bins comes from comparing snapshot versions before and after.
 */
import type { Benchmark } from "../lib/context.js";
import { cpuSeconds } from "../lib/proc.js";
import { BenchRepo } from "../lib/repo.js";
import { round } from "../lib/stats.js";

type Signed<T> = { signed: T };
type SnapshotMeta = Signed<{ meta: Record<string, { version: number }> }>;

export const renewal: Benchmark = {
  name: "renewal",
  describe: "renew(now+5 min) (a staggered cron tick) and renew(now+24 h) (all 16,384 bins) on the DO (target all ≤ 3 s)",
  async run(ctx) {
    const repo = await BenchRepo.bootstrapped(14);
    try {
      const stub = await repo.stub();
      const snapshot = async () => {
        const ts = await repo.json<Signed<{ meta: Record<string, { version: number }> }>>("/metadata/timestamp.json");
        return repo.json<SnapshotMeta>(`/metadata/${ts.signed.meta["snapshot.json"]!.version}.snapshot.json`);
      };
      const changedBins = (a: SnapshotMeta, b: SnapshotMeta) =>
        Object.keys(b.signed.meta).filter((k) => k.startsWith("bin-") && b.signed.meta[k]!.version !== a.signed.meta[k]?.version).length;

      for (const [kind, ahead] of [["staggered", 5 * 60_000], ["all", 24 * 3_600_000]] as const) {
        const before = await snapshot();
        const cpu0 = cpuSeconds(repo.workerdPid);
        const t0 = performance.now();
        const result = await stub.renew(Date.now() + ahead);
        const ms = performance.now() - t0;
        const cpu = cpuSeconds(repo.workerdPid) - cpu0;
        const after = await snapshot();
        const bins = changedBins(before, after);
        ctx.emit("renewal", {
          kind,
          now_ahead_ms: ahead,
          status: result.status,
          bins_resigned: bins,
          ms: round(ms, 0),
          bins_per_s: round(bins / (ms / 1000), 0),
          workerd_cpu_s: round(cpu, 2),
          ...(kind === "all" ? { target_ms: 3000, meets_target: ms <= 3000 && bins === 2 ** 14 } : {}),
        });
      }
    } finally {
      await repo.stop();
    }
  },
};
