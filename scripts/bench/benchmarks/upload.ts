/**
 * Twine-upload-to-installable latency on a 16,384-bin repository: Debian's twine uploads a new
 * wheel (a new version each time) to POST /legacy/, and the clock stops when the Worker's
 * /simple/ page lists it and its file is served, which is what pip reads. The upload answers only
 * once the publish that signs the file, its .metadata and both pages (file bins, page bins,
 * snapshot, timestamp once) is in R2, so the poll normally succeeds on its first request. The
 * latency includes twine's own start-up (Python, imports), measured alone as `twine_noop_ms`.
 * At the end pip installs the last version into a fresh venv, to check "installable" for real.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildWheel } from "../../../test/fixtures/distributions.js";
import { UPLOAD_TOKEN } from "../../../test/fixtures/ceremony.js";
import type { Benchmark } from "../lib/context.js";
import { BenchRepo } from "../lib/repo.js";
import { summarize } from "../lib/stats.js";

const run = promisify(execFile);
const ENV = { ...process.env, PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring", PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_FIND_LINKS: "", PIP_CONFIG_FILE: "/dev/null" };

export const upload: Benchmark = {
  name: "upload",
  describe: "twine upload of a new wheel until /simple/ lists it and serves the file, 30 times at 16,384 bins: p50/p99",
  async run(ctx) {
    const count = ctx.quick ? 8 : 30;
    const repo = await BenchRepo.bootstrapped(14);
    const dir = mkdtempSync(join(tmpdir(), "tuf-edge-bench-upload-"));
    const twine = (file: string) =>
      run("twine", ["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", `${repo.url}/legacy/`, "-u", "__token__", "-p", UPLOAD_TOKEN, file], { env: ENV });
    try {
      const wheelFile = (i: number) => {
        const wheel = buildWheel({ name: "bench-upload", version: `1.0.${i}` });
        const path = join(dir, wheel.filename);
        writeFileSync(path, wheel.bytes);
        return { path, filename: wheel.filename };
      };
      // Warm-up (isolate, caches); the same bytes again is a no-op success: twine's start-up alone.
      const warm = wheelFile(0);
      await twine(warm.path);
      const noop: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await twine(warm.path);
        noop.push(performance.now() - t);
      }
      const latencies: number[] = [];
      let polls = 0;
      for (let i = 1; i <= count; i++) {
        const file = wheelFile(i);
        const start = performance.now();
        await twine(file.path);
        for (;;) {
          polls++;
          const page = (await (await fetch(`${repo.url}/simple/bench-upload/`, { headers: { accept: "application/vnd.pypi.simple.v1+json" } })).json()) as { files: Array<{ filename: string; url: string }> };
          const listed = page.files.find((f) => f.filename === file.filename);
          if (listed && (await fetch(new URL(listed.url, `${repo.url}/simple/bench-upload/`), { method: "HEAD" })).status === 200) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        latencies.push(performance.now() - start);
        ctx.log(`upload ${i}/${count}: ${Math.round(latencies[latencies.length - 1]!)} ms`);
      }
      const venv = mkdtempSync(join(tmpdir(), "tuf-edge-bench-venv-"));
      await run("python3", ["-m", "venv", venv]);
      await run(join(venv, "bin", "pip"), ["install", "--no-cache-dir", "--index-url", `${repo.url}/simple/`, `bench-upload==1.0.${count}`], { env: ENV });
      ctx.emit("upload", {
        bins: 2 ** 14,
        tool: "twine (Debian)",
        ...summarize(latencies),
        twine_noop_ms: summarize(noop).p50_ms,
        polls_per_upload: Math.round((polls / count) * 100) / 100,
        pip_installed_last: true,
      });
    } finally {
      await repo.stop();
    }
  },
};
