/**
 * The metadata a client trusts during one update, and every rule for letting
 * new metadata in (TUF spec 5.3-5.6). After python-tuf's TrustedMetadataSet:
 *
 * - Metadata is loaded in order: root, timestamp, snapshot, targets, delegated targets.
 * - Metadata may be loaded while expired, or (snapshot) while its version differs from
 *   the timestamp's: it is then "intermediate", kept only as the baseline of rollback
 *   checks for a newer copy. The refusal still throws, so the caller knows.
 * - A role loads only once the roles before it are final, and never after a later one.
 *
 * Signatures are checked with src/tuf and thrown away; what is kept is the verified
 * `Metadata` (for its bytes' hash and canonical form) by role name.
 */
import {
  Metadata,
  TufError,
  countSignatures,
  formatExpires,
  verifyRootRotation,
  type Root,
  type RoleType,
  type Signed,
  type SignedByType,
  type Snapshot,
  type Targets,
  type Timestamp,
} from "../tuf/index.js";
import { UpdateError } from "./errors.js";
import { lengthOrHashMismatch } from "./hashes.js";

/** Parses bytes as a role; the updater passes a memoizing one so unchanged local files are not parsed twice. */
export type MetadataParser = <K extends RoleType>(type: K, bytes: Uint8Array) => Metadata<SignedByType[K]>;

const parseBytes: MetadataParser = (type, bytes) => Metadata.fromBytes(type, bytes);

interface TrustedTargets {
  metadata: Metadata<Targets>;
  /** The role that delegated to it: a later lookup through another delegator must verify it again. */
  delegator: string;
}

export class TrustedMetadataSet {
  private rootMd: Metadata<Root>;
  private timestampMd?: Metadata<Timestamp>;
  private snapshotMd?: Metadata<Snapshot>;
  private readonly targetsRoles = new Map<string, TrustedTargets>();

  private constructor(
    root: Metadata<Root>,
    /** The fixed update start time of spec 5.1: every expiry is compared with it. */
    readonly now: Date,
    private readonly parse: MetadataParser,
  ) {
    this.rootMd = root;
  }

  /** Spec 5.2: the trusted root is checked only against itself; expiry is checked on the final root. */
  static async create(rootBytes: Uint8Array, now: Date, parse: MetadataParser = parseBytes): Promise<TrustedMetadataSet> {
    const root = load("root", "5.2", () => parse("root", rootBytes));
    await verifyThreshold(root.signed, "root", root, "5.2");
    return new TrustedMetadataSet(root, now, parse);
  }

  get root(): Root {
    return this.rootMd.signed;
  }
  get rootMetadata(): Metadata<Root> {
    return this.rootMd;
  }
  get timestamp(): Timestamp | undefined {
    return this.timestampMd?.signed;
  }
  get snapshot(): Snapshot | undefined {
    return this.snapshotMd?.signed;
  }
  /** A targets role trusted in this update (top-level "targets" or a delegated role). */
  targets(role: string): Targets | undefined {
    return this.targetsRoles.get(role)?.metadata.signed;
  }
  /** Every targets role trusted so far, by name. */
  get trustedTargets(): ReadonlyMap<string, Targets> {
    return new Map([...this.targetsRoles].map(([name, t]) => [name, t.metadata.signed]));
  }

  /** Spec 5.3.4-5.3.8: root N+1 is signed by a threshold of root N and of itself. An expired intermediate root is fine. */
  async updateRoot(bytes: Uint8Array): Promise<Root> {
    if (this.timestampMd) throw new Error("cannot update root after timestamp");
    const next = load("root", "5.3.4", () => this.parse("root", bytes));
    try {
      await verifyRootRotation(this.rootMd.signed, next);
    } catch (err) {
      if (err instanceof TufError)
        throw new UpdateError(err.code, "root", err.code === "rollback" ? "5.3.5" : "5.3.4", err.message);
      throw err;
    }
    this.rootMd = next;
    return next.signed;
  }

  /**
   * Spec 5.4. Resolves to false when the version equals the trusted one (5.4.3.1: keep the
   * trusted copy). An expired timestamp is kept as intermediate, then refused.
   */
  async updateTimestamp(bytes: Uint8Array): Promise<boolean> {
    if (this.snapshotMd) throw new Error("cannot update timestamp after snapshot");
    // 5.3.10: the final root must not be expired.
    this.notExpired("root", this.rootMd.signed, "5.3.10");
    const md = load("timestamp", "5.4.1", () => this.parse("timestamp", bytes));
    await verifyThreshold(this.rootMd.signed, "timestamp", md, "5.4.2");
    const trusted = this.timestampMd?.signed;
    if (trusted) {
      const { version, snapshotMeta } = md.signed;
      if (version < trusted.version)
        throw new UpdateError("rollback", "timestamp", "5.4.3.1", `version ${version} is older than the trusted version ${trusted.version}`);
      if (version === trusted.version)
        return false;
      if (snapshotMeta.version < trusted.snapshotMeta.version)
        throw new UpdateError(
          "rollback",
          "timestamp",
          "5.4.3.2",
          `names snapshot version ${snapshotMeta.version}, older than the trusted snapshot version ${trusted.snapshotMeta.version}`,
        );
    }
    this.timestampMd = md;
    this.checkFinalTimestamp();
    return true;
  }

  /**
   * Spec 5.5. `trusted` bytes were verified before (the local copy): their hashes need not
   * match the current timestamp, so an old local snapshot still guards against rollback.
   */
  async updateSnapshot(bytes: Uint8Array, trusted = false): Promise<Snapshot> {
    const timestamp = this.timestampMd?.signed;
    if (!timestamp) throw new Error("cannot update snapshot before timestamp");
    if (this.targetsRoles.size > 0) throw new Error("cannot update snapshot after targets");
    this.checkFinalTimestamp();
    const meta = timestamp.snapshotMeta;
    if (!trusted) {
      const mismatch = await lengthOrHashMismatch(bytes, meta.length, meta.hashes);
      if (mismatch) throw new UpdateError("length_or_hash", "snapshot", "5.5.2", `${mismatch} in timestamp version ${timestamp.version}`);
    }
    const md = load("snapshot", "5.5.3", () => this.parse("snapshot", bytes));
    await verifyThreshold(this.rootMd.signed, "snapshot", md, "5.5.3");
    const was = this.snapshotMd?.signed;
    if (was) {
      // 5.5.5: no targets role the client knows disappears or goes back. Plain loops: 16,384 entries.
      const next = md.signed.meta;
      for (const file in was.meta) {
        if (!Object.hasOwn(was.meta, file)) continue;
        const entry = Object.hasOwn(next, file) ? next[file] : undefined;
        if (!entry) throw new UpdateError("rollback", "snapshot", "5.5.5", `version ${md.signed.version} no longer lists ${file}`);
        if (entry.version < was.meta[file]!.version)
          throw new UpdateError(
            "rollback",
            "snapshot",
            "5.5.5",
            `version ${md.signed.version} lists ${file} version ${entry.version}, older than the trusted version ${was.meta[file]!.version}`,
          );
      }
    }
    this.snapshotMd = md;
    this.checkFinalSnapshot();
    return md.signed;
  }

  /** Spec 5.6 for top-level targets, delegated by root. */
  updateTargets(bytes: Uint8Array): Promise<Targets> {
    return this.updateDelegatedTargets(bytes, "targets", "root");
  }

  /** Spec 5.6 for `role`, delegated by `delegatorName` (already trusted): length, hashes and version from the snapshot. */
  async updateDelegatedTargets(bytes: Uint8Array, role: string, delegatorName: string): Promise<Targets> {
    const snapshot = this.finalSnapshot();
    const delegator = this.delegator(delegatorName);
    const meta = Object.hasOwn(snapshot.meta, `${role}.json`) ? snapshot.meta[`${role}.json`] : undefined;
    if (!meta) throw new UpdateError("not_in_snapshot", role, "5.6.1", `snapshot version ${snapshot.version} does not list ${role}.json`);
    const mismatch = await lengthOrHashMismatch(bytes, meta.length, meta.hashes);
    if (mismatch) throw new UpdateError("length_or_hash", role, "5.6.2", `${mismatch} in snapshot version ${snapshot.version}`);
    const md = load(role, "5.6.3", () => this.parse("targets", bytes));
    await verifyThreshold(delegator, role, md, "5.6.3");
    if (md.signed.version !== meta.version)
      throw new UpdateError("rollback", role, "5.6.4", `version ${md.signed.version}, but snapshot version ${snapshot.version} lists ${meta.version}`);
    this.notExpired(role, md.signed, "5.6.5");
    this.targetsRoles.set(role, { metadata: md, delegator: delegatorName });
    return md.signed;
  }

  /**
   * A role already trusted in this update, reached again through `delegatorName`. If another
   * delegator let it in, its signatures are checked again under this one: authority does not
   * carry over from another search path.
   */
  async trustedThrough(role: string, delegatorName: string): Promise<Targets | undefined> {
    const known = this.targetsRoles.get(role);
    if (!known) return undefined;
    if (known.delegator !== delegatorName) await verifyThreshold(this.delegator(delegatorName), role, known.metadata, "5.6.3");
    return known.metadata.signed;
  }

  private delegator(name: string): Root | Targets {
    if (name === "root") return this.rootMd.signed;
    const delegator = this.targetsRoles.get(name);
    if (!delegator) throw new Error(`cannot load a role delegated by ${name} before ${name}`);
    return delegator.metadata.signed;
  }

  private finalSnapshot(): Snapshot {
    if (!this.snapshotMd) throw new Error("cannot load targets before snapshot");
    this.checkFinalSnapshot();
    return this.snapshotMd.signed;
  }

  private checkFinalTimestamp(): void {
    this.notExpired("timestamp", this.timestampMd!.signed, "5.4.4");
  }

  private checkFinalSnapshot(): void {
    const snapshot = this.snapshotMd!.signed;
    this.notExpired("snapshot", snapshot, "5.5.6");
    const expected = this.timestampMd!.signed.snapshotMeta.version;
    if (snapshot.version !== expected)
      throw new UpdateError("rollback", "snapshot", "5.5.4", `version ${snapshot.version}, but the timestamp names version ${expected}`);
  }

  /** Freeze attack: expired means expires <= the update's start time. */
  private notExpired(role: string, signed: Signed, rule: string): void {
    if (signed.isExpired(this.now))
      throw new UpdateError("expired", role, rule, `expired at ${formatExpires(signed.expires)} (version ${signed.version})`);
  }
}

/** Parses, turning src/tuf's "malformed" into an error that names the role. */
function load<T>(role: string, rule: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof TufError) throw new UpdateError(err.code, role, rule, err.message);
    throw err;
  }
}

/** A threshold of the keys `delegator` names for `role` signed it (each keyid counted once). */
async function verifyThreshold(delegator: Root | Targets, role: string, md: Metadata<Signed>, rule: string): Promise<void> {
  const delegate = delegator.delegateFor(role);
  if (!delegate) throw new UpdateError("unknown_role", role, rule, `${delegator.type} does not delegate to ${role}`);
  const result = await countSignatures(delegate.keys, delegate.role, md);
  if (!result.verified)
    throw new UpdateError("threshold", role, rule, `version ${md.signed.version} is signed by ${result.signed.size} of the ${result.threshold} keys required`);
}
