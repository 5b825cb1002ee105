/**
 * Where the Publisher's own CPU goes, apart from R2 and SQLite: the real
 * src/tuf signing code bundled into a bare Worker on the same workerd, timing
 * one bin-n (sign, self-check), the snapshot of 16,384 bins (bytes, sign,
 * sha256) and timestamp.json. See scripts/bench/probe/signing.worker.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import type { Benchmark } from "../lib/context.js";
import { ROOT } from "../lib/env.js";

export const signing: Benchmark = {
  name: "signing",
  describe: "CPU per step of signing inside workerd with the Publisher's code (bin-n of 0 to 600 targets: sign, self-check, log hash; snapshot of 16,384 bins; timestamp), without R2 or SQLite",
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), "tuf-edge-bench-sign-"));
    try {
      const outfile = join(dir, "signing.js");
      await build({
        entryPoints: [join(ROOT, "scripts/bench/probe/signing.worker.ts")],
        bundle: true,
        format: "esm",
        platform: "neutral",
        external: ["node:*"],
        target: "es2022",
        outfile,
        logLevel: "silent",
      });
      const mf = new Miniflare({ modules: true, modulesRoot: dir, scriptPath: outfile, compatibilityDate: "2026-04-26", compatibilityFlags: ["nodejs_compat"], host: "127.0.0.1", port: 0 });
      try {
        const url = (await mf.ready).toString();
        await fetch(`${url}?n=50&bins=1024`).then((r) => r.arrayBuffer()); // warm-up (JIT)
        const result = (await (await fetch(`${url}?n=${ctx.quick ? 300 : 2000}&bins=16384`)).json()) as Record<string, number>;
        ctx.emit("signing", { bins: 16384, ...result });
      } finally {
        await mf.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
