/**
 * `tuf-edge verify`: checks a running repository as a TUF client would (TUF
 * spec 5), and every bin-n besides, not only those one download needs. The
 * client is src/client's Updater, the same one `tuf-edge client` and
 * `tuf-edge proxy` run; this file fetches over HTTP and reports.
 */
import { readFile } from "node:fs/promises";
import { MemoryStore, UpdateError, Updater, type UpdateErrorCode } from "../../src/client/index.js";
import { formatExpires, Metadata, TufError, type Root, type Signed } from "../../src/tuf/index.js";
import { parseCommandArgs, plural, referenceTime, required, timeLeft } from "./args.js";
import { httpFetcher } from "./client-io.js";
import type { Command } from "./command.js";
import { CliError, fromFsError, UsageError } from "./errors.js";
import { print, table } from "./output.js";
import { baseUrl } from "./remote.js";
const USAGE = `usage: tuf-edge verify --url URL --root FILE

Checks a tuf-edge repository the way a TUF client does (TUF spec 5), starting
from a root you trust: walks N.root.json up the chain, then timestamp.json, the
snapshot, targets, bins and every bin-n, checking signatures against their
delegator's keys and threshold, versions, lengths, hashes and expiry.
Prints the versions, how many bins were checked and which role expires first.

Exits 0 when the repository verifies, 1 with a one-line error on the first
problem.

options:
  --url URL     the Worker's base URL; metadata is read from URL/metadata/
  --root FILE   a root.json you trust, e.g. 1.root.json from the key ceremony

environment:
  TUF_EDGE_NOW   an ISO 8601 time to use as "now"`;

/** Progress is printed every this many targets roles, when there are more. */
const PROGRESS_EVERY = 1024;
/** Requests in flight at once. */
const CONCURRENCY = 32;

/** What the operator of a repository that fails the check should look at. */
const HINTS: Record<UpdateErrorCode, string> = {
  malformed: "The repository serves a file that is missing or not valid metadata; check the last publish",
  not_canonical: "The repository serves metadata outside canonical JSON; check the last publish",
  threshold: "A role is not signed by its delegator's keys; check ONLINE_KEY against the root and bins keys",
  rollback: "A version went back, repeated or does not match its referrer; a client would refuse this update",
  expired: "Renew it: the cron re-signs online roles, offline roles need a new ceremony",
  length_or_hash: "A file differs from what its referrer recorded; check that published files are never rewritten",
  unknown_role: "Check that the delegating metadata names this role",
  unknown_key: "Check the keys the delegating metadata lists",
  equal_version: "A version was reused; a client would keep its copy",
  too_large: "A file is over the length its referrer (or the client's limit) allows; check the last publish",
  not_in_snapshot: "Publish a snapshot that lists every delegated role",
  download: "The repository serves a file that is missing or unreadable; a client would stop its update here",
  key_policy: "The layout breaks PEP 458's key policy; start a new ceremony with tuf-edge init",
};

export const verify: Command = {
  summary: "check a running repository as a TUF client would, every bin-n included",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("verify", args, { url: { type: "string" }, root: { type: "string" } });
    const url = baseUrl(required(values.url, "url", "verify"));
    if (/\/metadata$/.test(url))
      throw new UsageError(`--url ${url} ends in /metadata, but --url is the Worker's base URL (metadata is read from URL/metadata/)`, "verify");
    const rootFile = required(values.root, "root", "verify");
    const { root: trustedRoot, bytes: rootBytes } = await loadRoot(rootFile);
    const now = referenceTime();

    const store = new MemoryStore();
    await store.write("root.json", rootBytes);
    const updater = new Updater({ metadataBaseUrl: `${url}/metadata/`, fetcher: httpFetcher(), store, now: () => now });
    let trusted;
    let all: ReadonlyMap<string, Signed>;
    try {
      trusted = await updater.refresh();
      all = await updater.loadAllTargets({
        concurrency: CONCURRENCY,
        onProgress: (done, total) => {
          if (total > PROGRESS_EVERY && (done % PROGRESS_EVERY === 0 || done === total)) print(`checked ${done} of ${total} targets roles`);
        },
      });
    } catch (err) {
      if (err instanceof UpdateError) {
        if (await isOtherRoot(url, trustedRoot))
          throw new CliError(
            `${rootFile} is not this repository's root: ${url}/metadata/${trustedRoot.signed.version}.root.json differs from it (${err.message})`,
            `Pass the root this repository was bootstrapped with (1.root.json of its ceremony) as --root`,
          );
        throw new CliError(`${url}: ${err.message}`, HINTS[err.code]);
      }
      throw err;
    }
    const state = { root: trusted.rootMetadata, timestamp: { signed: trusted.timestamp! }, snapshot: { signed: trusted.snapshot! }, targets: all };
    const bins = [...state.targets.keys()].filter((role) => role !== "targets" && role !== "bins");
    const binVersions = bins.map((role) => state.targets.get(role)!.version);
    const row = (role: string, version: number, expires: Date) => [role, `v${version}`, `${formatExpires(expires)} (${timeLeft(expires, now)})`];
    const targets = state.targets.get("targets")!;
    const binsRole = state.targets.get("bins");
    const first = earliestExpiry([["root", state.root.signed], ["timestamp", state.timestamp.signed], ["snapshot", state.snapshot.signed], ...all]);
    for (const line of table([
      ["ROLE", "VERSION", "EXPIRES"],
      row("root", state.root.signed.version, state.root.signed.expires),
      row("timestamp", state.timestamp.signed.version, state.timestamp.signed.expires),
      row("snapshot", state.snapshot.signed.version, state.snapshot.signed.expires),
      row("targets", targets.version, targets.expires),
      ...(binsRole ? [row("bins", binsRole.version, binsRole.expires)] : []),
      ...(bins.length > 0
        ? [["bin-n", `v${Math.min(...binVersions)}-v${Math.max(...binVersions)}`, `${plural(bins.length, "bin")} checked`]]
        : []),
    ]))
      print(line);
    print("");
    print(`earliest expiry: ${first.role} v${first.version} at ${formatExpires(first.expires)} (${timeLeft(first.expires, now)})`);
    print(`${url} verifies: ${plural(state.targets.size + 3, "role")} checked, starting from root v${trustedRoot.signed.version}`);
    return 0;
  },
};

async function loadRoot(path: string): Promise<{ root: Metadata<Root>; bytes: Uint8Array }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw fromFsError(err, path);
  }
  try {
    return { root: Metadata.fromBytes("root", bytes), bytes };
  } catch (err) {
    if (err instanceof TufError)
      throw new CliError(`${path} is not valid root metadata (${err.message})`, "Pass the root.json you trust, e.g. 1.root.json from the key ceremony");
    throw err;
  }
}

/** True when the repository publishes a different root at the trusted root's version (root versions are never deleted). */
async function isOtherRoot(url: string, trusted: Metadata<Root>): Promise<boolean> {
  const served = await httpFetcher().fetch(`${url}/metadata/${trusted.signed.version}.root.json`, 512_000).catch(() => undefined);
  if (!served) return false;
  const ours = trusted.toBytes();
  try {
    const theirs = Metadata.fromBytes("root", served).toBytes();
    return theirs.length !== ours.length || theirs.some((b, i) => b !== ours[i]);
  } catch {
    return true;
  }
}

/** The role that expires first, and when: how long the repository stays valid without a publish. */
function earliestExpiry(roles: ReadonlyArray<readonly [string, Signed]>): { role: string; version: number; expires: Date } {
  let first = roles[0]!;
  for (const candidate of roles) if (candidate[1].expires < first[1].expires) first = candidate;
  return { role: first[0], version: first[1].version, expires: first[1].expires };
}
