/**
 * `tuf-edge root rotate`: drafts root N+1 from the newest root N.
 *
 * TUF spec 6.1 and 5.3.4: root N+1 counts only when signed by a threshold of
 * root N's root keys AND a threshold of its own, so clients holding root N can
 * walk to it. Keys that no role uses any more are dropped from `keys`.
 *
 * Replacing keys reaches every role that names them:
 *  - --targets-key: root's targets role, plus a new unsigned targets version
 *    (the old one's signatures would no longer count);
 *  - --bins-key: the bins delegation inside targets (bins keys are not in
 *    root), so new unsigned targets and bins versions;
 *  - --online-key: root's snapshot and timestamp roles, plus a new unsigned
 *    bins version whose succinct_roles name the new key for every bin-n
 *    (PEP 458 §In the Event of a Key Compromise).
 * It never signs, and refuses to draft from a root that is not fully signed.
 */
import {
  DelegatedRole,
  Delegations,
  formatExpires,
  Metadata,
  Root,
  SuccinctRoles,
  Targets,
  TufError,
  verifyRootRotation,
  type Key,
} from "../../src/tuf/index.js";
import { daysFrom, intOption, MAX_DAYS, parseCommandArgs, referenceTime, required } from "./args.js";
import {
  BINS_ROLE,
  checksFor,
  fileName,
  listDir,
  loadFile,
  loadNewest,
  newestVersion,
  pathOf,
  verify,
  writeMetadata,
  type CeremonyDir,
  type CeremonyFile,
  type CeremonyRole,
} from "./ceremony.js";
import type { Command } from "./command.js";
import { CliError, UsageError } from "./errors.js";
import { readPublicKey } from "./keyfile.js";
import { checkIndependence, checkRootThreshold, checkThreshold, ids, keyMap, keysOf, readKeys, rootRoles } from "./layout.js";
import { print, warn } from "./output.js";

const USAGE = `usage: tuf-edge root rotate --dir DIR [changes] [--expires-days D]

Drafts (N+1).root.json from the newest N.root.json in DIR: version N+1, a fresh
expiry, no signatures. It is complete only once signed by a threshold of root
N's root keys AND a threshold of root N+1's root keys (tuf-edge status shows both).
Without changes it renews the root's expiry (PEP 458: renew root every year).

changes:
  --add-root-key PUB        add a root key (repeat)
  --remove-root-key KEYID   remove a root key, by keyid or .pub file (repeat)
  --root-threshold N        the new root threshold (default: unchanged; >= 2)
  --targets-key PUB         replace ALL targets keys with these (repeat); also drafts
                            a new N.targets.json for the new keys to sign
  --targets-threshold N     the new targets threshold (default: unchanged)
  --bins-key PUB            replace ALL bins keys (kept in targets) with these (repeat);
                            also drafts new targets and bins versions to sign
  --bins-threshold N        the new bins threshold (default: unchanged)
  --online-key PUB          replace the online key of snapshot, timestamp and every
                            bin-n; also drafts a new N.bins.json for the bins keys to sign

options:
  --dir DIR                   the ceremony directory holding N.root.json
  --expires-days D            root expiry (default 365)
  --targets-expires-days D    expiry of a drafted targets (default 365)
  --bins-expires-days D       expiry of a drafted bins (default 365)
  --insecure-single-root-key  allow a root threshold of 1 (test repositories only)

environment:
  TUF_EDGE_NOW   an ISO 8601 time to use as "now"`;

const OPTIONS = {
  dir: { type: "string" },
  "add-root-key": { type: "string", multiple: true },
  "remove-root-key": { type: "string", multiple: true },
  "root-threshold": { type: "string" },
  "targets-key": { type: "string", multiple: true },
  "targets-threshold": { type: "string" },
  "bins-key": { type: "string", multiple: true },
  "bins-threshold": { type: "string" },
  "online-key": { type: "string" },
  "expires-days": { type: "string" },
  "targets-expires-days": { type: "string" },
  "bins-expires-days": { type: "string" },
  "insecure-single-root-key": { type: "boolean" },
} as const;

const CMD = "root rotate";

export const rootRotate: Command = {
  summary: "draft (N+1).root.json with new root, targets or online keys",
  usage: USAGE,
  async run(args) {
    const { values: v } = parseCommandArgs(CMD, args, OPTIONS);
    const rotation = await draftRootRotation(
      {
        refuseNoOp: v["expires-days"] === undefined,
        dir: required(v.dir, "dir", CMD),
        addRootKeys: v["add-root-key"],
        removeRootKeys: v["remove-root-key"],
        rootThreshold: intOption(v["root-threshold"], "root-threshold", CMD, { min: 1 }),
        targetsKeys: v["targets-key"],
        targetsThreshold: intOption(v["targets-threshold"], "targets-threshold", CMD, { min: 1 }),
        binsKeys: v["bins-key"],
        binsThreshold: intOption(v["bins-threshold"], "bins-threshold", CMD, { min: 1 }),
        onlineKey: v["online-key"],
        days: {
          root: intOption(v["expires-days"], "expires-days", CMD, MAX_DAYS),
          targets: intOption(v["targets-expires-days"], "targets-expires-days", CMD, MAX_DAYS),
          bins: intOption(v["bins-expires-days"], "bins-expires-days", CMD, MAX_DAYS),
        },
        insecureSingleRootKey: v["insecure-single-root-key"] === true,
      },
      CMD,
    );
    printDrafts(rotation);
    printNextSteps(rotation);
    return 0;
  },
};

/** What to change in root N+1; everything left out stays as root N has it. Key options are paths of .pub files. */
export interface RotationRequest {
  dir: string;
  /** Refuse a root N+1 that changes no key (root rotate; renew drafts exactly that on purpose). */
  refuseNoOp?: boolean;
  addRootKeys?: readonly string[];
  /** keyids or .pub files */
  removeRootKeys?: readonly string[];
  rootThreshold?: number;
  /** Replaces ALL targets keys. */
  targetsKeys?: readonly string[];
  targetsThreshold?: number;
  /** Replaces ALL bins keys (in targets' delegation). */
  binsKeys?: readonly string[];
  binsThreshold?: number;
  /** The new online key of snapshot, timestamp and every bin-n. */
  onlineKey?: string;
  /** Expiry in days from now of each drafted role (default 365). */
  days?: { root?: number | undefined; targets?: number | undefined; bins?: number | undefined };
  insecureSingleRootKey?: boolean;
}

/** One unsigned file a rotation wrote. */
export interface Draft {
  role: CeremonyRole;
  version: number;
  path: string;
  md: Metadata;
  /** Who must sign it, in words. */
  needs: string;
}

export interface Rotation {
  dir: string;
  previous: Root;
  root: Root;
  /** (N+1).root.json first, then any re-issued targets and bins. */
  drafts: Draft[];
}

/**
 * Drafts root N+1 from the newest (fully signed) root N in `request.dir`, plus
 * the targets and bins versions the key changes require, and writes them as
 * new files. Shared by `root rotate`, `rotate-online-key` and `renew --role root`;
 * `command` names the command in usage errors.
 */
export async function draftRootRotation(request: RotationRequest, command: string = CMD): Promise<Rotation> {
  const { dir } = request;
  const rootThresholdOpt = request.rootThreshold;
  const targetsThresholdOpt = request.targetsThreshold;
  const binsThresholdOpt = request.binsThreshold;
  const days = {
    root: request.days?.root ?? 365,
    targets: request.days?.targets ?? 365,
    bins: request.days?.bins ?? 365,
  };

  const listing = await listDir(dir);
  const current = await loadNewest(listing, "root");
  const old = current.md.signed;
  const next = old.version + 1;
  await requireFullySigned(listing, current);

  // Root keys: remove, then add.
  let rootKeys = keysOf(old, "root");
  for (const spec of request.removeRootKeys ?? []) {
    const keyid = await keyidOf(spec, ids(rootKeys));
    if (!rootKeys.some((k) => k.keyid === keyid))
      throw new CliError(
        `${keyid} is not a root key of root v${old.version}`,
        `Its root keys are ${ids(rootKeys).join(", ")}; pass one of those to --remove-root-key`,
      );
    rootKeys = rootKeys.filter((k) => k.keyid !== keyid);
  }
  for (const key of await readKeys(request.addRootKeys ?? [], "add-root-key")) {
    if (rootKeys.some((k) => k.keyid === key.keyid))
      throw new CliError(`key ${key.keyid} is already a root key`, "Add only new keys with --add-root-key");
    rootKeys.push(key);
  }
  const rootThreshold = rootThresholdOpt ?? old.roles.root.threshold;
  if (rootThresholdOpt === undefined && rootThreshold > rootKeys.length)
    throw new UsageError(
      `root v${next} would have ${rootKeys.length} root key${rootKeys.length === 1 ? "" : "s"} but keeps threshold ${rootThreshold}; pass a lower --root-threshold`,
      command,
    );
  checkRootThreshold(rootThreshold, rootKeys.length, request.insecureSingleRootKey === true, command);

  // Targets keys: replaced as a set.
  const targetsChanged = request.targetsKeys !== undefined;
  const targetsKeys = targetsChanged ? await readKeys(request.targetsKeys!, "targets-key") : keysOf(old, "targets");
  const targetsThreshold = targetsThresholdOpt ?? old.roles.targets.threshold;
  if (targetsThresholdOpt === undefined && targetsThreshold > targetsKeys.length)
    throw new UsageError(
      `root v${next} would have ${targetsKeys.length} targets key${targetsKeys.length === 1 ? "" : "s"} but keeps threshold ${targetsThreshold}; pass --targets-threshold`,
      command,
    );
  checkThreshold("targets", targetsThreshold, targetsKeys.length, "targets-key", command);

  // The one online key: snapshot, timestamp and (through bins) every bin-n.
  const onlineChanged = request.onlineKey !== undefined;
  const oldOnline = keysOf(old, "timestamp")[0];
  const online = onlineChanged ? await readPublicKey(request.onlineKey!) : oldOnline;
  if (!online) throw new CliError(`root v${old.version} has no timestamp key`, "Pass --online-key");
  if (onlineChanged && online.keyid === oldOnline?.keyid)
    throw new CliError(
      `${request.onlineKey} (${online.keyid}) is already the online key of root v${old.version}, so there is nothing to rotate`,
      "Make a new key with tuf-edge keygen --out DIR/online-N --name online-N and pass its .pub",
    );

  // bins keys live in targets' delegation, not in root; changing them re-issues targets and bins.
  const currentTargets = newestVersion(listing, "targets") === undefined ? undefined : await loadNewest(listing, "targets");
  const binsDelegation = currentTargets?.md.signed.delegateFor(BINS_ROLE);
  const oldBinsKeys = binsDelegation ? binsDelegation.role.keyids.map((id) => binsDelegation.keys[id]).filter((k): k is Key => !!k) : [];
  const binsChanged = request.binsKeys !== undefined || binsThresholdOpt !== undefined;
  const binsKeys = request.binsKeys ? await readKeys(request.binsKeys, "bins-key") : oldBinsKeys;
  const binsThreshold = binsThresholdOpt ?? binsDelegation?.role.threshold ?? 1;
  if (binsChanged) {
    if (!currentTargets || !(binsDelegation?.role instanceof DelegatedRole))
      throw new CliError(`${dir} has no N.targets.json delegating to ${BINS_ROLE}`, "Copy the newest targets file here");
    if (binsThresholdOpt === undefined && binsThreshold > binsKeys.length)
      throw new UsageError(`bins would have ${binsKeys.length} key${binsKeys.length === 1 ? "" : "s"} but keeps threshold ${binsThreshold}; pass --bins-threshold`, command);
    checkThreshold("bins", binsThreshold, binsKeys.length, "bins-key", command);
  }
  checkIndependence({ root: rootKeys, targets: targetsKeys, bins: binsKeys, online });
  const oldTargetsIds = old.roles.targets.keyids;
  const binsWereTargetsKeys = oldBinsKeys.length === oldTargetsIds.length && oldBinsKeys.every((k) => oldTargetsIds.includes(k.keyid));

  const now = referenceTime();
  const drafts: Draft[] = [];
  const root = new Root(
    { version: next, expires: daysFrom(now, days.root), unrecognized: old.unrecognized },
    keyMap([...rootKeys, ...targetsKeys, online]),
    rootRoles({ keys: rootKeys, threshold: rootThreshold }, { keys: targetsKeys, threshold: targetsThreshold }, online),
    old.consistentSnapshot ?? true,
  );
  const oldRootIds = old.roles.root;
  drafts.push({
    role: "root",
    version: next,
    path: pathOf(listing, "root", next),
    md: new Metadata(root),
    needs:
      `${oldRootIds.threshold} of root v${old.version}'s ${oldRootIds.keyids.length} root keys (${oldRootIds.keyids.join(", ")}) ` +
      `AND ${rootThreshold} of root v${next}'s ${rootKeys.length} root keys (${ids(rootKeys).join(", ")})`,
  });

  // New targets keys can't reuse the old targets signatures: re-issue targets for them to sign.
  if (targetsChanged || binsChanged) {
    if (!currentTargets)
      throw new CliError(`${dir} has no N.targets.json to re-issue for the new keys`, "Copy the newest targets file here");
    const t = currentTargets.md.signed;
    const version = t.version + 1;
    const delegations = binsChanged ? withBinsKeys(t.delegations!, binsKeys, binsThreshold) : t.delegations;
    drafts.push({
      role: "targets",
      version,
      path: pathOf(listing, "targets", version),
      md: new Metadata(new Targets({ version, expires: daysFrom(now, days.targets), unrecognized: t.unrecognized }, t.targets, delegations)),
      // Clients on root N verify it until root N+1 is out (ceremony.ts targetsChecks): the old keys sign too.
      needs: targetsChanged
        ? `${old.roles.targets.threshold} of root v${old.version}'s ${old.roles.targets.keyids.length} targets keys (${old.roles.targets.keyids.join(", ")}) ` +
          `AND ${targetsThreshold} of the ${targetsKeys.length} new targets keys (${ids(targetsKeys).join(", ")})`
        : `${targetsThreshold} of the ${targetsKeys.length} targets keys (${ids(targetsKeys).join(", ")})`,
    });
  }

  // PEP 458 §In the Event of a Key Compromise: bin-n move to the new online key through a new bins.
  if (onlineChanged || binsChanged) {
    const bins = await loadNewest(listing, "bins");
    const b = bins.md.signed;
    const succinct = b.delegations?.succinctRoles;
    if (!succinct || !b.delegations)
      throw new CliError(`${bins.path} has no succinct_roles delegation`, "Draft bins again with tuf-edge init");
    const delegations = onlineChanged
      ? new Delegations(
          keyMap([online]),
          undefined,
          new SuccinctRoles([online.keyid], 1, succinct.bitLength, succinct.namePrefix, succinct.unrecognized),
          b.delegations.unrecognized,
        )
      : b.delegations;
    const version = b.version + 1;
    drafts.push({
      role: "bins",
      version,
      path: pathOf(listing, "bins", version),
      md: new Metadata(new Targets({ version, expires: daysFrom(now, days.bins), unrecognized: b.unrecognized }, b.targets, delegations)),
      needs: `${binsThreshold} of the ${binsKeys.length} ${request.binsKeys ? "new " : ""}bins keys (${ids(binsKeys).join(", ")})`,
    });
  }

  if (request.refuseNoOp && drafts.length === 1 && describeChanges(old, root).every((line) => line.includes(": unchanged")))
    throw new UsageError(
      `root v${next} would change no key or threshold of root v${old.version}; pass what to rotate (--add-root-key, --remove-root-key, --targets-key, --bins-key, --online-key or a threshold), or renew root unchanged with tuf-edge renew --dir ${dir} --role root`,
      command,
    );
  // Trusting a key again that an earlier root revoked undoes the revocation: say so before anything is written.
  const revoked = await revokedKeys(listing, old.version);
  const revivals = [...rootKeys, ...targetsKeys, online].filter((k) => revoked.has(k.keyid) && !(k.keyid in old.keys));
  for (const draft of drafts)
    if (listing.versions[draft.role].includes(draft.version))
      throw new CliError(`${draft.path} already exists`, "Remove the old draft first if you mean to start the rotation again");
  for (const draft of drafts) await writeMetadata(draft.path, draft.md, "create");

  for (const key of revivals)
    warn(
      `KEY ${key.keyid} WAS REVOKED: root v${revoked.get(key.keyid)} dropped it, and root v${next} trusts it again. ` +
        `If it was dropped because it was compromised, delete the drafts and rotate to a new key (tuf-edge keygen)`,
    );
  if (rootThreshold < 2) warn("root threshold is 1: one stolen root key can take over this repository");
  if (targetsChanged && !request.binsKeys && binsWereTargetsKeys)
    warn("bins is still delegated to the old targets keys; pass --bins-key as well if those holders should no longer sign bins");
  return { dir, previous: old, root, drafts };
}

/** "drafted ..." for each file, with root's key changes. */
export function printDrafts({ previous, root, drafts }: Rotation): void {
  print(`drafted ${drafts[0]!.path}: root v${root.version}, expires ${formatExpires(root.expires)}`);
  for (const line of describeChanges(previous, root)) print(`  ${line}`);
  for (const draft of drafts.slice(1)) print(`drafted ${draft.path}: re-issued for the new keys, expires ${formatExpires(draft.md.signed.expires)}`);
}

/** Who signs each draft, then how to check and upload them. */
export function printNextSteps({ dir, drafts }: Rotation): void {
  print("");
  print("next, sign with tuf-edge sign --key HOLDER.key FILE:");
  for (const draft of drafts) print(`  ${fileName(draft.role, draft.version)}: ${draft.needs}`);
  print(`then check with: tuf-edge status ${dir}`);
  print(`then publish with: tuf-edge upload --url URL ${drafts.map((d) => d.path).join(" ")}`);
}

/** targets' delegations with the bins role moved to new keys; other delegated roles are kept as they are. */
function withBinsKeys(delegations: Delegations, keys: readonly Key[], threshold: number): Delegations {
  const roles = (delegations.roles ?? []).map((role) =>
    role.name === BINS_ROLE
      ? new DelegatedRole(role.name, ids(keys), threshold, role.terminating, role.paths, role.pathHashPrefixes, role.unrecognized)
      : role,
  );
  const used = new Set(roles.flatMap((role) => role.keyids));
  const pool = keyMap([...Object.values(delegations.keys), ...keys]);
  return new Delegations(keyMap(Object.values(pool).filter((k) => used.has(k.keyid))), roles, undefined, delegations.unrecognized);
}

/** A keyid given directly, or read from a .pub file. */
/** A full keyid, a .pub file, or a short keyid as the CLI prints them ("5a85..." or "5a85"), if it names one candidate. */
async function keyidOf(spec: string, candidates: readonly string[]): Promise<string> {
  if (/^[0-9a-f]{64}$/.test(spec)) return spec;
  const short = /^([0-9a-f]{4,63})(?:\.\.\.|…)?$/.exec(spec)?.[1];
  if (short) {
    const matches = candidates.filter((id) => id.startsWith(short));
    if (matches.length === 1) return matches[0]!;
    throw new CliError(
      matches.length === 0 ? `no root key starts with ${short}` : `${short} is the start of ${matches.length} root keys (${matches.join(", ")})`,
      `Pass more of the keyid, the full keyid, or the key's .pub file; the root keys are ${candidates.join(", ")}`,
    );
  }
  return (await readPublicKey(spec)).keyid;
}

/** Keys an earlier root listed and a later one dropped (revoked), by keyid: the first root version that dropped each. */
async function revokedKeys(listing: CeremonyDir, upTo: number): Promise<Map<string, number>> {
  const revoked = new Map<string, number>();
  let previous: Root | undefined;
  for (const version of [...listing.versions.root].sort((a, b) => a - b).filter((v) => v <= upTo)) {
    const root = (await loadFile(pathOf(listing, "root", version))).md.signed as Root;
    if (previous) for (const id of Object.keys(previous.keys)) if (!(id in root.keys) && !revoked.has(id)) revoked.set(id, version);
    for (const id of Object.keys(root.keys)) revoked.delete(id);
    previous = root;
  }
  return revoked;
}

/** Clients can only walk to N+1 through a root N they accept: N must be complete first. */
async function requireFullySigned(listing: CeremonyDir, current: CeremonyFile<"root">): Promise<void> {
  const checks = await checksFor(current, listing);
  for (const check of checks) {
    const result = await verify(check, current);
    if (!result.verified)
      throw new CliError(
        `${current.path} is signed by only ${result.signed.size}/${result.threshold} of ${check.label}'s root keys`,
        current.version > 1
          ? `Finish signing it (tuf-edge status ${listing.dir} shows who is missing) before drafting root v${current.version + 1}, or delete it to draft root v${current.version} again`
          : `Finish signing it (tuf-edge status ${listing.dir} shows who is missing) before drafting root v${current.version + 1}`,
      );
  }
  if (current.version > 1)
    try {
      await verifyRootRotation(checks[0]!.delegator as Root, current.md);
    } catch (err) {
      if (err instanceof TufError)
        throw new CliError(`${current.path}: ${err.message}`, "Finish the previous rotation before starting another");
      throw err;
    }
}

function describeChanges(old: Root, next: Root): string[] {
  const lines: string[] = [];
  for (const role of ["root", "targets", "snapshot", "timestamp"] as const) {
    const before = old.roles[role];
    const after = next.roles[role];
    const added = after.keyids.filter((id) => !before.keyids.includes(id));
    const removed = before.keyids.filter((id) => !after.keyids.includes(id));
    const parts: string[] = [];
    for (const id of added) parts.push(`+${id}`);
    for (const id of removed) parts.push(`-${id}`);
    if (before.threshold !== after.threshold) parts.push(`threshold ${before.threshold} -> ${after.threshold}`);
    lines.push(`${role}: ${parts.length ? parts.join(", ") : "unchanged"} (${after.threshold} of ${after.keyids.length})`);
  }
  return lines;
}
