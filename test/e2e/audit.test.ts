/**
 * `tuf-edge audit` against a real local Worker (docs/signing-log.md): it passes
 * after uploads, an online-key rotation, renewals and a retention sweep; it
 * names the entry when the log is rewritten in the Durable Object's SQLite
 * (by a Python reimplementation of the entry hash, from the docs), when a
 * logged file is served with other bytes, and when a monitor's --state shows
 * the log no longer extends what it saw.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import { Delegations, Ed25519Signer, Metadata, Role, Root, SuccinctRoles, Targets, toHex } from "../../src/tuf/index.js";
import type { LogEntry } from "../../src/publisher/log-entry.js";
import { DEFAULT_POLICY } from "../../src/publisher/policy.js";
import { r2Keys } from "../../src/publisher/r2-keys.js";
import { startLocalWorker, type LocalWorker } from "../../scripts/local/worker.js";
import { ADMIN_TOKEN, ONLINE_SEED_HEX, WEBHOOK_SECRET } from "../fixtures/ceremony.js";
import { run } from "../cli/helpers.js";
import { startRepo, type Repo } from "./harness.js";
import { untilServed } from "./rotation.js";

const HOUR = 3_600_000;
const YEAR = 365 * 86_400_000;
const NEXT_SEED_HEX = "09".repeat(32);
const HERE = dirname(fileURLToPath(import.meta.url));
const VENDOR = resolve(HERE, "../../../shared/vendor/python");

interface Report {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string };
  problems: Array<{ seq?: number; check: string; message: string }>;
}

describe("tuf-edge audit", () => {
  let repo: Repo;
  let worker: LocalWorker;
  let rootFile: string;
  let stateFile: string;
  let rotationSeq: number;
  let rootSeq: number;

  const auditJSON = async (...extra: string[]): Promise<{ code: number; report: Report }> => {
    const result = await run("audit", "--url", worker.url, "--root", rootFile, "--json", ...extra);
    expect(result.stderr).toBe("");
    return { code: result.code, report: JSON.parse(result.stdout) as Report };
  };
  const entries = async (): Promise<LogEntry[]> => ((await (await fetch(`${worker.url}/api/v1/log?after=0`)).json()) as { entries: LogEntry[] }).entries;
  const publisher = async () => {
    const ns = await worker.mf.getDurableObjectNamespace("PUBLISHER");
    return ns.get(ns.idFromName("default")) as unknown as Pick<Publisher, "renew">;
  };
  const add = (name: string) => ({ add: [{ path: `packages/${name}`, length: name.length, hashes: { sha256: toHex(new TextEncoder().encode(name.padEnd(32, "x")).slice(0, 32)) } }] });

  beforeAll(async () => {
    // The Worker writes a rotated root TIMESTAMP_MAX_AGE (+1 s) after the publish that dual-signs for it.
    repo = await startRepo({ bitLength: 4, vars: { TIMESTAMP_MAX_AGE: "1" } });
    worker = repo.worker;
    rootFile = join(repo.dir, "1.root.json");
    stateFile = join(repo.dir, "audit-state.json");
    writeFileSync(rootFile, JSON.stringify(repo.ceremony.root));
  });
  afterAll(async () => {
    await worker?.stop();
    if (repo) execFileSync("rm", ["-rf", repo.dir]);
  });

  it("passes after uploads, an online-key rotation, renewals and a retention sweep", async () => {
    for (const name of ["a-1.tar.gz", "b-1.tar.gz", "c-1.tar.gz"]) expect((await repo.publish(add(name))).status).toBe(200);

    // Online-key rotation (docs/operations.md): ONLINE_KEY_NEXT, then root v2 + bins v2 naming the new key.
    await worker.setBindings({ ONLINE_KEY_NEXT: NEXT_SEED_HEX });
    const next = await Ed25519Signer.fromSeed(Uint8Array.from(Buffer.from(NEXT_SEED_HEX, "hex")));
    const root1 = Metadata.fromJSON("root", repo.ceremony.root).signed;
    const keys = { ...root1.keys };
    delete keys[repo.ceremony.signers.online.key.keyid];
    keys[next.key.keyid] = next.key;
    let root2 = new Metadata(new Root({ version: 2, expires: new Date(Date.now() + YEAR) }, keys,
      { ...root1.roles, snapshot: new Role([next.key.keyid], 1), timestamp: new Role([next.key.keyid], 1) }, true));
    for (const s of repo.ceremony.signers.root.slice(0, 2)) root2 = await root2.sign(s);
    const succinct = Metadata.fromJSON("targets", repo.ceremony.bins).signed.delegations!.succinctRoles!;
    let bins2 = new Metadata(new Targets({ version: 2, expires: new Date(Date.now() + YEAR) }, {},
      new Delegations({ [next.key.keyid]: next.key }, undefined, new SuccinctRoles([next.key.keyid], 1, succinct.bitLength, succinct.namePrefix))));
    for (const s of repo.ceremony.signers.targets) bins2 = await bins2.sign(s);
    const rotated = await repo.post("/api/v1/metadata", { root: root2.toJSON(), bins: bins2.toJSON() }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(rotated.status, await rotated.clone().text()).toBe(200);
    await untilServed(repo, 2);

    expect((await repo.publish(add("d-1.tar.gz"))).status).toBe(200);
    // Renewals on the simulated clock, the second one past the retention window of what the first superseded.
    const stub = await publisher();
    expect((await stub.renew(Date.now() + 7 * HOUR)).status).toBe("published");
    await stub.renew(Date.now() + 7 * HOUR + DEFAULT_POLICY.retentionMs + 10 * 60_000);
    expect((await fetch(`${worker.url}/metadata/1.snapshot.json`)).status).toBe(404); // swept

    const log = await entries();
    // Root v2 goes out in a publish of its own, after the one that dual-signs for it.
    expect(log.map((e) => e.cause.kind)).toEqual(["bootstrap", "artifacts", "artifacts", "artifacts", "online_key_rotation", "offline_roles", "artifacts", "renewal", "renewal"]);
    rotationSeq = log.find((e) => e.cause.kind === "online_key_rotation")!.seq;
    rootSeq = log.find((e) => e.cause.kind === "offline_roles")!.seq;
    expect(log[rootSeq - 1]!.files.map((f) => f.role)).toEqual(["root", "snapshot", "timestamp"]);

    const { code, report } = await auditJSON("--state", stateFile);
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    expect(report.entries).toBe(log.length);
    expect(report.head).toEqual({ seq: log.at(-1)!.seq, hash: log.at(-1)!.hash });
    const text = await run("audit", "--url", worker.url, "--root", rootFile, "--state", stateFile);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/signing log ok: 9 entries, head 9 /);
  });

  it("names the entry whose served bytes differ from the logged ones", async () => {
    const bucket = await worker.mf.getR2Bucket("BUCKET");
    // The R2 key is scoped by repository and its body may be gzip at rest: restore it exactly as found.
    const key = r2Keys({}).versioned("bins", 2);
    const object = (await bucket.get(key))!;
    const original = { body: await object.arrayBuffer(), httpMetadata: object.httpMetadata, customMetadata: object.customMetadata };
    await bucket.put(key, new TextEncoder().encode('{"signatures":[],"signed":{}}'), { httpMetadata: { contentType: "application/json" } });
    try {
      const { code, report } = await auditJSON();
      expect(code).toBe(1);
      expect(report.problems).toEqual([
        expect.objectContaining({ seq: rotationSeq, check: "served", message: expect.stringContaining("metadata/2.bins.json is served with") }),
      ]);
    } finally {
      await bucket.put(key, original.body, { httpMetadata: original.httpMetadata, customMetadata: original.customMetadata });
    }
  });

  it("names the edited entry when the log is rewritten in storage, and --state reports where it diverges", async () => {
    const before = await entries();
    await worker.stop();
    const sqlite = findSqlite(join(repo.dir, "state"));
    const forged = "f".repeat(64);
    const newHead = execFileSync("python3", [join(HERE, "fixtures", "rewrite_log.py"), sqlite, String(rootSeq), "root", forged], {
      env: { ...process.env, PYTHONPATH: VENDOR },
    }).toString().trim();
    worker = await startLocalWorker({
      dir: join(repo.dir, "state"),
      bindings: { ONLINE_KEY: ONLINE_SEED_HEX, ONLINE_KEY_NEXT: NEXT_SEED_HEX, WEBHOOK_SECRET, ADMIN_TOKEN },
    });

    const after = await entries();
    expect(after.at(-1)!.hash).toBe(newHead);
    expect(after.slice(0, rootSeq - 1)).toEqual(before.slice(0, rootSeq - 1));

    // Without a state, the chain verifies again; the forged root hash is what gives it away.
    const plain = await auditJSON();
    expect(plain.code).toBe(1);
    expect(plain.report.problems.map((p) => [p.seq, p.check])).toEqual([[rootSeq, "served"]]);
    expect(plain.report.problems[0]!.message).toContain("metadata/2.root.json");

    // With the state from before, the monitor names the first entry that is not what it saw.
    const stateBefore = readFileSync(stateFile, "utf8");
    const watched = await auditJSON("--state", stateFile);
    expect(watched.code).toBe(1);
    expect(watched.report.problems.find((p) => p.check === "fork")).toEqual({
      seq: rootSeq,
      check: "fork",
      message: expect.stringContaining(`diverges from the one seen before at entry ${rootSeq}`),
    });
    expect(readFileSync(stateFile, "utf8")).toBe(stateBefore); // a failed run keeps the state
    const text = await run("audit", "--url", worker.url, "--root", rootFile, "--state", stateFile);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`entry ${rootSeq}: fork:`);
  });
});

/** The Publisher's SQLite file under a local Worker's persisted state. */
function findSqlite(dir: string): string {
  const found = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".sqlite") && f.includes("Publisher") && !f.endsWith("metadata.sqlite"));
  if (found.length !== 1) throw new Error(`expected one Publisher SQLite file under ${dir}, found ${JSON.stringify(found)}`);
  return join(dir, found[0]!);
}
