/**
 * tuf-edge's own client-side check of a published repository: the TUF client
 * workflow (spec 5) run against what a repository serves, with every targets
 * role walked instead of only those one target lookup needs.
 *
 *   5.2  trusted root        self-signed, as tuf-js and python-tuf load it
 *   5.3  root chain          N+1.root.json until none: each signed by a threshold of N and of itself
 *   5.3.10                   the final root is not expired
 *   5.3.11                   timestamp or snapshot keys rotated → forget the trusted timestamp and snapshot
 *   5.4  timestamp.json      root's timestamp keys; no version or snapshot version goes back; not expired
 *   5.5  V.snapshot.json     length and hashes from timestamp; root's snapshot keys; version == timestamp's;
 *                            no role listed before disappears or goes back; not expired
 *   5.6  V.targets.json      length, hashes and version from snapshot; signed by the delegator; not expired;
 *                            then every delegated role the same way: bins, and each bin-n of its succinct_roles
 *
 * The returned TrustedState is what a client keeps between updates. Passed
 * back as `previous`, it makes the next check a warm-cache update: rollback
 * checks compare against it, and a targets role whose version (and whose
 * delegators' versions) did not change is not fetched again, only checked for
 * expiry, as a client reuses its cached copy.
 *
 * Pure: the fetcher is injected, so the Worker's tests read R2 and the CLI reads HTTP.
 */
import { digestHex, type HashAlgorithm } from "./bytes.js";
import { TufError } from "./errors.js";
import { Metadata } from "./metadata.js";
import type { Role } from "./role.js";
import type { Root } from "./root.js";
import { formatExpires, type Signed } from "./signed.js";
import type { MetaFile, Snapshot, Timestamp } from "./snapshot.js";
import type { Targets } from "./targets.js";
import { verifyDelegate, verifyRootRotation, type Delegator } from "./verify.js";

/** Reads one metadata file by name ("2.root.json", "timestamp.json", "7.bin-3ff.json"); undefined when it does not exist. */
export type MetadataFetcher = (name: string) => Promise<Uint8Array | undefined>;

export interface TrustedState {
  readonly root: Metadata<Root>;
  readonly timestamp: Metadata<Timestamp>;
  readonly snapshot: Metadata<Snapshot>;
  /** The trusted targets metadata by role name: top-level targets, bins and every bin-n. */
  readonly targets: ReadonlyMap<string, Targets>;
  /** The files this check fetched and verified; every other targets role was carried over from `previous`. */
  readonly fetched: readonly string[];
}

export interface CheckOptions {
  fetch: MetadataFetcher;
  /** The root the client trusts out of band, e.g. 1.root.json from the key ceremony. */
  trustedRoot: Metadata<Root>;
  /** The fixed update start time (spec 5.1): every expiry is compared with it. */
  now: Date;
  /** What the last check returned: a warm cache. */
  previous?: TrustedState;
  /** Called as each targets role is verified or carried over, for progress output. */
  onProgress?: (progress: { role: string; done: number; total: number }) => void;
  /** Targets files fetched and verified at once. */
  concurrency?: number;
}

/** Download caps when the referrer gives no length: the tuf-js 5 and python-tuf defaults (pep458.md §5, §10). */
export const MAX_LENGTH = { root: 512_000, timestamp: 16_384, snapshot: 2_000_000, targets: 5_000_000 } as const;
/** Root versions one update walks at most, as tuf-js and python-tuf (spec 5.3.3 leaves Y to clients). */
export const MAX_ROOT_ROTATIONS = 256;

export async function checkRepository(options: CheckOptions): Promise<TrustedState> {
  const { fetch, now } = options;
  const fetched: string[] = [];
  const download = async (name: string, cap: number, what: string): Promise<Uint8Array | undefined> => {
    const bytes = await fetch(name);
    if (bytes === undefined) return undefined;
    fetched.push(name);
    if (bytes.length > cap) throw new TufError("length_or_hash", `${what}: ${name} is ${bytes.length} bytes, more than the ${cap} allowed`);
    return bytes;
  };

  // 5.2: the trusted root, or the newer one the warm cache holds.
  let previous = options.previous;
  const start =
    previous && previous.root.signed.version >= options.trustedRoot.signed.version ? previous.root : options.trustedRoot;
  await verifyDelegate(start.signed, "root", start);

  // 5.3.2-5.3.9: walk the root chain. A client stops at the first N+1.root.json that does not exist.
  let root = start;
  for (let i = 0; i < MAX_ROOT_ROTATIONS; i++) {
    const name = `${root.signed.version + 1}.root.json`;
    const bytes = await download(name, MAX_LENGTH.root, `root v${root.signed.version + 1}`);
    if (bytes === undefined) break;
    const next = Metadata.fromBytes("root", bytes);
    await verifyRootRotation(root.signed, next);
    root = next;
  }
  // 5.3.10: freeze attack on root.
  notExpired("root", root.signed, now);
  // 5.3.11: fast-forward recovery. New timestamp or snapshot keys reset the versions a client
  // compares with, so a repository can recover from inflated versions by rotating those keys.
  if (previous && (rotated(previous.root.signed, root.signed, "timestamp") || rotated(previous.root.signed, root.signed, "snapshot")))
    previous = undefined;
  const consistent = root.signed.consistentSnapshot === true;

  // 5.4: timestamp.json
  const timestamp = await updateTimestamp(root.signed, previous?.timestamp);
  // 5.5: the snapshot the timestamp names
  const snapshot = await updateSnapshot(root.signed, timestamp, previous?.snapshot);
  // 5.6: targets and every role it delegates to, down to each bin-n
  const targets = await updateTargetsRoles(
    root.signed,
    snapshot,
    // A cached targets role is reused only if the keys that verified it are the same: same root version.
    previous && previous.root.signed.version === root.signed.version ? previous.targets : new Map(),
  );
  return { root, timestamp, snapshot, targets, fetched };

  async function updateTimestamp(root: Root, trusted: Metadata<Timestamp> | undefined): Promise<Metadata<Timestamp>> {
    const bytes = await download("timestamp.json", MAX_LENGTH.timestamp, "timestamp");
    if (bytes === undefined) throw new TufError("malformed", "timestamp: timestamp.json does not exist");
    const md = Metadata.fromBytes("timestamp", bytes);
    await verifyDelegate(root, "timestamp", md);
    const { version, snapshotMeta } = md.signed;
    if (trusted) {
      const was = trusted.signed;
      if (version < was.version) throw new TufError("rollback", `timestamp v${version} is older than the trusted timestamp v${was.version}`);
      // A client keeps its copy when the version is equal (spec 5.4.3.1); the repository must not have reused it.
      if (version === was.version && !bytesEqual(md.signedBytes(), trusted.signedBytes()))
        throw new TufError("rollback", `timestamp v${version} differs from the trusted timestamp v${was.version}: a version was reused`);
      if (snapshotMeta.version < was.snapshotMeta.version)
        throw new TufError(
          "rollback",
          `timestamp v${version} names snapshot v${snapshotMeta.version}, older than the trusted snapshot v${was.snapshotMeta.version}`,
        );
    }
    notExpired("timestamp", md.signed, now);
    return md;
  }

  async function updateSnapshot(
    root: Root,
    timestamp: Metadata<Timestamp>,
    trusted: Metadata<Snapshot> | undefined,
  ): Promise<Metadata<Snapshot>> {
    const meta = timestamp.signed.snapshotMeta;
    const referrer = `timestamp v${timestamp.signed.version}`;
    const name = consistent ? `${meta.version}.snapshot.json` : "snapshot.json";
    const bytes = await download(name, meta.length ?? MAX_LENGTH.snapshot, `snapshot v${meta.version}`);
    if (bytes === undefined) throw new TufError("malformed", `snapshot v${meta.version}: ${name} does not exist, but ${referrer} names it`);
    // 5.5.2: mix-and-match. The bytes are the ones the timestamp describes.
    await verifyMetaFile(bytes, meta, `snapshot v${meta.version}`, referrer);
    const md = Metadata.fromBytes("snapshot", bytes);
    await verifyDelegate(root, "snapshot", md);
    if (md.signed.version !== meta.version)
      throw new TufError("rollback", `snapshot v${md.signed.version} is served as ${name}, but ${referrer} names v${meta.version}`);
    // 5.5.5: no targets role goes back, and none the client knows disappears.
    if (trusted)
      for (const [file, was] of Object.entries(trusted.signed.meta)) {
        const entry = Object.hasOwn(md.signed.meta, file) ? md.signed.meta[file] : undefined;
        if (entry === undefined)
          throw new TufError("rollback", `snapshot v${md.signed.version} no longer lists ${file}, which snapshot v${trusted.signed.version} listed`);
        if (entry.version < was.version)
          throw new TufError(
            "rollback",
            `snapshot v${md.signed.version} lists ${file} v${entry.version}, older than v${was.version} in snapshot v${trusted.signed.version}`,
          );
      }
    notExpired("snapshot", md.signed, now);
    return md;
  }

  /**
   * 5.6 for the whole delegation tree, one level at a time: targets (delegated by root),
   * then what targets delegates (bins), then what those delegate (every bin-n of the
   * succinct_roles). Each role is visited once, as in spec 5.6.7.1.
   */
  async function updateTargetsRoles(
    root: Root,
    snapshot: Metadata<Snapshot>,
    cached: ReadonlyMap<string, Targets>,
  ): Promise<Map<string, Targets>> {
    const trusted = new Map<string, Targets>();
    const total = Object.keys(snapshot.signed.meta).length;
    type Visit = { role: string; delegator: Delegator; delegatorName: string; delegatorCarried: boolean };
    const scheduled = new Set(["targets"]);
    let level: Visit[] = [{ role: "targets", delegator: root, delegatorName: "root", delegatorCarried: true }];
    while (level.length > 0) {
      const next: Visit[] = [];
      await mapLimit(level, options.concurrency ?? 16, async ({ role, delegator, delegatorName, delegatorCarried }) => {
        const { signed, carried } = await updateTargetsRole(role, delegator, delegatorName, delegatorCarried, snapshot, cached);
        trusted.set(role, signed);
        options.onProgress?.({ role, done: trusted.size, total });
        for (const child of delegatedRoles(signed))
          if (!scheduled.has(child)) {
            scheduled.add(child);
            next.push({ role: child, delegator: signed, delegatorName: role, delegatorCarried: carried });
          }
      });
      level = next;
    }
    return trusted;
  }

  async function updateTargetsRole(
    role: string,
    delegator: Delegator,
    delegatorName: string,
    delegatorCarried: boolean,
    snapshot: Metadata<Snapshot>,
    cached: ReadonlyMap<string, Targets>,
  ): Promise<{ signed: Targets; carried: boolean }> {
    const file = `${role}.json`;
    const referrer = `snapshot v${snapshot.signed.version}`;
    const meta = Object.hasOwn(snapshot.signed.meta, file) ? snapshot.signed.meta[file] : undefined;
    if (!meta) throw new TufError("malformed", `${role}: ${delegatorName} delegates to it, but ${referrer} does not list ${file}`);
    // The warm cache: the same version, verified under the same delegator version, is the same file.
    const known = cached.get(role);
    if (delegatorCarried && known?.version === meta.version) {
      notExpired(role, known, now);
      return { signed: known, carried: true };
    }
    const name = consistent ? `${meta.version}.${role}.json` : file;
    const bytes = await download(name, meta.length ?? MAX_LENGTH.targets, `${role} v${meta.version}`);
    if (bytes === undefined) throw new TufError("malformed", `${role} v${meta.version}: ${name} does not exist, but ${referrer} lists it`);
    await verifyMetaFile(bytes, meta, `${role} v${meta.version}`, referrer);
    const md = Metadata.fromBytes("targets", bytes);
    await verifyDelegate(delegator, role, md);
    if (md.signed.version !== meta.version)
      throw new TufError("rollback", `${role} v${md.signed.version} is served as ${name}, but ${referrer} lists v${meta.version}`);
    notExpired(role, md.signed, now);
    return { signed: md.signed, carried: false };
  }
}

/** The roles one targets metadata delegates to: its `roles`, or every bin of its `succinct_roles` (TAP 15). */
export function delegatedRoles(targets: Targets): string[] {
  const d = targets.delegations;
  if (!d) return [];
  return d.succinctRoles ? [...d.succinctRoles.roles()] : (d.roles ?? []).map((r) => r.name);
}

/** The role that expires first, and when: how long the repository stays valid without a publish. */
export function earliestExpiry(state: TrustedState): { role: string; version: number; expires: Date } {
  const candidates: Array<[string, Signed]> = [
    ["root", state.root.signed],
    ["timestamp", state.timestamp.signed],
    ["snapshot", state.snapshot.signed],
    ...state.targets,
  ];
  let first = candidates[0]!;
  for (const candidate of candidates) if (candidate[1].expires < first[1].expires) first = candidate;
  return { role: first[0], version: first[1].version, expires: first[1].expires };
}

/** Spec 5.3.10, 5.4.4, 5.5.6, 5.6.5: freeze attack. Expired means expires <= now. */
function notExpired(role: string, signed: Signed, now: Date): void {
  if (signed.isExpired(now))
    throw new TufError("expired", `${role} v${signed.version} expired at ${formatExpires(signed.expires)} (now ${formatExpires(now)})`);
}

/** Spec 5.3.11: a role counts as rotated when its keyids change. */
function rotated(before: Root, after: Root, role: "timestamp" | "snapshot"): boolean {
  const a: Role = before.roles[role];
  const b: Role = after.roles[role];
  return a.keyids.length !== b.keyids.length || a.keyids.some((k) => !b.keyids.includes(k));
}

const SUPPORTED_HASHES: readonly string[] = ["sha256", "sha512"] satisfies HashAlgorithm[];

/** Length and every listed hash, as python-tuf checks them: an unknown algorithm fails too. */
async function verifyMetaFile(bytes: Uint8Array, meta: MetaFile, what: string, referrer: string): Promise<void> {
  if (meta.length !== undefined && bytes.length !== meta.length)
    throw new TufError("length_or_hash", `${what}: ${bytes.length} bytes, but ${referrer} says ${meta.length}`);
  for (const [algorithm, expected] of Object.entries(meta.hashes ?? {})) {
    if (!SUPPORTED_HASHES.includes(algorithm))
      throw new TufError("length_or_hash", `${what}: ${referrer} gives a ${algorithm} hash, which this client cannot check`);
    const actual = (await digestHex(bytes, [algorithm as HashAlgorithm]))[algorithm];
    if (actual !== expected)
      throw new TufError("length_or_hash", `${what}: ${algorithm} ${actual} does not match ${expected} in ${referrer}`);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs `fn` over `items`, `limit` at a time; after the first failure no new item starts. */
async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++]!);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
