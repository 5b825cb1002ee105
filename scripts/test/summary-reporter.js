// A vitest reporter that records what scripts/test-all.js needs for an honest summary and
// that vitest's JSON report lacks: which project each test file belongs to, and every test
// that did not run (skipped, todo, or left out by .only) with its mode.
import { mkdirSync, writeFileSync } from "node:fs";
import { relative } from "node:path";

export default class SummaryReporter {
  onInit(vitest) {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules) {
    const root = this.vitest.config.root;
    const projects = Object.fromEntries(this.vitest.projects.map((p) => [p.name, { files: 0, tests: 0 }]));
    const notRun = [];
    for (const module of testModules) {
      const project = (projects[module.project.name] ??= { files: 0, tests: 0 });
      project.files += 1;
      for (const test of module.children.allTests()) {
        project.tests += 1;
        if (test.result().state !== "skipped") continue;
        notRun.push({
          project: module.project.name,
          file: relative(root, module.moduleId),
          name: test.fullName,
          mode: test.options.mode,
          note: test.result().note,
        });
      }
    }
    mkdirSync("test-results", { recursive: true });
    writeFileSync("test-results/summary.json", JSON.stringify({ projects, notRun }, null, 2));
  }
}
