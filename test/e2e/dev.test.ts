/**
 * `tuf-edge dev` behaves like production (issue 14, item 2): it refuses a
 * port already in use; with --ceremony it runs a repository from your own
 * ceremony, online key and secrets from files you name; and it fires the
 * cron on wrangler.toml's schedule, so the timestamp moves with nobody
 * calling the scheduled handler.
 *
 * dev runs as a user would run it, as its own process in a folder holding a
 * wrangler.toml: here a copy with a one-minute cron and online roles short
 * enough that the first bins fall due within seconds of bootstrap.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "../../src/tuf/index.js";
import { cast, completeCeremony } from "../cli/helpers.js";
import { WEBHOOK_SECRET } from "../fixtures/ceremony.js";
import { freePort, projectCopy, runningDev, startDev, stopDev, until } from "./dev-process.js";

describe("tuf-edge dev", () => {
  let busy: Server;
  let cwd: string;
  beforeAll(() => {
    cwd = projectCopy((t) => t);
  });
  afterAll(() => {
    busy?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("refuses a port already in use, before starting anything", async () => {
    const port = await freePort();
    busy = createServer().listen(port, "127.0.0.1");
    await new Promise((r) => busy.once("listening", r));
    const dev = startDev(cwd, ["--port", String(port)]);
    expect(await dev.exited).toBe(1);
    expect(dev.output()).toBe(`error: port ${port} on 127.0.0.1 is already in use. Stop what listens there (another tuf-edge dev?) or pass another --port\n`);
  }, 60_000);
});

describe("tuf-edge dev --ceremony with a one-minute cron", () => {
  let cwd: string;
  let dev: Awaited<ReturnType<typeof runningDev>>;
  let url: string;

  beforeAll(async () => {
    cwd = projectCopy((t) =>
      t
        .replace(/^crons = \[.*\]$/m, 'crons = ["* * * * *"]')
        .replace(/^ONLINE_EXPIRY_HOURS = .*$/m, 'ONLINE_EXPIRY_HOURS = "1.2"')
        .replace(/^RENEW_FLOOR_HOURS = .*$/m, 'RENEW_FLOOR_HOURS = "0.1"'),
    );
    const keys = join(cwd, "keys");
    const ceremony = join(cwd, "ceremony");
    const c = await cast(keys);
    await completeCeremony(ceremony, c, "--bit-length", "6");
    writeFileSync(join(cwd, "secrets.env"), `WEBHOOK_SECRET=${WEBHOOK_SECRET}\nADMIN_TOKEN=dev-test-admin-token\n`);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    dev = await runningDev(cwd, ["--ceremony", ceremony, "--online-key", c.online.key, "--secrets", join(cwd, "secrets.env"), "--port", String(port)]);
  }, 180_000);

  afterAll(async () => {
    if (dev) await stopDev(dev);
    rmSync(cwd, { recursive: true, force: true });
  });

  it("bootstraps from the ceremony with the secrets named, and the cron moves the timestamp on its own", async () => {
    const vars = readFileSync(join(cwd, ".dev.vars"), "utf8");
    expect(vars).toContain(`WEBHOOK_SECRET="${WEBHOOK_SECRET}"`);
    expect(vars).toContain('ADMIN_TOKEN="dev-test-admin-token"');
    const version = async () => Metadata.fromBytes("timestamp", new Uint8Array(await (await fetch(`${url}/metadata/timestamp.json`)).arrayBuffer())).signed.version;
    const first = await version();
    expect(first).toBe(1);
    // Nobody calls the scheduled handler here: dev's own cron does, at the next minute.
    const moved = await until("the cron to renew due bins", 150, async () => ((await version()) > first ? version() : undefined));
    expect(moved).toBeGreaterThan(first);
    expect(dev.output()).toMatch(/cron \* \* \* \* \*: ran the scheduled handler \(200\)/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  }, 200_000);
});
