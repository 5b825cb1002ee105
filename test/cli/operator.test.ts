/**
 * The CLI never misleads (issue 14, item 3): each case an operator hit in
 * their first week, with its exit code and its one-line message.
 */
import { spawn } from "node:child_process";
import { copyFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startLocalWorker, type LocalWorker } from "../../scripts/local/worker.js";
import { holder, initArgs, ok, ONE_LINE_ERROR, run, useCeremony } from "./helpers.js";

const ADMIN_TOKEN = "operator-test-admin-token";
const WEBHOOK_SECRET = `whsec_${btoa("operator-test-webhook-secret")}`;
const NOWHERE = "http://127.0.0.1:9";

const oneLine = (r: { code: number; stderr: string }, code: number, text: string) => {
  expect(r.stderr).toMatch(ONE_LINE_ERROR);
  expect(r.stderr).toContain(text);
  expect(r.code).toBe(code);
};

describe("offline cases", () => {
  const ctx = useCeremony({ complete: true, initArgs: ["--bit-length", "3"] });

  it("publish --path --file --remove is a usage error, not a silent remove", async () => {
    await writeFile(join(ctx.tmp.path, "f.txt"), "x");
    const r = await run("publish", "--url", NOWHERE, "--path", "a/f.txt", "--file", join(ctx.tmp.path, "f.txt"), "--remove", "a/old.txt");
    oneLine(r, 2, "error: --remove cannot be combined with --path or --file: publish one change per command.");
  });

  it("rotate-online-key to the key already in use is refused", async () => {
    const r = await run("rotate-online-key", "--dir", ctx.dir, "--new-key", ctx.c.online.pub);
    oneLine(r, 1, `is already the online key of root v1, so there is nothing to rotate. Make a new key with tuf-edge keygen`);
  });

  it("root rotate with nothing to change is refused and points at renew", async () => {
    const r = await run("root", "rotate", "--dir", ctx.dir);
    oneLine(r, 2, `root v2 would change no key or threshold of root v1; pass what to rotate`);
    expect(r.stderr).toContain(`tuf-edge renew --dir ${ctx.dir} --role root`);
  });

  it("root rotate takes a short keyid as the CLI prints it, and explains one that matches no key", async () => {
    const short = `${ctx.c.root[2]!.keyid.slice(0, 4)}...`;
    const extra = await holder(ctx.tmp.path, "root-d", 9);
    await ok("root", "rotate", "--dir", ctx.dir, "--remove-root-key", short, "--add-root-key", extra.pub);
    await rm(join(ctx.dir, "2.root.json"));
    const r = await run("root", "rotate", "--dir", ctx.dir, "--remove-root-key", "ffff...");
    oneLine(r, 1, "error: no root key starts with ffff. Pass more of the keyid, the full keyid, or the key's .pub file");
  });

  it("root rotate warns loudly before trusting a key an earlier root revoked", async () => {
    const revokedKey = ctx.c.root[2]!;
    await ok("root", "rotate", "--dir", ctx.dir, "--remove-root-key", revokedKey.pub, "--root-threshold", "2");
    for (const h of ctx.c.root.slice(0, 2)) await ok("sign", "--key", h.key, join(ctx.dir, "2.root.json"));
    const r = await ok("root", "rotate", "--dir", ctx.dir, "--add-root-key", revokedKey.pub);
    expect(r.stderr).toContain(`warning: KEY ${revokedKey.keyid} WAS REVOKED: root v2 dropped it, and root v3 trusts it again.`);
  });

  it("bootstrap checks the ceremony locally before sending anything", async () => {
    const other = join(ctx.tmp.path, "unsigned");
    await ok(...initArgs(other, ctx.c, "--bit-length", "3"));
    const r = await run("bootstrap", "--url", NOWHERE, "--ceremony", other);
    oneLine(r, 1, "1.root.json is signed by only 0/2 of root v1's root keys");
    expect(r.stderr).not.toContain("cannot reach");
  });

  it("status names the renew command on an expired row", async () => {
    vi.stubEnv("TUF_EDGE_NOW", "2030-01-01T00:00:00Z");
    const r = await run("status", ctx.dir);
    expect(r.stdout).toContain(`draft a new version with tuf-edge renew --dir ${ctx.dir} --role targets`);
  });

  it("verify explains that --url is the base URL", async () => {
    const r = await run("verify", "--url", `${NOWHERE}/metadata/`, "--root", join(ctx.dir, "1.root.json"));
    oneLine(r, 2, "ends in /metadata, but --url is the Worker's base URL (metadata is read from URL/metadata/)");
  });
});

describe("against a local Worker", () => {
  const ctx = useCeremony({ once: true, complete: true, initArgs: ["--bit-length", "3"], env: { TUF_EDGE_NOW: "", TUF_EDGE_ADMIN_TOKEN: ADMIN_TOKEN, TUF_EDGE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
  let worker: LocalWorker;

  beforeAll(async () => {
    worker = await startLocalWorker({ dir: join(ctx.tmp.path, "state"), bindings: { ONLINE_KEY: ctx.c.online.seedHex, ADMIN_TOKEN, WEBHOOK_SECRET } });
  }, 120_000);
  afterAll(async () => worker?.stop());

  it("bootstrap: a 401 names TUF_EDGE_ADMIN_TOKEN, a second bootstrap names tuf-edge upload", async () => {
    vi.stubEnv("TUF_EDGE_ADMIN_TOKEN", "wrong");
    oneLine(await run("bootstrap", "--url", worker.url, "--ceremony", ctx.dir), 1, "Set TUF_EDGE_ADMIN_TOKEN to the Worker's ADMIN_TOKEN secret (ADMIN_TOKEN in .dev.vars for tuf-edge dev)");
    vi.stubEnv("TUF_EDGE_ADMIN_TOKEN", ADMIN_TOKEN);
    await ok("bootstrap", "--url", worker.url, "--ceremony", ctx.dir);
    const again = await run("bootstrap", "--url", worker.url, "--ceremony", ctx.dir);
    oneLine(again, 1, `answered 409 already_bootstrapped`);
    expect(again.stderr).toContain(`Nothing was changed. Publish later versions with tuf-edge upload --url ${worker.url} FILE...`);
  }, 60_000);

  it("publish --remove of a path never published is reported, and nothing is sent", async () => {
    const before = await (await fetch(`${worker.url}/api/v1/status`)).json();
    const r = await run("publish", "--url", worker.url, "--remove", "packages/never/never-1.0.tar.gz");
    oneLine(r, 1, `packages/never/never-1.0.tar.gz is not published on ${worker.url}, so there is nothing to remove`);
    expect(await (await fetch(`${worker.url}/api/v1/status`)).json()).toMatchObject({ roles: { timestamp: { version: (before as any).roles.timestamp.version } } });
  }, 60_000);

  it("a webhook-secret mismatch names TUF_EDGE_WEBHOOK_SECRET and .dev.vars", async () => {
    await writeFile(join(ctx.tmp.path, "f.txt"), "hello");
    vi.stubEnv("TUF_EDGE_WEBHOOK_SECRET", `whsec_${btoa("not the Worker's secret")}`);
    try {
      const r = await run("publish", "--url", worker.url, "--path", "files/f.txt", "--file", join(ctx.tmp.path, "f.txt"));
      oneLine(r, 1, "answered 401 signature_invalid");
      expect(r.stderr).toContain("set TUF_EDGE_WEBHOOK_SECRET (or WEBHOOK_SECRET in ./.dev.vars) to the Worker's WEBHOOK_SECRET secret");
      // A secret in the old, pre-Standard-Webhooks format is named as such before anything is sent.
      vi.stubEnv("TUF_EDGE_WEBHOOK_SECRET", "not-the-secret");
      const malformed = await run("publish", "--url", worker.url, "--path", "files/f.txt", "--file", join(ctx.tmp.path, "f.txt"));
      oneLine(malformed, 1, "the webhook secret is not whsec_<base64 of at least 16 bytes> (Standard Webhooks)");
      expect(malformed.stderr).toContain("Set TUF_EDGE_WEBHOOK_SECRET (or WEBHOOK_SECRET in ./.dev.vars)");
    } finally {
      vi.stubEnv("TUF_EDGE_WEBHOOK_SECRET", WEBHOOK_SECRET);
    }
    await ok("publish", "--url", worker.url, "--path", "files/f.txt", "--file", join(ctx.tmp.path, "f.txt"));
    const removed = await ok("publish", "--url", worker.url, "--remove", "files/f.txt");
    expect(removed.stdout).toMatch(/^published in timestamp \d+/);
  }, 60_000);

  it("publish exits 1 when the change is accepted but cannot be published, and says why", async () => {
    await worker.setBindings({ ONLINE_KEY: "0c".repeat(32) }); // a key the root does not name
    try {
      await writeFile(join(ctx.tmp.path, "g.txt"), "stuck");
      const r = await run("publish", "--url", worker.url, "--path", "files/g.txt", "--file", join(ctx.tmp.path, "g.txt"));
      oneLine(r, 1, "but not published: publishing is failing since");
      expect(r.stderr).toContain("ONLINE_KEY is not the key root v1 names for timestamp");
      expect(r.stderr).toContain(`It publishes once that is fixed (GET ${worker.url}/healthz names the problem`);
    } finally {
      await worker.setBindings({ ONLINE_KEY: ctx.c.online.seedHex });
    }
  }, 60_000);

  it("verify names a wrong root as the cause", async () => {
    // Another repository's root: the same holders, another online key.
    const other = join(ctx.tmp.path, "other");
    await ok(...initArgs(other, { ...ctx.c, online: await holder(ctx.tmp.path, "online-other", 12) }, "--bit-length", "3"));
    for (const h of ctx.c.root.slice(0, 2)) await ok("sign", "--key", h.key, join(other, "1.root.json"));
    const r = await run("verify", "--url", worker.url, "--root", join(other, "1.root.json"));
    oneLine(r, 1, `${join(other, "1.root.json")} is not this repository's root: ${worker.url}/metadata/1.root.json differs from it`);
    expect(r.stderr).toContain("Pass the root this repository was bootstrapped with (1.root.json of its ceremony) as --root");
    await copyFile(join(ctx.dir, "1.root.json"), join(other, "mine.json"));
    await ok("verify", "--url", worker.url, "--root", join(other, "mine.json"));
  }, 60_000);
});

describe("output piped into head", () => {
  it("exits quietly when the reader goes away (EPIPE), with no stack trace", async () => {
    const child = spawn(process.execPath, ["scripts/bin/tuf-edge.js", "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // as head does after its first lines
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  }, 60_000);
});
