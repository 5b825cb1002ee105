/**
 * The machine's real pip, in a fresh venv per test, installing through
 * `tuf-edge proxy` from a Worker started here. Between the proxy and the Worker
 * sits a tampering HTTP proxy: each attack must make the install fail with the
 * TUF reason in pip's output, and leave nothing installed.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import { startProxy, type RunningProxy } from "../../scripts/cli/proxy-server.js";
import { ADMIN_TOKEN } from "../fixtures/ceremony.js";
import { startRepo, type Repo } from "./harness.js";
import { projectPageHtml, projectPageJson, projectWheel, type Wheel } from "../fixtures/simple-pages.js";
import { buildWheel as buildDistribution } from "../fixtures/distributions.js";
import { twineUpload, writeDistributions } from "./python-tools.js";

const run = promisify(execFile);
const HOUR = 3_600_000;

/** Forwards to the Worker; `tamper` may replace any answer's body. Keeps every timestamp.json it passed on. */
class TamperingProxy {
  tamper: (path: string, body: Uint8Array) => Uint8Array = (_path, body) => body;
  readonly timestamps: Uint8Array[] = [];
  private server!: Server;
  url = "";

  constructor(private readonly upstream: string) {}

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const upstream = await fetch(`${this.upstream}${req.url}`);
      let body: Uint8Array = new Uint8Array(await upstream.arrayBuffer());
      if (upstream.ok && req.url!.endsWith("/timestamp.json")) this.timestamps.push(body);
      if (upstream.ok) body = this.tamper(req.url!, body);
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/octet-stream", "cache-control": upstream.headers.get("cache-control") ?? "no-store" });
      res.end(body);
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

describe("pip through tuf-edge proxy", () => {
  let repo: Repo;
  let tampering: TamperingProxy;
  let work: string;
  let v1: Wheel;
  let v2: Wheel;
  const clock = { offsetMs: 0 };
  const proxies: RunningProxy[] = [];

  const put = async (path: string, body: Uint8Array | string) => {
    const res = await fetch(`${repo.worker.url}/api/v1/targets/${path}?wait=true`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: typeof body === "string" ? new TextEncoder().encode(body) : body,
    });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  /** Publishes a project the way an index that hosts its own files does: the files, then both pages. */
  const publishProject = async (project: string, wheels: Wheel[]) => {
    for (const w of wheels) await put(`packages/${project}/${w.filename}`, w.bytes);
    await put(`simple/${project}/index.html`, projectPageHtml(project, wheels));
    await put(`simple/${project}/index.json`, projectPageJson(project, wheels));
  };
  const newProxy = async () => {
    const proxy = await startProxy({
      url: tampering.url,
      root: new TextEncoder().encode(JSON.stringify(repo.ceremony.root)),
      cacheDir: mkdtempSync(join(work, "proxy-")),
      port: 0,
      now: () => new Date(Date.now() + clock.offsetMs),
    });
    proxies.push(proxy);
    return proxy;
  };
  /** A fresh venv (no pip of its own), and the machine's pip installing into it through the proxy. */
  const pipInstall = async (proxy: RunningProxy, ...requirements: string[]) => {
    const venv = mkdtempSync(join(work, "venv-"));
    await run("python3", ["-m", "venv", "--without-pip", venv]);
    const python = join(venv, "bin", "python");
    const args = ["-m", "pip", "--python", python, "install", "--no-cache-dir", "--disable-pip-version-check", "--index-url", `${proxy.url}/simple/`, ...requirements];
    const result = await run("python3", args, { env: { ...process.env, PIP_CONFIG_FILE: "/dev/null" } }).then(
      ({ stdout, stderr }) => ({ ok: true, output: stdout + stderr }),
      (e: { stdout: string; stderr: string }) => ({ ok: false, output: e.stdout + e.stderr }),
    );
    const lib = join(venv, "lib");
    const site = join(lib, readdirSync(lib)[0]!, "site-packages");
    const installed = existsSync(site) ? readdirSync(site).filter((f) => f.endsWith(".dist-info")) : [];
    return { ...result, installed };
  };

  beforeAll(async () => {
    repo = await startRepo({ bitLength: 6 });
    work = mkdtempSync(join(repo.dir, "pip-"));
    v1 = projectWheel("demo-pkg", "1.0");
    v2 = projectWheel("demo-pkg", "2.0", "broken build");
    await publishProject("demo-pkg", [v1, v2]);
    tampering = new TamperingProxy(repo.worker.url);
    await tampering.start();
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await tampering?.close();
    await repo?.close();
  });

  it("installs a package uploaded to the Worker, and skips its yanked version unless pinned", async () => {
    const proxy = await newProxy();
    const latest = await pipInstall(proxy, "demo-pkg");
    expect(latest.ok, latest.output).toBe(true);
    expect(latest.installed).toEqual(["demo_pkg-1.0.dist-info"]);
    const pinned = await pipInstall(proxy, "demo-pkg==2.0");
    expect(pinned.ok, pinned.output).toBe(true);
    expect(pinned.installed).toEqual(["demo_pkg-2.0.dist-info"]);
    expect(pinned.output).toMatch(/yanked/);
  });

  it("installs what twine uploaded to the Worker's Python index", async () => {
    const up = await twineUpload(repo.worker.url, writeDistributions([buildDistribution({ name: "Twine_Demo", version: "3.1" })]));
    expect(up.code, up.output).toBe(0);
    const result = await pipInstall(await newProxy(), "twine-demo");
    expect(result.ok, result.output).toBe(true);
    expect(result.installed).toEqual(["twine_demo-3.1.dist-info"]);
  });

  it("refuses a wheel with one flipped byte", async () => {
    tampering.tamper = (path, body) => {
      if (!path.endsWith(v1.filename)) return body;
      const copy = body.slice();
      copy[copy.length >> 1]! ^= 0x01;
      return copy;
    };
    const result = await pipInstall(await newProxy(), "demo-pkg");
    tampering.tamper = (_p, b) => b;
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/TUF refused packages\/demo-pkg\/demo_pkg-1\.0-py3-none-any\.whl: sha256 \w+ does not match/);
    expect(result.installed).toEqual([]);
  });

  it("refuses a changed simple page", async () => {
    tampering.tamper = (path, body) =>
      /\/targets\/simple\/demo-pkg\//.test(path) ? new TextEncoder().encode(new TextDecoder().decode(body).replace(/1\.0/g, "9.9")) : body;
    const result = await pipInstall(await newProxy(), "demo-pkg");
    tampering.tamper = (_p, b) => b;
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/TUF refused simple\/demo-pkg\/index\.(json|html): (length|sha256)/);
    expect(result.installed).toEqual([]);
  });

  it("refuses a replayed old timestamp", async () => {
    const proxy = await newProxy();
    expect((await fetch(`${proxy.url}/simple/demo-pkg/`)).status).toBe(200);
    const old = tampering.timestamps.at(-1)!;
    const other = projectWheel("other-pkg", "1.0");
    await publishProject("other-pkg", [other]);
    // The proxy trusts the newer timestamp, then is shown the old one again.
    clock.offsetMs += 61_000;
    expect((await fetch(`${proxy.url}/simple/`)).status).not.toBe(502);
    const newer = projectWheel("newer-pkg", "1.0");
    await publishProject("newer-pkg", [newer]);
    tampering.tamper = (path, body) => (path.endsWith("/metadata/timestamp.json") ? old : body);
    clock.offsetMs += 61_000;
    const result = await pipInstall(proxy, "newer-pkg");
    tampering.tamper = (_p, b) => b;
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/TUF refused timestamp: version \d+ is older than the trusted version \d+/);
    expect(result.installed).toEqual([]);
  });

  it("refuses an expired bin", async () => {
    // The index published demo-pkg now; five hours later an unrelated change re-signs the
    // timestamp and snapshot (to now + 29 h) but not demo-pkg's bins, which expire at now + 24 h.
    const ns = await repo.worker.mf.getDurableObjectNamespace("PUBLISHER");
    const publisher = ns.get(ns.idFromName("default")) as unknown as Pick<Publisher, "submit">;
    const later = Date.now() + 5 * HOUR + 60_000;
    const receipt = await publisher.submit(
      { changes: [{ op: "add", path: "packages/unrelated/u-1.0.tar.gz", length: 1, hashes: { sha256: "00".repeat(32) } }], bodySha256: "expired-bin", wait: true },
      later,
    );
    expect(receipt.status).toBe("published");
    clock.offsetMs = 24 * HOUR + 120_000;
    const result = await pipInstall(await newProxy(), "demo-pkg");
    clock.offsetMs = 0;
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/TUF refused bin-[0-9a-f]+: expired at/);
    expect(result.installed).toEqual([]);
  });
});
