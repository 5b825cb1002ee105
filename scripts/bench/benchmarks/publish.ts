/**
 * 2. Single publish latency: one webhook with ?wait=true and one artifact, N
 * times in a row on a 16,384-bin repository. The response is 200 only once a
 * timestamp.json covering the artifact is in R2. workerd's CPU time over the
 * run, divided by N, is the CPU per publish of the whole process (Worker +
 * Durable Object + Miniflare's local R2): local workerd does not report CPU
 * time per isolate or per request.
 *
 * The same run at 16 bins, where the snapshot is ~500 bytes, separates what
 * every publish costs (the request, SQLite, three local R2 puts) from what the
 * 491 KB snapshot of 16,384 bins adds.
 */
import type { Benchmark, BenchContext } from "../lib/context.js";
import { cpuSeconds } from "../lib/proc.js";
import { BenchRepo } from "../lib/repo.js";
import { round, summarize } from "../lib/stats.js";

export const publish: Benchmark = {
  name: "publish",
  describe: "one webhook ?wait=true with one artifact, 200 times in a row, at 16,384 bins and at 16: p50/p99 and workerd CPU per publish (target p50 ≤ 10 ms at 16,384)",
  async run(ctx) {
    for (const bits of [14, 4]) await publishRun(ctx, bits);
  },
};

async function publishRun(ctx: BenchContext, bits: number): Promise<void> {
  const count = ctx.quick ? 50 : 200;
  const repo = await BenchRepo.bootstrapped(bits);
  try {
    const body = (i: number) =>
      JSON.stringify({ add: [{ path: `bench/publish/pkg-${i}/pkg-${i}-1.0.tar.gz`, length: 1024 + i, hashes: { sha256: i.toString(16).padStart(64, "0") } }] });
    for (let i = 0; i < 5; i++) await expectPublished(await repo.webhook(body(1_000_000 + i), "?wait=true")); // warm-up: isolate, caches
    const latencies: number[] = [];
    const cpu0 = cpuSeconds(repo.workerdPid);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const text = body(i);
      const start = performance.now();
      const res = await repo.webhook(text, "?wait=true");
      latencies.push(performance.now() - start);
      await expectPublished(res);
    }
    const wall = performance.now() - t0;
    const cpu = cpuSeconds(repo.workerdPid) - cpu0;
    const s = summarize(latencies);
    ctx.emit("publish", {
      bins: 2 ** bits,
      artifacts_per_publish: 1,
      ...s,
      publishes_per_s: round(count / (wall / 1000), 1),
      workerd_cpu_ms_per_publish: round((cpu * 1000) / count, 2),
      workerd_cpu_share: round(cpu / (wall / 1000), 2),
      ...(bits === 14 ? { target_p50_ms: 10, meets_target: s.p50_ms <= 10 } : {}),
    });
  } finally {
    await repo.stop();
  }
}

async function expectPublished(res: { status: number; body: Buffer }): Promise<void> {
  if (res.status !== 200) throw new Error(`publish: expected 200 published, got ${res.status} ${res.body.toString().slice(0, 200)}`);
}
