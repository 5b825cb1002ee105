/**
 * 3. Sustained throughput, and 8. workerd memory during it.
 *
 * For each concurrency (1, 8, 64) × artifacts per request (1, 10, 100): that
 * many clients send signed webhooks back to back (no ?wait) for D seconds.
 * Accepted = artifacts in 202 responses per second of the window. Published =
 * the same artifacts over the time until the last accepted receipt is
 * published (the queue is FIFO, so that one is published last).
 *
 * 202 → published latency is sampled: two receipts at a time (the most
 * recent 202 whenever a slot frees) are polled with GET /api/v1/receipts/ID
 * every POLL_MS (so latencies are rounded up by up to ~25 ms); polling every
 * receipt would add a request per request to the one Durable Object, on the
 * one workerd thread. All configurations share one repository, one after another.
 */
import type { Benchmark, BenchContext } from "../lib/context.js";
import { HttpClient } from "../lib/http.js";
import { cpuSeconds, sampleMemory } from "../lib/proc.js";
import { BenchRepo } from "../lib/repo.js";
import { round, sleep, summarize } from "../lib/stats.js";

/** Receipt polling is load on the same single-threaded workerd: at most TRACK_SLOTS / POLL_MS polls per ms (80/s). */
const POLL_MS = 25;
const TRACK_SLOTS = 2;

export const sustained: Benchmark = {
  name: "sustained",
  describe: "webhooks at concurrency 1/8/64 × 1/10/100 artifacts for 20 s each (quick 3 s): accepted and published artifacts/s, p50/p99 202→published; also emits memory",
  async run(ctx) {
    await runSustained(ctx, [1, 8, 64], [1, 10, 100]);
  },
};

/** 8. Memory: the same load, reported as peak RSS of workerd. Runs as part of sustained. */
export const memoryBench: Benchmark = {
  name: "memory",
  describe: "peak RSS (VmRSS samples, VmHWM) of workerd during the sustained benchmark (runs sustained)",
  async run(ctx) {
    await runSustained(ctx, [1, 8, 64], [1, 10, 100]);
  },
};

let ranSustained = false;

async function runSustained(ctx: BenchContext, concurrencies: number[], sizes: number[]): Promise<void> {
  if (ranSustained) return; // "sustained memory" selects one run, which reports both
  ranSustained = true;
  const seconds = ctx.quick ? 3 : 20;
  const repo = await BenchRepo.bootstrapped(14);
  const stopMemory = sampleMemory(repo.workerdPid, 100);
  try {
    const stub = await repo.stub();
    let peakConfig = { peak: 0, config: "" };
    for (const concurrency of concurrencies) {
      for (const size of sizes) {
        const configMemory = sampleMemory(repo.workerdPid, 100);
        const r = await oneConfig(ctx, repo, stub, concurrency, size, seconds);
        const mem = configMemory();
        if (mem.peak_rss_mb > peakConfig.peak) peakConfig = { peak: mem.peak_rss_mb, config: `c${concurrency}x${size}` };
        const meets = concurrency === 64 ? r.accepted_per_s >= 5000 && r.published_per_s >= 5000 && r.p99_ms <= 1000 : undefined;
        ctx.emit("sustained", {
          bins: 2 ** 14,
          concurrency,
          artifacts_per_request: size,
          seconds,
          ...r,
          peak_rss_mb: mem.peak_rss_mb,
          ...(concurrency === 64 ? { target: "≥ 5,000 artifacts/s accepted and published, p99 202→published ≤ 1,000 ms", meets_target: meets } : {}),
        });
      }
    }
    const mem = stopMemory();
    ctx.emit("memory", {
      during: "sustained",
      workerd_peak_rss_mb: mem.peak_rss_mb,
      workerd_vmhwm_mb: mem.hwm_mb,
      peak_in_config: peakConfig.config,
      samples: mem.samples,
      sample_every_ms: 100,
      note: "workerd holds the Worker, the Publisher DO and Miniflare's local R2/SQLite; VmHWM includes startup",
    });
  } finally {
    await repo.stop();
  }
}

interface ConfigResult {
  requests: number;
  errors: number;
  accepted_artifacts: number;
  accepted_per_s: number;
  published_per_s: number;
  drain_ms: number;
  publishes: number;
  artifacts_per_publish: number;
  accept_p50_ms: number;
  accept_p99_ms: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  latency_samples: number;
  poll_ms: number;
  workerd_cpu_share: number;
  client_cpu_share: number;
}

async function oneConfig(
  ctx: BenchContext,
  repo: BenchRepo,
  stub: Awaited<ReturnType<BenchRepo["stub"]>>,
  concurrency: number,
  size: number,
  seconds: number,
): Promise<ConfigResult> {
  ctx.log(`sustained: concurrency ${concurrency} × ${size} artifacts, ${seconds} s`);
  const client = new HttpClient(repo.url, concurrency + 1);
  const poller = new HttpClient(repo.url, TRACK_SLOTS + 2);
  const tsBefore = (await statusOf(stub)).timestamp;
  const cpu0 = cpuSeconds(repo.workerdPid);
  const node0 = process.cpuUsage();
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  let seq = 0;
  let requests = 0;
  let errors = 0;
  let accepted = 0;
  const acceptLatency: number[] = [];
  const publishLatency: number[] = [];
  let last: { id: string; at: number } | undefined;
  let candidate: { id: string; at: number } | undefined;
  const tracked = new Map<string, number>();
  let firstError: string | undefined;

  const sender = async () => {
    while (performance.now() < stopAt) {
      const n = seq++;
      const add = Array.from({ length: size }, (_, j) => ({
        path: `bench/c${concurrency}x${size}/${n}/pkg-${n}-${j}.tar.gz`,
        length: 4096 + j,
        hashes: { sha256: (n * 1000 + j).toString(16).padStart(64, "0") },
      }));
      const start = performance.now();
      let res;
      try {
        res = await repo.webhook(JSON.stringify({ add }), "", client);
      } catch (e) {
        errors++;
        firstError ??= String(e);
        continue;
      }
      const at = performance.now();
      requests++;
      if (res.status !== 202 && res.status !== 200) {
        errors++;
        firstError ??= `${res.status} ${res.body.toString().slice(0, 200)}`;
        continue;
      }
      acceptLatency.push(at - start);
      accepted += size;
      const id = (JSON.parse(res.body.toString()) as { receipt: string }).receipt;
      if (res.status === 200) publishLatency.push(0);
      else {
        last = { id, at };
        candidate = { id, at };
      }
    }
  };

  let polling = true;
  const pollLoop = async () => {
    while (polling || tracked.size > 0) {
      while (tracked.size < TRACK_SLOTS && candidate && polling) {
        tracked.set(candidate.id, candidate.at);
        candidate = undefined;
      }
      await Promise.all(
        [...tracked].map(async ([id, at]) => {
          const res = await poller.retrying("GET", `/api/v1/receipts/${id}`);
          if (res.status === 200 && (JSON.parse(res.body.toString()) as { status: string }).status === "published") {
            publishLatency.push(performance.now() - at);
            tracked.delete(id);
          }
        }),
      );
      await sleep(POLL_MS);
    }
  };

  const polls = pollLoop();
  await Promise.all(Array.from({ length: concurrency }, sender));
  const sendEnd = performance.now();
  const windowMs = sendEnd - t0;
  // Drain: the last receipt accepted is the last one published.
  let lastPublishedAt = sendEnd;
  if (last) {
    const deadline = performance.now() + 120_000;
    for (;;) {
      const res = await poller.retrying("GET", `/api/v1/receipts/${last.id}`);
      if (res.status === 200 && (JSON.parse(res.body.toString()) as { status: string }).status === "published") {
        lastPublishedAt = performance.now();
        break;
      }
      if (performance.now() > deadline) throw new Error("sustained: the queue did not drain within 120 s");
      await sleep(POLL_MS);
    }
  }
  polling = false;
  await polls;
  const cpu = cpuSeconds(repo.workerdPid) - cpu0;
  const node = process.cpuUsage(node0);
  const elapsed = (lastPublishedAt - t0) / 1000;
  const status = await statusOf(stub);
  if (status.queue_depth !== 0) ctx.log(`sustained: queue_depth ${status.queue_depth} after drain`);
  if (firstError) ctx.log(`sustained: first error: ${firstError}`);
  client.close();
  poller.close();
  const publishes = status.timestamp - tsBefore;
  const accept = summarize(acceptLatency);
  const pub = summarize(publishLatency);
  return {
    requests,
    errors,
    accepted_artifacts: accepted,
    accepted_per_s: round(accepted / (windowMs / 1000), 0),
    published_per_s: round(accepted / elapsed, 0),
    drain_ms: round(lastPublishedAt - sendEnd, 0),
    publishes,
    artifacts_per_publish: round(accepted / Math.max(1, publishes), 1),
    accept_p50_ms: accept.p50_ms,
    accept_p99_ms: accept.p99_ms,
    p50_ms: pub.p50_ms,
    p99_ms: pub.p99_ms,
    max_ms: pub.max_ms,
    latency_samples: pub.n,
    poll_ms: POLL_MS,
    workerd_cpu_share: round(cpu / elapsed, 2),
    client_cpu_share: round((node.user + node.system) / 1e6 / elapsed, 2),
  };
}

async function statusOf(stub: Awaited<ReturnType<BenchRepo["stub"]>>): Promise<{ timestamp: number; queue_depth: number }> {
  const s = (await stub.status())!;
  return { timestamp: s.roles.timestamp!.version, queue_depth: s.queue_depth };
}
