#!/usr/bin/env node
// Runs the tuf-conformance suite (../shared/vendor/tuf-conformance) against `tuf-edge client`.
// Prints each unexpected result, then one line "conformance: N passed, N failed (K expected failures)";
// exits 1 if any test failed that tuf-edge-client.xfails does not list, or if the suite cannot run.
// With --json, the last line is {"passed":N,"failed":N,"xfailed":K} for scripts/test-all.js.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const suite = resolve(process.env.TUF_CONFORMANCE_DIR ?? join(repo, "../shared/vendor/tuf-conformance"));
const python = resolve(suite, "../python");
const out = join(repo, "test-results/conformance");
const json = process.argv.includes("--json");

function finish(passed, failed, xfailed) {
  console.log(`conformance: ${passed} passed, ${failed} failed (${xfailed} expected failures)`);
  if (json) console.log(JSON.stringify({ passed, failed, xfailed }));
  process.exit(failed === 0 ? 0 : 1);
}

if (!existsSync(join(suite, "tuf_conformance")) || !existsSync(join(python, "tuf"))) {
  console.error(
    `conformance: cannot run: ${suite} (tuf-conformance) or ${python} (python-tuf 5.1) is missing. ` +
      "They come from the shared vendor folder next to the repository (../shared/vendor); set TUF_CONFORMANCE_DIR to its tuf-conformance folder.",
  );
  finish(0, 1, 0);
}
if (spawnSync("faketime", ["-f", "+0", "true"]).status !== 0) {
  console.error("conformance: cannot run: faketime is not installed (apt-get install -y faketime)");
  finish(0, 1, 0);
}

// One bundled file: each test starts the client several times, and tsx would add ~0.8 s to every start.
mkdirSync(out, { recursive: true });
const entry = join(out, "entry.ts");
writeFileSync(entry, `import { main } from ${JSON.stringify(join(repo, "scripts/cli/main.ts"))};\nprocess.exitCode = await main(process.argv.slice(2));\n`);
const bundle = join(out, "tuf-edge.mjs");
const build = spawnSync(
  join(repo, "node_modules/.bin/esbuild"),
  [entry, "--bundle", "--platform=node", "--format=esm", "--target=node20", `--outfile=${bundle}`, "--log-level=warning", "--packages=external"],
  { stdio: "inherit", cwd: repo },
);
if (build.status !== 0) {
  console.error("conformance: cannot bundle scripts/cli/main.ts with esbuild");
  finish(0, 1, 0);
}
const client = join(out, "tuf-edge-client.sh");
writeFileSync(client, `#!/bin/sh\nexec node ${JSON.stringify(bundle)} client "$@"\n`);
chmodSync(client, 0o755);

const junit = join(out, "junit.xml");
rmSync(junit, { force: true });
spawnSync("python3", ["-m", "pytest", "tuf_conformance", "-q", "-p", "no:cacheprovider", "--entrypoint", client, `--junitxml=${junit}`], {
  cwd: suite,
  stdio: process.env.CONFORMANCE_VERBOSE ? "inherit" : ["ignore", "ignore", "inherit"],
  env: { ...process.env, PYTHONPATH: `${suite}:${python}`, NODE_PATH: join(repo, "node_modules") },
});
if (!existsSync(junit)) {
  console.error("conformance: pytest wrote no report");
  finish(0, 1, 0);
}

const expected = new Set(
  readFileSync(join(here, "tuf-edge-client.xfails"), "utf8")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean),
);
let passed = 0;
let failed = 0;
let xfailed = 0;
const xml = readFileSync(junit, "utf8");
for (const [, attrs, body] of xml.matchAll(/<testcase ([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
  const name = /\sname="([^"]*)"/.exec(` ${attrs}`)[1].replace(/&quot;/g, '"').replace(/&amp;/g, "&");
  const bad = /<(failure|error)/.test(body ?? "");
  if (/<skipped/.test(body ?? "")) continue;
  const listed = expected.has(name) || expected.has(name.replace(/\[.*$/, ""));
  if (bad && listed) xfailed++;
  else if (bad) {
    failed++;
    console.error(`conformance: FAILED ${name}`);
  } else {
    passed++;
    if (listed) console.error(`conformance: ${name} passes now; remove it from scripts/conformance/tuf-edge-client.xfails`);
  }
}
finish(passed, failed, xfailed);
