/**
 * `tuf-edge dev` (npm start): a local edge repository on workerd.
 *
 * First run: makes demo keys and a signed ceremony under .tuf-edge/, writes
 * .dev.vars (ONLINE_KEY, WEBHOOK_SECRET, ADMIN_TOKEN), starts `wrangler dev`
 * with local R2 and Durable Object storage persisted in .tuf-edge/state,
 * bootstraps, and publishes a sample artifact. Later runs reuse all of it.
 * Demo keys sit unencrypted on this machine: they are for trying tuf-edge, never for production.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseCommandArgs, intOption } from "./args.js";
import type { Command } from "./command.js";
import { CliError } from "./errors.js";
import { print } from "./output.js";

const STATE = ".tuf-edge";
const KEYS = join(STATE, "keys");
const CEREMONY = join(STATE, "ceremony");

const USAGE = `usage: tuf-edge dev [--port 8787] [--bit-length 10]

Runs a local tuf-edge repository on workerd (wrangler dev) with local R2 and
Durable Object storage in ${STATE}/state. On first run it makes demo keys
(${KEYS}), signs a ceremony (${CEREMONY}), writes .dev.vars, bootstraps and
publishes a sample artifact. Delete ${STATE}/ and .dev.vars to start over.

options:
  --port N         port on 127.0.0.1 (default 8787)
  --bit-length B   bins for a NEW demo repository: 2^B (default 10; PEP 458 uses 14,
                   which tuf-js 5 clients take ~70 s to refresh, see docs/performance.md)`;

export const dev: Command = {
  summary: "run a local repository on workerd (npm start)",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("dev", args, { port: { type: "string" }, "bit-length": { type: "string" } });
    const port = intOption(values.port, "port", "dev", { min: 1, max: 65535 }) ?? 8787;
    const bitLength = intOption(values["bit-length"], "bit-length", "dev", { min: 1, max: 16 }) ?? 10;
    const { main } = await import("./main.js");
    const cli = async (...argv: string[]) => {
      if ((await main(argv)) !== 0) throw new CliError(`tuf-edge ${argv[0]} failed`, "See the message above");
    };

    if (!existsSync(join(CEREMONY, "1.root.json"))) {
      print("== first run: demo key ceremony (3 root holders, threshold 2; 2 targets/bins holders; 1 online key)");
      mkdirSync(KEYS, { recursive: true });
      for (const name of ["root-1", "root-2", "root-3", "targets-1", "targets-2", "online"]) await cli("keygen", "--out", join(KEYS, name));
      const pub = (name: string) => join(KEYS, `${name}.pub`);
      await cli(
        "init", "--dir", CEREMONY,
        "--root-key", pub("root-1"), "--root-key", pub("root-2"), "--root-key", pub("root-3"), "--root-threshold", "2",
        "--targets-key", pub("targets-1"), "--targets-key", pub("targets-2"), "--targets-threshold", "2",
        "--online-key", pub("online"), "--bit-length", String(bitLength),
      );
      for (const file of ["1.root.json", "1.targets.json", "1.bins.json"])
        for (const holder of file === "1.root.json" ? ["root-1", "root-2"] : ["targets-1", "targets-2"])
          await cli("sign", "--key", join(KEYS, `${holder}.key`), join(CEREMONY, file));
    }
    if (!existsSync(".dev.vars")) {
      const online = JSON.parse(readFileSync(join(KEYS, "online.key"), "utf8")) as { seed: string };
      writeFileSync(
        ".dev.vars",
        [
          "# Local secrets for wrangler dev, made by `npm start`. Never commit this file.",
          `ONLINE_KEY="${online.seed}"`,
          `WEBHOOK_SECRET="whsec_${randomBytes(32).toString("base64")}"`,
          `ADMIN_TOKEN="${randomBytes(32).toString("hex")}"`,
          "",
        ].join("\n"),
        { mode: 0o600 },
      );
      print("wrote .dev.vars (ONLINE_KEY, WEBHOOK_SECRET, ADMIN_TOKEN)");
    }

    const url = `http://127.0.0.1:${port}`;
    print(`== starting wrangler dev on ${url} (state in ${STATE}/state)`);
    const child = spawn(
      resolve("node_modules/.bin/wrangler"),
      ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", join(STATE, "state"), "--show-interactive-dev-session=false"],
      { stdio: ["ignore", "inherit", "inherit"], detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
    );
    const stop = () => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* already gone */
      }
    };
    process.once("SIGINT", () => (stop(), process.exit(130)));
    process.once("SIGTERM", () => (stop(), process.exit(143)));
    const exited = new Promise<number>((r) => child.once("exit", (code) => r(code ?? 1)));

    await waitForWorker(url, exited);
    const status = await fetch(`${url}/api/v1/status`);
    if (status.status === 409) {
      print("== bootstrapping");
      await cli("bootstrap", "--url", url, "--ceremony", CEREMONY);
      print("== publishing a sample artifact: demo/hello.txt (hosted by this repository)");
      const token = /^ADMIN_TOKEN="?([^"\n]*)"?/m.exec(readFileSync(".dev.vars", "utf8"))![1]!;
      const put = await fetch(`${url}/api/v1/targets/demo/hello.txt?wait=true`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}` },
        body: "hello from tuf-edge\n",
      });
      if (!put.ok) throw new CliError(`sample upload failed: ${put.status} ${await put.text()}`, "See the Worker log above");
    }
    mkdirSync(join(STATE, "sample"), { recursive: true });
    writeFileSync(join(STATE, "sample", "another.txt"), `another artifact, made at ${new Date().toISOString()}\n`);
    print("");
    print("tuf-edge is running.");
    print(`  metadata:      ${url}/metadata/        (timestamp: ${url}/metadata/timestamp.json)`);
    print(`  targets:       ${url}/targets/         (sample: ${url}/targets/demo/hello.txt)`);
    print(`  trusted root:  ${resolve(CEREMONY, "1.root.json")}`);
    print(`  status:        ${url}/api/v1/status`);
    print("publish another artifact (the index's webhook, from a shell):");
    print(`  npx tuf-edge publish --url ${url} --path demo/another.txt --file ${join(STATE, "sample", "another.txt")}`);
    print("install through a local proxy that checks every page and file with TUF (in another shell):");
    print(`  npx tuf-edge proxy --url ${url} --root ${resolve(CEREMONY, "1.root.json")}`);
    print("  pip install --index-url http://127.0.0.1:3141/simple/ PACKAGE");
    print("stop with Ctrl-C.");
    return exited;
  },
};

async function waitForWorker(url: string, exited: Promise<number>): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (done) throw new CliError("wrangler dev exited before it was ready", "See its output above");
    try {
      await fetch(`${url}/healthz`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new CliError(`${url} did not answer within 60 s`, "See the wrangler dev output above");
}
