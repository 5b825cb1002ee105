/**
 * Checks on the offline-signed roles (root, targets, bins) before the Publisher
 * accepts them, at bootstrap and at later uploads. Pure: takes bytes, returns
 * parsed metadata or throws TufError with a code the API reports.
 */
import {
  Metadata,
  TufError,
  verifyDelegate,
  verifyRootRotation,
  type Key,
  type Root,
  type SuccinctRoles,
  type Targets,
} from "../tuf/index.js";

/** The most bins a repository may have: every bin-n is a row and a file, all written at bootstrap. */
export const MAX_BIT_LENGTH = 16;

/** Role names must give the same URL under Python's quote() and JS encodeURIComponent (pep458.md §4). */
export const URL_SAFE_ROLE = /^[a-z0-9][a-z0-9.-]*$/;

/**
 * targets delegates every path to bins. Path patterns like "*" match one path
 * segment only in python-tuf and tuf-js, so the delegation uses the 16 one-digit
 * hash prefixes, which together match every SHA-256 and so every path.
 */
export const ALL_PATHS: readonly string[] = [..."0123456789abcdef"];

export interface OfflineRoles {
  root: Metadata<Root>;
  targets: Metadata<Targets>;
  bins: Metadata<Targets>;
}

export function parseOffline(root: string, targets: string, bins: string): OfflineRoles {
  const enc = new TextEncoder();
  return {
    root: Metadata.fromBytes("root", enc.encode(root)),
    targets: Metadata.fromBytes("targets", enc.encode(targets)),
    bins: Metadata.fromBytes("targets", enc.encode(bins)),
  };
}

export function succinctRolesOf(bins: Targets): SuccinctRoles {
  const succinct = bins.delegations?.succinctRoles;
  if (!succinct) throw new TufError("malformed", "bins must delegate to bin-n with succinct_roles (TAP 15)");
  return succinct;
}

/**
 * The PEP 458 layout, fully signed and unexpired: root signed by its threshold,
 * targets by root's targets keys, bins by targets' "bins" delegation, and the
 * online key named for snapshot, timestamp and every bin-n with threshold 1.
 */
export async function verifyOfflineSet(roles: OfflineRoles, onlineKey: Key, now: Date): Promise<void> {
  const { root, targets, bins } = roles;
  await verifyDelegate(root.signed, "root", root);
  if (root.signed.consistentSnapshot !== true)
    throw new TufError("malformed", "root must set consistent_snapshot: true (tuf-edge publishes consistent snapshots)");
  await verifyDelegate(root.signed, "targets", targets);
  const binsDelegation = targets.signed.delegations?.roles?.find((r) => r.name === "bins");
  if (!binsDelegation) throw new TufError("malformed", "targets must delegate to a role named bins");
  const prefixes = binsDelegation.pathHashPrefixes ?? [];
  if (!prefixes.includes("") && !ALL_PATHS.every((p) => prefixes.includes(p)))
    throw new TufError(
      "malformed",
      `targets' delegation to bins must cover every path: use path_hash_prefixes ${JSON.stringify(ALL_PATHS)} (a "*" path pattern matches only one path segment in TUF clients)`,
    );
  await verifyDelegate(targets.signed, "bins", bins);
  const succinct = succinctRolesOf(bins.signed);
  if (succinct.bitLength > MAX_BIT_LENGTH)
    throw new TufError(
      "malformed",
      `bit_length ${succinct.bitLength} is more than ${MAX_BIT_LENGTH} (${2 ** MAX_BIT_LENGTH} bins); PEP 458 recommends 14 and more bins only when returning clients' metadata overhead passes 50%`,
    );
  if (!URL_SAFE_ROLE.test(succinct.namePrefix))
    throw new TufError("malformed", `succinct_roles name_prefix ${JSON.stringify(succinct.namePrefix)} must match [a-z0-9.-]`);
  for (const [name, md] of [["root", root], ["targets", targets], ["bins", bins]] as const)
    if (md.signed.isExpired(now)) throw new TufError("expired", `${name} v${md.signed.version} expired at ${md.signed.expires.toISOString()}`);
  requireOnlineKey(root.signed.delegateFor("snapshot")!, onlineKey, "root's snapshot role");
  requireOnlineKey(root.signed.delegateFor("timestamp")!, onlineKey, "root's timestamp role");
  requireOnlineKey({ keys: bins.signed.delegations!.keys, role: succinct }, onlineKey, "bins' succinct_roles");
}

function requireOnlineKey(
  delegate: { keys: Readonly<Record<string, Key>>; role: { keyids: readonly string[]; threshold: number } },
  onlineKey: Key,
  where: string,
): void {
  const listed = delegate.role.keyids.includes(onlineKey.keyid) && delegate.keys[onlineKey.keyid]?.keyid === onlineKey.keyid;
  if (!listed || delegate.role.threshold !== 1)
    throw new TufError(
      "unknown_key",
      `ONLINE_KEY (keyid ${onlineKey.keyid}) must be the only key needed by ${where} (it lists ${delegate.role.keyids.join(", ") || "none"}, threshold ${delegate.role.threshold})`,
    );
}

/** A new version of an offline role must follow the current one by exactly one (TUF spec 5.3.5, 5.6.3). */
export function requireNextVersion(name: string, current: number, next: number): void {
  if (next !== current + 1)
    throw new TufError("rollback", `${name} v${next} must follow the published v${current} (expected v${current + 1})`);
}

export { verifyRootRotation };

/**
 * Checks new offline-signed versions against the published ones and returns
 * the set that would be current: root N+1 signed by a threshold of root N's
 * keys and of its own, targets and bins exactly one version up, the bin layout
 * unchanged, and the whole set valid as at bootstrap for one of `onlineKeys`.
 */
export async function verifyOfflineUpdate(
  current: OfflineRoles,
  update: Partial<OfflineRoles>,
  onlineKeys: readonly Key[],
  now: Date,
): Promise<{ roles: OfflineRoles; onlineKey: Key }> {
  if (!update.root && !update.targets && !update.bins) throw new TufError("malformed", "upload at least one of root, targets and bins");
  if (update.root) await verifyRootRotation(current.root.signed, update.root);
  // A new targets is served before a new root (which waits for cached timestamps, see
  // rootWaitsForCaches): clients still on the served root verify it with that root's targets keys.
  if (update.targets && update.root) await requireTargetsFor(current.root, update.targets, update.root.signed.version);
  if (update.targets) requireNextVersion("targets", current.targets.signed.version, update.targets.signed.version);
  if (update.bins) {
    requireNextVersion("bins", current.bins.signed.version, update.bins.signed.version);
    const before = succinctRolesOf(current.bins.signed);
    const after = succinctRolesOf(update.bins.signed);
    if (before.bitLength !== after.bitLength || before.namePrefix !== after.namePrefix)
      throw new TufError(
        "malformed",
        `bins must keep bit_length ${before.bitLength} and name_prefix ${before.namePrefix}; a new bin layout is a new repository`,
      );
  }
  const roles: OfflineRoles = { ...current, ...update };
  const timestampKeys = roles.root.signed.delegateFor("timestamp")!.role.keyids;
  const onlineKey = onlineKeys.find((k) => timestampKeys.includes(k.keyid));
  if (!onlineKey)
    throw new TufError(
      "unknown_key",
      `root v${roles.root.signed.version} names ${timestampKeys.join(", ")} for timestamp, but no configured online key is that key; set ONLINE_KEY_NEXT to its seed first`,
    );
  await verifyOfflineSet(roles, onlineKey, now);
  return { roles, onlineKey };
}

async function requireTargetsFor(served: Metadata<Root>, targets: Metadata<Targets>, nextRoot: number): Promise<void> {
  try {
    await verifyDelegate(served.signed, "targets", targets);
  } catch (e) {
    if (!(e instanceof TufError)) throw e;
    const role = served.signed.roles.targets;
    throw new TufError(
      e.code,
      `targets v${targets.signed.version} must also be signed by ${role.threshold} of root v${served.signed.version}'s targets keys (${role.keyids.join(", ")}): ` +
        `clients on root v${served.signed.version} verify it until root v${nextRoot} is out (${e.message})`,
    );
  }
}

/**
 * Whether root `after` must wait for cached timestamps before it is served: it
 * moves the keys (or threshold) of targets, snapshot or timestamp. A client that
 * walks to it may still get a timestamp.json a CDN cached before the new keys
 * signed, for up to TIMESTAMP_MAX_AGE, and that timestamp (or the targets it
 * leads to) carries only the old keys' signatures. A root that changes only root
 * keys is verified by the previous root, not by anything a cache holds.
 */
export function rootWaitsForCaches(before: Root, after: Root): boolean {
  return (["targets", "snapshot", "timestamp"] as const).some((name) => {
    const [a, b] = [before.roles[name], after.roles[name]];
    return a.threshold !== b.threshold || !sameKeyids(a.keyids, b.keyids);
  });
}

/** The uploaded roles as metadata; only the ones given. */
export function parseOfflineUpdate(input: { root?: string; targets?: string; bins?: string }): Partial<OfflineRoles> {
  const enc = new TextEncoder();
  return {
    ...(input.root === undefined ? {} : { root: Metadata.fromBytes("root", enc.encode(input.root)) }),
    ...(input.targets === undefined ? {} : { targets: Metadata.fromBytes("targets", enc.encode(input.targets)) }),
    ...(input.bins === undefined ? {} : { bins: Metadata.fromBytes("targets", enc.encode(input.bins)) }),
  };
}

/** Whether the keys that sign the online roles (bin-n, or timestamp and snapshot) differ between the two sets. */
export function onlineKeyChanged(before: OfflineRoles, after: OfflineRoles): boolean {
  return (
    !sameKeyids(succinctRolesOf(before.bins.signed).keyids, succinctRolesOf(after.bins.signed).keyids) ||
    !sameKeyids(before.root.signed.roles.timestamp.keyids, after.root.signed.roles.timestamp.keyids)
  );
}

function sameKeyids(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k) => b.includes(k));
}
