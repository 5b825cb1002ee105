/** `tuf-edge dev` as its own process, in a folder holding a copy of wrangler.toml: what the dev end-to-end tests drive. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "scripts/bin/tuf-edge.js");

export function projectCopy(toml: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "tuf-edge-dev-"));
  // Paths in wrangler.toml (main, [alias]) are relative to it: point them at the project.
  const text = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main = "src\/index.ts"$/m, `main = "${join(ROOT, "src/index.ts")}"`)
    .replaceAll('"./src/', `"${ROOT}/src/`);
  writeFileSync(join(dir, "wrangler.toml"), toml(text));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

export const freePort = () =>
  new Promise<number>((resolvePort) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });

export function startDev(cwd: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, "dev", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  child.stdout!.on("data", (d) => (out += String(d)));
  child.stderr!.on("data", (d) => (out += String(d)));
  return { child, output: () => out, exited: new Promise((r) => child.on("close", r)) };
}

export async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Stops dev (it stops its wrangler dev) and waits for it to exit. */
export async function stopDev(dev: ReturnType<typeof startDev>): Promise<void> {
  if (dev.child.exitCode === null) {
    process.kill(-dev.child.pid!, "SIGTERM");
    await dev.exited;
  }
}

/** Starts dev and waits for "tuf-edge is running.", failing with its output if it exits first. */
export async function runningDev(cwd: string, args: string[]): Promise<ReturnType<typeof startDev>> {
  const dev = startDev(cwd, args);
  try {
    await until("tuf-edge dev to be running", 150, () =>
      dev.output().includes("tuf-edge is running.") ? true : dev.child.exitCode !== null ? Promise.reject(new Error(dev.output())) : undefined,
    );
  } catch (err) {
    await stopDev(dev);
    throw new Error(`${(err as Error).message}; its output:\n${dev.output().slice(-4000)}`);
  }
  return dev;
}
