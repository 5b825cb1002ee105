/**
 * Renders the benchmark tables of docs/performance.md from the results files in docs/results/.
 *
 *   node scripts/bin/run-ts.js scripts/bench/report.ts            # print the document as it would be written
 *   node scripts/bin/run-ts.js scripts/bench/report.ts --write    # rewrite the generated blocks in place
 *   node scripts/bin/run-ts.js scripts/bench/report.ts --check    # exit 1 if the document is out of date
 *
 * A generated block sits between `<!-- report:NAME FILE.jsonl … -->` and `<!-- /report:NAME -->`; the opening
 * marker names the results files it is rendered from. Across those files the newest line (by `at`) of a given
 * benchmark and configuration wins, so a re-run is taken in by adding its file to the marker and running --write.
 * Each block ends with the files, commits and load its figures came from. Prose outside the blocks that quotes a
 * figure names its results file itself; test/bench/report.test.ts fails when a block and its files disagree.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** A result line, with `source`: the results file it came from (`file` is a field of some benchmarks). */
type Line = Record<string, any> & { source: string };

/** The lines of a block's results files, and the ones its rendering used. */
class Results {
  readonly used = new Set<Line>();
  constructor(readonly lines: Line[]) {}

  /** The newest line of `bench` matching `pred`, or undefined. */
  pick(bench: string, pred: (l: Line) => boolean = () => true): Line | undefined {
    const hits = this.lines.filter((l) => l.bench === bench && pred(l));
    const newest = hits.reduce<Line | undefined>((a, l) => (!a || String(l.at ?? "") >= String(a.at ?? "") ? l : a), undefined);
    if (newest) this.used.add(newest);
    return newest;
  }

  /** Where the used figures came from: each file with its commits, run kind and load. */
  sources(): string {
    const files = [...new Set([...this.used].map((l) => l.source))];
    return files
      .map((f) => {
        const ls = [...this.used].filter((l) => l.source === f);
        const commits = [...new Set(ls.map((l) => l.machine?.commit?.slice(0, 7)).filter(Boolean))];
        const loads = ls.map((l) => l.load1).filter((x) => typeof x === "number");
        const [lo, hi] = [num(Math.min(...loads), 1), num(Math.max(...loads), 1)];
        const load = loads.length ? `load1 ${lo === hi ? lo : `${lo}–${hi}`}` : "";
        const kind = ls.some((l) => l.quick) ? "--quick" : "full";
        return `[\`${f}\`](results/${f}) (${[kind, commits.length ? `commit ${commits.join(", ")}` : "machine fields not kept", load].filter(Boolean).join(", ")})`;
      })
      .join("; ");
  }
}

const num = (x: number, digits = 0) => x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const sec = (ms: number, digits = 1) => `${num(ms / 1000, digits)} s`;
const ms = (x: number) => `${num(x, x < 10 ? 2 : x < 100 ? 1 : 0)} ms`;
const kb = (b: number) => `${num(b / 1000, 1)} KB`;
const verdict = (ok: boolean | undefined) => (ok === undefined ? "–" : ok ? "met" : "**missed**");
const table = (head: string[], rows: (string | undefined)[][]) =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map((c) => c ?? "–").join(" | ")} |`)].join("\n");
/** A row only when its line exists: a block renders what its files hold and leaves out the rest. */
const row = (l: Line | undefined, cells: (l: Line) => (string | undefined)[]) => (l ? [cells(l)] : []);

/** Renew-all lines written before the benchmark waited for the alarm stop at the first call. */
const renewAll = (l: Line) =>
  !l.first_call_status && l.status === "unfinished"
    ? "not measured: the first call stopped at its write budget (`unfinished`) and the benchmark did not wait for the alarm to finish"
    : `${sec(l.ms)} (${num(l.workerd_cpu_s, 1)} s of workerd CPU; first call \`${l.first_call_status}\`)`;

const blocks: Record<string, (r: Results) => string> = {
  targets(r) {
    const sustained = [1, 10, 100].map((n) => r.pick("sustained", (l) => l.concurrency === 64 && l.artifacts_per_request === n));
    const all = r.pick("renewal", (l) => l.kind === "all");
    return table(["Benchmark", "Target", "Result", ""], [
      ...row(r.pick("bootstrap"), (l) => [`Bootstrap, ${num(l.bins)} bins readable`, "≤ 3 s", `${sec(l.ms_to_201)} (${num(l.workerd_cpu_s, 1)} s of workerd CPU)`, verdict(l.meets_target)]),
      ...row(r.pick("publish", (l) => l.bins === 16_384), (l) => [`Single publish, ${num(l.bins)} bins, p50 (p99)`, "≤ 10 ms", `${ms(l.p50_ms)} (${ms(l.p99_ms)}); workerd CPU ${ms(l.workerd_cpu_ms_per_publish)} per publish`, verdict(l.meets_target)]),
      ...sustained.flatMap((s) =>
        row(s, (l) => [`Sustained, 64 concurrent × ${l.artifacts_per_request}: accepted / published per s; p99 202→published`, "≥ 5,000/s; ≤ 1 s", `${num(l.accepted_per_s)} / ${num(l.published_per_s)}; ${sec(l.p99_ms, 2)}`, verdict(l.meets_target)]),
      ),
      ...row(r.pick("renewal", (l) => l.kind === "staggered"), (l) => ["Staggered renewal tick, `renew(now + 5 min)`", "–", `${num(l.bins_resigned)} bins in ${sec(l.ms, 2)}`, "–"]),
      ...row(all, (l) => [`Renew all ${num(l.bins ?? 16384)} bins`, "≤ 3 s", renewAll(l), l.first_call_status ? verdict(l.meets_target) : "–"]),
      ...row(r.pick("client-cost", (l) => l.client === "returning" && l.bits === 14), (l) => [
        "Returning client after one upload (timestamp + snapshot + one bin-n), compressed",
        "≤ 50 KB",
        `gzip ${kb(l.timestamp_snapshot_bin_gzip)}, br ${kb(l.timestamp_snapshot_bin_br)} (raw ${kb(l.timestamp_snapshot_bin_raw)})`,
        verdict(l.meets_target_gzip && l.meets_target_br),
      ]),
      ...row(r.pick("memory"), (l) => ["Peak RSS of workerd during sustained", "–", `${num(l.workerd_peak_rss_mb)} MB (VmHWM ${num(l.workerd_vmhwm_mb)} MB)`, "–"]),
    ]);
  },

  sustained(r) {
    const configs = [1, 8, 64].flatMap((c) => [1, 10, 100].map((n) => r.pick("sustained", (l) => l.concurrency === c && l.artifacts_per_request === n)));
    return table(["Concurrency × artifacts/request", "Accepted/s", "Published/s", "Artifacts per publish", "202 latency p50 / p99", "202→published p50 / p99"], configs.flatMap((s) =>
      row(s, (l) => [`${l.concurrency} × ${l.artifacts_per_request}`, num(l.accepted_per_s), num(l.published_per_s), num(l.artifacts_per_publish, 1), `${ms(l.accept_p50_ms)} / ${ms(l.accept_p99_ms)}`, `${ms(l.p50_ms)} / ${ms(l.p99_ms)}`]),
    ));
  },

  serving(r) {
    const get = (file: string, c: number, enc = "identity") => r.pick("serving", (l) => l.file === file && l.concurrency === c && l.accept_encoding === enc);
    const cell = (l: Line | undefined, mb: boolean) => (l ? `${num(l.rps)}${mb ? ` (${num(l.mb_per_s)} MB/s)` : ""}` : undefined);
    return table(["File", "c = 1", "c = 16", "c = 16, `gzip, br`", "workerd CPU/request (c = 1 / 16)"], [["timestamp.json", "timestamp.json"], ["bin", "one bin-n"], ["target-1MiB", "1 MiB hosted target"]].flatMap(([file, label]) => {
      const [one, many, enc] = [get(file!, 1), get(file!, 16), get(file!, 16, "gzip, br")];
      if (!one) return [];
      return [[
        `${label} (${num(one.wire_bytes_per_response)} B)`,
        cell(one, file === "target-1MiB"),
        cell(many, file === "target-1MiB"),
        enc && `${cell(enc, false)} (${num(enc.wire_bytes_per_response)} B, ${enc.content_encoding})`,
        `${ms(one.workerd_cpu_ms_per_request)} / ${many ? ms(many.workerd_cpu_ms_per_request) : "–"}`,
      ]];
    }));
  },

  parts(r) {
    const puts = r.lines.filter((l) => l.bench === "r2-local").map((l) => r.pick("r2-local", (m) => m.object === l.object && m.concurrency === l.concurrency)!);
    const s = r.pick("signing");
    return [
      table(["Local R2 put (`r2-local`)", "Bytes", "Concurrency", "Puts/s", "workerd CPU per put"], [...new Set(puts)].map((l) => [l.object, num(l.bytes), String(l.concurrency), num(l.puts_per_s), ms(l.workerd_cpu_ms_per_put)])),
      ...(s
        ? [
            "",
            // Steps a run's probe did not measure (older or newer probes differ) are left out.
            table(["Signing step in workerd (`signing`, 16,384 bins)", "ms"], ([
              ["sign one bin-n (one target)", "bin_sign_ms_1_targets"],
              ["self-check one bin-n (one target)", "bin_selfcheck_ms_1_targets"],
              ["sign one bin-n of 600 targets (a bin at 10M artifacts)", "bin_sign_ms_600_targets"],
              [`snapshot bytes (${num(s.snapshot_size_bytes)} B)`, "snapshot_bytes_ms"],
              ["snapshot signature", "snapshot_sign_ms"],
              ["snapshot self-check", "snapshot_selfcheck_ms"],
              [`snapshot gzip in one piece (to ${num(s.snapshot_gzip_bytes)} B)`, "snapshot_gzip_ms"],
              [`snapshot gzip in segments, one bin changed (to ${num(s.snapshot_gzip_segmented_bytes)} B)`, "snapshot_gzip_one_bin_changed_ms"],
              ["SHA-256 of the snapshot", "snapshot_sha256_ms"],
              ["timestamp: sign and self-check", "timestamp_sign_and_check_ms"],
            ] as const).filter(([, field]) => s[field] !== undefined).map(([label, field]) => [label, ms(s[field])])),
          ]
        : []),
    ].join("\n");
  },

  "publish-bins"(r) {
    const runs = [16_384, 16].map((bins) => r.pick("publish", (l) => l.bins === bins)).filter((l): l is Line => l !== undefined);
    return table(["Single publish, one artifact", "p50 / p99", "workerd CPU per publish"], runs.map((l) => [
      `${num(l.bins)} bins (snapshot ${l.bins === 16 ? "~0.5 KB" : "~492 KB"})`, `${ms(l.p50_ms)} / ${ms(l.p99_ms)}`, ms(l.workerd_cpu_ms_per_publish),
    ]));
  },

  upload(r) {
    return table(["", "p50", "p99"], [
      ...row(r.pick("upload"), (l) => [`twine upload → installable, ${num(l.bins)} bins (${l.n} uploads; pip installed the last: ${l.pip_installed_last ? "yes" : "no"})`, sec(l.p50_ms, 2), sec(l.p99_ms, 2)]),
      ...row(r.pick("upload"), (l) => ["of which twine's own start-up and round trip (no-op upload)", sec(l.twine_noop_ms, 2), "–"]),
    ]);
  },

  health(r) {
    return table(["Polled during a bootstrap", "Bins", "Bootstrap", "Requests", "Answers", "p50 / p99 / max", "Target"], ["health.healthz_during_bootstrap", "health.status_during_bootstrap"].flatMap((b) =>
      row(r.pick(b), (l) => [
        b.includes("healthz") ? "`/healthz`" : "`/api/v1/status`",
        num(l.bins),
        sec(l.bootstrap_ms),
        String(l.requests),
        Object.entries(l.answers).map(([k, v]) => `${k}: ${v}`).join(", "),
        `${ms(l.p50_ms)} / ${ms(l.p99_ms)} / ${ms(l.max_ms)}`,
        l.deadline_ms ? `≤ ${sec(l.deadline_ms + 1000, 0)}: ${verdict(l.max_ms <= l.deadline_ms + 1000)}` : "–",
      ]),
    ));
  },

  "client-cost"(r) {
    const files = (l: Line) => l.files.map((f: { path: string; status: number }) => f.path.replace(/^\/metadata\/|^\/targets\/.*/, (m) => (m.startsWith("/targets") ? "target" : "")).replace(/\.json$/, "") + (f.status === 404 ? " (404)" : "")).join(", ");
    return table(["Bins", "Client", "Files fetched", "Raw", "gzip", "br", "tuf-js refresh"], [10, 14].flatMap((bits) =>
      ["fresh", "returning"].flatMap((c) =>
        row(r.pick("client-cost", (l) => l.bits === bits && l.client === c), (l) => [num(l.bins), c === "fresh" ? "fresh" : "returning, after one upload", files(l), num(l.total_raw), num(l.total_gzip), num(l.total_br), sec(l.refresh_ms)]),
      ),
    ));
  },

  "bin-count"(r) {
    const cold = (l: Line | undefined) => (l ? ms(l.cold_refresh_ms) : "not measured");
    return table(["bit_length", "Bins", "Snapshot", "tuf-js 5.0.1 fresh refresh (`client-refresh`)", "python-tuf 5.1 cold (`client`)", "src/client cold over HTTP (`client`)"], [8, 10, 12, 14].flatMap((bits) =>
      row(r.pick("client-refresh", (l) => l.bits === bits && l.refresh_ms !== undefined), (l) => [
        String(bits),
        num(l.bins),
        kb(l.snapshot_bytes),
        l.refresh_ms < 1000 ? ms(l.refresh_ms) : sec(l.refresh_ms),
        cold(r.pick("client", (c) => c.client.startsWith("python-tuf") && c.bits === bits)),
        cold(r.pick("client", (c) => c.client === "src/client" && c.transport === "http" && c.bits === bits)),
      ]),
    ));
  },

  client(r) {
    const src = (bits: number, transport: string) => r.pick("client", (l) => l.client === "src/client" && l.transport === transport && l.bits === bits);
    const rows = [10, 12, 14].flatMap((bits) => {
      const [http, mem] = [src(bits, "http"), src(bits, "memory")];
      if (!http || !mem) return [];
      const py = r.pick("client", (l) => l.client.startsWith("python-tuf") && l.bits === bits);
      const tufjs = r.pick("client", (l) => l.client.startsWith("tuf-js") && l.bits === bits && l.cold_refresh_ms !== undefined);
      return [[num(http.bins), `${ms(http.cold_refresh_ms)} / ${ms(mem.cold_refresh_ms)}`, `${ms(http.warm_timestamp_only_ms)} / ${ms(mem.warm_timestamp_only_ms)}`, py && ms(py.cold_refresh_ms), tufjs ? ms(tufjs.cold_refresh_ms) : "not run (see `client-refresh`)"]];
    });
    const [cold, proxy] = [src(14, "http"), r.pick("proxy")];
    return [
      table(["Bins", "src/client cold (http / memory)", "src/client warm, timestamp only (http / memory)", "python-tuf cold", "tuf-js cold"], rows),
      "",
      table(["Target", "Result", ""], [
        ...row(cold, (l) => ["cold src/client refresh at 16,384 bins over HTTP ≤ 300 ms", ms(l.cold_refresh_ms), verdict(l.cold_refresh_ms <= 300)]),
        ...row(cold, (l) => ["warm timestamp-only refresh at 16,384 bins over HTTP ≤ 20 ms", ms(l.warm_timestamp_only_ms), verdict(l.warm_timestamp_only_ms <= 20)]),
        ...row(proxy, (l) => [`warm pip install of ${l.packages} packages via the proxy ≤ ${l.target_ratio}× direct`, `${num(l.proxy_install_ms)} ms vs ${num(l.direct_install_ms)} ms (${num(l.ratio, 2)}×)`, verdict(l.ratio <= l.target_ratio)]),
      ]),
    ].join("\n");
  },

  "signing-log"(r) {
    const l = r.pick("signing-log");
    if (!l) return "";
    const yearly = (bytes: number) => `${num((bytes * 31_536_000) / 1e9, 1)} GB`;
    return [
      table(["", "per publish", "1 publish/s for a year (31.5 M entries)"], [
        [`signing log (entry row + ${l.files_per_publish} file rows, with indexes)`, `${num(l.log_bytes_per_publish)} B`, `**${yearly(l.log_bytes_per_publish)}**`],
        ["`publishes` (the transaction log, for comparison)", `${num(l.publishes_table_bytes_per_publish)} B`, yearly(l.publishes_table_bytes_per_publish)],
      ]),
      "",
      `Measured over ${num(l.publishes)} publishes at ${num(l.bins)} bins; \`GET /api/v1/log?after=1\` (the rest of the first full page: 99 entries) took ${ms(l.full_page_ms)}. ` +
        `Kept in SQLite, at one publish per second the log alone would fill the ${l.do_storage_limit_gb} GB a Durable Object may hold in about ${num((l.do_storage_limit_gb * 1e9) / (l.log_bytes_per_publish * 2_592_000), 1)} months; ` +
        `at one publish every 10 s a year is ${yearly(l.log_bytes_per_publish / 10)}, and the renewal cron's 105,120 publishes a year (one per 5 min) add ${num((105_120 * l.log_bytes_per_publish) / 1e6)} MB.`,
    ].join("\n");
  },

  scale(r) {
    const sizes = [1_000_000, 10_000_000];
    const step = (s: string, artifacts: number, pred: (l: Line) => boolean = () => true) => r.pick("scale", (l) => l.step === s && l.artifacts === artifacts && pred(l));
    const empty = step("publish", 0);
    /** One row: a cell per size (– when that size has no line), and a verdict per size that has one. */
    const measure = (label: string, s: string, cell: (l: Line) => string, ok?: (l: Line) => boolean, pred?: (l: Line) => boolean) => {
      const lines = sizes.map((n) => step(s, n, pred));
      if (!lines.some(Boolean)) return [];
      const verdicts = ok ? lines.flatMap((l, k) => (l ? [`${verdict(ok(l))} at ${k ? "10M" : "1M"}`] : [])).join(", ") : "–";
      return [[label, ...lines.map((l) => (l ? cell(l) : "not measured")), verdicts]];
    };
    const ratio = (l: Line) => (empty ? ` (${num(l.p50_ms / empty.p50_ms, 2)}×)` : "");
    // A larger size is imported on top of the smaller one: its time from empty adds the smaller import's.
    const fromEmpty = (l: Line): number => (l.imported < l.artifacts ? (step("import", l.artifacts - l.imported)?.wall_s ?? NaN) + l.wall_s : l.wall_s);
    const cpu = (l: Line) => (l.workerd_cpu_s ? ` (${num(l.workerd_cpu_s, 2)} s CPU)` : "");
    const client = (l: Line) => `${num(l.raw)} / ${num(l.gzip)} / ${num(l.br)} bytes (${l.files} files)`;
    const mem = r.pick("scale", (l) => l.step === "memory");
    return table(["Measure", "1M artifacts", "10M artifacts", "Target"], [
      ...measure(
        "Imported and covered by a timestamp, from an empty repository (target ≤ 60 s at 1M, ≤ 720 s at 10M)",
        "import",
        (l) =>
          `${num(fromEmpty(l), 1)} s${l.imported < l.artifacts ? ` (${num(l.wall_s, 1)} s for the last ${num(l.imported)})` : ""}, ` +
          `${num(l.artifacts_per_s)} artifacts/s${l.workerd_cpu_s ? `; ${num(l.workerd_cpu_s, 1)} s of workerd CPU` : ""} (load1 ${l.load1})`,
        (l) => fromEmpty(l) <= l.target_s,
      ),
      ...measure(
        "of which staging the lines / the one publish of every touched bin",
        "import",
        (l) => `${num(l.staging_s, 1)} s (${num(l.staging_workerd_cpu_s, 1)} s CPU) / ${num(l.publish_s, 1)} s`,
        undefined,
        (l) => l.staging_s != null,
      ),
      ...row(empty, (l) => ["Single publish p50 / p99 at 16,384 bins, empty repository (target p50 ≤ 10 ms)", `${ms(l.p50_ms)} / ${ms(l.p99_ms)}`, "–", verdict(l.p50_ms <= l.target_p50_ms)]),
      ...measure("Single publish p50 / p99 after the import (target p50 ≤ 1.5× empty)", "publish", (l) => `${ms(l.p50_ms)} / ${ms(l.p99_ms)}${ratio(l)}`, empty && ((l) => l.p50_ms <= 1.5 * empty.p50_ms)),
      ...measure("Staggered renewal tick (target ≤ 3 s)", "renewal-tick", (l) => `${sec(l.ms, 2)}${cpu(l)}`, (l) => l.meets_target),
      ...measure("Renew all 16,384 bins, until the alarm has finished", "renewal-all", (l) => `${sec(l.ms)}${cpu(l)}; first call \`${l.first_call_status}\``),
      ...measure("bin-n size min / p50 / p99 / max (uncompressed)", "bin-sizes", (l) => `${num(l.min_bytes)} / ${num(l.p50_bytes)} / ${num(l.p99_bytes)} / ${num(l.max_bytes)} bytes (${num(l.max_share_of_limit * 100, 1)}% of the ${num(l.client_limit_bytes)}-byte client limit)`),
      ...measure("Durable Object SQLite bytes (database + WAL)", "import", (l) => `${num(l.sqlite_bytes)} (${num(l.sqlite_bytes_per_artifact, 1)} B per artifact, ${num(l.do_storage_share * 100, 1)}% of 10 GB)`),
      ...measure("R2 bytes written by the import (bin-n gzip-compressed)", "import", (l) => num(l.r2_bytes_written)),
      ...["fresh", "returning"].flatMap((c) => measure(`${c === "fresh" ? "Fresh" : "Returning"} client: raw / gzip / br`, "client-bytes", client, undefined, (l) => l.client === c)),
      ...row(mem, (l) => ["workerd peak RSS / VmHWM over the run (target ≤ 1 GB)", `${num(l.workerd_peak_rss_mb)} / ${num(l.workerd_hwm_mb)} MB`, "–", verdict(l.meets_target)]),
    ]);
  },
};

const MARKER = /<!-- report:([\w-]+)((?: [\w.-]+\.jsonl)+) -->\n[\s\S]*?<!-- \/report:\1 -->/g;

/** The document with every generated block rendered again from the results files in `resultsDir`. */
export function render(doc: string, resultsDir: string): string {
  return doc.replace(MARKER, (_, name: string, fileList: string) => {
    const files = fileList.trim().split(" ");
    const results = new Results(
      files.flatMap((file) =>
        readFileSync(join(resultsDir, file), "utf8")
          .split("\n")
          .filter((l) => l.trim().startsWith("{"))
          .map((l) => ({ ...JSON.parse(l), source: file })),
      ),
    );
    const block = blocks[name];
    if (!block) throw new Error(`report: no block named ${name}`);
    const body = block(results);
    return `<!-- report:${name} ${files.join(" ")} -->\n${body}\n\nFrom ${results.sources()}.\n<!-- /report:${name} -->`;
  });
}

export const PERFORMANCE_MD = join(import.meta.dirname, "../../docs/performance.md");
export const RESULTS_DIR = join(import.meta.dirname, "../../docs/results");

// Run as a script (directly, or as `run-ts.js`'s argument), not when a test imports render().
const args = process.argv.slice(1);
const self = args.findIndex((a) => resolve(a) === fileURLToPath(import.meta.url));
if (self >= 0) {
  const mode = args[self + 1];
  const doc = readFileSync(PERFORMANCE_MD, "utf8");
  const out = render(doc, RESULTS_DIR);
  if (mode === "--write") writeFileSync(PERFORMANCE_MD, out);
  else if (mode === "--check") {
    if (out !== doc) {
      console.error("docs/performance.md is out of date with docs/results/: run `node scripts/bin/run-ts.js scripts/bench/report.ts --write`");
      process.exit(1);
    }
  } else process.stdout.write(out);
}
