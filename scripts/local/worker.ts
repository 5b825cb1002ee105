/**
 * A real tuf-edge Worker on local workerd (Miniflare), with local R2 and
 * Durable Object storage persisted under `dir`. Used by the end-to-end tests
 * and the benchmarks; `npm start` uses `wrangler dev` instead.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface LocalWorkerOptions {
  /** Where R2 objects and Durable Object SQLite files live. */
  dir: string;
  /** Secrets and vars; defaults are wrangler.toml's [vars]. */
  bindings: Record<string, string>;
  /** Sees each line workerd prints (the Worker's console output); without it, workerd's output goes to this process's. */
  onLog?: (line: string) => void;
}

export interface LocalWorker {
  url: string;
  mf: Miniflare;
  /** Runs the cron handler once, as Cloudflare would every 5 minutes. */
  scheduled(): Promise<void>;
  /**
   * Changes secrets or vars, as `wrangler secret put` / `wrangler secret delete`
   * would: merged into the current bindings, an empty string removes one. The
   * Worker restarts on the same port; R2 and Durable Object storage persist.
   */
  setBindings(bindings: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
  /** Crashes the Worker as a machine would: SIGKILL to the workerd process, nothing flushed first. Storage stays in `dir`. */
  kill(): Promise<void>;
}

/** Bundles src/index.ts once per process with wrangler (offline, no account needed). */
let bundled: string | undefined;
export function bundleWorker(): string {
  if (!bundled) {
    const outdir = join(ROOT, "dist", "worker");
    mkdirSync(outdir, { recursive: true });
    execFileSync(join(ROOT, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
      cwd: ROOT,
      stdio: "pipe",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });
    bundled = join(outdir, "index.js");
  }
  return bundled;
}

function tomlVars(): Record<string, string> {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const vars = toml.split(/^\[vars\]$/m)[1]?.split(/^\[/m)[0] ?? "";
  return Object.fromEntries([...vars.matchAll(/^([A-Z_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1]!, m[2]!]));
}

function compatibilityDate(): string {
  return /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, "wrangler.toml"), "utf8"))![1]!;
}

function compatibilityFlags(): string[] {
  const list = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(readFileSync(join(ROOT, "wrangler.toml"), "utf8"))?.[1] ?? "";
  return [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
}

/** The workerd processes this process has spawned (Miniflare runs workerd as a direct child). */
function workerdChildren(): Set<number> {
  const pids = new Set<number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after its ")".
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && comm.startsWith("workerd")) pids.add(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export async function startLocalWorker({ dir, bindings, onLog }: LocalWorkerOptions): Promise<LocalWorker> {
  const options = {
    modules: true,
    scriptPath: bundleWorker(),
    compatibilityDate: compatibilityDate(),
    compatibilityFlags: compatibilityFlags(),
    bindings: { ...tomlVars(), ...bindings } as Record<string, string>,
    r2Buckets: ["BUCKET"],
    durableObjects: { PUBLISHER: { className: "Publisher", useSQLite: true } },
    defaultPersistRoot: dir,
    host: "127.0.0.1",
    port: 0,
    // For CPU profiles of the Worker and the Publisher (docs/performance.md, "Profiling recipe").
    ...(process.env.TUF_EDGE_INSPECTOR_PORT ? { inspectorPort: Number(process.env.TUF_EDGE_INSPECTOR_PORT) } : {}),
    ...(onLog ? { handleRuntimeStdio: (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
      for (const stream of [stdout, stderr]) {
        let rest = "";
        stream.on("data", (chunk: Buffer) => {
          const lines = (rest + chunk.toString()).split("\n");
          rest = lines.pop()!;
          for (const line of lines) onLog(line);
        });
      }
    } } : {}),
  };
  const before = workerdChildren();
  const mf = new Miniflare(options);
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const workerd = [...workerdChildren()].filter((pid) => !before.has(pid));
  return {
    url,
    mf,
    async scheduled() {
      await (await mf.getWorker()).scheduled({ cron: "*/5 * * * *" });
    },
    async setBindings(changes) {
      const merged = { ...options.bindings, ...changes };
      for (const [name, value] of Object.entries(changes)) if (value === "") delete merged[name];
      options.bindings = merged;
      // Port 0 again: Miniflare keeps the port it picked first, so `url` stays valid.
      await mf.setOptions(options);
      await mf.ready;
    },
    stop: () => mf.dispose(),
    async kill() {
      if (workerd.length !== 1) throw new Error(`expected one new workerd process, found ${workerd.length}`);
      process.kill(workerd[0]!, "SIGKILL");
      await mf.dispose().catch(() => undefined);
    },
  };
}
