/**
 * `tuf-edge audit`: the monitor's side of the signing log (docs/signing-log.md).
 * The checks are audit-log.ts; this file fetches over HTTP, keeps the state
 * file and reports.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { Metadata, TufError } from "../../src/tuf/index.js";
import { auditLog, type AuditState, type Fetcher } from "./audit-log.js";
import { parseCommandArgs, plural, required } from "./args.js";
import type { Command } from "./command.js";
import { CliError, EXIT_FAILURE, EXIT_OK, fromFsError } from "./errors.js";
import { print } from "./output.js";
import { baseUrl } from "./remote.js";

const USAGE = `usage: tuf-edge audit --url URL --root FILE [--state FILE] [--json]

Replays a tuf-edge repository's signing log (GET /api/v1/log) and checks:
  - the hash chain: every entry hashes as docs/signing-log.md defines and links
    the one before;
  - that no role version is logged twice with different bytes, and versions
    only increase;
  - that the trusted root is the logged root of its version;
  - that every logged file still retained is served with the logged bytes;
  - that the served timestamp.json is the one the head entry names.

options:
  --url URL      the Worker's base URL
  --root FILE    a root.json you trust, e.g. 1.root.json from the key ceremony
  --state FILE   remember the head seen, and fail with the first differing entry
                 if a later log does not extend it (a rewrite, or a fork shown to
                 this monitor); created on the first run, updated on each pass
  --json         print the result as one JSON object

Exits 0 when every check passes, 1 when any fails (each problem names its entry).`;

export const audit: Command = {
  summary: "replay and check the signing log; with --state, detect a rewritten or forked log",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("audit", args, {
      url: { type: "string" },
      root: { type: "string" },
      state: { type: "string" },
      json: { type: "boolean" },
    });
    const url = baseUrl(required(values.url, "url", "audit"));
    const rootFile = required(values.root, "root", "audit");
    let trustedRoot: Uint8Array;
    try {
      trustedRoot = await readFile(rootFile);
    } catch (err) {
      throw fromFsError(err, rootFile);
    }
    try {
      Metadata.fromBytes("root", trustedRoot);
    } catch (err) {
      if (err instanceof TufError)
        throw new CliError(`${rootFile} is not valid root metadata (${err.message})`, "Pass the root.json you trust, e.g. 1.root.json from the key ceremony");
      throw err;
    }
    const state = values.state === undefined ? undefined : await readState(values.state);
    const result = await auditLog({ fetch: httpFetcher(url), trustedRoot, state });
    // A failed run keeps the state it started from, so the divergence is reported again until someone looks.
    if (values.state !== undefined && result.ok) {
      await writeFile(`${values.state}.tmp`, JSON.stringify({ url, ...result.state }));
      await rename(`${values.state}.tmp`, values.state);
    }
    if (values.json) {
      const { state: _, ...report } = result;
      print(JSON.stringify({ url, ...report }));
    } else {
      for (const p of result.problems) print(`${p.seq === undefined ? "" : `entry ${p.seq}: `}${p.check}: ${p.message}`);
      const head = result.head ? `head ${result.head.seq} ${result.head.hash.slice(0, 16)}…` : "empty log";
      print(
        result.ok
          ? `${url}: signing log ok: ${result.entries} ${result.entries === 1 ? "entry" : "entries"}, ${head}, ${plural(result.files_checked, "file")} checked`
          : `${url}: signing log FAILED: ${plural(result.problems.length, "problem")}, first at entry ${result.problems[0]!.seq ?? "-"} (${result.problems[0]!.check}); ${head}`,
      );
    }
    return result.ok ? EXIT_OK : EXIT_FAILURE;
  },
};

async function readState(path: string): Promise<AuditState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fromFsError(err, path);
  }
  try {
    const state = JSON.parse(text) as AuditState;
    if (typeof state.head?.seq !== "number" || typeof state.head.hash !== "string" || typeof state.prefixes !== "string") throw new Error("bad shape");
    return state;
  } catch {
    throw new CliError(`${path} is not a tuf-edge audit state file`, "Pass the file an earlier tuf-edge audit --state wrote, or a new path to start over");
  }
}

function httpFetcher(url: string): Fetcher {
  return async (path) => {
    const target = `${url}${path}`;
    let res: Response;
    try {
      res = await fetch(target);
    } catch (err) {
      throw new CliError(`cannot reach ${target} (${(err as Error).message})`, "Check --url and that the Worker is running");
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new CliError(`${target} answered ${res.status}`, "Check the Worker's logs");
    }
    return new Uint8Array(await res.arrayBuffer());
  };
}
