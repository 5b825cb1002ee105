/**
 * The TUF client workflow (spec 5) around a TrustedMetadataSet: what to fetch,
 * what to keep, and the target search. After python-tuf's ngclient Updater, with
 * one difference: an Updater refreshes as often as it is asked, each refresh a
 * new update (spec 5.1) starting from what the last one trusted. Files it kept
 * and that did not change are not parsed again, so a refresh where only the
 * timestamp changed costs two signature checks.
 */
import { mapLimit, Metadata, type RoleType, type SignedByType, type TargetFile, type Targets } from "../tuf/index.js";
import { DEFAULT_CONFIG, type UpdaterConfig } from "./config.js";
import { rolesForTarget } from "./delegations.js";
import { DownloadError, UpdateError } from "./errors.js";
import { lengthOrHashMismatch } from "./hashes.js";
import type { Fetcher, MetadataStore } from "./io.js";
import { TrustedMetadataSet, type MetadataParser } from "./trusted-metadata-set.js";

export interface UpdaterOptions {
  /** Base URL of the metadata, e.g. https://tuf.example.org/metadata/ */
  metadataBaseUrl: string;
  /** Base URL of the targets, e.g. https://tuf.example.org/targets/ */
  targetBaseUrl?: string;
  fetcher: Fetcher;
  /** Where trusted metadata is kept; it must already hold the trusted root.json. */
  store: MetadataStore;
  config?: Partial<UpdaterConfig>;
  /** The clock; each refresh reads it once (spec 5.1). */
  now?: () => Date;
}

export class Updater {
  readonly config: UpdaterConfig;
  private readonly metadataBaseUrl: string;
  private readonly targetBaseUrl?: string;
  private readonly now: () => Date;
  private trusted?: TrustedMetadataSet;
  /** Metadata parsed from bytes this Updater already holds: the same bytes object parses once. */
  private readonly parsed = new WeakMap<Uint8Array, Metadata>();
  /** The last bytes read or written per stored name, so an unchanged file is the same object. */
  private readonly local = new Map<string, Uint8Array>();

  constructor(private readonly options: UpdaterOptions) {
    this.config = { ...DEFAULT_CONFIG, ...options.config };
    this.metadataBaseUrl = withSlash(options.metadataBaseUrl);
    this.targetBaseUrl = options.targetBaseUrl === undefined ? undefined : withSlash(options.targetBaseUrl);
    this.now = options.now ?? (() => new Date());
  }

  /** The metadata the last refresh trusted. */
  get trustedSet(): TrustedMetadataSet | undefined {
    return this.trusted;
  }

  /** Spec 5.2-5.6: root chain, timestamp, snapshot and top-level targets. Delegated roles load on demand. */
  async refresh(): Promise<TrustedMetadataSet> {
    const rootBytes = await this.readLocal("root");
    if (!rootBytes) throw new UpdateError("malformed", "root", "5.2", "no trusted root.json in the metadata store");
    const trusted = await TrustedMetadataSet.create(rootBytes, this.now(), this.parser);
    this.trusted = undefined;
    await this.loadRoot(trusted);
    await this.loadTimestamp(trusted);
    await this.loadSnapshot(trusted);
    await this.loadTargets(trusted, "targets", "root");
    this.trusted = trusted;
    return trusted;
  }

  /**
   * Spec 5.6.7: the target's info from the most trusted role that lists it, searching the
   * delegation tree depth first in order, or undefined when no role does. Refreshes first
   * if this Updater has not.
   */
  async getTargetInfo(targetPath: string): Promise<TargetFile | undefined> {
    const trusted = this.trusted ?? (await this.refresh());
    const toVisit: Array<{ role: string; delegator: string }> = [{ role: "targets", delegator: "root" }];
    const visited = new Set<string>();
    while (toVisit.length > 0 && visited.size <= this.config.maxDelegations) {
      const { role, delegator } = toVisit.pop()!;
      if (visited.has(role)) continue;
      const targets = await this.loadTargets(trusted, role, delegator);
      const info = Object.hasOwn(targets.targets, targetPath) ? targets.targets[targetPath] : undefined;
      if (info) return info;
      visited.add(role);
      const children: Array<{ role: string; delegator: string }> = [];
      for (const child of rolesForTarget(targets, targetPath)) {
        children.push({ role: child.name, delegator: role });
        // A terminating delegation: no backtracking to roles not yet visited.
        if (child.terminating) {
          toVisit.length = 0;
          break;
        }
      }
      toVisit.push(...children.reverse());
    }
    return undefined;
  }

  /**
   * Every targets role of the repository, not only those one lookup needs: targets, then what
   * it delegates to, level by level (for succinct bins, every bin), `concurrency` at a time.
   * For checking a whole repository (`tuf-edge verify`). Refreshes first if this Updater has not.
   */
  async loadAllTargets(
    options: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<ReadonlyMap<string, Targets>> {
    const trusted = this.trusted ?? (await this.refresh());
    const total = Object.keys(trusted.snapshot!.meta).length;
    const seen = new Set(["targets"]);
    let done = 0;
    let level: Array<{ role: string; delegator: string }> = [{ role: "targets", delegator: "root" }];
    while (level.length > 0) {
      const next: Array<{ role: string; delegator: string }> = [];
      await mapLimit(level, options.concurrency ?? 16, async ({ role, delegator }) => {
        const targets = await this.loadTargets(trusted, role, delegator);
        options.onProgress?.(++done, total);
        const d = targets.delegations;
        const children = d?.succinctRoles ? [...d.succinctRoles.roles()] : (d?.roles ?? []).map((r) => r.name);
        for (const child of children)
          if (!seen.has(child)) {
            seen.add(child);
            next.push({ role: child, delegator: role });
          }
      });
      level = next;
    }
    return trusted.trustedTargets;
  }

  /**
   * Spec 5.6 for one role: `role` as `delegator` delegates to it, once this update trusts
   * `delegator`. For a caller that walks the delegation tree itself, a part at a time: the
   * Worker's recovery reads every bin-n of a large repository over several invocations.
   */
  async loadDelegatedTargets(role: string, delegator: string): Promise<Targets> {
    const trusted = this.trusted ?? (await this.refresh());
    return this.loadTargets(trusted, role, delegator);
  }

  /** The URL a target is fetched from: `<dir>/<first hash>.<name>` with consistent snapshots (spec 5.7.3). */
  targetUrl(info: TargetFile, targetBaseUrl?: string): string {
    const base = targetBaseUrl === undefined ? this.targetBaseUrl : withSlash(targetBaseUrl);
    if (base === undefined) throw new Error("no target base URL");
    let path = info.path;
    if (this.trusted?.root.consistentSnapshot && this.config.prefixTargetsWithHash) {
      const slash = path.lastIndexOf("/");
      const hash = Object.values(info.hashes)[0]!;
      path = `${path.slice(0, slash + 1)}${hash}.${path.slice(slash + 1)}`;
    }
    return `${base}${path}`;
  }

  /** Downloads a target and resolves to its bytes once its length and every hash match (spec 5.7). */
  async downloadTarget(info: TargetFile, targetBaseUrl?: string): Promise<Uint8Array> {
    const url = this.targetUrl(info, targetBaseUrl);
    const bytes = await this.download(url, info.length, info.path, "5.7.3");
    await verifyTarget(info, bytes);
    return bytes;
  }

  private async loadRoot(trusted: TrustedMetadataSet): Promise<void> {
    const first = trusted.root.version + 1;
    for (let version = first; version < first + this.config.maxRootRotations; version++) {
      let bytes: Uint8Array;
      try {
        bytes = await this.download(this.metadataUrl("root", version), this.config.rootMaxLength, "root", "5.3.3");
      } catch (err) {
        // 5.3.3: the next root does not exist. Anything else stops the update.
        const status = err instanceof UpdateError && err.cause instanceof DownloadError ? err.cause.details.status : undefined;
        if (status === 403 || status === 404) break;
        throw err;
      }
      await trusted.updateRoot(bytes);
      await this.persist("root", bytes);
    }
  }

  private async loadTimestamp(trusted: TrustedMetadataSet): Promise<void> {
    const local = await this.readLocal("timestamp");
    if (local) await ignoreRefusal(trusted.updateTimestamp(local));
    const bytes = await this.download(this.metadataUrl("timestamp"), this.config.timestampMaxLength, "timestamp", "5.4.1");
    if (await trusted.updateTimestamp(bytes)) await this.persist("timestamp", bytes);
  }

  private async loadSnapshot(trusted: TrustedMetadataSet): Promise<void> {
    const local = await this.readLocal("snapshot");
    // A local snapshot that is final for this timestamp is the one to use.
    if (local && (await ignoreRefusal(trusted.updateSnapshot(local, true)))) return;
    const meta = trusted.timestamp!.snapshotMeta;
    const version = trusted.root.consistentSnapshot ? meta.version : undefined;
    const bytes = await this.download(this.metadataUrl("snapshot", version), meta.length ?? this.config.snapshotMaxLength, "snapshot", "5.5.1");
    await trusted.updateSnapshot(bytes);
    await this.persist("snapshot", bytes);
  }

  private async loadTargets(trusted: TrustedMetadataSet, role: string, delegator: string): Promise<Targets> {
    const known = await trusted.trustedThrough(role, delegator);
    if (known) return known;
    const local = await this.readLocal(role);
    if (local) {
      const targets = await ignoreRefusal(trusted.updateDelegatedTargets(local, role, delegator));
      if (targets) return targets;
    }
    const snapshot = trusted.snapshot!;
    const meta = Object.hasOwn(snapshot.meta, `${role}.json`) ? snapshot.meta[`${role}.json`] : undefined;
    if (!meta) throw new UpdateError("not_in_snapshot", role, "5.6.1", `delegated to, but snapshot version ${snapshot.version} does not list it`);
    const version = trusted.root.consistentSnapshot ? meta.version : undefined;
    const bytes = await this.download(this.metadataUrl(role, version), meta.length ?? this.config.targetsMaxLength, role, "5.6.1");
    const targets = await trusted.updateDelegatedTargets(bytes, role, delegator);
    await this.persist(role, bytes);
    return targets;
  }

  private metadataUrl(role: string, version?: number): string {
    const name = quote(role);
    return `${this.metadataBaseUrl}${version === undefined ? "" : `${version}.`}${name}.json`;
  }

  private async download(url: string, maxLength: number, role: string, rule: string): Promise<Uint8Array> {
    try {
      return await this.options.fetcher.fetch(url, maxLength);
    } catch (err) {
      if (err instanceof DownloadError) {
        throw new UpdateError(err.details.tooLarge ? "too_large" : "download", role, rule, err.message, { cause: err });
      }
      throw err;
    }
  }

  private async readLocal(role: string): Promise<Uint8Array | undefined> {
    const name = `${quote(role)}.json`;
    const bytes = await this.options.store.read(name);
    if (!bytes) return undefined;
    // The same content as last time: hand back the same object, which is already parsed.
    const known = this.local.get(name);
    if (known && bytesEqual(known, bytes)) return known;
    this.local.set(name, bytes);
    return bytes;
  }

  private async persist(role: string, bytes: Uint8Array): Promise<void> {
    const name = `${quote(role)}.json`;
    await this.options.store.write(name, bytes);
    this.local.set(name, bytes);
  }

  private readonly parser: MetadataParser = <K extends RoleType>(type: K, bytes: Uint8Array) => {
    const known = this.parsed.get(bytes);
    if (known && known.signed.type === type) return known as Metadata<SignedByType[K]>;
    const md = Metadata.fromBytes(type, bytes);
    this.parsed.set(bytes, md);
    return md;
  };
}

/** Spec 5.7.3: the bytes have the target's length and every one of its hashes. */
export async function verifyTarget(info: TargetFile, bytes: Uint8Array): Promise<void> {
  const mismatch = await lengthOrHashMismatch(bytes, info.length, info.hashes);
  if (mismatch) throw new UpdateError("length_or_hash", info.path, "5.7.3", mismatch);
}

/** A local file that fails to load is not an error: the update fetches a fresh copy (python-tuf does the same). */
async function ignoreRefusal<T>(attempt: Promise<T>): Promise<T | undefined> {
  try {
    return await attempt;
  } catch (err) {
    if (err instanceof UpdateError) return undefined;
    throw err;
  }
}

/** A role name as one URL path segment and one file name: Python's urllib.parse.quote(name, safe=""), as python-tuf names them. */
export function quote(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
