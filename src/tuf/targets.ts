/** The targets role and its delegations: targets, bins and every bin-n (TUF spec 4.5, TAP 15). */
import type { JSONObject } from "./canonical.js";
import { TufError } from "./errors.js";
import { isNonNegativeInt, isObject, mapRecord } from "./guards.js";
import { Key } from "./keys.js";
import { DelegatedRole, Role, SuccinctRoles } from "./role.js";
import { keysToJSON, parseKeys, TOP_LEVEL_ROLES } from "./root.js";
import { Signed, type SignedFields } from "./signed.js";

export class TargetFile {
  constructor(
    readonly path: string,
    readonly length: number,
    readonly hashes: Readonly<Record<string, string>>,
    readonly unrecognized: JSONObject = {},
  ) {
    if (!isNonNegativeInt(length)) throw new TufError("malformed", `target ${path}: length must be an integer >= 0`);
    if (Object.keys(hashes).length === 0) throw new TufError("malformed", `target ${path}: at least one hash is required`);
  }

  /** `custom` is an unrecognized-but-spec'd field: kept with the rest so it round-trips. */
  get custom(): JSONObject | undefined {
    return this.unrecognized.custom as JSONObject | undefined;
  }

  static fromJSON(path: string, raw: unknown): TargetFile {
    if (!isObject(raw)) throw new TufError("malformed", `target ${path}: must be an object`);
    const { length, hashes, ...unrecognized } = raw;
    if (!isObject(hashes) || !Object.values(hashes).every((h) => typeof h === "string"))
      throw new TufError("malformed", `target ${path}: hashes must be an object of strings`);
    return new TargetFile(path, length as number, hashes as Record<string, string>, unrecognized);
  }

  toJSON(): JSONObject {
    return { length: this.length, hashes: { ...this.hashes }, ...this.unrecognized };
  }
}

export class Delegations {
  constructor(
    readonly keys: Readonly<Record<string, Key>>,
    readonly roles?: readonly DelegatedRole[],
    readonly succinctRoles?: SuccinctRoles,
    readonly unrecognized: JSONObject = {},
  ) {
    // TAP 15: "Only one of succinct_roles or roles may be specified".
    if ((roles === undefined) === (succinctRoles === undefined))
      throw new TufError("malformed", "delegations: exactly one of roles and succinct_roles is required");
    if (roles && new Set(roles.map((r) => r.name)).size !== roles.length)
      throw new TufError("malformed", "delegations: role names must be unique");
    // python-tuf Delegations: "Delegated roles cannot be empty or use top-level role names".
    for (const role of roles ?? [])
      if (role.name === "" || (TOP_LEVEL_ROLES as readonly string[]).includes(role.name))
        throw new TufError("malformed", `delegations: ${JSON.stringify(role.name)} cannot name a delegated role`);
    for (const [keyid, key] of Object.entries(keys))
      if (!key.hasKeyid(keyid)) throw new TufError("malformed", `delegations: keyid ${keyid} is not the SHA-256 of its key`);
  }

  static fromJSON(raw: unknown): Delegations {
    if (!isObject(raw)) throw new TufError("malformed", "delegations: must be an object");
    const { keys, roles, succinct_roles, ...unrecognized } = raw;
    if (!isObject(keys)) throw new TufError("malformed", "delegations: keys must be an object");
    if (roles !== undefined && !Array.isArray(roles)) throw new TufError("malformed", "delegations: roles must be an array");
    return new Delegations(
      parseKeys(keys),
      roles?.map((r) => DelegatedRole.fromJSON(r)),
      succinct_roles === undefined ? undefined : SuccinctRoles.fromJSON(succinct_roles),
      unrecognized,
    );
  }

  toJSON(): JSONObject {
    const out: JSONObject = { keys: keysToJSON(this.keys) };
    if (this.roles) out.roles = this.roles.map((r) => r.toJSON());
    if (this.succinctRoles) out.succinct_roles = this.succinctRoles.toJSON();
    return { ...out, ...this.unrecognized };
  }
}

export class Targets extends Signed {
  readonly type = "targets";

  constructor(
    fields: SignedFields,
    readonly targets: Readonly<Record<string, TargetFile>> = {},
    readonly delegations?: Delegations,
  ) {
    super(fields);
  }

  static fromJSON(raw: unknown): Targets {
    const { fields, rest } = Signed.commonFromJSON(raw, "targets");
    const { targets, delegations, ...unrecognized } = rest;
    if (!isObject(targets)) throw new TufError("malformed", "targets: targets must be an object");
    return new Targets(
      { ...fields, unrecognized },
      mapRecord(targets, (info, path) => TargetFile.fromJSON(path, info)),
      delegations === undefined ? undefined : Delegations.fromJSON(delegations),
    );
  }

  toJSON(): JSONObject {
    const out: JSONObject = { ...this.commonJSON(), targets: mapRecord(this.targets, (file) => file.toJSON()) };
    if (this.delegations) out.delegations = this.delegations.toJSON();
    return { ...out, ...this.unrecognized };
  }

  /** The keys and threshold that may sign a role this targets metadata delegates to. */
  delegateFor(roleName: string): { keys: Readonly<Record<string, Key>>; role: Role } | undefined {
    const d = this.delegations;
    if (!d) return undefined;
    if (d.succinctRoles) return d.succinctRoles.isDelegatedRole(roleName) ? { keys: d.keys, role: d.succinctRoles } : undefined;
    const role = d.roles?.find((r) => r.name === roleName);
    return role && { keys: d.keys, role };
  }
}
