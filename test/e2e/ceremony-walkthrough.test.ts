/**
 * docs/ceremony.md and docs/operations.md, followed end to end on
 * `tuf-edge dev --ceremony` with the commands they print: the ceremony,
 * bootstrap, verify, publish, the yearly renewal (renew, sign, upload), and
 * the online-key rotation of operations.md section 7, where each
 * `wrangler secret put/delete` is a dev restart with other key files. The
 * steps that need a Cloudflare account (deploy, custom domain) are left out.
 */
import { writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cast, completeCeremony, ok, run } from "../cli/helpers.js";
import { WEBHOOK_SECRET } from "../fixtures/ceremony.js";
import { freePort, projectCopy, runningDev, stopDev } from "./dev-process.js";

describe("the ceremony and operations runbooks on tuf-edge dev --ceremony", () => {
  let cwd: string;
  let port: number;
  let url: string;
  let dev: Awaited<ReturnType<typeof runningDev>> | undefined;
  let c: Awaited<ReturnType<typeof cast>>;
  let dir: string;
  const secrets = () => join(cwd, "secrets.env");
  const start = async (...keys: string[]) => {
    if (dev) await stopDev(dev);
    dev = await runningDev(cwd, ["--ceremony", dir, ...keys, "--secrets", secrets(), "--port", String(port)]);
  };

  beforeAll(async () => {
    // A short CDN lifetime for timestamp.json: the Worker holds a rotated root this long (+1 s) before writing it.
    cwd = projectCopy((t) => t.replace(/^TIMESTAMP_MAX_AGE = "\d+"$/m, 'TIMESTAMP_MAX_AGE = "1"'));
    c = await cast(join(cwd, "keys"));
    dir = join(cwd, "ceremony");
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    writeFileSync(secrets(), `WEBHOOK_SECRET=${WEBHOOK_SECRET}\nADMIN_TOKEN=walkthrough-admin-token\n`);
    vi.stubEnv("TUF_EDGE_ADMIN_TOKEN", "walkthrough-admin-token");
    vi.stubEnv("TUF_EDGE_WEBHOOK_SECRET", WEBHOOK_SECRET);
  }, 60_000);
  afterAll(async () => {
    vi.unstubAllEnvs();
    if (dev) await stopDev(dev);
    await rm(cwd, { recursive: true, force: true });
  });

  it("ceremony → bootstrap → verify → publish → yearly renewal → online-key rotation → verify", async () => {
    // ceremony.md steps 1-4.
    await completeCeremony(dir, c, "--bit-length", "4");
    expect((await ok("status", dir)).stdout).toContain("ceremony complete: root v1, targets v1, bins v1 are signed and unexpired");

    // operations.md section 3: bootstrap (dev does it on the first run) and verify.
    await start("--online-key", c.online.key);
    expect(dev!.output()).toContain(`bootstrapped ${url}: 16 bins, snapshot 1, timestamp 1`);
    expect((await ok("verify", "--url", url, "--root", join(dir, "1.root.json"))).stdout).toContain(`${url} verifies`);

    // Section 4: the index's webhook, from a shell.
    writeFileSync(join(cwd, "demo-1.0.tar.gz"), "hello");
    expect((await ok("publish", "--url", url, "--path", "packages/demo/demo-1.0.tar.gz", "--file", join(cwd, "demo-1.0.tar.gz"))).stdout).toMatch(/^published in timestamp 2 /);

    // Section 6: the yearly renewal, ending with the upload.
    await ok("renew", "--dir", dir, "--role", "targets");
    for (const h of c.targets) await ok("sign", "--key", h.key, join(dir, "2.targets.json"));
    expect((await ok("upload", "--url", url, join(dir, "2.targets.json"))).stdout).toContain(`published targets v2 on ${url}`);

    // Section 7: online-key rotation.
    await ok("keygen", "--out", join(cwd, "keys", "online-2"), "--name", "online-2");
    const drafted = await ok("rotate-online-key", "--dir", dir, "--new-key", join(cwd, "keys", "online-2.pub"));
    expect(drafted.stdout).toContain("npx wrangler secret put ONLINE_KEY_NEXT");
    for (const h of c.root.slice(0, 2)) await ok("sign", "--key", h.key, join(dir, "2.root.json"));
    for (const h of c.targets) await ok("sign", "--key", h.key, join(dir, "2.bins.json"));
    expect((await ok("status", dir)).stdout).toContain("ceremony complete: root v2, targets v2, bins v2");
    // Uploading before ONLINE_KEY_NEXT is set is refused and changes nothing (the runbook's warning).
    const early = await run("upload", "--url", url, join(dir, "2.root.json"), join(dir, "2.bins.json"));
    expect(early.code).toBe(1);
    expect(early.stderr).toContain("answered 422 unknown_key");
    expect(early.stderr).toContain("npx wrangler secret put ONLINE_KEY_NEXT");
    // Step 1: `wrangler secret put ONLINE_KEY_NEXT`, locally a restart with --online-key-next.
    await start("--online-key", c.online.key, "--online-key-next", join(cwd, "keys", "online-2.key"));
    expect((await ok("upload", "--url", url, join(dir, "2.root.json"), join(dir, "2.bins.json"))).stdout).toContain(`published root v2, bins v2 on ${url}`);
    expect((await ok("verify", "--url", url, "--root", join(dir, "1.root.json"))).stdout).toContain("starting from root v1");
    // Step 4 waits until the Worker serves root v2 (it writes it TIMESTAMP_MAX_AGE after the upload).
    for (let i = 0; i < 50 && (await (await fetch(`${url}/metadata/2.root.json`)).status) !== 200; i++) await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${url}/metadata/2.root.json`)).status).toBe(200);
    // Step 4: `secret put ONLINE_KEY` (new seed), then `secret delete ONLINE_KEY_NEXT`: a restart with the new key only.
    await start("--online-key", join(cwd, "keys", "online-2.key"));
    expect((await ok("publish", "--url", url, "--path", "packages/demo/demo-1.1.tar.gz", "--file", join(cwd, "demo-1.0.tar.gz"))).stdout).toMatch(/^published in timestamp \d+ /);
    expect((await ok("verify", "--url", url, "--root", join(dir, "1.root.json"))).stdout).toContain(`${url} verifies`);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
  }, 400_000);
});
