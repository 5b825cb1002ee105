/**
 * A real tuf-edge Worker on local workerd (Miniflare), with local R2 and
 * Durable Object storage persisted under `dir`. Used by the end-to-end tests
 * and the benchmarks; `npm start` uses `wrangler dev` instead.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface LocalWorkerOptions {
  /** Where R2 objects and Durable Object SQLite files live. */
  dir: string;
  /** Secrets and vars; defaults are wrangler.toml's [vars]. */
  bindings: Record<string, string>;
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

export async function startLocalWorker({ dir, bindings }: LocalWorkerOptions): Promise<LocalWorker> {
  const options = {
    modules: true,
    scriptPath: bundleWorker(),
    compatibilityDate: compatibilityDate(),
    bindings: { ...tomlVars(), ...bindings } as Record<string, string>,
    r2Buckets: ["BUCKET"],
    durableObjects: { PUBLISHER: { className: "Publisher", useSQLite: true } },
    defaultPersistRoot: dir,
    host: "127.0.0.1",
    port: 0,
  };
  const mf = new Miniflare(options);
  const url = (await mf.ready).toString().replace(/\/$/, "");
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
  };
}
