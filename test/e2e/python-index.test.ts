/**
 * The Python index end to end, with real tools against a local Worker: Debian's twine uploads a
 * wheel and an sdist built here, the machine's pip installs from /simple/ into a fresh venv,
 * and python-tuf's and tuf-js's Updaters verify the signed pages and the files they link to.
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../scripts/cli/main.js";
import { ADMIN_TOKEN } from "../fixtures/ceremony.js";
import { buildSdist, buildWheel } from "../fixtures/distributions.js";
import { startRepo, type Repo } from "./harness.js";
import { pythonTufDownload, tamperingProxy, twineUpload, venv, writeDistributions } from "./python-tools.js";

const JSON_TYPE = "application/vnd.pypi.simple.v1+json";
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe("a Python index on tuf-edge, driven by twine, pip, python-tuf and tuf-js", () => {
  let repo: Repo;
  let url: string;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 8 });
    url = repo.worker.url;
  });
  afterAll(() => repo?.close());

  const wheel1 = buildWheel({ name: "Tuf_Edge.Demo", version: "1.0", requiresPython: ">=3.8" });
  const sdist1 = buildSdist({ name: "Tuf_Edge.Demo", version: "1.0", requiresPython: ">=3.8" });
  const wheel2 = buildWheel({ name: "Tuf_Edge.Demo", version: "2.0", requiresPython: ">=3.8" });

  it("twine uploads a wheel and an sdist; both pages list them with hashes, requires-python and core metadata", async () => {
    const up = await twineUpload(url, writeDistributions([wheel1, sdist1]));
    expect(up.code, up.output).toBe(0);
    const html = await fetch(`${url}/simple/tuf-edge-demo/`);
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html.headers.get("vary")).toBe("Accept");
    const text = await html.text();
    expect(text).toContain("tuf_edge_demo-1.0-py3-none-any.whl</a>");
    expect(text).toContain("tuf_edge_demo-1.0.tar.gz</a>");
    expect(text).toContain('data-requires-python="&gt;=3.8"');
    const json = await fetch(`${url}/simple/tuf-edge-demo/`, { headers: { accept: JSON_TYPE } });
    expect(json.headers.get("content-type")).toBe(JSON_TYPE);
    const page = (await json.json()) as { versions: string[]; files: any[] };
    expect(page.versions).toEqual(["1.0"]);
    const whl = page.files.find((f) => f.filename.endsWith(".whl"));
    expect(whl["core-metadata"].sha256).toMatch(/^[0-9a-f]{64}$/);
    const meta = await fetch(new URL(whl.url.split("#")[0] + ".metadata", `${url}/simple/tuf-edge-demo/`));
    expect(meta.status).toBe(200);
    expect(await meta.text()).toContain("Name: Tuf_Edge.Demo");
    const file = await fetch(new URL(whl.url, `${url}/simple/tuf-edge-demo/`));
    expect(Buffer.from(await file.arrayBuffer()).equals(wheel1.bytes)).toBe(true);
  });

  it("redirects non-normalized names and honours ?format=", async () => {
    const r = await fetch(`${url}/simple/Tuf_Edge.Demo/?x=1`, { redirect: "manual" });
    expect(r.status).toBe(301);
    expect(r.headers.get("location")).toBe("/simple/tuf-edge-demo/?x=1");
    const noSlash = await fetch(`${url}/simple/tuf-edge-demo`, { redirect: "manual" });
    expect(noSlash.headers.get("location")).toBe("/simple/tuf-edge-demo/");
    const f = await fetch(`${url}/simple/tuf-edge-demo/?format=${encodeURIComponent(JSON_TYPE)}`, { headers: { accept: "text/html" } });
    expect(f.headers.get("content-type")).toBe(JSON_TYPE);
    expect((await fetch(`${url}/simple/tuf-edge-demo/`, { headers: { accept: "application/json" } })).status).toBe(406);
    expect((await fetch(`${url}/simple/no-such-project/`)).status).toBe(404);
  });

  it("pip installs the package into a fresh venv from /simple/", async () => {
    const env = await venv();
    const install = await env.pip("install", "--index-url", `${url}/simple/`, "tuf-edge-demo");
    expect(install.code, install.output).toBe(0);
    const run = await env.python("-c", "import tuf_edge_demo; print(tuf_edge_demo.VERSION)");
    expect(run.output.trim()).toBe("1.0");
  });
  /** Every R2 key with its etag, and the timestamp version: what a refused upload must leave alone. */
  async function state(): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await snapshotState();
      } catch (e) {
        if (attempt === 3) throw e; // Miniflare's R2 proxy socket sometimes drops under load
      }
    }
  }

  async function snapshotState(): Promise<string> {
    const bucket = await repo.worker.mf.getR2Bucket("BUCKET");
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ cursor, limit: 1000 });
      keys.push(...page.objects.map((o) => `${o.key} ${o.etag}`));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    const ts = await (await fetch(`${url}/metadata/timestamp.json`)).json() as { signed: { version: number } };
    return `${ts.signed.version}\n${keys.sort().join("\n")}`;
  }

  async function expectRefused(files: string[], reason: string, options: Parameters<typeof twineUpload>[2] = {}, at = url) {
    const before = await state();
    const up = await twineUpload(at, files, options);
    expect(up.code, up.output).not.toBe(0);
    expect(up.output.replace(/\s+/g, " ")).toContain(reason);
    expect(await state()).toBe(before);
  }

  describe("every refusal names its reason in twine's output and changes nothing", () => {
    it("a wrong upload token", async () => {
      await expectRefused(writeDistributions([wheel2]), "invalid upload token", { password: "wrong" });
    });
    it("a wheel whose filename names another project", async () => {
      const w = buildWheel({ name: "other-project", version: "2.0" });
      await expectRefused(writeDistributions([{ filename: wheel2.filename, bytes: w.bytes }]), "does not match the project name other-project");
    });
    it("a wheel whose filename names another version", async () => {
      const w = buildWheel({ name: "Tuf_Edge.Demo", version: "2.1" });
      await expectRefused(writeDistributions([{ filename: wheel2.filename, bytes: w.bytes }]), "does not match the version 2.1");
    });
    it("an sdist whose name is not normalized (PEP 625)", async () => {
      const s = buildSdist({ name: "Tuf_Edge.Demo", version: "2.0" });
      await expectRefused(writeDistributions([{ filename: "Tuf_Edge.Demo-2.0.tar.gz", bytes: s.bytes }]), "its name part must be tuf_edge_demo (PEP 625)");
    });
    it("a file with different bytes under a name that exists", async () => {
      const w = buildWheel({ name: "Tuf_Edge.Demo", version: "1.0", requiresPython: ">=3.8", module: "CHANGED = True\n" });
      await expectRefused(writeDistributions([w]), "already exists with different contents");
    });
    it.each([
      ["sha256_digest", "0".repeat(64)],
      ["md5_digest", "0".repeat(32)],
      ["blake2_256_digest", "0".repeat(64)],
    ])("a %s that does not match the bytes", async (field, value) => {
      const proxy = await tamperingProxy(url, field, value);
      try {
        await expectRefused(writeDistributions([wheel2]), `the ${field} does not match the file's contents`, {}, proxy.url);
      } finally {
        await proxy.close();
      }
    });
    it("a file over the size limit, as a 413", async () => {
      const big = buildWheel({ name: "Tuf_Edge.Demo", version: "9.0", module: `PAD = "${"x".repeat(10)}"\n` });
      const padded = { filename: big.filename, bytes: Buffer.concat([Buffer.alloc(100_000_001), big.bytes]) };
      await expectRefused(writeDistributions([padded]), "413");
    });
    it("the same bytes again are a no-op success", async () => {
      const before = await state();
      const up = await twineUpload(url, writeDistributions([wheel1]));
      expect(up.code, up.output).toBe(0);
      expect(await state()).toBe(before);
    });
  });

  it("a yanked version is skipped by pip download unless pinned with ==, and both TUF clients verify the re-signed pages", async () => {
    const up = await twineUpload(url, writeDistributions([wheel2]));
    expect(up.code, up.output).toBe(0);
    await verifyWithBothClients("2.0");
    const yank = await fetch(`${url}/api/v1/python/projects/Tuf_Edge.Demo/releases/2.0/yank`, {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ reason: "broken build" }),
    });
    expect(yank.status, await yank.clone().text()).toBe(200);
    const html = await (await fetch(`${url}/simple/tuf-edge-demo/`)).text();
    expect(html).toMatch(/data-yanked="broken build"[^>]*>tuf_edge_demo-2\.0-py3-none-any\.whl/);

    const env = await venv();
    const latest = await env.pip("download", "--no-deps", "-d", join(env.dir, "dl"), "--index-url", `${url}/simple/`, "tuf-edge-demo");
    expect(latest.code, latest.output).toBe(0);
    expect(latest.output).toContain("tuf_edge_demo-1.0");
    const pinned = await env.pip("download", "--no-deps", "-d", join(env.dir, "dl2"), "--index-url", `${url}/simple/`, "tuf-edge-demo==2.0");
    expect(pinned.code, pinned.output).toBe(0);
    expect(pinned.output).toContain("tuf_edge_demo-2.0");
    expect(pinned.output).toContain("broken build");

    await verifyWithBothClients("2.0", "broken build");
  });

  /** python-tuf and tuf-js each verify both pages and every file they link to; the yank is in the verified bytes. */
  async function verifyWithBothClients(version: string, yankReason?: string) {
    const pages = ["simple/tuf-edge-demo/index.html", "simple/tuf-edge-demo/index.json"];
    const py = await pythonTufDownload(url, repo.ceremony.root, pages);
    expect(py.code, py.output).toBe(0);
    const json = JSON.parse(py.files!["simple/tuf-edge-demo/index.json"]!) as { files: Array<{ filename: string; url: string; yanked: unknown }> };
    expect(py.files!["simple/tuf-edge-demo/index.html"]).toBe(await (await fetch(`${url}/simple/tuf-edge-demo/`)).text());
    const target = json.files.find((f) => f.filename.includes(`-${version}-`))!;
    expect(target.yanked).toBe(yankReason ?? false);
    // Links are ../../targets/<path>#sha256=…, relative to /simple/<name>/.
    const paths = json.files.map((f) => f.url.split("#")[0]!.replace(/^\.\.\/\.\.\/targets\//, ""));
    const filesPy = await pythonTufDownload(url, repo.ceremony.root, paths);
    expect(filesPy.code, filesPy.output).toBe(0);
    expect(Object.values(filesPy.files!).every((v) => v !== null)).toBe(true);

    const client = repo.client();
    const updater = client.updater();
    await updater.refresh();
    for (const path of [...pages, ...paths]) {
      const info = await updater.getTargetInfo(path);
      expect(info, path).toBeDefined();
      const out = join(client.dir, "targets", path.replace(/\//g, "_"));
      await updater.downloadTarget(info!, out);
      if (path.endsWith(".json")) expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(json);
    }
  }

  it("unyank and delete re-sign the pages; a deleted filename can never be uploaded again", async () => {
    process.env.TUF_EDGE_ADMIN_TOKEN = ADMIN_TOKEN;
    expect(await main(["unyank", "--url", url, "tuf-edge-demo", "2.0"])).toBe(0);
    expect(await (await fetch(`${url}/simple/tuf-edge-demo/`)).text()).not.toContain("data-yanked");
    expect(await main(["delete", "--url", url, "Tuf_Edge.Demo", "2.0"])).toBe(0);
    expect(await (await fetch(`${url}/simple/tuf-edge-demo/`)).text()).not.toContain("2.0");
    const client = repo.client();
    const updater = client.updater();
    await updater.refresh();
    expect(await updater.getTargetInfo(`packages/tuf-edge-demo/${wheel2.filename}`)).toBeUndefined();
    expect(await updater.getTargetInfo(`packages/tuf-edge-demo/${wheel2.filename}.metadata`)).toBeUndefined();
    await expectRefused(writeDistributions([wheel2]), "was deleted; a filename can never be reused");
    const missing = await fetch(`${url}/api/v1/python/projects/tuf-edge-demo/releases/7.0/yank`, { method: "POST", headers: ADMIN });
    expect(missing.status).toBe(404);
  });

  it("the cron signs the project list; TUF clients verify it", async () => {
    expect((await fetch(`${url}/simple/`)).status).toBe(404);
    await repo.worker.scheduled();
    const list = await fetch(`${url}/simple/`, { headers: { accept: JSON_TYPE } });
    expect(await list.json()).toEqual({ meta: { "api-version": "1.1" }, projects: [{ name: "Tuf-Edge.Demo" }] }); // twine sends the name as setuptools' safe_name
    const py = await pythonTufDownload(url, repo.ceremony.root, ["simple/index.html", "simple/index.json"]);
    expect(py.code, py.output).toBe(0);
    expect(py.files!["simple/index.html"]).toContain('<a href="tuf-edge-demo/">Tuf-Edge.Demo</a>');
  });
});
