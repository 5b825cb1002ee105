/** `tuf-edge publish` signs Standard Webhooks deliveries a real Worker accepts, and a removal after it. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../cli/helpers.js";
import { WEBHOOK_SECRET } from "../fixtures/ceremony.js";
import { startRepo, type Repo } from "./harness.js";

describe("tuf-edge publish against a local Worker", () => {
  let repo: Repo;
  const saved = process.env.TUF_EDGE_WEBHOOK_SECRET;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 3 });
    process.env.TUF_EDGE_WEBHOOK_SECRET = WEBHOOK_SECRET;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.TUF_EDGE_WEBHOOK_SECRET;
    else process.env.TUF_EDGE_WEBHOOK_SECRET = saved;
    await repo?.close();
  });

  it("publishes a file and removes it, and a tuf-js client sees both", async () => {
    const file = join(repo.dir, "demo-1.0.tar.gz");
    writeFileSync(file, "demo bytes");
    const added = await run("publish", "--url", repo.worker.url, "--path", "packages/demo/demo-1.0.tar.gz", "--file", file);
    expect(added.stderr).toBe("");
    expect(added.stdout).toMatch(/^published in timestamp 2 /);
    const client = repo.client();
    let updater = client.updater();
    await updater.refresh();
    expect((await updater.getTargetInfo("packages/demo/demo-1.0.tar.gz"))?.length).toBe(10);

    const removed = await run("publish", "--url", repo.worker.url, "--remove", "packages/demo/demo-1.0.tar.gz");
    expect(removed.code).toBe(0);
    updater = client.updater();
    await updater.refresh();
    expect(await updater.getTargetInfo("packages/demo/demo-1.0.tar.gz")).toBeUndefined();
  });

  it("fails with one line when the secret is not the Worker's", async () => {
    process.env.TUF_EDGE_WEBHOOK_SECRET = `whsec_${btoa("a different secret of 24")}`;
    const file = join(repo.dir, "other.tar.gz");
    writeFileSync(file, "other bytes");
    // Not --remove: the CLI checks a removal against what is published before it signs anything.
    const res = await run("publish", "--url", repo.worker.url, "--path", "packages/demo/other.tar.gz", "--file", file);
    process.env.TUF_EDGE_WEBHOOK_SECRET = WEBHOOK_SECRET;
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/401 signature_invalid/);
  });
});
