/**
 * `tuf-edge dev` (npm start): a local edge repository on workerd.
 *
 * First run: makes demo keys and a signed ceremony under .tuf-edge/, writes
 * .dev.vars (ONLINE_KEY, WEBHOOK_SECRET, ADMIN_TOKEN, UPLOAD_TOKEN), starts `wrangler dev`
 * with local R2 and Durable Object storage persisted in .tuf-edge/state,
 * bootstraps, and publishes a sample artifact. Later runs reuse all of it.
 * Demo keys sit unencrypted on this machine: they are for trying tuf-edge, never for production.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename, join, resolve } from "node:path";
import { isWebhookSecret } from "../../src/http/auth.js";
import { parseCommandArgs, intOption } from "./args.js";
import type { Command } from "./command.js";
import { cronsOf, nextFire, parseCron, runSchedules } from "./cron.js";
import { CliError, fromFsError, UsageError } from "./errors.js";
import { print } from "./output.js";

const STATE = ".tuf-edge";
const KEYS = join(STATE, "keys");
const CEREMONY = join(STATE, "ceremony");

const USAGE = `usage: tuf-edge dev [--port 8787] [--bit-length 10]
       tuf-edge dev --ceremony DIR --online-key KEY --secrets FILE [--online-key-next KEY] [--port 8787]

Runs a local tuf-edge repository on workerd (wrangler dev) with local R2 and
Durable Object storage in ${STATE}/state. On first run it makes demo keys
(${KEYS}), signs a ceremony (${CEREMONY}), writes .dev.vars, bootstraps and
publishes a sample artifact. Delete ${STATE}/ and .dev.vars to start over.
The cron triggers of wrangler.toml fire on their schedule, as on Cloudflare.

With --ceremony, it runs a repository from your own ceremony instead, to
rehearse it, the renewals, rotations and compromise recovery
(docs/ceremony.md, docs/operations.md). .dev.vars is written from the files
you name; state lives in ${STATE}/ceremonies/<DIR's name>. Secrets change as on
Cloudflare, by restarting: \`wrangler secret put ONLINE_KEY_NEXT\` is a restart
with --online-key-next, and \`secret put ONLINE_KEY\` + \`secret delete
ONLINE_KEY_NEXT\` is a restart with only --online-key NEW.key.

options:
  --port N                port on 127.0.0.1 (default 8787); refused if in use
  --bit-length B          bins for a NEW demo repository: 2^B (default 10; PEP 458 uses 14,
                          which a fresh tuf-js 5 client took 95.6 s to refresh, see docs/performance.md)
  --ceremony DIR          your ceremony directory (bootstrapped from its 1.root.json on first run)
  --online-key KEY        the online key's .key file (tuf-edge keygen): ONLINE_KEY is its seed
  --online-key-next KEY   the next online key's .key file: ONLINE_KEY_NEXT, during a rotation
  --secrets FILE          a file of WEBHOOK_SECRET=... and ADMIN_TOKEN=... lines`;

export const dev: Command = {
  summary: "run a local repository on workerd (npm start)",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("dev", args, {
      port: { type: "string" },
      "bit-length": { type: "string" },
      ceremony: { type: "string" },
      "online-key": { type: "string" },
      "online-key-next": { type: "string" },
      secrets: { type: "string" },
    });
    const port = intOption(values.port, "port", "dev", { min: 1, max: 65535 }) ?? 8787;
    const bitLength = intOption(values["bit-length"], "bit-length", "dev", { min: 1, max: 16 }) ?? 10;
    const own = values.ceremony;
    if (own === undefined && (values["online-key"] ?? values["online-key-next"] ?? values.secrets) !== undefined)
      throw new UsageError("--online-key, --online-key-next and --secrets go with --ceremony DIR", "dev");
    if (own !== undefined && values["bit-length"] !== undefined)
      throw new UsageError("--bit-length is for the demo repository; your ceremony's bins fix the bin count", "dev");
    const crons = cronsOf("wrangler.toml").map((c) => {
      try {
        return parseCron(c);
      } catch (err) {
        throw new CliError(`wrangler.toml: ${(err as Error).message}`, "Fix [triggers] crons");
      }
    });
    await requireFreePort(port);
    if (own !== undefined) return runCeremony(own, values, port, crons.map((c) => c.expression));
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
    // A .dev.vars that dev --ceremony wrote holds another repository's keys: the demo makes its own again.
    if (!existsSync(".dev.vars") || readFileSync(".dev.vars", "utf8").includes("tuf-edge dev --ceremony")) {
      const online = JSON.parse(readFileSync(join(KEYS, "online.key"), "utf8")) as { seed: string };
      writeFileSync(
        ".dev.vars",
        [
          "# Local secrets for wrangler dev, made by `npm start`. Never commit this file.",
          `ONLINE_KEY="${online.seed}"`,
          `WEBHOOK_SECRET="whsec_${randomBytes(32).toString("base64")}"`,
          `ADMIN_TOKEN="${randomBytes(32).toString("hex")}"`,
          `UPLOAD_TOKEN="${randomBytes(32).toString("hex")}"`,
          "",
        ].join("\n"),
        { mode: 0o600 },
      );
      print("wrote .dev.vars (ONLINE_KEY, WEBHOOK_SECRET, ADMIN_TOKEN, UPLOAD_TOKEN)");
    } else if (!/^UPLOAD_TOKEN=/m.test(readFileSync(".dev.vars", "utf8"))) {
      appendFileSync(".dev.vars", `UPLOAD_TOKEN="${randomBytes(32).toString("hex")}"\n`);
      print("added UPLOAD_TOKEN (the twine password) to .dev.vars");
    }

    const { url, exited } = await startWrangler(port, join(STATE, "state"), crons.map((c) => c.expression));
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
    print("Python index (upload with twine, install with pip or uv; the password is UPLOAD_TOKEN in .dev.vars):");
    print(`  TWINE_PASSWORD="$(sed -n 's/^UPLOAD_TOKEN="\\(.*\\)"/\\1/p' .dev.vars)" twine upload --repository-url ${url}/legacy/ -u __token__ dist/*`);
    print(`  pip install --index-url ${url}/simple/ YOUR-PROJECT        (uv: uv pip install --index-url ${url}/simple/ …)`);
    print("install through a local proxy that checks every page and file with TUF (in another shell):");
    print(`  npx tuf-edge proxy --url ${url} --root ${resolve(CEREMONY, "1.root.json")}`);
    print("  pip install --index-url http://127.0.0.1:3141/simple/ PACKAGE");
    print("stop with Ctrl-C.");
    return exited;
  },
};

/** wrangler dev on 127.0.0.1:PORT with state in STATE, plus the local cron; resolves once it answers. */
async function startWrangler(port: number, state: string, crons: readonly string[]): Promise<{ url: string; exited: Promise<number> }> {
  const url = `http://127.0.0.1:${port}`;
  print(`== starting wrangler dev on ${url} (state in ${state})`);
  const child = spawn(
    resolve("node_modules/.bin/wrangler"),
    // A free inspector port: wrangler's fixed 9229 makes a second tuf-edge dev on the machine fail to start.
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await anyFreePort()), "--persist-to", state, "--test-scheduled", "--show-interactive-dev-session=false"],
    { stdio: ["ignore", "inherit", "inherit"], detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  let stopCron = () => {};
  const stop = () => {
    stopCron();
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      /* already gone */
    }
  };
  process.once("SIGINT", () => (stop(), process.exit(130)));
  process.once("SIGTERM", () => (stop(), process.exit(143)));
  const exited = new Promise<number>((r) => child.once("exit", (code) => (stopCron(), r(code ?? 1))));
  try {
    await waitForWorker(url, exited);
  } catch (err) {
    stop(); // a wrangler dev that never got ready (a build error) would keep dev alive, silently
    throw err;
  }
  // wrangler dev only warns that cron triggers don't run locally: fire them here, as Cloudflare would.
  stopCron = runSchedules(crons, async (cron) => {
    const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent(cron)}`);
    await res.body?.cancel();
    print(`cron ${cron}: ran the scheduled handler (${res.status})`);
  });
  for (const cron of crons) print(`cron ${cron}: fires locally, next at ${nextFire(parseCron(cron), new Date()).toISOString()}`);
  return { url, exited };
}

function anyFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** Refuses a port something already listens on, instead of talking to that server as if it were ours. */
async function requireFreePort(port: number): Promise<void> {
  await new Promise<void>((resolvePort, reject) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new CliError(`port ${port} on 127.0.0.1 is already in use`, "Stop what listens there (another tuf-edge dev?) or pass another --port")
          : err,
      ),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolvePort()));
  });
}

/** `dev --ceremony DIR`: your own ceremony, its online key and secrets from files you name. */
async function runCeremony(
  dir: string,
  values: { "online-key"?: string; "online-key-next"?: string; secrets?: string },
  port: number,
  crons: readonly string[],
): Promise<number> {
  const { main } = await import("./main.js");
  if (!existsSync(join(dir, "1.root.json"))) throw new CliError(`${dir} has no 1.root.json`, "Pass the ceremony directory of tuf-edge init (docs/ceremony.md)");
  if (values["online-key"] === undefined) throw new UsageError("--ceremony needs --online-key KEY (the online key's .key file)", "dev");
  if (values.secrets === undefined) throw new UsageError("--ceremony needs --secrets FILE (WEBHOOK_SECRET=... and ADMIN_TOKEN=... lines)", "dev");
  const secrets = readSecrets(values.secrets);
  const vars = [
    `# Local secrets for wrangler dev, written by tuf-edge dev --ceremony ${resolve(dir)}. Never commit this file.`,
    `ONLINE_KEY="${seedOf(values["online-key"])}"`,
    ...(values["online-key-next"] === undefined ? [] : [`ONLINE_KEY_NEXT="${seedOf(values["online-key-next"])}"`]),
    `WEBHOOK_SECRET="${secrets.WEBHOOK_SECRET}"`,
    `ADMIN_TOKEN="${secrets.ADMIN_TOKEN}"`,
    "",
  ].join("\n");
  writeFileSync(".dev.vars", vars, { mode: 0o600 });
  print(`wrote .dev.vars (ONLINE_KEY${values["online-key-next"] === undefined ? "" : ", ONLINE_KEY_NEXT"}, WEBHOOK_SECRET, ADMIN_TOKEN) from the files named`);
  const state = join(STATE, "ceremonies", basename(resolve(dir)));
  const { url, exited } = await startWrangler(port, state, crons);
  const status = await fetch(`${url}/api/v1/status`);
  if (status.status === 409) {
    print(`== bootstrapping from ${dir}`);
    if ((await main(["bootstrap", "--url", url, "--ceremony", dir])) !== 0) throw new CliError("tuf-edge bootstrap failed", "See the message above");
  }
  print("");
  print("tuf-edge is running.");
  print(`  metadata:      ${url}/metadata/`);
  print(`  trusted root:  ${resolve(dir, "1.root.json")}`);
  print(`  health:        ${url}/healthz and ${url}/api/v1/status`);
  print(`  secrets:       .dev.vars (tuf-edge publish and upload read WEBHOOK_SECRET and ADMIN_TOKEN from it)`);
  print("stop with Ctrl-C.");
  return exited;
}

function seedOf(keyFile: string): string {
  let seed: unknown;
  try {
    seed = (JSON.parse(readFileSync(keyFile, "utf8")) as { seed?: unknown }).seed;
  } catch (err) {
    const fsError = fromFsError(err, keyFile);
    if (fsError instanceof CliError) throw fsError;
    throw new CliError(`${keyFile} is not a tuf-edge keygen .key file`, "Pass the online key's .key file (not its .pub)");
  }
  if (typeof seed !== "string" || !/^[0-9a-f]{64}$/.test(seed))
    throw new CliError(`${keyFile} has no Ed25519 seed`, "Pass the online key's .key file made by tuf-edge keygen (not its .pub)");
  return seed;
}

function readSecrets(file: string): Record<"WEBHOOK_SECRET" | "ADMIN_TOKEN", string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw fromFsError(err, file);
  }
  const get = (name: "WEBHOOK_SECRET" | "ADMIN_TOKEN") => {
    const value = new RegExp(`^${name}\\s*=\\s*"?([^"\\n]*)"?\\s*$`, "m").exec(text)?.[1];
    if (!value) throw new CliError(`${file} has no ${name}=... line`, `Add one, e.g. ${name}=$(openssl rand -hex 32)`);
    return value;
  };
  const webhookSecret = get("WEBHOOK_SECRET");
  // Caught here: the Worker would only fail on its first webhook, after dev said it was running.
  if (!isWebhookSecret(webhookSecret))
    throw new CliError(`${file}: WEBHOOK_SECRET is not whsec_<base64 of at least 16 bytes> (Standard Webhooks)`, "Make one with: echo WEBHOOK_SECRET=whsec_$(openssl rand -base64 32)");
  return { WEBHOOK_SECRET: webhookSecret, ADMIN_TOKEN: get("ADMIN_TOKEN") };
}

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
