/**
 * Who may sign a role: keyids plus a threshold. `Role` is the root's entry,
 * `DelegatedRole` a targets delegation by name, and `SuccinctRoles` the TAP 15
 * hash-bin delegation that stands for 2^bit_length bin roles at once.
 */
import type { JSONObject } from "./canonical.js";
import { sha256Sync, utf8 } from "./bytes.js";
import { TufError } from "./errors.js";
import { isObject, isPositiveInt, isStringArray } from "./guards.js";

export class Role {
  constructor(
    readonly keyids: readonly string[],
    readonly threshold: number,
    readonly unrecognized: JSONObject = {},
  ) {
    if (!isPositiveInt(threshold)) throw new TufError("malformed", `role: threshold must be an integer >= 1, got ${threshold}`);
    if (new Set(keyids).size !== keyids.length) throw new TufError("malformed", "role: keyids must be unique");
  }

  static fromJSON(raw: unknown): Role {
    if (!isObject(raw)) throw new TufError("malformed", "role: must be an object");
    const { keyids, threshold, ...unrecognized } = raw;
    if (!isStringArray(keyids)) throw new TufError("malformed", "role: keyids must be an array of strings");
    return new Role(keyids, threshold as number, unrecognized);
  }

  toJSON(): JSONObject {
    return { keyids: [...this.keyids], threshold: this.threshold, ...this.unrecognized };
  }
}

export class DelegatedRole extends Role {
  constructor(
    readonly name: string,
    keyids: readonly string[],
    threshold: number,
    readonly terminating: boolean,
    readonly paths?: readonly string[],
    readonly pathHashPrefixes?: readonly string[],
    unrecognized: JSONObject = {},
  ) {
    super(keyids, threshold, unrecognized);
    if ((paths === undefined) === (pathHashPrefixes === undefined))
      throw new TufError("malformed", `delegation ${name}: exactly one of paths and path_hash_prefixes is required`);
  }

  static override fromJSON(raw: unknown): DelegatedRole {
    if (!isObject(raw)) throw new TufError("malformed", "delegated role: must be an object");
    const { name, keyids, threshold, terminating, paths, path_hash_prefixes, ...unrecognized } = raw;
    if (typeof name !== "string") throw new TufError("malformed", "delegated role: name must be a string");
    if (!isStringArray(keyids)) throw new TufError("malformed", `delegation ${name}: keyids must be strings`);
    if (typeof terminating !== "boolean") throw new TufError("malformed", `delegation ${name}: terminating must be a boolean`);
    if (paths !== undefined && !isStringArray(paths)) throw new TufError("malformed", `delegation ${name}: paths must be strings`);
    if (path_hash_prefixes !== undefined && !isStringArray(path_hash_prefixes))
      throw new TufError("malformed", `delegation ${name}: path_hash_prefixes must be strings`);
    return new DelegatedRole(name, keyids, threshold as number, terminating, paths, path_hash_prefixes, unrecognized);
  }

  override toJSON(): JSONObject {
    const out: JSONObject = { name: this.name, ...super.toJSON(), terminating: this.terminating };
    if (this.paths) out.paths = [...this.paths];
    if (this.pathHashPrefixes) out.path_hash_prefixes = [...this.pathHashPrefixes];
    return out;
  }
}

/** TAP 15 succinct hash bins: bin i of 2^bitLength is named `${namePrefix}-${hex(i)}`. */
export class SuccinctRoles extends Role {
  readonly numberOfBins: number;
  /** Hex digits in a bin suffix: ceil(bitLength / 4), as python-tuf and tuf-js compute it. */
  readonly suffixLength: number;

  constructor(
    keyids: readonly string[],
    threshold: number,
    readonly bitLength: number,
    readonly namePrefix: string,
    unrecognized: JSONObject = {},
  ) {
    super(keyids, threshold, unrecognized);
    if (!Number.isInteger(bitLength) || bitLength < 1 || bitLength > 32)
      throw new TufError("malformed", `succinct_roles: bit_length must be 1..32, got ${bitLength}`);
    this.numberOfBins = 2 ** bitLength;
    this.suffixLength = (this.numberOfBins - 1).toString(16).length;
  }

  static override fromJSON(raw: unknown): SuccinctRoles {
    if (!isObject(raw)) throw new TufError("malformed", "succinct_roles: must be an object");
    const { keyids, threshold, bit_length, name_prefix, ...unrecognized } = raw;
    if (!isStringArray(keyids)) throw new TufError("malformed", "succinct_roles: keyids must be strings");
    if (typeof name_prefix !== "string") throw new TufError("malformed", "succinct_roles: name_prefix must be a string");
    return new SuccinctRoles(keyids, threshold as number, bit_length as number, name_prefix, unrecognized);
  }

  override toJSON(): JSONObject {
    return { ...super.toJSON(), bit_length: this.bitLength, name_prefix: this.namePrefix };
  }

  /** The bin index of a target path: the first bitLength bits of SHA-256(path) (TAP 15). */
  binIndexFor(targetPath: string): number {
    const h = sha256Sync(utf8(targetPath));
    const first32 = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
    // `>>>` keeps the result unsigned; a shift by 32 is a no-op in JS, hence the special case.
    return this.bitLength === 32 ? first32 : first32 >>> (32 - this.bitLength);
  }

  roleName(index: number): string {
    return `${this.namePrefix}-${index.toString(16).padStart(this.suffixLength, "0")}`;
  }

  /** The bin role a target path belongs to, e.g. `bins-3e98`. */
  succinctBinFor(targetPath: string): string {
    return this.roleName(this.binIndexFor(targetPath));
  }

  /** The index of a bin role name, or undefined when the name is not one of these bins. */
  indexOf(roleName: string): number | undefined {
    const prefix = `${this.namePrefix}-`;
    if (!roleName.startsWith(prefix)) return undefined;
    const suffix = roleName.slice(prefix.length);
    if (suffix.length !== this.suffixLength || !/^[0-9a-f]+$/.test(suffix)) return undefined;
    const index = parseInt(suffix, 16);
    return index < this.numberOfBins ? index : undefined;
  }

  isDelegatedRole(roleName: string): boolean {
    return this.indexOf(roleName) !== undefined;
  }

  *roles(): Generator<string> {
    for (let i = 0; i < this.numberOfBins; i++) yield this.roleName(i);
  }
}
