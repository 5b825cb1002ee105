/**
 * `tuf-edge recover` end to end (issue 13, item 1): the Publisher's Durable
 * Object storage is lost while R2 keeps serving. Bootstrap then refuses the
 * bucket; recover rebuilds the Publisher from R2, continues above every
 * version, and `tuf-edge verify` and a tuf-js client that saw the old state pass.
 */
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Updater } from "tuf-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalWorker, type LocalWorker } from "../../scripts/local/worker.js";
import { run } from "../cli/helpers.js";
import { ADMIN_TOKEN, ONLINE_SEED_HEX, WEBHOOK_SECRET } from "../fixtures/ceremony.js";
import { startRepo, type Repo } from "./harness.js";

const sha = (n: number) => n.toString(16).padStart(64, "0");

describe("recovering a repository whose Publisher storage was lost", () => {
  let repo: Repo;
  let worker: LocalWorker | undefined;
  const savedToken = process.env.TUF_EDGE_ADMIN_TOKEN;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 4 });
    process.env.TUF_EDGE_ADMIN_TOKEN = ADMIN_TOKEN;
  });
  afterAll(async () => {
    if (savedToken === undefined) delete process.env.TUF_EDGE_ADMIN_TOKEN;
    else process.env.TUF_EDGE_ADMIN_TOKEN = savedToken;
    await worker?.stop();
    rmSync(repo.dir, { recursive: true, force: true });
  });

  it("refuses bootstrap, recovers, and verifies for tuf-edge verify and a returning tuf-js client", async () => {
    for (let i = 0; i < 3; i++)
      expect((await repo.publish({ add: [{ path: `pkg/a-${i}.whl`, length: i + 1, hashes: { sha256: sha(i + 1) } }] })).status).toBe(200);
    expect((await repo.publish({ remove: ["pkg/a-0.whl"] })).status).toBe(200);
    const client = repo.client();
    const trusted = (url: string) =>
      new Updater({ metadataDir: join(client.dir, "metadata"), targetDir: join(client.dir, "targets"), metadataBaseUrl: `${url}/metadata/`, targetBaseUrl: `${url}/targets/` });
    await trusted(repo.worker.url).refresh();
    const before = (await (await fetch(`${repo.worker.url}/api/v1/status`)).json()) as { roles: { timestamp: { version: number } } };

    // Lose the Durable Object's storage; R2 stays.
    await repo.worker.stop();
    const state = join(repo.dir, "state");
    const doDir = readdirSync(state).find((d) => d === "do");
    expect(doDir, `Durable Object storage under ${state}: ${readdirSync(state).join(", ")}`).toBeDefined();
    rmSync(join(state, doDir!), { recursive: true, force: true });
    worker = await startLocalWorker({ dir: state, bindings: { ONLINE_KEY: ONLINE_SEED_HEX, WEBHOOK_SECRET, ADMIN_TOKEN } });
    const url = worker.url;

    const boot = await fetch(`${url}/api/v1/bootstrap`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ root: repo.ceremony.root, targets: repo.ceremony.targets, bins: repo.ceremony.bins }),
    });
    expect(boot.status).toBe(409);
    expect(((await boot.json()) as { error: { code: string } }).error.code).toBe("repository_in_bucket");

    const recovered = await run("recover", "--url", url);
    expect(recovered.stderr).toBe("");
    expect(recovered.code).toBe(0);
    expect(recovered.stdout).toContain("reading its 16 bin-n");
    expect(recovered.stdout).toMatch(/2 artifacts/);
    expect(recovered.stdout).toContain(`timestamp ${before.roles.timestamp.version + 1}`);

    const rootFile = join(repo.dir, "1.root.json");
    writeFileSync(rootFile, JSON.stringify(repo.ceremony.root));
    const verified = await run("verify", "--url", url, "--root", rootFile);
    expect(verified.stderr).toBe("");
    expect(verified.code).toBe(0);

    // The client that saw the old versions accepts the new ones (no rollback), and finds the artifacts.
    const updater = trusted(url);
    await updater.refresh();
    expect((await updater.getTargetInfo("pkg/a-2.whl"))?.length).toBe(3);
    expect(await updater.getTargetInfo("pkg/a-0.whl")).toBeUndefined();

    // The Publisher holds the repository again: a second recovery is refused.
    const res = await fetch(`${url}/api/v1/recover`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(409);
  });
});
