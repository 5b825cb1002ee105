/** `tuf-edge audit` on the command line; test/e2e/audit.test.ts runs it against a real Worker. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCeremony } from "../fixtures/ceremony.js";
import { run, tempDir } from "./helpers.js";

describe("tuf-edge audit (command line)", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await dir.cleanup();
  });

  it("is listed and has --help", async () => {
    expect((await run("--help")).stdout).toMatch(/\n {2}audit +replay and check the signing log/);
    const help = await run("audit", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: tuf-edge audit --url URL --root FILE \[--state FILE\] \[--json\]/);
  });

  it("needs --url and --root", async () => {
    const missing = await run("audit", "--root", "x.json");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required option --url");
    expect((await run("audit", "--url", "http://127.0.0.1:9")).stderr).toContain("missing required option --root");
  });

  it("refuses a root that is not root metadata, and a state file it did not write, before any request", async () => {
    const root = join(dir.path, "root.json");
    const state = join(dir.path, "state.json");
    await writeFile(root, "{}");
    expect((await run("audit", "--url", "http://127.0.0.1:9", "--root", root)).stderr).toContain("is not valid root metadata");
    await writeFile(root, JSON.stringify((await makeCeremony({ bitLength: 2 })).root));
    await writeFile(state, '{"head":1}');
    const result = await run("audit", "--url", "http://127.0.0.1:9", "--root", root, "--state", state);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is not a tuf-edge audit state file");
  });
});
