/**
 * The workerd process Miniflare spawned for us, read from /proc (Linux only):
 * CPU time (user + system) and resident memory (VmRSS, and VmHWM, the peak).
 * workerd runs the Worker, the Durable Object and Miniflare's local R2 in one
 * process, so its CPU time covers all three.
 */
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64 and arm64

function stat(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
    const close = raw.lastIndexOf(")");
    return [raw.slice(0, raw.indexOf(" ")), raw.slice(raw.indexOf("(") + 1, close), ...raw.slice(close + 2).split(" ")];
  } catch {
    return undefined;
  }
}

/** The workerd child of this Node process with the newest start time, or undefined off Linux. */
export function findWorkerd(parent = process.pid): number | undefined {
  let best: { pid: number; start: number } | undefined;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    // Fields (0-based after our split): 0 pid, 1 comm, 2 state, 3 ppid, ... 21 starttime.
    if (!s || s[1] !== "workerd" || Number(s[3]) !== parent) continue;
    const start = Number(s[21]);
    if (!best || start > best.start) best = { pid: Number(entry), start };
  }
  return best?.pid;
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number | undefined): number {
  const s = pid === undefined ? undefined : stat(pid);
  if (!s) return NaN;
  return (Number(s[13]) + Number(s[14])) / CLK_TCK;
}

/** VmRSS and VmHWM in MiB. */
export function memory(pid: number | undefined): { rss_mb: number; hwm_mb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rss_mb: Math.round(kb("VmRSS") / 1024), hwm_mb: Math.round(kb("VmHWM") / 1024) };
  } catch {
    return { rss_mb: NaN, hwm_mb: NaN };
  }
}

/** Samples VmRSS every `everyMs` until stopped; reports the highest sample and the kernel's VmHWM. */
export function sampleMemory(pid: number | undefined, everyMs = 100): () => { peak_rss_mb: number; hwm_mb: number; samples: number } {
  let peak = 0;
  let samples = 0;
  const take = () => {
    const m = memory(pid);
    if (Number.isFinite(m.rss_mb)) {
      peak = Math.max(peak, m.rss_mb);
      samples++;
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return () => {
    clearInterval(timer);
    take();
    return { peak_rss_mb: peak, hwm_mb: memory(pid).hwm_mb, samples };
  };
}
