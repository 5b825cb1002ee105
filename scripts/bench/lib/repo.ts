/**
 * A tuf-edge repository on local workerd for one benchmark: the real Worker
 * (scripts/local/worker.ts), its R2 and Durable Object state persisted under a
 * temporary directory, plus helpers for the webhook, the admin API and the
 * Publisher's RPC methods.
 *
 * Bootstrapping 16,384 bins takes ~20 s, so each bit length is bootstrapped
 * once per run into a template; later benchmarks start from a copy of it.
 */
import { randomUUID } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalWorker, type LocalWorker } from "../../local/worker.js";
import { ADMIN_TOKEN, makeCeremony, ONLINE_SEED_HEX, UPLOAD_TOKEN, WEBHOOK_SECRET, type Ceremony } from "../../../test/fixtures/ceremony.js";
import { signWebhook } from "../../../src/http/auth.js";
import { HttpClient, type HttpResult } from "./http.js";
import { findWorkerd } from "./proc.js";

export { ADMIN_TOKEN, WEBHOOK_SECRET };

/** The Publisher's RPC surface the benchmarks call directly. */
export interface PublisherStub {
  renew(now?: number): Promise<{ status: string; timestamp?: number; snapshot?: number }>;
  status(now?: number): Promise<{ queue_depth: number; publishing: boolean; artifacts: number; bins: number; roles: Record<string, { version: number }> } | undefined>;
}

const scratch = mkdtempSync(join(tmpdir(), "tuf-edge-bench-"));
const templates = new Map<number, { dir: string; ceremony: Ceremony; bootstrapMs: number }>();
let repos = 0;

export function cleanupScratch(): void {
  rmSync(scratch, { recursive: true, force: true });
}

export class BenchRepo {
  readonly http: HttpClient;
  readonly workerdPid: number | undefined;
  private constructor(
    readonly worker: LocalWorker,
    readonly dir: string,
    readonly ceremony: Ceremony,
    readonly bitLength: number,
  ) {
    this.http = new HttpClient(worker.url, 128);
    this.workerdPid = findWorkerd();
  }

  get url(): string {
    return this.worker.url;
  }

  /** A new, empty repository directory with a running Worker (not bootstrapped). */
  static async empty(bitLength: number): Promise<BenchRepo> {
    const dir = join(scratch, `repo-${repos++}`);
    const worker = await startLocalWorker({ dir, bindings: { ONLINE_KEY: ONLINE_SEED_HEX, WEBHOOK_SECRET, ADMIN_TOKEN, UPLOAD_TOKEN } });
    return new BenchRepo(worker, dir, await makeCeremony({ bitLength }), bitLength);
  }

  /** A bootstrapped repository: a copy of this run's template for the bit length (bootstrapped on first use). */
  static async bootstrapped(bitLength: number): Promise<BenchRepo> {
    let template = templates.get(bitLength);
    if (!template) {
      const repo = await BenchRepo.empty(bitLength);
      const t0 = performance.now();
      await repo.bootstrap();
      const ms = performance.now() - t0;
      await repo.stop(false);
      BenchRepo.adoptTemplate(repo, ms);
      template = templates.get(bitLength)!;
    }
    const dir = join(scratch, `repo-${repos++}`);
    cpSync(template.dir, dir, { recursive: true });
    const worker = await startLocalWorker({ dir, bindings: { ONLINE_KEY: ONLINE_SEED_HEX, WEBHOOK_SECRET, ADMIN_TOKEN, UPLOAD_TOKEN } });
    return new BenchRepo(worker, dir, template.ceremony, bitLength);
  }

  /** Keeps a stopped, freshly bootstrapped repository as the template for its bit length. */
  static adoptTemplate(repo: BenchRepo, bootstrapMs: number): void {
    if (!templates.has(repo.bitLength)) templates.set(repo.bitLength, { dir: repo.dir, ceremony: repo.ceremony, bootstrapMs });
  }

  /** POST /api/v1/bootstrap on its own connection (the request runs for seconds). */
  async bootstrap(): Promise<HttpResult> {
    const once = new HttpClient(this.url, 1);
    try {
      const res = await once.request("POST", "/api/v1/bootstrap", { authorization: `Bearer ${ADMIN_TOKEN}`, connection: "close" },
        JSON.stringify({ root: this.ceremony.root, targets: this.ceremony.targets, bins: this.ceremony.bins }));
      if (res.status !== 201) throw new Error(`bootstrap failed: ${res.status} ${res.body.toString()}`);
      return res;
    } finally {
      once.close();
    }
  }

  /** POST /api/v1/artifacts, signed as Standard Webhooks; one webhook-id for every retry, so a retry after a dropped connection is safe. */
  async webhook(body: string, query = "", client = this.http): Promise<HttpResult> {
    const headers = await signWebhook(body, WEBHOOK_SECRET, { id: `msg_${randomUUID()}` });
    return client.retrying("POST", `/api/v1/artifacts${query}`, { "content-type": "application/json", ...headers }, body);
  }

  /** PUT /api/v1/targets/<path>: a target file the repository hosts. */
  async hostTarget(path: string, bytes: Uint8Array, wait = true): Promise<HttpResult> {
    const res = await this.http.retrying("PUT", `/api/v1/targets/${path}${wait ? "?wait=true" : ""}`, { authorization: `Bearer ${ADMIN_TOKEN}` }, bytes);
    if (res.status !== 200 && res.status !== 202) throw new Error(`PUT target failed: ${res.status} ${res.body.toString()}`);
    return res;
  }

  async json<T>(path: string): Promise<T> {
    const res = await this.http.retrying("GET", path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body.toString().slice(0, 200)}`);
    return JSON.parse(res.body.toString()) as T;
  }

  /** The Publisher Durable Object, called over RPC through Miniflare (as the cron does). */
  async stub(): Promise<PublisherStub> {
    const ns = await this.worker.mf.getDurableObjectNamespace("PUBLISHER");
    return ns.get(ns.idFromName("default")) as unknown as PublisherStub;
  }

  /** Stops workerd; deletes the state unless it is kept (as a template). */
  async stop(remove = true): Promise<void> {
    this.http.close();
    await this.worker.stop();
    if (remove && ![...templates.values()].some((t) => t.dir === this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
