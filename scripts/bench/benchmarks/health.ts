/**
 * Health during a long publish: /healthz and /api/v1/status are polled while
 * 2^14 bins are bootstrapped (the longest publish there is). /healthz must
 * answer within its deadline (HEALTH_DEADLINE_MS) however busy the Publisher is.
 */
import { HEALTH_DEADLINE_MS } from "../../../src/http/routes/health.js";
import type { Benchmark } from "../lib/context.js";
import { BenchRepo } from "../lib/repo.js";
import { round, sleep, summarize } from "../lib/stats.js";

const BITS = 14;
const QUICK_BITS = 12;

export const health: Benchmark = {
  name: "health",
  describe: `/healthz and /api/v1/status latency while 16,384 bins (--quick: 4,096) are bootstrapped (target: /healthz ≤ ${HEALTH_DEADLINE_MS} ms + 1 s)`,
  async run(ctx) {
    const bits = ctx.quick ? QUICK_BITS : BITS;
    const repo = await BenchRepo.empty(bits);
    try {
      const samples: Record<"healthz" | "status", number[]> = { healthz: [], status: [] };
      const answers = new Map<string, number>();
      let done = false;
      const poll = async (which: "healthz" | "status", path: string) => {
        while (!done) {
          const t0 = performance.now();
          let key: string;
          try {
            const res = await fetch(`${repo.worker.url}${path}`, { signal: AbortSignal.timeout(60_000) });
            const body = await res.text();
            key = `${res.status} ${which === "healthz" ? ((JSON.parse(body) as { publisher?: string }).publisher ?? "answered") : ""}`.trim();
          } catch (e) {
            key = `failed: ${(e as Error).message}`;
          }
          samples[which].push(performance.now() - t0);
          answers.set(`${which} ${key}`, (answers.get(`${which} ${key}`) ?? 0) + 1);
          await sleep(200);
        }
      };
      const t0 = performance.now();
      const boot = repo.bootstrap().finally(() => (done = true));
      await Promise.all([boot, poll("healthz", "/healthz"), poll("status", "/api/v1/status")]);
      const bootMs = performance.now() - t0;
      for (const [which, values] of Object.entries(samples)) {
        const s = summarize(values);
        ctx.emit(`health.${which}_during_bootstrap`, {
          bins: 2 ** bits,
          bootstrap_ms: round(bootMs, 0),
          requests: values.length,
          p50_ms: round(s.p50_ms, 0),
          p99_ms: round(s.p99_ms, 0),
          max_ms: round(s.max_ms, 0),
          answers: Object.fromEntries([...answers].filter(([k]) => k.startsWith(which))),
          ...(which === "healthz" ? { deadline_ms: HEALTH_DEADLINE_MS } : {}),
        });
      }
    } finally {
      await repo.stop();
    }
  },
};
