// docs/performance.md's tables are rendered from docs/results/ by scripts/bench/report.ts: fail when they drift.
// Cost: reads a few results files, well under a second.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PERFORMANCE_MD, RESULTS_DIR, render } from "../../scripts/bench/report.js";

describe("docs/performance.md", () => {
  const doc = readFileSync(PERFORMANCE_MD, "utf8");

  it("matches its results files (else run `node scripts/bin/run-ts.js scripts/bench/report.ts --write`)", () => {
    expect(render(doc, RESULTS_DIR)).toBe(doc);
  });

  it("has its tables in generated blocks, each naming results files", () => {
    const blocks = [...doc.matchAll(/<!-- report:([\w-]+)((?: [\w.-]+\.jsonl)+) -->/g)];
    expect(blocks.map((b) => b[1])).toEqual(expect.arrayContaining(["targets", "sustained", "serving", "client-cost", "bin-count", "client", "scale"]));
  });

  it("re-renders a block whose figures were edited by hand", () => {
    const edited = doc.replace(/\| Bootstrap, 16,384 bins readable \| ≤ 3 s \| [^|]+\|/, "| Bootstrap, 16,384 bins readable | ≤ 3 s | 1.0 s |");
    expect(edited).not.toBe(doc);
    expect(render(edited, RESULTS_DIR)).toBe(doc);
  });
});
