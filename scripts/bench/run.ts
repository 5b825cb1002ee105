/**
 * `npm run bench [-- NAME... ] [--quick] [--list]`
 *
 * Runs each benchmark against the real Worker on local workerd (Miniflare,
 * state persisted to a temporary directory) and prints one JSON line per
 * result on stdout. Progress and workerd's own log lines go to stderr, so
 * `npm run bench > results.jsonl` keeps only results. Every run also writes its lines to
 * docs/results/<date>-<full|quick>[-NAME...].jsonl, to commit with the docs it backs; the
 * tables of docs/performance.md are rendered from such a file by scripts/bench/report.ts.
 * See docs/performance.md.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { bootstrap } from "./benchmarks/bootstrap.js";
import { client } from "./benchmarks/client.js";
import { health } from "./benchmarks/health.js";
import { clientCost } from "./benchmarks/client-cost.js";
import { clientRefresh } from "./benchmarks/client-refresh.js";
import { proxy } from "./benchmarks/proxy.js";
import { publish } from "./benchmarks/publish.js";
import { r2Local } from "./benchmarks/r2-local.js";
import { scale } from "./benchmarks/scale.js";
import { renewal } from "./benchmarks/renewal.js";
import { serving } from "./benchmarks/serving.js";
import { signing } from "./benchmarks/signing.js";
import { signingLog } from "./benchmarks/signing-log.js";
import { memoryBench, sustained } from "./benchmarks/sustained.js";
import { upload } from "./benchmarks/upload.js";
import { makeContext, type Benchmark } from "./lib/context.js";
import { cleanupScratch } from "./lib/repo.js";

const ALL: Benchmark[] = [bootstrap, publish, sustained, memoryBench, renewal, serving, health, clientCost, clientRefresh, client, proxy, r2Local, signing, signingLog, scale, upload];

// workerd's stdout reaches us through Miniflare's console.log: keep stdout for results.
console.log = console.error;
console.info = console.error;

const args = process.argv.slice(3);
const quick = args.includes("--quick");
const unknownFlags = args.filter((a) => a.startsWith("-") && a !== "--quick" && a !== "--list" && a !== "--help");
const names = args.filter((a) => !a.startsWith("-"));
const unknown = names.filter((n) => !ALL.some((b) => b.name === n));

if (args.includes("--help") || args.includes("--list") || unknown.length > 0 || unknownFlags.length > 0) {
  const out = unknown.length > 0 || unknownFlags.length > 0 ? process.stderr : process.stdout;
  if (unknown.length > 0 || unknownFlags.length > 0) out.write(`unknown: ${[...unknown, ...unknownFlags].join(" ")}\n\n`);
  out.write("usage: npm run bench [-- NAME...] [--quick]\n\nbenchmarks (all by default, in this order):\n");
  for (const b of ALL) out.write(`  ${b.name.padEnd(15)} ${b.describe}\n`);
  out.write("\n--quick  shrinks counts and durations (whole run ~2.5 min); skips tuf-js at 16,384 bins\n");
  process.exit(unknown.length > 0 || unknownFlags.length > 0 ? 2 : 0);
}

// scale runs only when named: its full form imports a million artifacts.
const selected = names.length === 0 ? ALL.filter((b) => b !== memoryBench && b !== scale) : ALL.filter((b) => names.includes(b.name));
const resultsDir = join(import.meta.dirname, "../../docs/results");
mkdirSync(resultsDir, { recursive: true });
const stem = [new Date().toISOString().slice(0, 10), quick ? "quick" : "full", ...names].join("-");
let resultsFile = join(resultsDir, `${stem}.jsonl`);
for (let n = 2; existsSync(resultsFile); n++) resultsFile = join(resultsDir, `${stem}-${n}.jsonl`);
const ctx = makeContext(quick, resultsFile);
ctx.log(`results: ${resultsFile}`);
const started = performance.now();
let failed = 0;
try {
  for (const b of selected) {
    ctx.log(`${b.name}: start`);
    const t0 = performance.now();
    try {
      await b.run(ctx);
    } catch (e) {
      failed++;
      ctx.log(`${b.name}: FAILED ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      ctx.emit(b.name, { error: e instanceof Error ? e.message : String(e) });
    }
    ctx.log(`${b.name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
} finally {
  cleanupScratch();
}
const seconds = Math.round((performance.now() - started) / 100) / 10;
ctx.emit("run", { benchmarks: selected.map((b) => b.name), duration_s: seconds, failed });
process.exitCode = failed > 0 ? 1 : 0;
