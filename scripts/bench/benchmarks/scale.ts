/**
 * Scale: adopting an index of PyPI's size at 16,384 bins (issue 10).
 *
 * For each size (1M and 10M generated artifacts; --quick: 100,000):
 *  - import: `tuf-edge import -` fed the generated JSON Lines on stdin, timed
 *    until the CLI exits, which it does once a timestamp covers every line;
 *    artifacts/s, workerd peak RSS, the Durable Object's SQLite size, R2 bytes written;
 *  - bins: the distribution of bin-n sizes (HEAD of every bin-n);
 *  - publish: single-artifact webhook ?wait=true, p50/p99 (also at 0 artifacts, before the import);
 *  - renewal: one staggered cron tick, and a renewal of every bin (at the largest size only);
 *  - client: the bytes a fresh and a returning client fetch, raw, gzip and br.
 * Sizes above 1M are skipped unless SCALE_SIZES names them (e.g. SCALE_SIZES=1000000,10000000),
 * and SCALE_TIMEOUT_S bounds the whole benchmark.
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Benchmark, BenchContext } from "../lib/context.js";
import { cpuSeconds, sampleMemory } from "../lib/proc.js";
import { ADMIN_TOKEN, BenchRepo } from "../lib/repo.js";
import { round, sleep, summarize } from "../lib/stats.js";

const BITS = 14;
/** Durable Objects, SQLite backend: "Storage per Durable Object 10 GB" (developers.cloudflare.com/durable-objects/platform/limits/). */
const DO_STORAGE_LIMIT_BYTES = 10 * 1e9;
const CLI = resolve(import.meta.dirname, "../../bin/tuf-edge.js");

export const scale: Benchmark = {
  name: "scale",
  describe: "import 1M (and 10M with SCALE_SIZES) PyPI-like artifacts at 16,384 bins; publish, renewal and client bytes at that size",
  async run(ctx) {
    const sizes = ctx.quick ? [100_000] : (process.env.SCALE_SIZES ?? "1000000").split(",").map(Number);
    const deadline = Date.now() + Number(process.env.SCALE_TIMEOUT_S ?? "3600") * 1000;
    const repo = await BenchRepo.bootstrapped(BITS);
    const memory = sampleMemory(repo.workerdPid, 250);
    try {
      await singlePublish(ctx, repo, 0);
      let imported = 0;
      // A larger size is imported on top of the smaller one, so its time from an empty repository adds up.
      let importMs = 0;
      for (const size of sizes) {
        if (Date.now() > deadline) {
          ctx.emit("scale", { step: "import", artifacts: size, skipped: "SCALE_TIMEOUT_S reached" });
          continue;
        }
        importMs += await importGenerated(ctx, repo, imported, size, importMs, deadline, memory);
        imported = size;
        await binSizes(ctx, repo, size);
        await singlePublish(ctx, repo, size);
      }
      await renewal(ctx, repo, imported);
      await clientBytes(ctx, repo, imported);
    } finally {
      const m = memory();
      ctx.emit("scale", { step: "memory", workerd_peak_rss_mb: m.peak_rss_mb, workerd_hwm_mb: m.hwm_mb, target_mb: 1024, meets_target: m.hwm_mb <= 1024 });
      await repo.stop();
    }
  },
};

/** Deterministic PyPI-like lines: ~20 files per project, sdists and wheels, sizes from 2 KB to ~50 MB. */
function* generate(from: number, to: number): Generator<string> {
  let x = 0x9e3779b9 ^ from;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let i = from; i < to; i++) {
    const project = `project-${Math.floor(i / 20)}`;
    const version = `${(i % 20) >> 1}.${i % 7}.0`;
    const file = i % 2 === 0 ? `${project.replace("-", "_")}-${version}.tar.gz` : `${project.replace("-", "_")}-${version}-py3-none-any.whl`;
    let sha = "";
    for (let k = 0; k < 8; k++) sha += next().toString(16).padStart(8, "0");
    const length = 2_000 + (next() % 1_000) * (next() % 50_000);
    yield `{"path":"packages/${project}/${file}","length":${length},"hashes":{"sha256":"${sha}"}}\n`;
  }
}

function dirBytes(dir: string, filter: (path: string) => boolean = () => true): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += dirBytes(path, filter);
    else if (filter(path)) total += statSync(path).size;
  }
  return total;
}

const sqliteBytes = (repo: BenchRepo) => dirBytes(repo.dir, (p) => /Publisher/i.test(p) && /\.sqlite(-wal)?$/.test(p));
const r2Bytes = (repo: BenchRepo) => dirBytes(repo.dir, (p) => /r2/i.test(p));

async function importGenerated(
  ctx: BenchContext,
  repo: BenchRepo,
  from: number,
  to: number,
  priorMs: number,
  deadline: number,
  memory: () => { peak_rss_mb: number },
): Promise<number> {
  const r2Before = r2Bytes(repo);
  const cpuBefore = cpuSeconds(repo.workerdPid);
  ctx.log(`scale: importing artifacts ${from}..${to}`);
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, "import", "--url", repo.url, "--id", `gen-${to}`, "-"], {
    env: { ...process.env, TUF_EDGE_ADMIN_TOKEN: ADMIN_TOKEN },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  // The CLI's progress goes to stderr; its first "publishing" line ends staging and begins the one publish.
  let stagedMs: number | undefined;
  let stagedCpu: number | undefined;
  child.stderr!.on("data", (d: Buffer) => {
    process.stderr.write(d);
    if (stagedMs === undefined && d.includes("publishing")) {
      stagedMs = performance.now() - t0;
      stagedCpu = cpuSeconds(repo.workerdPid) - cpuBefore;
    }
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), Math.max(0, deadline - Date.now()));
  let batch = "";
  for (const line of generate(from, to)) {
    batch += line;
    if (batch.length >= 1 << 20) {
      if (!child.stdin!.write(batch)) await new Promise((r) => child.stdin!.once("drain", r));
      batch = "";
    }
  }
  child.stdin!.end(batch);
  const code = await exited;
  clearTimeout(timer);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`tuf-edge import exited ${code}: ${stdout}`);
  const status = await repo.json<{ artifacts: number; roles: { timestamp: { version: number } } }>("/api/v1/status");
  const sqlite = sqliteBytes(repo);
  const count = to - from;
  const target = to <= 1_000_000 ? 60 : 720;
  ctx.emit("scale", {
    step: "import",
    bins: 2 ** BITS,
    artifacts: to,
    imported: count,
    listed: status.artifacts,
    wall_s: round(ms / 1000, 1),
    // workerd runs the Worker, the Publisher and local R2 on one thread: its CPU time is about the wall time on an idle machine.
    workerd_cpu_s: round(cpuSeconds(repo.workerdPid) - cpuBefore, 1),
    artifacts_per_s: round(count / (ms / 1000), 0),
    // Staging the lines, then the one publish that signs every touched bin.
    staging_s: stagedMs === undefined ? null : round(stagedMs / 1000, 1),
    staging_workerd_cpu_s: stagedCpu === undefined ? null : round(stagedCpu, 1),
    publish_s: stagedMs === undefined ? null : round((ms - stagedMs) / 1000, 1),
    workerd_peak_rss_mb_so_far: memory().peak_rss_mb,
    sqlite_bytes: sqlite,
    sqlite_bytes_per_artifact: round(sqlite / to, 1),
    do_storage_limit_bytes: DO_STORAGE_LIMIT_BYTES,
    do_storage_share: round(sqlite / DO_STORAGE_LIMIT_BYTES, 4),
    r2_bytes_written: r2Bytes(repo) - r2Before,
    timestamp: status.roles.timestamp.version,
    target_s: target,
    wall_s_from_empty: round((priorMs + ms) / 1000, 1),
    meets_target: (priorMs + ms) / 1000 <= target,
  });
  return ms;
}

async function binSizes(ctx: BenchContext, repo: BenchRepo, artifacts: number): Promise<void> {
  const ts = await repo.json<{ signed: { meta: Record<string, { version: number }> } }>("/metadata/timestamp.json");
  const snapshot = await repo.json<{ signed: { meta: Record<string, { version: number }> } }>(`/metadata/${ts.signed.meta["snapshot.json"]!.version}.snapshot.json`);
  const names = Object.entries(snapshot.signed.meta).filter(([n]) => n.startsWith("bin-"));
  const sizes: number[] = [];
  for (let i = 0; i < names.length; i += 64)
    sizes.push(
      ...(await Promise.all(
        names.slice(i, i + 64).map(async ([name, { version }]) => Number((await repo.http.retrying("HEAD", `/metadata/${version}.${name}`)).headers["content-length"])),
      )),
    );
  const s = summarize(sizes);
  ctx.emit("scale", {
    step: "bin-sizes",
    artifacts,
    bins: names.length,
    min_bytes: Math.min(...sizes),
    p50_bytes: s.p50_ms,
    p99_bytes: s.p99_ms,
    max_bytes: s.max_ms,
    mean_bytes: Math.round(s.mean_ms),
    client_limit_bytes: 5_000_000,
    max_share_of_limit: round(s.max_ms / 5_000_000, 4),
  });
}

async function singlePublish(ctx: BenchContext, repo: BenchRepo, artifacts: number): Promise<void> {
  const count = ctx.quick ? 20 : 100;
  const body = (i: number) =>
    JSON.stringify({ add: [{ path: `bench/scale/pkg-${artifacts}-${i}/pkg-${i}-1.0.tar.gz`, length: 1024 + i, hashes: { sha256: (artifacts + i).toString(16).padStart(64, "0") } }] });
  // A copied template may still be finishing its bootstrap in the alarm (it stops at the invocation budget).
  await untilIdle(repo);
  for (let i = 0; i < 3; i++) await repo.webhook(body(1_000_000 + i), "?wait=true");
  await untilIdle(repo);
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await repo.webhook(body(i), "?wait=true");
    latencies.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`publish at ${artifacts}: ${res.status} ${res.body.toString().slice(0, 200)}`);
  }
  const s = summarize(latencies);
  ctx.emit("scale", { step: "publish", bins: 2 ** BITS, artifacts, ...s, target_p50_ms: artifacts === 0 ? 10 : 15 });
}

async function renewal(ctx: BenchContext, repo: BenchRepo, artifacts: number): Promise<void> {
  const stub = await repo.stub();
  let t0 = performance.now();
  let cpu0 = cpuSeconds(repo.workerdPid);
  const tick = await stub.renew(Date.now() + 5 * 60_000);
  const tickMs = performance.now() - t0;
  ctx.emit("scale", { step: "renewal-tick", artifacts, status: tick.status, ms: round(tickMs, 0), workerd_cpu_s: round(cpuSeconds(repo.workerdPid) - cpu0, 2), target_ms: 3000, meets_target: tickMs <= 3000 });
  // Every bin overdue: more than one invocation's budget at this size, so the alarm carries on; done when nothing is in flight.
  t0 = performance.now();
  cpu0 = cpuSeconds(repo.workerdPid);
  const all = await stub.renew(Date.now() + 24 * 3_600_000);
  await untilIdle(repo);
  ctx.emit("scale", { step: "renewal-all", artifacts, bins: 2 ** BITS, first_call_status: all.status, ms: round(performance.now() - t0, 0), workerd_cpu_s: round(cpuSeconds(repo.workerdPid) - cpu0, 1) });
}

/** Waits until no publish is in flight. The Worker may drop a request while the alarm keeps its one thread busy; ask again. */
async function untilIdle(repo: BenchRepo): Promise<void> {
  for (;;) {
    const status = await repo.json<{ publishing: boolean; queue_depth: number }>("/api/v1/status").catch(() => undefined);
    if (status && !status.publishing && status.queue_depth === 0) return;
    await sleep(250);
  }
}

async function clientBytes(ctx: BenchContext, repo: BenchRepo, artifacts: number): Promise<void> {
  const ts = await repo.json<{ signed: { meta: Record<string, { version: number }> } }>("/metadata/timestamp.json");
  const snapshotName = `${ts.signed.meta["snapshot.json"]!.version}.snapshot.json`;
  const snapshot = await repo.json<{ signed: { meta: Record<string, { version: number }> } }>(`/metadata/${snapshotName}`);
  const meta = snapshot.signed.meta;
  const bin = Object.keys(meta).find((n) => n.startsWith("bin-"))!;
  const files = {
    fresh: ["2.root.json", "timestamp.json", snapshotName, `${meta["targets.json"]!.version}.targets.json`, `${meta["bins.json"]!.version}.bins.json`, `${meta[bin]!.version}.${bin}`],
    returning: ["2.root.json", "timestamp.json", snapshotName, `${meta[bin]!.version}.${bin}`],
  };
  for (const [client, names] of Object.entries(files)) {
    const bytes: Record<string, number> = {};
    for (const coding of ["identity", "gzip", "br"]) {
      let total = 0;
      for (const name of names) total += (await repo.http.retrying("GET", `/metadata/${name}`, { "accept-encoding": coding })).wireBytes;
      bytes[coding === "identity" ? "raw" : coding] = total;
    }
    ctx.emit("scale", { step: "client-bytes", artifacts, client, files: names.length, ...bytes });
  }
}
