/**
 * `node scripts/bin/run-ts.js scripts/bench/report.ts results.jsonl` (or stdin): the
 * targets table of docs/performance.md from the JSON lines of `npm run bench`.
 */
import { readFileSync } from "node:fs";

type Line = Record<string, any>;
const lines: Line[] = readFileSync(process.argv[3] ?? "/dev/stdin", "utf8")
  .split("\n")
  .filter((l) => l.trim().startsWith("{"))
  .map((l) => JSON.parse(l));
const find = (bench: string, pred: (l: Line) => boolean = () => true) => lines.find((l) => l.bench === bench && pred(l));
const kb = (b: number) => `${(b / 1000).toFixed(1)} KB`;
const verdict = (ok: boolean | undefined) => (ok === undefined ? "–" : ok ? "met" : "**missed**");

const rows: string[][] = [];
const boot = find("bootstrap");
if (boot) rows.push(["Bootstrap, 16,384 bins readable", "≤ 3 s", `${(boot.ms_to_201 / 1000).toFixed(1)} s`, verdict(boot.meets_target)]);
const pub = find("publish");
if (pub) rows.push(["Single publish p50 (p99)", "≤ 10 ms", `${pub.p50_ms} ms (${pub.p99_ms} ms)`, verdict(pub.meets_target)]);
for (const size of [1, 10, 100]) {
  const s = find("sustained", (l) => l.concurrency === 64 && l.artifacts_per_request === size);
  if (s)
    rows.push([
      `Sustained, 64 concurrent × ${size} artifacts: accepted / published per s; p99 202→published`,
      "≥ 5,000/s; ≤ 1 s",
      `${s.accepted_per_s} / ${s.published_per_s}; ${(s.p99_ms / 1000).toFixed(2)} s`,
      verdict(s.meets_target),
    ]);
}
const all = find("renewal", (l) => l.kind === "all");
if (all) rows.push(["Renew all 16,384 bins", "≤ 3 s", `${(all.ms / 1000).toFixed(1)} s`, verdict(all.meets_target)]);
const ret = lines.filter((l) => l.bench === "client-cost" && l.client === "returning" && l.bits === 14)[0];
if (ret)
  rows.push([
    "Returning client after one upload (timestamp + snapshot + bin), compressed",
    "≤ 50 KB",
    `gzip ${kb(ret.timestamp_snapshot_bin_gzip)}, br ${kb(ret.timestamp_snapshot_bin_br)} (raw ${kb(ret.timestamp_snapshot_bin_raw)})`,
    verdict(ret.meets_target_gzip && ret.meets_target_br),
  ]);
const mem = find("memory");
if (mem) rows.push(["Peak RSS of workerd during sustained", "–", `${mem.workerd_peak_rss_mb} MB (VmHWM ${mem.workerd_vmhwm_mb} MB)`, "–"]);

const machine = lines[0]?.machine ?? {};
const run = find("run");
console.log(
  `Machine: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, workerd ${machine.workerd}, miniflare ${machine.miniflare}, ` +
    `wrangler ${machine.wrangler}, tuf-js ${machine.tuf_js}; commit ${machine.commit}${machine.src_dirty ? " (src/ modified)" : ""}; ` +
    `${run?.quick ? "--quick" : "full"} run, ${run?.duration_s} s.\n`,
);
console.log("| Benchmark | Target | Result | |\n|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
