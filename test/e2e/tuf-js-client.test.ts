import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRepo, type Repo } from "./harness.js";

const ADMIN = { authorization: "Bearer test-admin-token" };

describe("an unmodified tuf-js Updater against a local tuf-edge Worker (bit_length 10)", () => {
  let repo: Repo;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 10 });
  });
  afterAll(() => repo?.close());

  it("refreshes, finds a hosted target, downloads and verifies it", async () => {
    const put = await fetch(`${repo.worker.url}/api/v1/targets/files/hello.txt?wait=true`, {
      method: "PUT",
      headers: ADMIN,
      body: "hello, tuf\n",
    });
    expect(put.status, await put.clone().text()).toBe(200);

    const client = repo.client();
    const updater = client.updater();
    await updater.refresh();
    const info = await updater.getTargetInfo("files/hello.txt");
    expect(info?.length).toBe(11);
    const out = join(client.dir, "targets", "hello.txt");
    await updater.downloadTarget(info!, out);
    expect(readFileSync(out, "utf8")).toBe("hello, tuf\n");
  });

  it("sees an artifact added by webhook on its next refresh, and loses it after a remove", async () => {
    const client = repo.client();
    await client.updater().refresh();
    const path = "packages/source/r/requests/requests-2.31.0.tar.gz";
    const add = await repo.publish({ add: [{ path, length: 110794, hashes: { sha256: "b".repeat(64), sha512: "c".repeat(128) } }] });
    expect(add.status).toBe(200);

    const warm = client.updater();
    await warm.refresh();
    expect((await warm.getTargetInfo(path))?.length).toBe(110794);

    const remove = await repo.publish({ remove: [path] });
    expect(remove.status).toBe(200);
    const after = client.updater();
    await after.refresh();
    expect(await after.getTargetInfo(path)).toBeUndefined();
  });
});
