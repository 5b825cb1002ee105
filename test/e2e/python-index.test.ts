/**
 * The Python index end to end, with real tools against a local Worker: Debian's twine uploads a
 * wheel and an sdist built here, the machine's pip installs from /simple/ into a fresh venv,
 * and python-tuf's and tuf-js's Updaters verify the signed pages and the files they link to.
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../fixtures/ceremony.js";
import { buildSdist, buildWheel } from "../fixtures/distributions.js";
import { startRepo, type Repo } from "./harness.js";
import { pythonTufDownload, twineUpload, venv, writeDistributions } from "./python-tools.js";

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
});
