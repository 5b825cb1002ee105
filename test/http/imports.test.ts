/** POST /api/v1/imports/ID/...: bulk import staged chunk by chunk, then signed in one publish. */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { Metadata, SuccinctRoles } from "../../src/tuf/index.js";
import { adminHeaders, bootstrap, expectError, fetchWorker, getStatus, repoState } from "./helpers.js";

const stub = () => env.PUBLISHER.getByName(env.REPOSITORY);
const line = (path: string, c = "a", length = 10) => JSON.stringify({ path, length, hashes: { sha256: c.repeat(64) } });

const postLines = (id: string, firstLine: number, lines: string[], query = "") =>
  fetchWorker(`/api/v1/imports/${id}/lines?first_line=${firstLine}${query}`, { method: "POST", headers: adminHeaders, body: lines.join("\n") + "\n" });

async function view(id: string): Promise<{ next_line: number; state: string; added: number; unchanged: number; skipped: number; timestamp: number | null }> {
  const res = await fetchWorker(`/api/v1/imports/${id}`, { headers: adminHeaders });
  expect(res.status).toBe(200);
  return res.json();
}

/** Runs the alarm until the import's publish has committed. */
async function publish(id: string): Promise<number> {
  const res = await fetchWorker(`/api/v1/imports/${id}/publish`, { method: "POST", headers: adminHeaders });
  expect([200, 202], await res.clone().text()).toContain(res.status);
  for (let i = 0; i < 20 && (await view(id)).state !== "published"; i++) await runDurableObjectAlarm(stub());
  const v = await view(id);
  expect(v.state).toBe("published");
  return v.timestamp!;
}

async function listed(path: string): Promise<unknown> {
  const bins = Metadata.fromBytes("targets", new Uint8Array(await (await fetchWorker("/metadata/1.bins.json")).arrayBuffer()));
  const succinct = bins.signed.delegations!.succinctRoles as SuccinctRoles;
  const snapshot = JSON.parse(await (await fetchWorker(`/metadata/${(await getStatus()).roles.snapshot.version}.snapshot.json`)).text());
  const role = succinct.roleName(succinct.binIndexFor(path));
  const version = snapshot.signed.meta[`${role}.json`].version;
  const bin = JSON.parse(await (await fetchWorker(`/metadata/${version}.${role}.json`)).text());
  return bin.signed.targets[path];
}

describe("bulk import", () => {
  beforeAll(async () => {
    await bootstrap(4);
  });

  it("is admin-only", async () => {
    await expectError(await fetchWorker("/api/v1/imports/a", {}), 401, "unauthorized");
    await expectError(await fetchWorker("/api/v1/imports/a/lines", { method: "POST", body: line("x") }), 401, "unauthorized");
  });

  it("stages chunks without publishing, then signs them in one publish", async () => {
    const before = await repoState();
    let res = await postLines("first", 1, [line("p/1"), "", line("p/2")]);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { import: { next_line: number } }).import.next_line).toBe(4);
    res = await postLines("first", 4, [line("p/3"), line("p/4")]);
    expect(res.status).toBe(200);
    const after = await repoState();
    expect(after.timestamp).toBe(before.timestamp); // nothing published per chunk
    expect(await view("first")).toMatchObject({ next_line: 6, state: "staging", added: 4 });

    const timestamp = await publish("first");
    expect(timestamp).toBe(before.timestampVersion + 1);
    expect(await listed("p/3")).toEqual({ length: 10, hashes: { sha256: "a".repeat(64) } });
    expect((await getStatus()).artifacts).toBe(before.artifacts + 4);
  });

  it("refuses a chunk that does not start where the import stopped", async () => {
    const msg = await expectError(await postLines("first", 1, [line("p/1")]), 409, "import_out_of_order");
    expect(msg).toContain("send line 6 next");
  });

  it("is idempotent: the same lines again change nothing", async () => {
    const before = await repoState();
    const res = await postLines("again", 1, [line("p/1"), line("p/2")]);
    expect(res.status).toBe(200);
    expect(await view("again")).toMatchObject({ added: 0, unchanged: 2 });
    await publish("again");
    expect((await getStatus()).artifacts).toBe(before.artifacts);
  });

  it("stages a chunk that mixes new lines, a listed line and one line twice, each once", async () => {
    const before = await repoState();
    const res = await postLines("mixed", 1, [line("m/1"), line("p/1"), line("m/2"), line("m/1"), line("p/1", "b")], "&on_conflict=skip");
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { skipped: unknown }).skipped).toEqual([{ line: 5, path: "p/1" }]);
    expect(await view("mixed")).toMatchObject({ added: 2, unchanged: 2, skipped: 1 });
    await publish("mixed");
    expect((await getStatus()).artifacts).toBe(before.artifacts + 2);
    expect(await listed("m/1")).toEqual({ length: 10, hashes: { sha256: "a".repeat(64) } });
    expect(await listed("p/1")).toEqual({ length: 10, hashes: { sha256: "a".repeat(64) } });
  });

  it("reports a conflicting line with its number, staging nothing of the chunk, or skips it", async () => {
    const msg = await expectError(await postLines("conflict", 1, [line("q/1"), line("p/1", "b")]), 409, "import_conflict");
    expect(msg).toMatch(/^line 2: p\/1 /);
    expect(await view("conflict")).toMatchObject({ state: "new", next_line: 1 });

    const res = await postLines("conflict", 1, [line("q/1"), line("p/1", "b")], "&on_conflict=skip");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { skipped: unknown }).skipped).toEqual([{ line: 2, path: "p/1" }]);
    await publish("conflict");
    expect(await listed("p/1")).toEqual({ length: 10, hashes: { sha256: "a".repeat(64) } });
    expect(await listed("q/1")).toBeDefined();
  });

  it("reports a malformed or invalid line with its number and stages nothing", async () => {
    const before = await view("bad");
    let msg = await expectError(await postLines("bad", 1, [line("r/1"), "{not json"]), 400, "malformed_json");
    expect(msg).toBe("line 2: not valid UTF-8 JSON");
    msg = await expectError(await postLines("bad", 1, [line("r/1"), line("r/2"), JSON.stringify({ path: "../x", length: 1, hashes: {} })]), 422, "path_invalid");
    expect(msg).toMatch(/^line 3: /);
    expect(await view("bad")).toEqual(before);
  });
});
