/**
 * `tuf-edge upload`: publishes new offline-signed versions of root, targets
 * and/or bins through POST /api/v1/metadata, all in one request, so the Worker
 * checks and publishes them as one consistent snapshot (a root that changes
 * the targets or online keys needs the targets or bins signed for them).
 *
 * Before sending it checks offline what the ceremony directory allows, so a
 * missing signature is caught on the ceremony machine with the keys that are
 * still missing named, not as a 422 from the Worker:
 *  - every file parses, its name matches its version, and it is unexpired;
 *  - root N is signed by a threshold of its own root keys and, when
 *    (N-1).root.json sits beside it, of root N-1's (TUF spec 5.3.4);
 *  - targets by the targets keys of the uploaded root, else of the newest
 *    root beside it, and also by the root before it when that root had
 *    other targets keys (ceremony.ts targetsChecks); bins by the bins keys of
 *    the uploaded targets, else of the newest targets beside it;
 *  - a root that moves snapshot and timestamp to a new online key comes with
 *    a bins naming that key for bin-n, and a root that replaces the targets
 *    keys with a targets they signed (PEP 458 §In the Event of a Key Compromise).
 * The Worker checks everything again against what it has published (versions
 * exactly +1, bin layout unchanged, its configured online keys); a rejected
 * upload changes nothing.
 */
import { basename, dirname } from "node:path";
import { formatExpires, type Delegator, type Root, type Targets } from "../../src/tuf/index.js";
import { parseCommandArgs, referenceTime, required } from "./args.js";
import {
  BINS_ROLE,
  CEREMONY_ROLES,
  fileName,
  listDir,
  loadFile,
  loadNewest,
  newestVersion,
  pathOf,
  targetsChecks,
  verify,
  type CeremonyFile,
  type CeremonyRole,
  type SignerCheck,
} from "./ceremony.js";
import type { Command } from "./command.js";
import { CliError, UsageError } from "./errors.js";
import { print } from "./output.js";
import { adminToken, baseUrl, request, UNAVAILABLE_HINTS, withHints } from "./remote.js";

const CMD = "upload";

const USAGE = `usage: tuf-edge upload --url URL FILE...

Publishes new versions of the offline roles, N.root.json, N.targets.json and/or
N.bins.json (at most one of each), to a bootstrapped tuf-edge Worker in one
request (POST /api/v1/metadata). Use it for the yearly renewal (tuf-edge renew),
a root rotation (tuf-edge root rotate) and an online-key rotation
(tuf-edge rotate-online-key). Upload the files a rotation drafted together.

Before sending, it checks each file against the other ceremony files in its
directory: unexpired; root N signed by a threshold of root N's root keys and of
root N-1's; targets by the root's targets keys; bins by targets' bins keys; a
new online key or new targets keys come with the bins or targets signed for
them. The Worker then checks every version is exactly one above the published
one, the bin layout is unchanged and it holds the online key, and publishes
a new consistent snapshot (a new root last). A refused upload changes nothing.

The admin token is read from TUF_EDGE_ADMIN_TOKEN, or from ./.dev.vars.

options:
  --url URL   the Worker, e.g. https://tuf.example.org
  --dry-run   check the files and show what would be sent, without sending

environment:
  TUF_EDGE_NOW   an ISO 8601 time to use as "now" for the expiry check`;

const OPTIONS = { url: { type: "string" }, "dry-run": { type: "boolean" } } as const;

type Upload = Partial<{ root: CeremonyFile<"root">; targets: CeremonyFile<"targets">; bins: CeremonyFile<"bins"> }>;

interface PublishedBody {
  status: "published";
  timestamp: number;
  snapshot: number;
  roles: Record<CeremonyRole, number>;
  root_pending?: { version: number; serve_after: string | null };
}

export const upload: Command = {
  summary: "publish new root, targets or bins versions on a running Worker",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs(CMD, args, OPTIONS, {
      min: 1,
      max: CEREMONY_ROLES.length,
      name: "metadata file (N.root.json, N.targets.json or N.bins.json)",
    });
    const dryRun = values["dry-run"] === true;
    const url = dryRun && values.url === undefined ? undefined : baseUrl(required(values.url, "url", CMD));
    // --dry-run never sends; --url is then optional.

    const files: Upload = {};
    for (const path of positionals) {
      const file = await loadFile(path);
      const already = files[file.role];
      if (already)
        throw new UsageError(`${already.path} and ${path} are both ${file.role} metadata; upload one version of each role at a time`, CMD);
      (files as Record<CeremonyRole, CeremonyFile>)[file.role] = file;
    }
    const uploaded = CEREMONY_ROLES.flatMap((role) => (files[role] ? [files[role]!] : []));

    for (const line of await checkUpload(files)) print(line);

    const body = Object.fromEntries(uploaded.map((f) => [f.role, f.md.toJSON()]));
    const what = uploaded.map((f) => `${f.role} v${f.version}`).join(", ");
    if (dryRun || !url) {
      print(`dry run: would upload ${what} (${JSON.stringify(body).length} bytes) to POST ${url ?? "URL"}/api/v1/metadata; nothing was sent`);
      return 0;
    }
    await requireNewer(url, uploaded);
    const endpoint = `${url}/api/v1/metadata`;
    let result: PublishedBody;
    try {
      ({ body: result } = await request<PublishedBody>(
        endpoint,
        { method: "POST", headers: { authorization: `Bearer ${adminToken()}`, "content-type": "application/json" }, body: JSON.stringify(body) },
        "Nothing was published; fix the files as the message says and upload again",
      ));
    } catch (err) {
      throw withServerHint(err as CliError, url);
    }
    const now = result.roles;
    print(
      `published ${what} on ${url}: timestamp ${result.timestamp}, snapshot ${result.snapshot} ` +
        `(the repository now has root v${now.root}, targets v${now.targets}, bins v${now.bins})`,
    );
    const pending = result.root_pending;
    if (pending)
      // The Worker holds a root that moves the targets or online keys until every cached timestamp.json is one its clients verify.
      print(
        `root v${pending.version} is written ${pending.serve_after ? `at ${pending.serve_after}` : "once this publish is out"}: TIMESTAMP_MAX_AGE after ` +
          `the first timestamp.json signed for it, so no client that walks to it can get one a cache kept from before. ` +
          `Until then clients stay on root v${pending.version - 1}; keep every key it names on the Worker until GET ${url}/api/v1/status shows root v${pending.version}`,
      );
    else if (files.root) print(`clients holding root v${files.root.version - 1} walk to ${url}/metadata/${fileName("root", files.root.version)}`);
    return 0;
  },
};

/**
 * The offline checks; throws a CliError on the first failure, otherwise
 * returns one line per file saying who signed it, plus what could not be
 * checked here.
 */
export async function checkUpload(files: Upload, now: Date = referenceTime()): Promise<string[]> {
  const lines: string[] = [];
  for (const file of CEREMONY_ROLES.flatMap((role) => (files[role] ? [files[role]!] : [])))
    if (file.md.signed.isExpired(now))
      throw new CliError(
        `${file.path} expired at ${formatExpires(file.md.signed.expires)}, so the Worker would refuse it`,
        `Draft ${file.role} v${file.version} again with a fresh expiry (delete it, then run tuf-edge renew --role ${file.role} or the rotation again) and collect the signatures`,
      );

  // root N: its own threshold and, when root N-1 is beside it, root N-1's.
  let previousRoot: Root | undefined;
  if (files.root) {
    const file = files.root;
    const checks: SignerCheck[] = [];
    if (file.version > 1) {
      const listing = await listDir(dirname(file.path));
      if (listing.versions.root.includes(file.version - 1)) {
        previousRoot = (await loadFile(pathOf(listing, "root", file.version - 1))).md.signed as Root;
        checks.push({ label: `root v${file.version - 1}`, delegator: previousRoot, roleName: "root" });
      } else
        lines.push(`note: ${fileName("root", file.version - 1)} is not beside ${basename(file.path)}, so only the Worker checks root v${file.version - 1}'s threshold`);
    }
    checks.push({ label: `root v${file.version}`, delegator: file.md.signed, roleName: "root" });
    lines.push(await requireThresholds(file, checks));
  }

  // targets: delegated by the uploaded root, else by the newest root beside it; while a rotation moves
  // the targets keys, also by the root before it (ceremony.ts targetsChecks).
  const rootFile = files.root ?? ((await newestBeside(files.targets ?? files.bins, "root")) as CeremonyFile<"root"> | undefined);
  const effectiveRoot = rootFile && { label: `root v${rootFile.version}`, root: rootFile.md.signed };
  if (files.targets) {
    if (rootFile) lines.push(await requireThresholds(files.targets, await targetsChecks(files.targets, rootFile, await listDir(dirname(rootFile.path)))));
    else lines.push(`note: no N.root.json beside ${basename(files.targets.path)}, so only the Worker checks its signatures`);
  }

  // bins: delegated by the uploaded targets, else by the newest targets beside it.
  if (files.bins) {
    const delegator = files.targets
      ? { label: `targets v${files.targets.version}`, targets: files.targets.md.signed }
      : await newestBeside(files.bins, "targets").then((f) => f && { label: `targets v${f.version}`, targets: f.md.signed as Targets });
    if (delegator) {
      if (!delegator.targets.delegateFor(BINS_ROLE))
        throw new CliError(`${delegator.label} does not delegate to ${BINS_ROLE}`, "Upload a targets that delegates to bins, as tuf-edge init drafts it");
      lines.push(await requireThresholds(files.bins, [{ label: delegator.label, delegator: delegator.targets as Delegator, roleName: BINS_ROLE }]));
    } else lines.push(`note: no N.targets.json beside ${basename(files.bins.path)}, so only the Worker checks its signatures`);
  }

  // Keys a new root moves must arrive with the metadata that the new keys signed.
  if (files.root && previousRoot) {
    const next = files.root.md.signed;
    const sameIds = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((id) => b.includes(id));
    if (!sameIds(previousRoot.roles.timestamp.keyids, next.roles.timestamp.keyids) && !files.bins)
      throw new CliError(
        `root v${next.version} moves snapshot and timestamp to online key ${next.roles.timestamp.keyids.join(", ")}, but no bins is uploaded with it`,
        "Upload the N.bins.json that delegates every bin-n to the new key in the same command (tuf-edge rotate-online-key drafts both)",
      );
    const targetsRole = (r: Root) => r.roles.targets;
    if (
      (!sameIds(targetsRole(previousRoot).keyids, targetsRole(next).keyids) || targetsRole(previousRoot).threshold !== targetsRole(next).threshold) &&
      !files.targets
    )
      throw new CliError(
        `root v${next.version} changes the targets keys, but no targets is uploaded with it`,
        "Upload the N.targets.json the new targets keys signed in the same command (tuf-edge root rotate --targets-key drafts it)",
      );
  }
  if (files.bins && effectiveRoot) {
    const timestampIds = effectiveRoot.root.roles.timestamp.keyids;
    const binIds = files.bins.md.signed.delegations?.succinctRoles?.keyids ?? [];
    if (!timestampIds.every((id) => binIds.includes(id)))
      throw new CliError(
        `${basename(files.bins.path)} delegates bin-n to ${binIds.join(", ") || "no key"}, but ${effectiveRoot.label} names online key ${timestampIds.join(", ")} for snapshot and timestamp`,
        "The Worker signs snapshot, timestamp and every bin-n with one key: upload the root and bins that name the same online key together",
      );
  }
  return lines;
}

/** "2.root.json: 2/2 of root v1's root keys and 2/2 of root v2's root keys", or a CliError naming who is missing. */
async function requireThresholds(file: CeremonyFile, checks: readonly SignerCheck[]): Promise<string> {
  const counts: string[] = [];
  for (const check of checks) {
    const result = await verify(check, file);
    if (!result.verified)
      throw new CliError(
        `${file.path} is signed by only ${result.signed.size}/${result.threshold} of ${check.label}'s ${check.roleName} keys (missing: ${[...result.unsigned].join(", ")})`,
        `Collect more signatures with tuf-edge sign --key HOLDER.key ${file.path}, then upload again`,
      );
    counts.push(`${result.signed.size}/${result.threshold} of ${check.label}'s ${check.roleName} keys`);
  }
  return `${basename(file.path)}: ${file.role} v${file.version}, signed by ${counts.join(" and ")}, expires ${formatExpires(file.md.signed.expires)}`;
}

/** The newest `role` file in the directory of `beside`, if there is one. */
async function newestBeside(beside: CeremonyFile | undefined, role: CeremonyRole): Promise<CeremonyFile | undefined> {
  if (!beside) return undefined;
  const listing = await listDir(dirname(beside.path));
  return newestVersion(listing, role) === undefined ? undefined : loadNewest(listing, role);
}

/** The Worker's 4xx, with what to do about its code. */
function withServerHint(err: CliError, url: string): unknown {
  return withHints(err, {
    ...UNAVAILABLE_HINTS(url),
    "401": "Set TUF_EDGE_ADMIN_TOKEN to the Worker's ADMIN_TOKEN secret (ADMIN_TOKEN in .dev.vars for tuf-edge dev)",
    not_bootstrapped: "Bootstrap the repository first with tuf-edge bootstrap",
    root_pending: `Nothing was published. Wait until GET ${url}/api/v1/status shows the pending root, then upload again`,
    threshold: "Nothing was published. Collect the missing signatures with tuf-edge sign (tuf-edge status DIR shows who is missing) and upload again",
    rollback: `Nothing was published. Upload exactly the next version of each role; GET ${url}/api/v1/status shows the published versions`,
    expired: "Nothing was published. Draft the role again with a fresh expiry and collect the signatures",
    unknown_key: "Nothing was published. Put the new online key's seed on the Worker first (npx wrangler secret put ONLINE_KEY_NEXT), and upload the root and bins that name it together",
    malformed: "Nothing was published. Draft the file again with tuf-edge renew, root rotate or rotate-online-key; the bin layout (bit_length, name_prefix) can't change",
  });
}

/** Refuses, before sending, a file whose version is not above the published one (the Worker would only say why less clearly). */
async function requireNewer(url: string, uploaded: readonly CeremonyFile[]): Promise<void> {
  let published: Record<string, { version: number }> | undefined;
  try {
    const res = await fetch(`${url}/api/v1/status`);
    if (res.ok) published = ((await res.json()) as { roles?: Record<string, { version: number }> }).roles;
  } catch {
    return; // request() below names an unreachable Worker
  }
  for (const file of uploaded) {
    const current = published?.[file.role]?.version;
    if (current !== undefined && file.version <= current)
      throw new CliError(
        `${file.path} is ${file.role} v${file.version}, ${file.version < current ? "older than" : "the same version as"} published ${file.role} v${current}`,
        `Nothing was sent. Draft ${file.role} v${current + 1} (tuf-edge renew --dir DIR --role ${file.role}, or a rotation), sign it, and upload that`,
      );
  }
}
