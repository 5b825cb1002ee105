/**
 * `tuf-edge import` of 100,000 lines against a local Worker, with the CLI
 * killed once and workerd killed once along the way: each rerun resumes where
 * the repository says the import stopped, and the end state lists every line
 * exactly once, signed in one publish.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorker, type LocalWorker } from "../../scripts/local/worker.js";
import { findWorkerd } from "../../scripts/bench/lib/proc.js";
import { ADMIN_TOKEN, ONLINE_SEED_HEX, WEBHOOK_SECRET } from "../fixtures/ceremony.js";
import { startRepo, type Repo } from "./harness.js";

const LINES = 100_000;
const CLI = join(import.meta.dirname, "../../scripts/bin/tuf-edge.js");
const hex = (i: number) => i.toString(16).padStart(8, "0").repeat(8);
const pathOf = (i: number) => `packages/project-${i % 4999}/project-${i % 4999}-${i}.tar.gz`;

function runCli(url: string, file: string, ...extra: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string; stdout: string }> } {
  const child = spawn(process.execPath, [CLI, "import", "--url", url, "--chunk-mib", "1", ...extra, file], {
    env: { ...process.env, TUF_EDGE_ADMIN_TOKEN: ADMIN_TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  return { child, done: new Promise((resolve) => child.on("exit", (code) => resolve({ code, stderr, stdout }))) };
}

async function nextLine(url: string, id: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/imports/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return ((await res.json()) as { next_line: number }).next_line;
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 120_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("tuf-edge import, 100,000 lines, interrupted twice", () => {
  let repo: Repo;
  let worker: LocalWorker | undefined;
  let file: string;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 8 });
    file = join(repo.dir, "export.jsonl");
    const lines: string[] = [];
    for (let i = 0; i < LINES; i++) lines.push(JSON.stringify({ path: pathOf(i), length: 1000 + i, hashes: { sha256: hex(i) } }));
    writeFileSync(file, lines.join("\n") + "\n");
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    // The first workerd was killed on purpose; its Miniflare may already be gone.
    await repo?.close().catch(() => rmSync(repo.dir, { recursive: true, force: true }));
  });

  it("resumes after the CLI and then workerd are killed, and publishes every line exactly once", async () => {
    const id = "export.jsonl";
    // 1. The CLI is killed partway.
    const first = runCli(repo.worker.url, file);
    await waitFor(async () => (await nextLine(repo.worker.url, id)) > 20_000, "20,000 lines staged");
    first.child.kill("SIGKILL");
    await first.done;
    const afterCli = await nextLine(repo.worker.url, id);
    expect(afterCli).toBeLessThan(LINES);

    // 2. A rerun resumes there; then workerd itself is killed partway.
    const second = runCli(repo.worker.url, file);
    await waitFor(async () => (await nextLine(repo.worker.url, id)) > afterCli + 20_000, "20,000 more lines staged");
    process.kill(findWorkerd()!, "SIGKILL");
    const failed = await second.done;
    expect(failed.stdout).toContain(`resuming at line ${afterCli}`);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/cannot reach .*rerun: the import resumes where it stopped/);
    await repo.worker.stop().catch(() => undefined);

    // 3. workerd restarts on the same storage; a third run finishes.
    worker = await startLocalWorker({ dir: join(repo.dir, "state"), bindings: { ONLINE_KEY: ONLINE_SEED_HEX, WEBHOOK_SECRET, ADMIN_TOKEN } });
    const resumedAt = await nextLine(worker.url, id);
    expect(resumedAt).toBeGreaterThan(afterCli + 20_000);
    const third = await runCli(worker.url, file).done;
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain(`resuming at line ${resumedAt}`);
    expect(third.stdout).toContain(`${LINES} lines, ${LINES} added, 0 unchanged, 0 skipped; published in timestamp 2`);

    // Every line listed exactly once, by the one publish after bootstrap (timestamp 2).
    const get = async (name: string) => (await (await fetch(`${worker!.url}/metadata/${name}`)).json()) as { signed: unknown };
    const timestamp = (await get("timestamp.json")).signed as { version: number; meta: Record<string, { version: number }> };
    expect(timestamp.version).toBe(2);
    const snapshot = (await get(`${timestamp.meta["snapshot.json"]!.version}.snapshot.json`)).signed as { meta: Record<string, { version: number }> };
    const seen = new Map<string, { length: number; hashes: { sha256: string } }>();
    const bins = Object.entries(snapshot.meta).filter(([name]) => name.startsWith("bin-"));
    expect(bins).toHaveLength(256);
    for (const [name, { version }] of bins) {
      expect(version, name).toBe(2); // each bin signed once after bootstrap
      const targets = ((await get(`${version}.${name}`)).signed as { targets: Record<string, { length: number; hashes: { sha256: string } }> }).targets;
      for (const [path, info] of Object.entries(targets)) {
        expect(seen.has(path), path).toBe(false);
        seen.set(path, info);
      }
    }
    expect(seen.size).toBe(LINES);
    for (let i = 0; i < LINES; i += 997) expect(seen.get(pathOf(i))).toEqual({ length: 1000 + i, hashes: { sha256: hex(i) } });

    // Idempotent: the whole file again changes nothing.
    const again = await runCli(worker.url, file).done;
    expect(again.code, again.stderr).toBe(0);
    expect(((await get("timestamp.json")).signed as { version: number }).version).toBe(2);
    // The same lines as another import, in bodies of the largest size the CLI offers (the Worker's limit): all unchanged.
    const whole = await runCli(worker.url, file, "--chunk-mib", "8", "--id", "whole").done;
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout).toContain(`${LINES} lines, 0 added, ${LINES} unchanged, 0 skipped; published in timestamp 3`);
  }, 600_000);

  it("reports a conflicting line by number and stops, or skips it with --on-conflict skip", async () => {
    const conflicting = join(repo.dir, "conflicting.jsonl");
    writeFileSync(conflicting, [
      JSON.stringify({ path: "packages/new/new-1.0.tar.gz", length: 1, hashes: { sha256: hex(1) } }),
      JSON.stringify({ path: pathOf(7), length: 1, hashes: { sha256: hex(999_999) } }),
    ].join("\n") + "\n");
    const stopped = await runCli(worker!.url, conflicting).done;
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain(`error: line 2: ${pathOf(7)} is already listed with another length, hashes or custom; nothing in this body was staged. Fix the line and rerun`);
    expect(stopped.stderr).toContain("--on-conflict skip");

    const skipped = await runCli(worker!.url, conflicting, "--on-conflict", "skip").done;
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).toContain(`line 2: ${pathOf(7)} is already listed with another length, hashes or custom; kept the listed one`);
    expect(skipped.stdout).toContain("2 lines, 1 added, 0 unchanged, 1 skipped; published in timestamp 4");
  }, 120_000);

  it("reports a malformed line by number", async () => {
    const malformed = join(repo.dir, "malformed.jsonl");
    writeFileSync(malformed, `${JSON.stringify({ path: "packages/new/new-2.0.tar.gz", length: 1, hashes: { sha256: hex(2) } })}\n\n{"path": oops}\n`);
    const failed = await runCli(worker!.url, malformed).done;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("error: line 3: not valid UTF-8 JSON. Fix the line and rerun");
  }, 120_000);
});
