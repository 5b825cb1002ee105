/**
 * What local R2 costs, measured apart from the Publisher: a bare Worker on the
 * same workerd/Miniflare puts N objects of a given size at a given concurrency.
 * Local R2 (Miniflare's emulator: SQLite + blob files, run inside workerd)
 * bounds bootstrap, renewal and single-publish latency on this machine; this
 * says by how much. Production R2 has other costs (network round trips, the
 * six-connections-waiting-for-headers limit per invocation), not measured here.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import type { Benchmark } from "../lib/context.js";
import { cpuSeconds, findWorkerd } from "../lib/proc.js";
import { round } from "../lib/stats.js";

const SCRIPT = `
export default {
  async fetch(request, env) {
    const u = new URL(request.url);
    const n = Number(u.searchParams.get("n")), size = Number(u.searchParams.get("size")), conc = Number(u.searchParams.get("c"));
    const run = u.searchParams.get("run");
    const body = new Uint8Array(size).fill(0x61);
    let next = 0;
    const lat = [];
    const t0 = performance.now();
    await Promise.all(Array.from({ length: Math.min(conc, n) }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await env.BUCKET.put(run + "/" + i + ".json", body, { httpMetadata: { contentType: "application/json" } });
        lat.push(performance.now() - s);
      }
    }));
    const ms = performance.now() - t0;
    lat.sort((a, b) => a - b);
    return Response.json({ ms, p50: lat[Math.floor(lat.length / 2)], p99: lat[Math.floor(lat.length * 0.99)] });
  },
};`;

export const r2Local: Benchmark = {
  name: "r2-local",
  describe: "local (Miniflare) R2 put throughput and latency by object size and concurrency, apart from the Publisher",
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), "tuf-edge-bench-r2-"));
    const mf = new Miniflare({ modules: true, script: SCRIPT, compatibilityDate: "2026-04-26", r2Buckets: ["BUCKET"], defaultPersistRoot: dir, host: "127.0.0.1", port: 0 });
    try {
      const url = (await mf.ready).toString();
      const pid = findWorkerd();
      const cases: Array<[size: number, n: number, conc: number, what: string]> = [
        [600, ctx.quick ? 2000 : 8192, 256, "a bin-n (bootstrap, renewal)"],
        [600, 200, 1, "a bin-n, one at a time"],
        [500, 200, 1, "timestamp.json, one at a time"],
        [492_000, ctx.quick ? 30 : 100, 1, "the snapshot of 16,384 bins, one at a time"],
        [123_000, ctx.quick ? 30 : 100, 1, "the snapshot of 4,096 bins, one at a time"],
      ];
      let run = 0;
      for (const [size, n, conc, what] of cases) {
        const cpu0 = cpuSeconds(pid);
        const res = (await (await fetch(`${url}?n=${n}&size=${size}&c=${conc}&run=r${run++}`)).json()) as { ms: number; p50: number; p99: number };
        const cpu = cpuSeconds(pid) - cpu0;
        ctx.emit("r2-local", {
          object: what,
          bytes: size,
          puts: n,
          concurrency: conc,
          ms: round(res.ms, 0),
          puts_per_s: round(n / (res.ms / 1000), 0),
          p50_ms: round(res.p50, 2),
          p99_ms: round(res.p99, 2),
          workerd_cpu_ms_per_put: round((cpu * 1000) / n, 3),
        });
      }
    } finally {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
