/**
 * Rotations no client trips over, even through a CDN (issue 13, item 3).
 *
 * A caching proxy (caching-proxy.ts) sits between the clients and a local
 * Worker and keeps timestamp.json for TIMESTAMP_MAX_AGE, as a CDN edge does.
 * An unmodified tuf-js Updater and an unmodified python-tuf ngclient refresh
 * through it in a loop, each from its own warm metadata directory, for the
 * whole of two rotations (docs/operations.md sections 7 and 8):
 *  1. online key: ONLINE_KEY_NEXT; upload root v2 + bins v2 naming the new
 *     key; the Worker dual-signs at once and writes 2.root.json only
 *     TIMESTAMP_MAX_AGE (+1 s) later, so a client that walks to root v2 never
 *     gets a cached timestamp.json signed by the old key alone; then
 *     ONLINE_KEY becomes the new key and ONLINE_KEY_NEXT goes;
 *  2. targets keys: root v3 with new targets keys, uploaded with a targets v2
 *     signed by the old AND the new targets keys (one signed by the new keys
 *     alone is refused); 3.root.json again waits out the cached timestamps.
 * Every refresh must succeed. On the order main used (root written in the
 * same publish), clients on the new root get the proxy's cached old timestamp
 * and fail. Secret changes restart the local workerd (a deploy on Cloudflare
 * has no downtime), so the loops pause across each restart.
 * Cost: about 25 s on 2 cores (8 bins, TIMESTAMP_MAX_AGE 2 s).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { Updater } from "tuf-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ed25519Signer, Metadata, Role, Root, Targets, toHex } from "../../src/tuf/index.js";
import { ADMIN_TOKEN } from "../fixtures/ceremony.js";
import { startCachingProxy, type CachingProxy } from "./caching-proxy.js";
import { startRepo, type Repo } from "./harness.js";
import { RefreshLoop, uploadRotation } from "./rotation.js";

const BIT_LENGTH = 3;
const TIMESTAMP_MAX_AGE_S = 2;
const PYTHON_TUF = resolve(import.meta.dirname, "../../../shared/vendor/python");
const REFRESH_LOOP_PY = join(import.meta.dirname, "python", "refresh_loop.py");
const YEAR = 365 * 86_400_000;

/** python-tuf's ngclient in one long-lived process (python/refresh_loop.py), one refresh per request. */
function pythonClient(metadataUrl: string, dir: string, root: unknown) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "root.json"), JSON.stringify(root));
  const child: ChildProcessWithoutNullStreams = spawn("python3", [REFRESH_LOOP_PY, metadataUrl, dir], { env: { ...process.env, PYTHONPATH: PYTHON_TUF } });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async refresh(path: string): Promise<{ found: boolean; root: number }> {
      child.stdin.write(`${JSON.stringify(path)}\n`);
      const next = await lines.next();
      if (next.done) throw new Error(`python-tuf exited: ${stderr}`);
      const answer = JSON.parse(next.value) as { ok: boolean; found?: boolean; root?: number; error?: string };
      if (!answer.ok) throw new Error(answer.error);
      return { found: answer.found!, root: answer.root! };
    },
    stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.stdin.end()))),
  };
}

function tufJsClient(baseUrl: string, dir: string, root: unknown) {
  for (const sub of ["metadata", "targets"]) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, "metadata", "root.json"), JSON.stringify(root));
  return async (path: string): Promise<{ found: boolean; root: number }> => {
    const updater = new Updater({ metadataDir: join(dir, "metadata"), targetDir: join(dir, "targets"), metadataBaseUrl: `${baseUrl}/metadata/`, targetBaseUrl: `${baseUrl}/targets/` });
    await updater.refresh();
    const found = (await updater.getTargetInfo(path)) !== undefined;
    return { found, root: (JSON.parse(readFileSync(join(dir, "metadata", "root.json"), "utf8")) as { signed: { version: number } }).signed.version };
  };
}

const sigKeyids = (md: { signatures: { keyid: string }[] }) => md.signatures.map((s) => s.keyid).sort();

describe("rotations with tuf-js and python-tuf refreshing through a CDN that keeps timestamp.json for TIMESTAMP_MAX_AGE", () => {
  let repo: Repo;
  let proxy: CachingProxy;
  let loops: RefreshLoop[] = [];
  let python: ReturnType<typeof pythonClient>;
  let root2: Metadata<Root>;
  const published: string[] = [];
  /** When each path's publish returned: through the proxy it may stay unseen for TIMESTAMP_MAX_AGE. */
  const publishedAt = new Map<string, number>();
  const newTargets: Ed25519Signer[] = [];

  const failures = () => loops.flatMap((l) => l.failures);
  const servedRoot = async () => ((await (await fetch(`${repo.worker.url}/api/v1/status`)).json()) as { roles: { root: { version: number } } }).roles.root.version;
  const uploadOffline = (body: Record<string, unknown>) => repo.post("/api/v1/metadata", body, { authorization: `Bearer ${ADMIN_TOKEN}` });

  async function publishArtifact(name: string): Promise<void> {
    const path = `packages/${name}/${name}-1.0.tar.gz`;
    const res = await repo.publish({ add: [{ path, length: name.length, hashes: { sha256: toHex(new Uint8Array(32).fill(name.length)) } }] });
    expect(res.status, await res.clone().text()).toBe(200);
    published.push(path);
    publishedAt.set(path, Date.now());
  }

  /** Changes secrets with the loops held, as a deploy would between two requests. */
  async function setSecrets(bindings: Record<string, string>): Promise<void> {
    await Promise.all(loops.map((l) => l.pause()));
    try {
      await repo.worker.setBindings(bindings);
    } finally {
      for (const l of loops) l.unpause();
    }
  }

  /** Waits for the Worker to write the held root on its own, with the loops refreshing meanwhile. */
  async function untilServed(version: number): Promise<number> {
    const start = Date.now();
    while ((await servedRoot()) < version) {
      if (Date.now() - start > 20_000) throw new Error(`root v${version} was not served within 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - start;
  }

  beforeAll(async () => {
    repo = await startRepo({ bitLength: BIT_LENGTH, vars: { TIMESTAMP_MAX_AGE: String(TIMESTAMP_MAX_AGE_S) } });
    proxy = await startCachingProxy(repo.worker.url);
    for (const name of ["alpha", "beta"]) await publishArtifact(name);
    python = pythonClient(`${proxy.url}/metadata/`, join(repo.dir, "python-client"), repo.ceremony.root);
    let i = 0;
    // Only paths every cache has had time to see: a CDN may keep the timestamp before them for TIMESTAMP_MAX_AGE.
    const lookup = () => {
      const seen = published.filter((p) => publishedAt.get(p)! < Date.now() - (TIMESTAMP_MAX_AGE_S + 1) * 1000);
      return seen[i++ % seen.length] ?? published[0]!;
    };
    loops = [
      new RefreshLoop("tuf-js", tufJsClient(proxy.url, join(repo.dir, "tuf-js-client"), repo.ceremony.root), lookup),
      new RefreshLoop("python-tuf", (path) => python.refresh(path), lookup),
    ];
    await Promise.all(loops.map((l) => l.atLeast(2)));
    for (let k = 0; k < 3; k++) newTargets.push(await Ed25519Signer.fromSeed(new Uint8Array(32).fill(90 + k)));
  });
  afterAll(async () => {
    await Promise.all(loops.map((l) => l.stop()));
    await python?.stop();
    await proxy?.close();
    await repo?.close();
  });

  it("online-key rotation: root v2 is written only after every cacheable timestamp.json is dual-signed; no refresh fails", async () => {
    const next = await Ed25519Signer.fromSeed(new Uint8Array(32).fill(77));
    const nextSeedHex = "4d".repeat(32);
    await setSecrets({ ONLINE_KEY_NEXT: nextSeedHex });
    await publishArtifact("gamma");
    await Promise.all(loops.map((l) => l.atLeast(2)));

    const uploaded = await uploadRotation(repo, next);
    root2 = uploaded.root2;
    const body = await uploaded.res.text();
    expect(uploaded.res.status, body).toBe(200);
    const held = await untilServed(2);
    await publishArtifact("delta");
    await Promise.all(loops.map((l) => l.atLeast(3)));

    // Retire the old key once root v2 is served (operations.md section 7, step 4).
    await setSecrets({ ONLINE_KEY: nextSeedHex, ONLINE_KEY_NEXT: "" });
    await publishArtifact("epsilon");
    await Promise.all(loops.map((l) => l.atLeast(3)));

    expect(failures()).toEqual([]);
    for (const l of loops) expect(l.roots, l.name).toContain(2);
    expect(JSON.parse(body)).toMatchObject({ status: "published", roles: { root: 2, bins: 2 }, root_pending: { version: 2 } });
    expect(held).toBeGreaterThanOrEqual(TIMESTAMP_MAX_AGE_S * 1000 - 500);
    const timestamp = (await (await fetch(`${repo.worker.url}/metadata/timestamp.json`)).json()) as { signatures: { keyid: string }[] };
    expect(sigKeyids(timestamp)).toEqual([next.key.keyid]);
    expect(proxy.hits.get("/metadata/timestamp.json")).toBeGreaterThan(0);
  });

  it("refuses a targets for new targets keys that clients on the served root cannot verify, and changes nothing", async () => {
    const root3 = rootWithNewTargetsKeys();
    const targets2 = await signedTargets(newTargets.slice(0, 2));
    const res = await uploadOffline({ root: (await signedRoot3(root3)).toJSON(), targets: targets2.toJSON() });
    const text = await res.text();
    expect(res.status, text).toBe(422);
    expect(JSON.parse(text).error.message).toContain("targets v2 must also be signed by 2 of root v2's targets keys");
    expect(await servedRoot()).toBe(2);
    expect((await fetch(`${repo.worker.url}/metadata/2.targets.json`)).status).toBe(404);
  });

  it("targets-key rotation: targets v2 signed by the old and the new keys, root v3 written after the cached timestamps; no refresh fails", async () => {
    const root3 = await signedRoot3(rootWithNewTargetsKeys());
    const targets2 = await signedTargets([...repo.ceremony.signers.targets, ...newTargets.slice(0, 2)]);
    const res = await uploadOffline({ root: root3.toJSON(), targets: targets2.toJSON() });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    await untilServed(3);
    await publishArtifact("zeta");
    await Promise.all(loops.map((l) => l.atLeast(3)));

    expect(failures()).toEqual([]);
    for (const l of loops) expect(l.roots, l.name).toContain(3);
    expect(JSON.parse(body)).toMatchObject({ roles: { root: 3, targets: 2 }, root_pending: { version: 3 } });
  });

  it("a fresh client trusting root v1 finds every target through the proxy", async () => {
    await Promise.all(loops.map((l) => l.stop()));
    expect(failures()).toEqual([]);
    for (const l of loops) expect(l.refreshes, l.name).toBeGreaterThan(10);
    // The proxy may keep the timestamp from before the last publish this long.
    await new Promise((r) => setTimeout(r, publishedAt.get(published.at(-1)!)! + (TIMESTAMP_MAX_AGE_S + 1) * 1000 - Date.now()));
    const fresh = tufJsClient(proxy.url, join(repo.dir, "fresh-client"), repo.ceremony.root);
    for (const path of published) expect(await fresh(path), path).toEqual({ found: true, root: 3 });
  });

  /** Root v3: root v2 with the targets role moved to two new keys. */
  function rootWithNewTargetsKeys(): Root {
    const r2 = root2.signed;
    const keys = { ...r2.keys };
    for (const s of repo.ceremony.signers.targets) delete keys[s.key.keyid];
    for (const s of newTargets.slice(0, 2)) keys[s.key.keyid] = s.key;
    return new Root({ version: 3, expires: new Date(Date.now() + YEAR) }, keys, { ...r2.roles, targets: new Role(newTargets.slice(0, 2).map((s) => s.key.keyid), 2) }, true);
  }

  async function signedRoot3(root: Root): Promise<Metadata<Root>> {
    let md = new Metadata(root);
    for (const s of repo.ceremony.signers.root.slice(0, 2)) md = await md.sign(s);
    return md;
  }

  async function signedTargets(signers: readonly Ed25519Signer[]): Promise<Metadata<Targets>> {
    const t1 = Metadata.fromJSON("targets", repo.ceremony.targets).signed;
    let md = new Metadata(new Targets({ version: 2, expires: new Date(Date.now() + YEAR) }, t1.targets, t1.delegations));
    for (const s of signers) md = await md.sign(s);
    return md;
  }
});
