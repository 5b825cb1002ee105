/**
 * Every R2 key tuf-edge reads or writes, and only here. Keys are scoped by
 * repository (`<repository>/…`), so Workers with different `REPOSITORY` values
 * can share a bucket without writing, serving or sweeping each other's files.
 *
 * Hosted targets live in two namespaces that cannot collide: the plain path
 * (`<repository>/targets/<path>`, for clients without TUF) and the consistent
 * copies (`<repository>/consistent/<dir>/<HASH>.<basename>`, TUF spec 6.2.1).
 * A plain path may look like another target's hash-prefixed name; it still
 * names a different object, so retention of one never deletes the other.
 * A `PUT` in progress stages its bytes under `<repository>/uploads/<id>`,
 * which nothing serves.
 */

/** R2's limit on a key, in UTF-8 bytes. */
export const R2_MAX_KEY_BYTES = 1024;
/** `REPOSITORY`: lowercase, URL- and key-safe, at most 63 bytes. */
const REPOSITORY_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const MAX_REPOSITORY_BYTES = 63;
/** The longest key a target path adds to its prefix: `consistent/` + a sha512 hex + `.`. */
const LONGEST_TARGET_SUFFIX = "consistent/".length + 128 + 1;
/**
 * The longest target path whose every key fits R2, whatever the repository's
 * name: 1,024 − (63 + 1) − 140 = 820 bytes.
 */
export const MAX_TARGET_PATH_BYTES = R2_MAX_KEY_BYTES - (MAX_REPOSITORY_BYTES + 1) - LONGEST_TARGET_SUFFIX;

export class InvalidRepositoryName extends Error {}

export function repositoryName(env: { REPOSITORY?: string }): string {
  const name = env.REPOSITORY || "default";
  if (!REPOSITORY_NAME.test(name))
    throw new InvalidRepositoryName(`REPOSITORY ${JSON.stringify(name)} must match ${REPOSITORY_NAME} (it prefixes every R2 key)`);
  return name;
}

export class R2Keys {
  readonly prefix: string;
  readonly metadataPrefix: string;

  constructor(readonly repository: string) {
    this.prefix = `${repository}/`;
    this.metadataPrefix = `${this.prefix}metadata/`;
  }

  /** `timestamp.json`, `N.root.json`, `V.snapshot.json`, `V.bin-xxxx.json`, … */
  metadata(file: string): string {
    return `${this.metadataPrefix}${file}`;
  }

  get timestamp(): string {
    return this.metadata("timestamp.json");
  }

  /** `V.<role>.json`: create-only, like every versioned name. */
  versioned(role: string, version: number): string {
    return this.metadata(`${version}.${role}.json`);
  }

  plainTarget(path: string): string {
    return `${this.prefix}targets/${path}`;
  }

  /** The copy of `path` whose content has `hash`: `dir/HASH.basename` (TUF spec 6.2.1). */
  consistentTarget(path: string, hash: string): string {
    const slash = path.lastIndexOf("/");
    return `${this.prefix}consistent/${path.slice(0, slash + 1)}${hash}.${path.slice(slash + 1)}`;
  }

  /** The object a `/targets/<name>` URL serves: a consistent copy when the name is hash-prefixed. */
  servedTarget(name: string): { key: string; immutable: boolean } {
    const m = HASH_PREFIXED.exec(name);
    if (!m) return { key: this.plainTarget(name), immutable: false };
    return { key: `${this.prefix}consistent/${name}`, immutable: true };
  }

  /** A full page of the signing log, archived (signing-log.ts): create-only, and never swept. */
  logPage(after: number): string {
    return `${this.prefix}log/${after}.json`;
  }

  /** Where an upload's bytes wait while they are hashed: never served, and deleted by the upload (or by retention, after a crash). */
  upload(id: string): string {
    return `${this.prefix}uploads/${id}`;
  }

  /** What a key of this repository names: the inverse of the functions above (retention checks each key against the current state). */
  parse(key: string): ParsedKey | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    const rest = key.slice(this.prefix.length);
    if (rest.startsWith("metadata/")) {
      const file = rest.slice("metadata/".length);
      if (file === "timestamp.json") return { kind: "timestamp" };
      const m = VERSIONED.exec(file);
      return m ? { kind: "versioned", role: m[2]!, version: Number(m[1]) } : undefined;
    }
    if (rest.startsWith("targets/")) return { kind: "plain", path: rest.slice("targets/".length) };
    if (rest.startsWith("consistent/")) {
      const name = rest.slice("consistent/".length);
      const slash = name.lastIndexOf("/");
      // sha256 and sha512 hex differ in length and a hex digit is never ".", so the split is unique.
      const m = CONSISTENT_BASENAME.exec(name.slice(slash + 1));
      return m ? { kind: "consistent", path: `${name.slice(0, slash + 1)}${m[2]}`, hash: m[1]! } : undefined;
    }
    return undefined;
  }

  /** Every R2 key holding a copy of the target. */
  targetKeys(path: string, hashes: Readonly<Record<string, string>>): string[] {
    return [...Object.values(hashes).map((h) => this.consistentTarget(path, h)), this.plainTarget(path)];
  }
}

const HASH_PREFIXED = /(^|\/)([0-9a-f]{64}|[0-9a-f]{128})\.[^/]+$/;
const CONSISTENT_BASENAME = /^([0-9a-f]{64}|[0-9a-f]{128})\.(.+)$/s;
const VERSIONED = /^([1-9][0-9]*)\.(.+)\.json$/s;

export type ParsedKey =
  | { kind: "timestamp" }
  | { kind: "versioned"; role: string; version: number }
  | { kind: "plain"; path: string }
  | { kind: "consistent"; path: string; hash: string };

export const r2Keys = (env: { REPOSITORY?: string }): R2Keys => new R2Keys(repositoryName(env));

/** UTF-8 length, for checking a key against R2's limit before R2 refuses it with a 500. */
export const keyBytes = (key: string): number => new TextEncoder().encode(key).length;
