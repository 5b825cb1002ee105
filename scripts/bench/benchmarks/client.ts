/**
 * src/client's refresh against the real Worker, beside python-tuf and tuf-js in the same run:
 *  - cold: a fresh client with only the trusted root refreshes (root, timestamp, snapshot, targets);
 *  - warm: the same client refreshes again after only the timestamp changed (a timestamp v+1
 *    naming the same snapshot, signed with the online key, as a renewal of the timestamp alone is).
 * Each is measured twice: over HTTP from local workerd, and with the same bytes served from
 * memory, which is the client's own cost (on a loaded machine workerd's answers dominate).
 * python-tuf (../shared/vendor/python) runs the same cold refresh, timed inside Python.
 * tuf-js runs at 2^10 and 2^12 bins only: at 2^14 one refresh takes over a minute (client-refresh measures it).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DownloadError, MemoryStore, Updater, type Fetcher } from "../../../src/client/index.js";
import { Ed25519Signer, fromHex, Metadata, Timestamp } from "../../../src/tuf/index.js";
import { httpFetcher } from "../../cli/client-io.js";
import { ONLINE_SEED_HEX } from "../../../test/fixtures/ceremony.js";
import type { Benchmark } from "../lib/context.js";
import { BenchRepo } from "../lib/repo.js";
import { round } from "../lib/stats.js";
import { clientDir, updater as tufJsUpdater } from "../lib/tuf-client.js";

const PYTHON_TUF = resolve("../shared/vendor/python");
const PY_REFRESH = `
import json, os, shutil, sys, tempfile, time
from tuf.ngclient import Updater
root, url, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for _ in range(runs):
    d = tempfile.mkdtemp()
    shutil.copyfile(root, os.path.join(d, "root.json"))
    t0 = time.perf_counter()
    Updater(d, url + "/metadata/").refresh()
    times.append((time.perf_counter() - t0) * 1000)
    shutil.rmtree(d)
print(json.dumps(sorted(times)))
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const client: Benchmark = {
  name: "client",
  describe: "src/client cold and warm (timestamp-only) refresh at 2^10, 2^12, 2^14 bins; python-tuf and tuf-js beside it",
  async run(ctx) {
    const online = await Ed25519Signer.fromSeed(fromHex(ONLINE_SEED_HEX));
    for (const bits of ctx.quick ? [10, 14] : [10, 12, 14]) {
      const repo = await BenchRepo.bootstrapped(bits);
      try {
        const rootBytes = new TextEncoder().encode(JSON.stringify(repo.ceremony.root));
        const runs = ctx.quick ? 3 : 7;

        let updater: Updater | undefined;
        let override: Uint8Array | undefined;
        const http = httpFetcher();
        const seen = new Map<string, Uint8Array>();
        let fromMemory = false;
        const fetcher: Fetcher = {
          async fetch(url, max) {
            if (override && url.endsWith("/timestamp.json")) return override;
            if (fromMemory) {
              const bytes = seen.get(url);
              if (!bytes) throw new DownloadError(url, `${url} answered HTTP 404`, { status: 404 });
              return bytes;
            }
            const bytes = await http.fetch(url, max);
            seen.set(url, bytes);
            return bytes;
          },
        };
        const measure = async (): Promise<{ cold: number[]; warm: number[] }> => {
          // Cold: a fresh Updater and an empty store each time.
          const cold: number[] = [];
          for (let i = 0; i < runs; i++) {
            const store = new MemoryStore();
            await store.write("root.json", rootBytes);
            updater = new Updater({ metadataBaseUrl: `${repo.url}/metadata/`, fetcher, store });
            const t0 = performance.now();
            await updater.refresh();
            cold.push(performance.now() - t0);
          }

          // Warm: the last Updater again, each time with a new timestamp over the same snapshot.
          const served = Metadata.fromBytes("timestamp", await http.fetch(`${repo.url}/metadata/timestamp.json`, 16_384));
          const warm: number[] = [];
          for (let i = 1; i <= runs; i++) {
            const next = new Timestamp({ version: served.signed.version + i, expires: served.signed.expires }, served.signed.snapshotMeta);
            override = (await new Metadata(next).sign(online)).toBytes();
            const t0 = performance.now();
            const trusted = await updater!.refresh();
            warm.push(performance.now() - t0);
            if (trusted.timestamp!.version !== next.version) throw new Error("warm refresh did not take the new timestamp");
          }
          override = undefined;
          return { cold, warm };
        };
        for (const transport of ["http", "memory"] as const) {
          fromMemory = transport === "memory";
          const { cold, warm } = await measure();
          ctx.emit("client", { client: "src/client", transport, bits, bins: 2 ** bits, runs, cold_refresh_ms: round(median(cold), 1), cold_min_ms: round(Math.min(...cold), 1), warm_timestamp_only_ms: round(median(warm), 2), warm_max_ms: round(Math.max(...warm), 2) });
        }

        if (existsSync(join(PYTHON_TUF, "tuf"))) {
          const dir = mkdtempSync(join(repo.dir, "py-"));
          writeFileSync(join(dir, "root.json"), rootBytes);
          const out = execFileSync("python3", ["-c", PY_REFRESH, join(dir, "root.json"), repo.url, String(runs)], { env: { ...process.env, PYTHONPATH: PYTHON_TUF }, encoding: "utf8" });
          const times = JSON.parse(out) as number[];
          ctx.emit("client", { client: "python-tuf 5.1", bits, bins: 2 ** bits, runs, cold_refresh_ms: round(median(times), 1), cold_min_ms: round(times[0]!, 1) });
        } else ctx.emit("client", { client: "python-tuf 5.1", bits, skipped: `${PYTHON_TUF} is missing` });

        if (bits <= 12) {
          const times: number[] = [];
          const tufJsRuns = bits === 12 ? 1 : runs;
          for (let i = 0; i < tufJsRuns; i++) {
            const dir = clientDir(join(repo.dir, `tufjs-${i}`), repo.ceremony.root);
            const t0 = performance.now();
            await tufJsUpdater(dir, repo.url).refresh();
            times.push(performance.now() - t0);
          }
          ctx.emit("client", { client: "tuf-js 5.0.1", bits, bins: 2 ** bits, runs: tufJsRuns, cold_refresh_ms: round(median(times), 0) });
        } else ctx.emit("client", { client: "tuf-js 5.0.1", bits, bins: 2 ** bits, skipped: "a fresh tuf-js refresh at 16,384 bins takes over a minute (quadratic snapshot parsing); see client-refresh" });
      } finally {
        await repo.stop();
      }
    }
  },
};
