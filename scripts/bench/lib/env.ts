/** What every result line carries: the machine, the versions under test and the source revision. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

function version(pkg: string): string | null {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

function git(...args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

export interface MachineInfo {
  cores: number;
  cpu: string;
  mem_gb: number;
  os: string;
  node: string;
  workerd: string | null;
  miniflare: string | null;
  wrangler: string | null;
  tuf_js: string | null;
  commit: string | null;
  /** Uncommitted changes in src/ at the time of the run (the bench bundles the working tree). */
  src_dirty: boolean;
}

let cached: MachineInfo | undefined;

export function machineInfo(): MachineInfo {
  cached ??= {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    mem_gb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    workerd: version("workerd"),
    miniflare: version("miniflare"),
    wrangler: version("wrangler"),
    tuf_js: version("tuf-js"),
    commit: git("rev-parse", "--short=12", "HEAD"),
    src_dirty: (git("status", "--porcelain", "--", "src") ?? "") !== "",
  };
  return cached;
}

/** The 1-minute load average when a result is taken: other work on the two cores skews every number. */
export const loadavg1 = (): number => Math.round(os.loadavg()[0]! * 100) / 100;
