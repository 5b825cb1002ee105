/**
 * 6. Client cost: the bytes a tuf-js client downloads to verify one target.
 *  - fresh: a client with only the trusted root refreshes, finds and downloads a hosted target;
 *  - returning: the same client, after one new upload, refreshes and downloads the new target.
 * tuf-js runs unmodified behind a counting proxy (identity). The exact files it
 * fetched are then fetched again with Accept-Encoding gzip and br to count the
 * compressed bytes, so one tuf-js run gives all three. Bytes are response body
 * bytes (headers excluded); the 404 that ends the root walk counts too.
 *
 * tuf-js needs over a minute per refresh at 16,384 bins (quadratic snapshot parsing; 95.6 s in docs/results/2026-12-02-full.jsonl),
 * so --quick runs tuf-js at bit_length 10 only and, for 16,384 bins, fetches
 * the same sequence of roles tuf-js fetched (root probe, timestamp, snapshot,
 * targets, bins, the target's bin-n, the target) from the 16,384-bin repository.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Benchmark, BenchContext } from "../lib/context.js";
import { BenchRepo } from "../lib/repo.js";
import { clientDir, CountingProxy, updater, verifyOneTarget, type Fetched } from "../lib/tuf-client.js";

const BUDGET_BYTES = 50_000; // 50 KB, the returning-client target for timestamp + snapshot + one bin, compressed

export const clientCost: Benchmark = {
  name: "client-cost",
  describe: "bytes a fresh and a returning tuf-js client download to verify one target, raw/gzip/br (target returning ≤ 50 KB compressed)",
  async run(ctx) {
    if (ctx.quick) {
      const pattern = await measure(ctx, 10, "tuf-js");
      await measure(ctx, 14, "replay", pattern);
    } else {
      await measure(ctx, 10, "tuf-js");
      await measure(ctx, 14, "tuf-js");
    }
  },
};

type Kind = "root-probe" | "timestamp" | "snapshot" | "targets" | "bins" | "bin-n" | "target" | "root";
type Pattern = Record<"fresh" | "returning", Kind[]>;

function kindOf(path: string): Kind {
  if (path.startsWith("/targets/")) return "target";
  const name = path.replace(/^\/metadata\//, "");
  if (name === "timestamp.json") return "timestamp";
  if (/^\d+\.root\.json$/.test(name)) return "root";
  if (/^\d+\.snapshot\.json$/.test(name)) return "snapshot";
  if (/^\d+\.targets\.json$/.test(name)) return "targets";
  if (/^\d+\.bins\.json$/.test(name)) return "bins";
  return "bin-n";
}

async function measure(ctx: BenchContext, bits: number, method: "tuf-js" | "replay", pattern?: Pattern): Promise<Pattern> {
  const repo = await BenchRepo.bootstrapped(bits);
  const proxy = new CountingProxy(repo.url, "identity");
  await proxy.start();
  const seen: Pattern = { fresh: [], returning: [] };
  try {
    const dir = clientDir(join(repo.dir, "client"), repo.ceremony.root);
    const host = async (name: string) => {
      const path = `pkg/${name}/${name}-1.0.tar.gz`;
      const put = await repo.hostTarget(path, new Uint8Array(randomBytes(4096)));
      const receipt = JSON.parse(put.body.toString()) as { bins: Record<string, number> };
      return { path, bin: Object.entries(receipt.bins)[0]! };
    };
    for (const phase of ["fresh", "returning"] as const) {
      const target = await host(phase === "fresh" ? "hello" : "second");
      proxy.log.length = 0;
      let timing: { refresh_ms: number; total_ms: number } | undefined;
      let fetched: Fetched[];
      if (method === "tuf-js") {
        ctx.log(`client-cost: ${phase} tuf-js client at bit_length ${bits}`);
        timing = await verifyOneTarget(updater(dir, proxy.url), dir, target.path);
        fetched = [...proxy.log];
        seen[phase] = fetched.map((f) => kindOf(f.path));
      } else {
        fetched = await replayPattern(repo, pattern![phase], target, proxy);
      }
      const rows = await Promise.all(fetched.map(async (f) => ({ ...f, gzip: await wire(repo, f.path, "gzip"), br: await wire(repo, f.path, "br") })));
      const sum = (rs: typeof rows, k: "wire_bytes" | "gzip" | "br") => rs.reduce((s, r) => s + r[k], 0);
      const meta = rows.filter((r) => r.path.startsWith("/metadata/"));
      const core = rows.filter((r) => ["timestamp", "snapshot", "bin-n"].includes(kindOf(r.path)));
      ctx.emit("client-cost", {
        client: phase,
        bits,
        bins: 2 ** bits,
        method,
        ...(timing ?? {}),
        files: rows.map((r) => ({ path: r.path, status: r.status, raw: r.wire_bytes, gzip: r.gzip, br: r.br })),
        metadata_raw: sum(meta, "wire_bytes"),
        metadata_gzip: sum(meta, "gzip"),
        metadata_br: sum(meta, "br"),
        total_raw: sum(rows, "wire_bytes"),
        total_gzip: sum(rows, "gzip"),
        total_br: sum(rows, "br"),
        ...(phase === "returning"
          ? {
              timestamp_snapshot_bin_raw: sum(core, "wire_bytes"),
              timestamp_snapshot_bin_gzip: sum(core, "gzip"),
              timestamp_snapshot_bin_br: sum(core, "br"),
              budget_bytes: BUDGET_BYTES,
              meets_target_gzip: sum(core, "gzip") <= BUDGET_BYTES,
              meets_target_br: sum(core, "br") <= BUDGET_BYTES,
            }
          : {}),
      });
    }
    return seen;
  } finally {
    await proxy.stop();
    await repo.stop();
  }
}

/** Body bytes on the wire for one GET with the given Accept-Encoding. */
async function wire(repo: BenchRepo, path: string, encoding: string): Promise<number> {
  return (await repo.http.retrying("GET", path, { "accept-encoding": encoding })).wireBytes;
}

/** The files tuf-js would fetch for `kinds`, named from this repository's current versions, fetched through the proxy. */
async function replayPattern(repo: BenchRepo, kinds: Kind[], target: { path: string; bin: [string, number] }, proxy: CountingProxy): Promise<Fetched[]> {
  const ts = await repo.json<{ signed: { meta: Record<string, { version: number }> } }>("/metadata/timestamp.json");
  const snapshotVersion = ts.signed.meta["snapshot.json"]!.version;
  const snapshot = await repo.json<{ signed: { meta: Record<string, { version: number }> } }>(`/metadata/${snapshotVersion}.snapshot.json`);
  const root = await repo.json<{ signed: { version: number } }>("/metadata/1.root.json");
  const info = (await repo.http.retrying("GET", `/metadata/${target.bin[1]}.${target.bin[0]}.json`)).body;
  const hashes = (JSON.parse(info.toString()) as { signed: { targets: Record<string, { hashes: Record<string, string> }> } }).signed.targets[target.path]!.hashes;
  const slash = target.path.lastIndexOf("/");
  const paths: Record<Kind, string> = {
    "root-probe": `/metadata/${root.signed.version + 1}.root.json`,
    root: `/metadata/${root.signed.version + 1}.root.json`,
    timestamp: "/metadata/timestamp.json",
    snapshot: `/metadata/${snapshotVersion}.snapshot.json`,
    targets: `/metadata/${snapshot.signed.meta["targets.json"]!.version}.targets.json`,
    bins: `/metadata/${snapshot.signed.meta["bins.json"]!.version}.bins.json`,
    "bin-n": `/metadata/${target.bin[1]}.${target.bin[0]}.json`,
    target: `/targets/${target.path.slice(0, slash + 1)}${Object.values(hashes)[0]}.${target.path.slice(slash + 1)}`,
  };
  proxy.log.length = 0;
  for (const kind of kinds) {
    await new Promise<void>((resolve, reject) => {
      // Through the proxy, so the identity bytes are counted the same way as for tuf-js.
      const url = `${proxy.url}${paths[kind]}`;
      fetch(url).then((r) => r.arrayBuffer()).then(() => resolve(), reject);
    });
  }
  return [...proxy.log];
}
