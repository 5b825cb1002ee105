/**
 * `tuf-edge verify`: the summary and progress on a good repository, one line
 * and exit 1 on a bad one. Most cases serve an in-memory repository over a
 * plain HTTP server; one runs against a real local Worker (workerd), as
 * bootstrapped by the end-to-end harness.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startRepo, type Repo } from "../e2e/harness.js";
import { TestRepository } from "../fixtures/repository.js";
import { ONE_LINE_ERROR, run, tempDir, writeJSON } from "./helpers.js";

/** Serves `repo.files` at /metadata/NAME; anything else is a 404, or `status` when set. */
async function serve(repo: TestRepository, override: { status?: number } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent(req.url!.replace(/^\/metadata\//, ""));
    const bytes = repo.files.get(name);
    if (override.status) res.writeHead(override.status).end("boom");
    else if (!req.url!.startsWith("/metadata/") || !bytes) res.writeHead(404).end();
    else res.writeHead(200, { "content-type": "application/json" }).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    // Without dropping fetch's keep-alive connections, close() waits for them to time out.
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

describe("tuf-edge verify against a served repository", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let rootFile: string;
  let repo: TestRepository;
  const savedNow = process.env.TUF_EDGE_NOW;

  beforeEach(async () => {
    dir = await tempDir();
    repo = await TestRepository.create({ bitLength: 3 });
    rootFile = join(dir.path, "1.root.json");
    await writeJSON(rootFile, repo.ceremony.root);
    process.env.TUF_EDGE_NOW = "2026-01-01T01:00:00Z"; // an hour after the repository was published
  });
  afterEach(async () => {
    if (savedNow === undefined) delete process.env.TUF_EDGE_NOW;
    else process.env.TUF_EDGE_NOW = savedNow;
    await dir.cleanup();
  });

  it("prints versions, the bins checked and the earliest expiry, and exits 0", async () => {
    const server = await serve(repo);
    try {
      const { code, stdout, stderr } = await run("verify", "--url", server.url, "--root", rootFile);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      const lines = stdout.split("\n");
      expect(lines[0]).toMatch(/^ROLE\s+VERSION\s+EXPIRES$/);
      expect(lines).toContainEqual(expect.stringMatching(/^root\s+v1\s+2027-01-01T00:00:00Z \(364 days left\)$/));
      expect(lines).toContainEqual(expect.stringMatching(/^timestamp\s+v1\s+2026-01-02T00:00:00Z \(23 hours left\)$/));
      expect(lines).toContainEqual(expect.stringMatching(/^bin-n\s+v1-v1\s+8 bins checked$/));
      expect(stdout).toContain("earliest expiry: timestamp v1 at 2026-01-02T00:00:00Z (23 hours left)");
      expect(stdout).toContain(`${server.url} verifies: 13 roles checked, starting from root v1`);
    } finally {
      await server.close();
    }
  });

  it("prints progress every 1,024 roles on a large repository", { timeout: 60_000 }, async () => {
    const large = await TestRepository.create({ bitLength: 11 });
    const server = await serve(large);
    try {
      const { code, stdout } = await run("verify", "--url", server.url, "--root", rootFile);
      expect(code).toBe(0);
      expect(stdout.split("\n").filter((l) => l.startsWith("checked "))).toEqual([
        "checked 1024 of 2050 targets roles",
        "checked 2048 of 2050 targets roles",
        "checked 2050 of 2050 targets roles",
      ]);
      expect(stdout).toMatch(/2048 bins checked/);
    } finally {
      await server.close();
    }
  });

  // [case, what the repository does, the error line]
  const failures: Array<[string, (repo: TestRepository) => Promise<void> | void, RegExp]> = [
    ["an expired timestamp", (r) => r.publishTimestamp({ expires: new Date("2026-01-01T00:30:00Z") }), /timestamp: expired at 2026-01-01T00:30:00Z \(version 2\) \(TUF 5\.4\.4\)\. Renew it/],
    ["a missing bin-n", (r) => void r.files.delete("1.bin-3.json"), /bin-3: \S+\/metadata\/1\.bin-3\.json answered HTTP 404 \(TUF 5\.6\.1\)\. The repository serves a file/],
    [
      "a snapshot changed after the timestamp hashed it",
      (r) => r.put("1.snapshot.json", r.files.get("1.snapshot.json")!.slice(0, -1)),
      /snapshot: length \d+ does not match the expected \d+ in timestamp version 1 \(TUF 5\.5\.2\)\. A file differs/,
    ],
  ];

  it.each(failures)("fails with one line and exit 1 on %s", async (_case, tamper, line) => {
    await tamper(repo);
    const server = await serve(repo);
    try {
      const { code, stdout, stderr } = await run("verify", "--url", server.url, "--root", rootFile);
      expect(code).toBe(1);
      expect(stdout).toBe("");
      expect(stderr).toMatch(ONE_LINE_ERROR);
      expect(stderr).toMatch(line);
    } finally {
      await server.close();
    }
  });

  it("stops on a server error, which a client would not read as a missing file", async () => {
    const server = await serve(repo, { status: 503 });
    try {
      const { code, stderr } = await run("verify", "--url", server.url, "--root", rootFile);
      expect(code).toBe(1);
      expect(stderr).toMatch(ONE_LINE_ERROR);
      expect(stderr).toMatch(/\/metadata\/2\.root\.json answered HTTP 503/);
    } finally {
      await server.close();
    }
  });

  it.each([
    [["verify", "--root", "x.json"], /missing required option --url/],
    [["verify", "--url", "http://127.0.0.1:1"], /missing required option --root/],
    [["verify", "--url", "not a url", "--root", "x.json"], /--url "not a url" is not a URL/],
  ])("refuses %j", async (argv, message) => {
    const { code, stderr } = await run(...argv);
    expect(stderr).toMatch(ONE_LINE_ERROR);
    expect(stderr).toMatch(message);
    expect(code).toBe(argv.includes("not a url") ? 1 : 2);
  });

  it("names a root file that is not root metadata", async () => {
    await writeJSON(rootFile, repo.ceremony.targets);
    const { code, stderr } = await run("verify", "--url", "http://127.0.0.1:1", "--root", rootFile);
    expect(code).toBe(1);
    expect(stderr).toMatch(/1\.root\.json is not valid root metadata \(expected _type root, got "targets"\)/);
  });
});

describe("tuf-edge verify against a local Worker (bit_length 10)", () => {
  let repo: Repo;
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 10 });
    dir = await tempDir();
  }, 120_000);
  afterAll(async () => {
    await repo?.close();
    await dir?.cleanup();
  });

  it("verifies the freshly bootstrapped repository and an upload", { timeout: 60_000 }, async () => {
    const rootFile = join(dir.path, "root.json");
    await writeJSON(rootFile, repo.ceremony.root);
    const saved = process.env.TUF_EDGE_NOW;
    delete process.env.TUF_EDGE_NOW; // the Worker signs with the real clock
    try {
      const add = await repo.publish({ add: [{ path: "pkg/a-1.0.tar.gz", length: 3, hashes: { sha256: "a".repeat(64) } }] });
      expect(add.status).toBe(200);
      const { code, stdout, stderr } = await run("verify", "--url", repo.worker.url, "--root", rootFile);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      expect(stdout).toMatch(/^timestamp\s+v2\s/m);
      expect(stdout).toMatch(/1024 bins checked/);
      expect(stdout).toContain("checked 1024 of 1026 targets roles");
    } finally {
      if (saved !== undefined) process.env.TUF_EDGE_NOW = saved;
    }
  });
});
