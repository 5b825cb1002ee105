/**
 * 5. Serving: requests per second over loopback keep-alive for timestamp.json,
 * one bin-n (the one listing the hosted target) and a 1 MiB hosted target
 * (hash-prefixed name), at concurrency 1 and 16, each for D seconds.
 * Metadata is also measured with Accept-Encoding: gzip, br at concurrency 16,
 * to show what per-request compression costs.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Benchmark } from "../lib/context.js";
import { HttpClient } from "../lib/http.js";
import { cpuSeconds } from "../lib/proc.js";
import { BenchRepo } from "../lib/repo.js";
import { round, summarize } from "../lib/stats.js";

export const serving: Benchmark = {
  name: "serving",
  describe: "GET requests/s for timestamp.json, a bin and a 1 MiB hosted target at concurrency 1 and 16 (keep-alive)",
  async run(ctx) {
    const seconds = ctx.quick ? 1 : 5;
    const repo = await BenchRepo.bootstrapped(14);
    try {
      const bytes = new Uint8Array(randomBytes(1024 * 1024));
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      const put = await repo.hostTarget("bench/serving/blob-1.0.bin", bytes);
      const receipt = JSON.parse(put.body.toString()) as { bins: Record<string, number> };
      const [bin, binVersion] = Object.entries(receipt.bins)[0]!;
      const files = [
        { file: "timestamp.json", path: "/metadata/timestamp.json", encodings: ["identity", "gzip, br"] },
        { file: "bin", path: `/metadata/${binVersion}.${bin}.json`, encodings: ["identity", "gzip, br"] },
        { file: "target-1MiB", path: `/targets/bench/serving/${sha256}.blob-1.0.bin`, encodings: ["identity"] },
      ];
      for (const { file, path, encodings } of files) {
        for (const concurrency of [1, 16]) {
          for (const encoding of encodings) {
            if (encoding !== "identity" && concurrency === 1) continue;
            const r = await load(repo, path, concurrency, seconds, encoding);
            ctx.emit("serving", { file, path, concurrency, accept_encoding: encoding, seconds, ...r });
          }
        }
      }
    } finally {
      await repo.stop();
    }
  },
};

async function load(repo: BenchRepo, path: string, concurrency: number, seconds: number, encoding: string) {
  const client = new HttpClient(repo.url, concurrency);
  const headers: Record<string, string> = encoding === "identity" ? {} : { "accept-encoding": encoding };
  // Warm the connections and the route.
  await Promise.all(Array.from({ length: concurrency }, () => client.request("GET", path, headers, undefined, false)));
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  let wire = 0;
  let contentEncoding: string | undefined;
  const cpu0 = cpuSeconds(repo.workerdPid);
  const node0 = process.cpuUsage();
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < stopAt) {
        const start = performance.now();
        const res = await client.request("GET", path, headers, undefined, false);
        latencies.push(performance.now() - start);
        requests++;
        wire += res.wireBytes;
        contentEncoding ??= res.headers["content-encoding"] ?? "identity";
        if (res.status !== 200) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(repo.workerdPid) - cpu0;
  const node = process.cpuUsage(node0);
  client.close();
  const s = summarize(latencies);
  return {
    requests,
    errors,
    rps: round(requests / elapsed, 0),
    mb_per_s: round(wire / elapsed / 2 ** 20, 1),
    wire_bytes_per_response: Math.round(wire / Math.max(1, requests)),
    content_encoding: contentEncoding,
    p50_ms: s.p50_ms,
    p99_ms: s.p99_ms,
    workerd_cpu_ms_per_request: round((cpu * 1000) / Math.max(1, requests), 3),
    client_cpu_share: round((node.user + node.system) / 1e6 / elapsed, 2),
  };
}
