#!/usr/bin/env node
// Runs every vitest project and ends with the plain line CI reads: "N passed, N failed".
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";

// vitest strips types without checking them, so the type check is a test of its own.
const typecheck = spawnSync("npx", ["tsc", "--noEmit"], { stdio: "inherit" });
if (typecheck.status !== 0) console.error("type check failed (npx tsc --noEmit)");

const out = "test-results/vitest.json";
mkdirSync("test-results", { recursive: true });
rmSync(out, { force: true });
const run = spawnSync(
  "npx",
  ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...process.argv.slice(2)],
  { stdio: "inherit", env: { ...process.env, NO_COLOR: process.env.NO_COLOR ?? (process.env.CI ? "1" : undefined) } },
);
let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(out, "utf8"));
  passed = report.numPassedTests;
  // A file that fails to load counts as a failure even though it ran no test.
  failed = Math.max(report.numFailedTests, report.numFailedTestSuites);
  if (report.numTotalTests === 0) failed += 1;
} catch {
  failed += 1;
}
if (run.status !== 0 && failed === 0) failed = 1;

// The tuf-conformance suite against `tuf-edge client`: one run, each of its tests counted here.
// It needs ../shared/vendor (python-tuf, tuf-conformance) and faketime; if they are missing it says so and counts one failure.
const conformance = spawnSync("node", ["scripts/conformance/run.js", "--json"], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
process.stdout.write(conformance.stdout.split("\n").filter((l) => !l.startsWith("{")).join("\n"));
try {
  const counts = JSON.parse(conformance.stdout.trim().split("\n").at(-1));
  passed += counts.passed;
  failed += counts.failed;
} catch {
  console.error("conformance: no result (scripts/conformance/run.js)");
  failed += 1;
}

if (typecheck.status === 0) passed += 1;
else failed += 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && run.status === 0 && conformance.status === 0 ? 0 : 1);
