/**
 * 11. The signing log's size (docs/signing-log.md). N single-artifact uploads,
 * each its own publish (one bin-n, snapshot, timestamp), at 2^14 bins; then
 * the Publisher's SQLite is measured page by page (SQLite's dbstat, through
 * python3) and the bytes per publish of the log's tables, with their indexes,
 * are scaled to one publish per second for a year. Also the time GET
 * /api/v1/log takes to read a full page.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Benchmark } from "../lib/context.js";
import { BenchRepo } from "../lib/repo.js";
import { round } from "../lib/stats.js";

const YEAR_S = 365 * 86_400;
/** Durable Object SQLite storage limit per object (Cloudflare, paid plan). */
const DO_LIMIT_GB = 10;

const DBSTAT = `
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
print(json.dumps(dict(rows)))
`;

export const signingLog: Benchmark = {
  name: "signing-log",
  describe: "bytes per publish of the signing log in SQLite (dbstat), scaled to 1 publish/s for a year; GET /api/v1/log page time",
  async run(ctx) {
    const n = ctx.quick ? 200 : 2_000;
    const repo = await BenchRepo.bootstrapped(14);
    let pageMs = 0;
    let stopped = false;
    try {
      const before = tableSizes(repo.dir);
      for (let i = 0; i < n; i++) {
        const body = JSON.stringify({ add: [{ path: `packages/p${i}/p${i}-1.0.tar.gz`, length: i, hashes: { sha256: i.toString(16).padStart(64, "0") } }] });
        const res = await repo.webhook(body, "?wait=true");
        if (res.status !== 200) throw new Error(`upload ${i}: ${res.status} ${res.body.toString()}`);
      }
      const t0 = performance.now();
      await repo.json("/api/v1/log?after=1");
      pageMs = performance.now() - t0;
      await repo.stop(false); // the scratch folder goes at the end of the run
      stopped = true;
      const after = tableSizes(repo.dir);
      const logBytes = (t: Record<string, number>) =>
        Object.entries(t).filter(([name]) => name.startsWith("signing_log") || name.startsWith("sqlite_autoindex_signing_log")).reduce((s, [, b]) => s + b, 0);
      const publishesBytes = (t: Record<string, number>) => (t.publishes ?? 0) + (t.publishes_in_flight ?? 0);
      const perPublish = (logBytes(after) - logBytes(before)) / n;
      const txPerPublish = (publishesBytes(after) - publishesBytes(before)) / n;
      ctx.emit("signing-log", {
        bins: 2 ** 14,
        publishes: n,
        files_per_publish: 3,
        log_bytes_per_publish: round(perPublish, 0),
        log_gb_per_year_at_1_per_s: round((perPublish * YEAR_S) / 1e9, 1),
        publishes_table_bytes_per_publish: round(txPerPublish, 0),
        do_storage_limit_gb: DO_LIMIT_GB,
        full_page_ms: round(pageMs, 1),
        note: "page sizes from SQLite dbstat of the Publisher's file after the run, tables plus their primary-key indexes",
      });
    } finally {
      if (!stopped) await repo.stop();
    }
  },
};

/** Bytes per table and index of the Publisher's SQLite file under `dir`. */
function tableSizes(dir: string): Record<string, number> {
  const found = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".sqlite") && f.includes("Publisher") && !f.endsWith("metadata.sqlite"));
  if (found.length !== 1) throw new Error(`expected one Publisher SQLite file under ${dir}, found ${JSON.stringify(found)}`);
  return JSON.parse(execFileSync("python3", ["-c", DBSTAT, join(dir, found[0]!)]).toString()) as Record<string, number>;
}
