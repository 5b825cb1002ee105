/**
 * Crash tests' harness: a local Worker whose workerd process is SIGKILLed at a named publish step
 * (src/publisher/crash-point.ts) and started again on the same persisted R2 and Durable Object state.
 * It records every metadata file it ever sees in R2, so a test can show that no name (and no
 * timestamp version) ever had two bodies, and checks the result with unmodified tuf-js and python-tuf.
 */
import { gunzipSync } from "node:zlib";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Updater } from "tuf-js";
import { expect } from "vitest";
import { startLocalWorker, type LocalWorker } from "../../scripts/local/worker.js";
import type { CrashStep } from "../../src/publisher/crash-point.js";
import { ADMIN_TOKEN, makeCeremony, ONLINE_SEED_HEX, WEBHOOK_SECRET, webhookSignature, type Ceremony } from "../fixtures/ceremony.js";

/** R2 keys are scoped by repository; the tests run the default one and name keys without the prefix. */
const REPOSITORY_PREFIX = "default/";

const PYTHON_TUF = resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared/vendor/python");
/** Longer than ?wait=true's 10 s bound. */
const REQUEST_TIMEOUT_MS = 30_000;
const REFRESH_PY = resolve(dirname(fileURLToPath(import.meta.url)), "python/refresh.py");

export interface Artifact {
  path: string;
  length: number;
  hashes: { sha256: string };
}

export class CrashRepo {
  worker!: LocalWorker;
  /** Every add the Worker acknowledged (2xx), by path; a later remove deletes the entry. */
  readonly acked = new Map<string, Artifact>();
  readonly removed = new Set<string>();
  /** The receipt of every acknowledged webhook: each must end up `published`. */
  readonly receipts: string[] = [];
  /** Every metadata body ever seen in R2, by key (timestamp.json by version): a second body for one is a failure. */
  private readonly seen = new Map<string, string>();
  private crashed?: () => void;
  private clients = 0;

  private constructor(
    readonly dir: string,
    readonly ceremony: Ceremony,
    /** Vars the next boot() starts workerd with, as an operator's wrangler.toml [vars] would set them. */
    public vars: Record<string, string>,
  ) {}

  static async start({ bitLength = 6, vars = {} as Record<string, string> } = {}): Promise<CrashRepo> {
    const repo = new CrashRepo(mkdtempSync(join(tmpdir(), "tuf-edge-crash-")), await makeCeremony({ bitLength }), vars);
    await repo.boot();
    return repo;
  }

  /** Starts workerd on the persisted state; with `crashAt`, the Publisher stops at that step. */
  async boot(crashAt?: CrashStep | `${CrashStep},no-alarm`): Promise<void> {
    this.worker = await startLocalWorker({
      dir: join(this.dir, "state"),
      bindings: { ONLINE_KEY: ONLINE_SEED_HEX, WEBHOOK_SECRET, ADMIN_TOKEN, ...this.vars, ...(crashAt ? { CRASH_AT: crashAt } : {}) },
      onLog: (line) => {
        if (line.includes('"event":"crash_point"')) this.crashed?.();
      },
    });
  }

  /** Resolves once the Publisher has stopped at its crash point. */
  crashPointReached(timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the crash point was never reached")), timeoutMs);
      this.crashed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Records what R2 holds at the crash, SIGKILLs workerd, and starts it again without the crash point. */
  async crashAndRestart(restartWith?: CrashStep): Promise<void> {
    await this.recordR2();
    await this.worker.kill();
    await this.boot(restartWith);
  }

  post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    // Bounded, so a request caught by a kill can never hang a test.
    return fetch(`${this.worker.url}${path}`, {
      method: "POST",
      headers,
      body: typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  }

  bootstrap(): Promise<Response> {
    const c = this.ceremony;
    return this.post("/api/v1/bootstrap", { root: c.root, targets: c.targets, bins: c.bins }, { authorization: `Bearer ${ADMIN_TOKEN}` });
  }

  /** Sends one webhook; records its changes as acknowledged once the answer is a 2xx. */
  async publish(change: { add?: Artifact[]; remove?: string[] }, query = ""): Promise<Response> {
    const text = JSON.stringify(change);
    const res = await this.post(`/api/v1/artifacts${query}`, text, await webhookSignature(text));
    if (res.ok) {
      this.receipts.push(((await res.clone().json()) as { receipt: string }).receipt);
      for (const a of change.add ?? []) {
        this.acked.set(a.path, a);
        this.removed.delete(a.path);
      }
      for (const p of change.remove ?? []) {
        this.acked.delete(p);
        this.removed.add(p);
      }
    }
    return res;
  }

  async status(): Promise<{ publishing: boolean; queue_depth: number; roles: { timestamp: { version: number } } }> {
    const res = await fetch(`${this.worker.url}/api/v1/status`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    expect(res.status).toBe(200);
    return res.json() as never;
  }

  /** Waits, sending nothing that publishes, until no publish is reserved or queued (the alarm's work). */
  async settled(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      if (!s.publishing && s.queue_depth === 0) return;
      if (Date.now() > until) throw new Error(`still publishing after ${timeoutMs} ms: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Reads every metadata file in R2 and fails if any name (or timestamp version) now has a body other than before. */
  async recordR2(): Promise<void> {
    for (const [key, body] of await this.readMetadata()) {
      const name = key === "metadata/timestamp.json" ? `timestamp.json@${JSON.parse(body).signed.version}` : key;
      const prior = this.seen.get(name);
      if (prior !== undefined) expect(body, `${name} was rewritten with other bytes`).toBe(prior);
      this.seen.set(name, body);
    }
  }

  /** The same keys as recordR2, for tests of what a sweep deleted. */
  async keys(): Promise<string[]> {
    return [...(await this.readMetadata()).keys()];
  }

  /**
   * Every metadata object's decoded body, by key without the repository prefix. Read through Miniflare's
   * R2 proxy, whose synchronous property reads (`object.key`) have failed once in a loaded run with an
   * internal assertion (miniflare's SynchronousFetcher); a read that throws is done again, from a new
   * bucket handle. The comparisons in recordR2 run after, so a retry never hides a changed body.
   */
  private async readMetadata(attempts = 3): Promise<Map<string, string>> {
    try {
      const bucket = await this.worker.mf.getR2Bucket("BUCKET");
      const bodies = new Map<string, string>();
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix: `${REPOSITORY_PREFIX}metadata/`, cursor });
        for (const object of page.objects) {
          const stored = (await bucket.get(object.key))!;
          // Metadata may be gzip-compressed at rest (src/publisher/at-rest.ts): compare what it decodes to.
          const raw = Buffer.from(await stored.arrayBuffer());
          bodies.set(object.key.slice(REPOSITORY_PREFIX.length), (stored.httpMetadata?.contentEncoding === "gzip" ? gunzipSync(raw) : raw).toString("utf8"));
        }
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return bodies;
    } catch (e) {
      if (attempts <= 1) throw e;
      return this.readMetadata(attempts - 1);
    }
  }

  /**
   * The checks after every recovery: R2 bodies never changed under one name, and a fresh unmodified
   * tuf-js and python-tuf both verify the repository and find every acknowledged change in its bin, by content.
   * With `content: false` they only verify (the state at a crash, before the acknowledged change is published).
   */
  async check({ content = true } = {}): Promise<void> {
    await this.recordR2();
    if (content)
      for (const id of this.receipts) {
        const res = await fetch(`${this.worker.url}/api/v1/receipts/${id}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        expect(((await res.json()) as { status: string }).status, `receipt ${id} is published`).toBe("published");
      }
    const acked = content ? this.acked : new Map<string, Artifact>();
    const removed = content ? this.removed : new Set<string>();
    const paths = [...acked.keys(), ...removed];

    const clientDir = join(this.dir, `client-${this.clients++}`);
    mkdirSync(join(clientDir, "metadata"), { recursive: true });
    mkdirSync(join(clientDir, "targets"), { recursive: true });
    writeFileSync(join(clientDir, "metadata", "root.json"), JSON.stringify(this.ceremony.root));
    const updater = new Updater({
      metadataDir: join(clientDir, "metadata"),
      targetDir: join(clientDir, "targets"),
      metadataBaseUrl: `${this.worker.url}/metadata/`,
      targetBaseUrl: `${this.worker.url}/targets/`,
    });
    await updater.refresh();
    for (const [path, a] of acked) {
      const info = await updater.getTargetInfo(path);
      expect(info, `tuf-js finds ${path}`).toBeDefined();
      expect({ length: info!.length, hashes: info!.hashes }).toEqual({ length: a.length, hashes: a.hashes });
    }
    for (const path of removed) expect(await updater.getTargetInfo(path), `tuf-js no longer finds ${path}`).toBeUndefined();

    const pyDir = join(this.dir, `python-${this.clients++}`);
    mkdirSync(pyDir, { recursive: true });
    writeFileSync(join(pyDir, "root.json"), JSON.stringify(this.ceremony.root));
    const py = await promisify(execFile)("python3", [REFRESH_PY, `${this.worker.url}/metadata/`, pyDir, ...paths], {
      env: { ...process.env, PYTHONPATH: PYTHON_TUF },
      timeout: 60_000,
      killSignal: "SIGKILL",
    });
    const found = JSON.parse(py.stdout).targets as Record<string, { length: number; hashes: object } | null>;
    for (const [path, a] of acked) expect(found[path], `python-tuf finds ${path}`).toEqual({ length: a.length, hashes: a.hashes });
    for (const path of removed) expect(found[path], `python-tuf no longer finds ${path}`).toBeNull();
  }

  async close(): Promise<void> {
    await this.worker.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let counter = 0;
/** A distinct artifact per call; its bytes need not exist, only its listed length and hash. */
export function artifact(name = `pkg-${counter}`): Artifact {
  const n = counter++;
  return {
    path: `packages/${name}/${name}-${n}.tar.gz`,
    length: 1000 + n,
    hashes: { sha256: (n.toString(16).padStart(8, "0") + "ab").repeat(7).slice(0, 64).padEnd(64, "c") },
  };
}
