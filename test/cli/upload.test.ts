/**
 * `tuf-edge upload`: offline checks against the ceremony directory (nothing is
 * sent when they fail), then the real round trip against a local Worker
 * (workerd): a renewal, an online-key rotation before and after
 * ONLINE_KEY_NEXT is set, and the Worker's refusals as one-line errors.
 */
import { cp, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import { startLocalWorker, type LocalWorker } from "../../scripts/local/worker.js";
import { WEBHOOK_SECRET } from "../fixtures/ceremony.js";
import { holder, ok, ONE_LINE_ERROR, readJSON, run, useCeremony, writeJSON } from "./helpers.js";

const ADMIN_TOKEN = "upload-test-admin-token";

describe("tuf-edge upload: offline checks", () => {
  const ctx = useCeremony({ complete: true, initArgs: ["--bit-length", "3"], env: { TUF_EDGE_ADMIN_TOKEN: ADMIN_TOKEN } });
  const file = (name: string) => join(ctx.dir, name);
  const signAll = async (path: string, holders: { key: string }[]) => {
    for (const h of holders) await ok("sign", "--key", h.key, path);
  };

  it("--dry-run reports who signed each file and sends nothing", async () => {
    await ok("renew", "--dir", ctx.dir, "--role", "targets");
    await signAll(file("2.targets.json"), ctx.c.targets);
    // An unreachable URL: a dry run must not even try it.
    const { stdout, stderr } = await ok("upload", "--dry-run", "--url", "http://127.0.0.1:9", file("2.targets.json"));
    expect(stderr).toBe("");
    expect(stdout).toContain("2.targets.json: targets v2, signed by 2/2 of root v1's targets keys, expires 2027-01-01T00:00:00Z");
    expect(stdout).toMatch(/^dry run: would upload targets v2 \(\d+ bytes\) to POST http:\/\/127\.0\.0\.1:9\/api\/v1\/metadata; nothing was sent$/m);
  });

  it("checks a root rotation against both thresholds", async () => {
    await ok("renew", "--dir", ctx.dir, "--role", "root");
    await signAll(file("2.root.json"), ctx.c.root.slice(0, 2));
    const { stdout } = await ok("upload", "--dry-run", file("2.root.json"));
    expect(stdout).toContain("2.root.json: root v2, signed by 2/2 of root v1's root keys and 2/2 of root v2's root keys");
  });

  type Case = { name: string; setup: () => Promise<string[]>; code: number; message: () => string };
  const refusals: Case[] = [
    {
      name: "an unsigned targets",
      setup: async () => (await ok("renew", "--dir", ctx.dir, "--role", "targets"), [file("2.targets.json")]),
      code: 1,
      message: () => `${file("2.targets.json")} is signed by only 0/2 of root v1's targets keys (missing: ${ctx.c.targets.map((h) => h.keyid).join(", ")})`,
    },
    {
      name: "a root signed by root v1's keys only once",
      setup: async () => {
        await ok("renew", "--dir", ctx.dir, "--role", "root");
        await signAll(file("2.root.json"), [ctx.c.root[0]!]);
        return [file("2.root.json")];
      },
      code: 1,
      message: () => "2.root.json is signed by only 1/2 of root v1's root keys",
    },
    {
      name: "an expired file",
      setup: async () => {
        await ok("renew", "--dir", ctx.dir, "--role", "bins", "--expires-days", "1");
        await signAll(file("2.bins.json"), ctx.c.targets);
        vi.stubEnv("TUF_EDGE_NOW", "2026-01-03T00:00:00Z");
        return [file("2.bins.json")];
      },
      code: 1,
      message: () => `${file("2.bins.json")} expired at 2026-01-02T00:00:00Z, so the Worker would refuse it`,
    },
    {
      name: "a root with a new online key but no bins",
      setup: async () => {
        const next = await holder(ctx.tmp.path, "online-2", 40);
        await ok("rotate-online-key", "--dir", ctx.dir, "--new-key", next.pub);
        await signAll(file("2.root.json"), ctx.c.root.slice(0, 2));
        return [file("2.root.json")];
      },
      code: 1,
      message: () => "root v2 moves snapshot and timestamp to online key",
    },
    {
      name: "a root with new targets keys but no targets",
      setup: async () => {
        const t = [await holder(ctx.tmp.path, "t-new-1", 41), await holder(ctx.tmp.path, "t-new-2", 42)];
        await ok("root", "rotate", "--dir", ctx.dir, ...t.flatMap((h) => ["--targets-key", h.pub]));
        await signAll(file("2.root.json"), ctx.c.root.slice(0, 2));
        return [file("2.root.json")];
      },
      code: 1,
      message: () => "root v2 changes the targets keys, but no targets is uploaded with it",
    },
    {
      name: "a bins on another online key than root's",
      setup: async () => {
        const next = await holder(ctx.tmp.path, "online-2", 40);
        await ok("rotate-online-key", "--dir", ctx.dir, "--new-key", next.pub);
        await signAll(file("2.bins.json"), ctx.c.targets);
        await rm(file("2.root.json"));
        return [file("2.bins.json")];
      },
      code: 1,
      message: () => "2.bins.json delegates bin-n to",
    },
    {
      name: "two files of one role",
      setup: async () => {
        await ok("renew", "--dir", ctx.dir, "--role", "targets");
        return [file("1.targets.json"), file("2.targets.json")];
      },
      code: 2,
      message: () => "are both targets metadata; upload one version of each role at a time",
    },
    {
      name: "a file that is not ceremony metadata",
      setup: async () => {
        await writeJSON(join(ctx.tmp.path, "root.json"), {});
        return [join(ctx.tmp.path, "root.json")];
      },
      code: 1,
      message: () => "root.json is not a ceremony file name",
    },
  ];
  it.each(refusals)("refuses $name with one line, before sending", async ({ setup, code, message }) => {
    const files = await setup();
    // Port 9 (discard) is never a Worker: a check that passed would fail with "cannot reach".
    const result = await run("upload", "--url", "http://127.0.0.1:9", ...files);
    expect(result.stderr).toMatch(ONE_LINE_ERROR);
    expect(result.stderr).toContain(message());
    expect(result.stderr).not.toContain("cannot reach");
    expect(result.code).toBe(code);
  });

  it("needs --url unless --dry-run", async () => {
    const result = await run("upload", file("1.targets.json"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("missing required option --url");
  });

  it("checks files copied away from the ceremony as far as it can", async () => {
    await ok("renew", "--dir", ctx.dir, "--role", "root");
    await signAll(file("2.root.json"), ctx.c.root.slice(0, 2));
    const alone = join(ctx.tmp.path, "alone");
    await mkdir(alone);
    await cp(file("2.root.json"), join(alone, "2.root.json"));
    const { stdout } = await ok("upload", "--dry-run", join(alone, "2.root.json"));
    expect(stdout).toContain("note: 1.root.json is not beside 2.root.json, so only the Worker checks root v1's threshold");
    expect(stdout).toContain("2.root.json: root v2, signed by 2/2 of root v2's root keys");
  });
});

describe("tuf-edge upload against a local Worker", () => {
  // The Worker runs on the real clock, so the ceremony does too.
  const ctx = useCeremony({ once: true, complete: true, initArgs: ["--bit-length", "3"], env: { TUF_EDGE_NOW: "", TUF_EDGE_ADMIN_TOKEN: ADMIN_TOKEN } });
  let worker: LocalWorker;
  const file = (name: string) => join(ctx.dir, name);
  const signAll = async (path: string, holders: { key: string }[]) => {
    for (const h of holders) await ok("sign", "--key", h.key, path);
  };
  const status = async () => (await (await fetch(`${worker.url}/api/v1/status`)).json()) as { roles: Record<string, { version: number }> };

  beforeAll(async () => {
    worker = await startLocalWorker({
      dir: join(ctx.tmp.path, "state"),
      // A short CDN lifetime for timestamp.json: the Worker holds a rotated root this long (plus a second).
      bindings: { ONLINE_KEY: ctx.c.online.seedHex, ADMIN_TOKEN, WEBHOOK_SECRET, TIMESTAMP_MAX_AGE: "1" },
    });
    await ok("bootstrap", "--url", worker.url, "--ceremony", ctx.dir);
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
  });

  it("publishes a renewed targets and says what the repository now has", async () => {
    await ok("renew", "--dir", ctx.dir, "--role", "targets");
    await signAll(file("2.targets.json"), ctx.c.targets);
    const { stdout } = await ok("upload", "--url", worker.url, file("2.targets.json"));
    expect(stdout).toMatch(
      new RegExp(`^published targets v2 on ${worker.url}: timestamp \\d+, snapshot \\d+ \\(the repository now has root v1, targets v2, bins v1\\)$`, "m"),
    );
    expect((await status()).roles.targets!.version).toBe(2);
    const served = await fetch(`${worker.url}/metadata/2.targets.json`);
    expect(Metadata.fromBytes("targets", new Uint8Array(await served.arrayBuffer())).signed.version).toBe(2);
  }, 60_000);

  it("refuses the same version again, or an older one, before sending, and names the next version to draft", async () => {
    const same = await run("upload", "--url", worker.url, file("2.targets.json"));
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(ONE_LINE_ERROR);
    expect(same.stderr).toContain(`${file("2.targets.json")} is targets v2, the same version as published targets v2. Nothing was sent. Draft targets v3 (tuf-edge renew --dir DIR --role targets`);
    const older = await run("upload", "--url", worker.url, file("1.targets.json"));
    expect(older.code).toBe(1);
    expect(older.stderr).toMatch(ONE_LINE_ERROR);
    expect(older.stderr).toContain(`${file("1.targets.json")} is targets v1, older than published targets v2. Nothing was sent. Draft targets v3`);
    expect(older.stderr).not.toContain("signatures");
  }, 60_000);

  it("says which token to set on a 401", async () => {
    await ok("renew", "--dir", ctx.dir, "--role", "targets");
    await signAll(file("3.targets.json"), ctx.c.targets);
    vi.stubEnv("TUF_EDGE_ADMIN_TOKEN", "wrong");
    try {
      const result = await run("upload", "--url", worker.url, file("3.targets.json"));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("answered 401 unauthorized");
      expect(result.stderr).toContain("Set TUF_EDGE_ADMIN_TOKEN to the Worker's ADMIN_TOKEN secret");
    } finally {
      vi.stubEnv("TUF_EDGE_ADMIN_TOKEN", ADMIN_TOKEN);
    }
  }, 60_000);

  it("rotates the online key: refused until ONLINE_KEY_NEXT is set, published after", async () => {
    const next = await holder(ctx.tmp.path, "online-2", 40);
    await ok("rotate-online-key", "--dir", ctx.dir, "--new-key", next.pub);
    await signAll(file("2.root.json"), ctx.c.root.slice(0, 2));
    await signAll(file("2.bins.json"), ctx.c.targets);
    const files = [file("2.root.json"), file("2.bins.json")];

    const early = await run("upload", "--url", worker.url, ...files);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain("answered 422 unknown_key");
    expect(early.stderr).toContain("npx wrangler secret put ONLINE_KEY_NEXT");
    expect((await status()).roles.root!.version).toBe(1);

    await worker.setBindings({ ONLINE_KEY_NEXT: next.seedHex });
    const { stdout } = await ok("upload", "--url", worker.url, ...files);
    expect(stdout).toContain("published root v2, bins v2");
    // Root v2 waits until no cache can hold a timestamp.json signed by the old key alone.
    expect(stdout).toMatch(/root v2 is written at \S+Z: TIMESTAMP_MAX_AGE after the first timestamp\.json signed for it/);
    const timestamp = (await (await fetch(`${worker.url}/metadata/timestamp.json`)).json()) as { signatures: { keyid: string }[] };
    expect(timestamp.signatures.map((s) => s.keyid).sort()).toEqual([ctx.c.online.keyid, next.keyid].sort());
    expect((await status()).roles.root!.version).toBe(1);
    expect((await fetch(`${worker.url}/metadata/2.root.json`)).status).toBe(404);
    for (let i = 0; i < 100 && (await status()).roles.root!.version === 1; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await status()).roles.root!.version).toBe(2);
    expect((await fetch(`${worker.url}/metadata/2.root.json`)).status).toBe(200);
    expect((await readJSON(file("2.root.json"))).signed.version).toBe(2);
  }, 120_000);
});
