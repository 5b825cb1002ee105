#!/usr/bin/env node
// Runs every vitest project and ends with the plain line CI reads: "N passed, N failed[, N skipped]".
// The summary hides nothing: a skipped or todo test that test/not-run.json does not list with a
// reason fails the run, so does a project that collected no test file, and a filtered run says so.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";

const args = process.argv.slice(2);
const byName = args.some((a) => /^(-t|--testNamePattern)(=|$)/.test(a));

// vitest strips types without checking them, so the type check is a test of its own.
const typecheck = spawnSync("npx", ["tsc", "--noEmit"], { stdio: "inherit" });
if (typecheck.status !== 0) console.error("type check failed (npx tsc --noEmit)");

const out = "test-results/vitest.json";
const summaryFile = "test-results/summary.json";
mkdirSync("test-results", { recursive: true });
rmSync(out, { force: true });
rmSync(summaryFile, { force: true });
const run = spawnSync(
  "npx",
  [
    "vitest", "run",
    "--reporter=default", "--reporter=json", "--reporter=./scripts/test/summary-reporter.js",
    `--outputFile.json=${out}`,
    ...args,
  ],
  { stdio: "inherit", env: { ...process.env, NO_COLOR: process.env.NO_COLOR ?? (process.env.CI ? "1" : undefined) } },
);

const problems = [];
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(out, "utf8"));
  passed = report.numPassedTests;
  // A file that fails to load counts as a failure even though it ran no test.
  failed = Math.max(report.numFailedTests, report.numFailedTestSuites);
  if (report.numTotalTests === 0) problems.push("no test ran");
} catch {
  problems.push(`vitest wrote no report (${out})`);
}
try {
  const { projects, notRun } = JSON.parse(readFileSync(summaryFile, "utf8"));
  skipped = notRun.length;
  // A filter may legitimately leave a project with nothing to run; an unfiltered run may not.
  if (args.length === 0)
    for (const [name, p] of Object.entries(projects)) if (p.files === 0) problems.push(`vitest project "${name}" collected no test files`);
  const documented = JSON.parse(readFileSync("test/not-run.json", "utf8")).tests;
  for (const t of notRun) {
    const entry = documented.find((d) => d.file === t.file && d.name === t.name && d.reason);
    if (entry) console.log(`not run (${t.mode}): ${t.file} > ${t.name}: ${entry.reason}`);
    // A test left out because its suite's hook failed: that failure is already counted.
    else if (t.mode === "run") continue;
    // A name filter (-t) marks the tests it leaves out as skipped: those are the filter's doing.
    else if (!(byName && t.mode === "skip"))
      problems.push(`${t.mode} test not documented in test/not-run.json: ${t.file} > ${t.name}`);
  }
} catch (e) {
  problems.push(`no test summary (${summaryFile}): ${e instanceof Error ? e.message : e}`);
}
if (run.status !== 0 && failed === 0 && problems.length === 0) problems.push(`vitest exited with status ${run.status}`);
for (const p of problems) console.error(`test summary: ${p}`);
failed += problems.length;

// The tuf-conformance suite against `tuf-edge client`: one run, each of its tests counted here (not on a filtered run).
// It needs ../shared/vendor (python-tuf, tuf-conformance) and faketime; if they are missing it says so and counts one failure.
let conformanceOk = true;
if (args.length === 0) {
  const conformance = spawnSync("node", ["scripts/conformance/run.js", "--json"], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  process.stdout.write(conformance.stdout.split("\n").filter((l) => !l.startsWith("{")).join("\n"));
  conformanceOk = conformance.status === 0;
  try {
    const counts = JSON.parse(conformance.stdout.trim().split("\n").at(-1));
    passed += counts.passed;
    failed += counts.failed;
  } catch {
    console.error("conformance: no result (scripts/conformance/run.js)");
    failed += 1;
  }
}
if (typecheck.status === 0) passed += 1;
else failed += 1;
if (args.length > 0) console.log(`filtered run (${args.join(" ")}): not every test ran`);
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(failed === 0 && run.status === 0 && conformanceOk ? 0 : 1);
