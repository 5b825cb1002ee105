/**
 * The tuf-edge CLI dispatcher: `tuf-edge <command> [args]`.
 *
 * To add a command, write scripts/cli/NAME.ts exporting a `Command` (see
 * command.ts) and add one line to COMMANDS below. A name may be two words
 * ("root rotate"); the dispatcher matches the longest name first. Every error
 * reaches the user through `describeError` as one line on stderr.
 */
import { readFileSync } from "node:fs";
import type { Command } from "./command.js";
import { describeError, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.js";
import { audit } from "./audit.js";
import { bootstrap } from "./bootstrap.js";
import { client } from "./client.js";
import { dev } from "./dev.js";
import { importCommand } from "./import.js";
import { init } from "./init.js";
import { keygen } from "./keygen.js";
import { print } from "./output.js";
import { proxy } from "./proxy.js";
import { publish } from "./publish.js";
import { recover } from "./recover.js";
import { deleteRelease, unyank, yank } from "./release.js";
import { renew } from "./renew.js";
import { rootRotate } from "./root-rotate.js";
import { rotateOnlineKey } from "./rotate-online-key.js";
import { sign } from "./sign.js";
import { status } from "./status.js";
import { upload } from "./upload.js";
import { verify } from "./verify.js";

export type { Command } from "./command.js";

/** Every command, in the order `tuf-edge --help` lists them. */
export const COMMANDS: Record<string, Command> = {
  keygen,
  init,
  sign,
  status,
  "root rotate": rootRotate,
  "rotate-online-key": rotateOnlineKey,
  renew,
  bootstrap,
  recover,
  upload,
  publish,
  import: importCommand,
  yank,
  unyank,
  delete: deleteRelease,
  dev,
  verify,
  audit,
  client,
  proxy,
};

function globalUsage(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  return [
    "usage: tuf-edge <command> [options]",
    "",
    "Offline key ceremony and operations for a PEP 458 repository served by tuf-edge.",
    "root, targets and bins are signed offline by their key holders; snapshot,",
    "timestamp and every bin-n share one online key.",
    "",
    "commands:",
    ...names.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name]!.summary}`),
    "",
    'Run "tuf-edge <command> --help" for its options.',
    "Exit codes: 0 success, 1 failure, 2 bad command line.",
  ].join("\n");
}

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await dispatch([...argv]);
  } catch (err) {
    const { line, exitCode } = describeError(err);
    process.stderr.write(`${line}\n`);
    return exitCode;
  }
}

async function dispatch(args: string[]): Promise<number> {
  const first = args[0];
  if (first === undefined) {
    process.stderr.write(`${globalUsage()}\n`);
    return EXIT_USAGE;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    const topic = args.slice(1);
    if (topic.length > 0) return dispatch([...topic, "--help"]);
    print(globalUsage());
    return EXIT_OK;
  }
  if (first === "--version" || first === "-V") {
    print(version());
    return EXIT_OK;
  }

  const found = findCommand(args);
  if (!found) {
    // A group word on its own ("tuf-edge root") lists its commands.
    const group = Object.keys(COMMANDS).filter((name) => name.startsWith(`${first} `));
    if (group.length > 0 && (args.length === 1 || wantsHelp(args.slice(1)))) {
      print(`usage: tuf-edge ${first} <command>\n\ncommands:`);
      for (const name of group) print(`  ${name}  ${COMMANDS[name]!.summary}`);
      return args.length === 1 ? EXIT_USAGE : EXIT_OK;
    }
    const name = group.length > 0 && args[1] ? `${first} ${args[1]}` : first;
    throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  }
  const { command, rest } = found;
  if (wantsHelp(rest)) {
    print(command.usage);
    return EXIT_OK;
  }
  return command.run(rest);
}

function findCommand(args: readonly string[]): { command: Command; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    if (args.length < words) continue;
    const command = COMMANDS[args.slice(0, words).join(" ")];
    if (command) return { command, rest: args.slice(words) };
  }
  return undefined;
}

/** --help or -h anywhere before a "--" terminator. */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return `tuf-edge ${pkg.version ?? "unknown"}`;
  } catch {
    return "tuf-edge (version unknown)";
  }
}
