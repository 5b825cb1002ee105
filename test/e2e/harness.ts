/** A running local Worker plus an unmodified tuf-js Updater, for end-to-end tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Updater } from "tuf-js";
import { startLocalWorker, type LocalWorker } from "../../scripts/local/worker.js";
import { ADMIN_TOKEN, makeCeremony, ONLINE_SEED_HEX, UPLOAD_TOKEN, WEBHOOK_SECRET, webhookSignature, type Ceremony } from "../fixtures/ceremony.js";

export interface Repo {
  worker: LocalWorker;
  ceremony: Ceremony;
  dir: string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  publish(body: unknown, query?: string): Promise<Response>;
  client(): Client;
  close(): Promise<void>;
}

export interface Client {
  updater(): Updater;
  dir: string;
}

/** `vars`: [vars] to set over wrangler.toml's, e.g. a short TIMESTAMP_MAX_AGE. */
export async function startRepo({ bitLength = 6, vars = {} as Record<string, string> } = {}): Promise<Repo> {
  const dir = mkdtempSync(join(tmpdir(), "tuf-edge-e2e-"));
  const worker = await startLocalWorker({
    dir: join(dir, "state"),
    bindings: { ONLINE_KEY: ONLINE_SEED_HEX, WEBHOOK_SECRET, ADMIN_TOKEN, UPLOAD_TOKEN, ...vars },
  });
  const ceremony = await makeCeremony({ bitLength });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${worker.url}${path}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  const boot = await post("/api/v1/bootstrap", { root: ceremony.root, targets: ceremony.targets, bins: ceremony.bins }, {
    authorization: `Bearer ${ADMIN_TOKEN}`,
  });
  if (boot.status !== 201) throw new Error(`bootstrap failed: ${boot.status} ${await boot.text()}`);
  let clients = 0;
  return {
    worker,
    ceremony,
    dir,
    post,
    async publish(body, query = "?wait=true") {
      // As an index should: one webhook-id per change, and retry when the connection drops.
      const text = JSON.stringify(body);
      const id = `msg_${crypto.randomUUID()}`;
      for (let attempt = 1; ; attempt++) {
        try {
          return await post(`/api/v1/artifacts${query}`, text, await webhookSignature(text, { id }));
        } catch (e) {
          if (attempt === 3) throw e;
        }
      }
    },
    client() {
      const clientDir = join(dir, `client-${clients++}`);
      mkdirSync(join(clientDir, "metadata"), { recursive: true });
      mkdirSync(join(clientDir, "targets"), { recursive: true });
      writeFileSync(join(clientDir, "metadata", "root.json"), JSON.stringify(ceremony.root));
      return {
        dir: clientDir,
        updater: () =>
          new Updater({
            metadataDir: join(clientDir, "metadata"),
            targetDir: join(clientDir, "targets"),
            metadataBaseUrl: `${worker.url}/metadata/`,
            targetBaseUrl: `${worker.url}/targets/`,
          }),
      };
    },
    async close() {
      await worker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
