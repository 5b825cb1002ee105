/**
 * A warm `pip install` of 10 packages through `tuf-edge proxy`, against the same install
 * from an unverified pass-through of the Worker's pages and files (what the Worker's own
 * /simple/ serves: the same bytes, no TUF). "Warm": the proxy has refreshed and holds the
 * files; pip's own cache is off in both, and each install goes into a fresh venv.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { startProxy } from "../../cli/proxy-server.js";
import { projectPageHtml, projectPageJson, projectWheel } from "../../../test/fixtures/simple-pages.js";
import type { Benchmark } from "../lib/context.js";
import { BenchRepo } from "../lib/repo.js";
import { round } from "../lib/stats.js";

const run = promisify(execFile);
const PACKAGES = 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const proxy: Benchmark = {
  name: "proxy",
  describe: "warm pip install of 10 packages through tuf-edge proxy vs unverified, each into a fresh venv",
  async run(ctx) {
    const repo = await BenchRepo.bootstrapped(10);
    const work = mkdtempSync(join(repo.dir, "pip-"));
    const projects = Array.from({ length: PACKAGES }, (_, i) => `bench-pkg-${i}`);
    for (const project of projects) {
      const wheel = projectWheel(project, "1.0");
      await repo.hostTarget(`packages/${project}/${wheel.filename}`, wheel.bytes);
      await repo.hostTarget(`simple/${project}/index.html`, new TextEncoder().encode(projectPageHtml(project, [wheel])));
      await repo.hostTarget(`simple/${project}/index.json`, new TextEncoder().encode(projectPageJson(project, [wheel])));
    }
    // Unverified: /simple/<p>/ is the Worker's simple/<p>/index.json (or .html, as pip asks), /targets/... its files.
    const direct = createServer(async (req, res) => {
      const m = /^\/simple\/([^/]+)\/$/.exec(req.url ?? "");
      const json = (req.headers.accept ?? "").startsWith("application/vnd.pypi.simple.v1+json");
      const upstream = await fetch(`${repo.url}${m ? `/targets/simple/${m[1]}/index.${json ? "json" : "html"}` : req.url}`);
      res.writeHead(upstream.status, { "content-type": !m ? "application/octet-stream" : json ? "application/vnd.pypi.simple.v1+json" : "text/html" });
      res.end(new Uint8Array(await upstream.arrayBuffer()));
    });
    await new Promise<void>((r) => direct.listen(0, "127.0.0.1", r));
    const directUrl = `http://127.0.0.1:${(direct.address() as AddressInfo).port}`;
    const verified = await startProxy({ url: repo.url, root: new TextEncoder().encode(JSON.stringify(repo.ceremony.root)), cacheDir: mkdtempSync(join(repo.dir, "proxy-")), port: 0 });
    const install = async (index: string) => {
      const venv = mkdtempSync(join(work, "venv-"));
      await run("python3", ["-m", "venv", "--without-pip", venv]);
      const t0 = performance.now();
      await run("python3", ["-m", "pip", "--python", join(venv, "bin", "python"), "install", "--no-cache-dir", "--disable-pip-version-check", "-q", "--index-url", `${index}/simple/`, ...projects], { env: { ...process.env, PIP_CONFIG_FILE: "/dev/null" } });
      return performance.now() - t0;
    };
    try {
      await install(verified.url); // warms the proxy: metadata refreshed, files verified and cached
      await install(directUrl);
      const viaProxy: number[] = [];
      const viaDirect: number[] = [];
      for (let i = 0; i < (ctx.quick ? 3 : 5); i++) {
        ctx.log(`proxy: run ${i + 1}`);
        viaDirect.push(await install(directUrl));
        viaProxy.push(await install(verified.url));
      }
      const p = median(viaProxy);
      const d = median(viaDirect);
      ctx.emit("proxy", { packages: PACKAGES, bits: 10, runs: viaProxy.length, proxy_install_ms: round(p, 0), direct_install_ms: round(d, 0), ratio: round(p / d, 3), target_ratio: 1.25 });
    } finally {
      await verified.close();
      await new Promise<void>((r) => direct.close(() => r()));
      await repo.stop();
    }
  },
};
