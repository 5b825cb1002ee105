/** The root role: the keys and thresholds of the four top-level roles (TUF spec 4.3). */
import type { JSONObject } from "./canonical.js";
import { TufError } from "./errors.js";
import { isObject, mapRecord, ownEntry } from "./guards.js";
import { Key } from "./keys.js";
import { Role } from "./role.js";
import { Signed, type SignedFields } from "./signed.js";

export const TOP_LEVEL_ROLES = ["root", "targets", "snapshot", "timestamp"] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];

export class Root extends Signed {
  readonly type = "root";

  constructor(
    fields: SignedFields,
    readonly keys: Readonly<Record<string, Key>>,
    readonly roles: Readonly<Record<TopLevelRole, Role>>,
    readonly consistentSnapshot?: boolean,
  ) {
    super(fields);
    // TUF spec 4.3: roles lists exactly the four top-level roles (python-tuf rejects others too).
    for (const name of TOP_LEVEL_ROLES)
      if (!ownEntry(roles, name)) throw new TufError("malformed", `root: roles must include ${name}`);
    const extra = Object.keys(roles).filter((name) => !(TOP_LEVEL_ROLES as readonly string[]).includes(name));
    if (extra.length > 0) throw new TufError("malformed", `root: roles must only hold top-level roles, got ${extra.join(", ")}`);
    for (const [keyid, key] of Object.entries(keys))
      if (!key.hasKeyid(keyid)) throw new TufError("malformed", `root: keyid ${keyid} is not the SHA-256 of its key`);
  }

  static fromJSON(raw: unknown): Root {
    const { fields, rest } = Signed.commonFromJSON(raw, "root");
    const { keys, roles, consistent_snapshot, ...unrecognized } = rest;
    if (!isObject(keys) || !isObject(roles)) throw new TufError("malformed", "root: keys and roles must be objects");
    if (consistent_snapshot !== undefined && typeof consistent_snapshot !== "boolean")
      throw new TufError("malformed", "root: consistent_snapshot must be a boolean");
    return new Root(
      { ...fields, unrecognized },
      parseKeys(keys),
      mapRecord(roles, (role) => Role.fromJSON(role)) as Record<TopLevelRole, Role>,
      consistent_snapshot,
    );
  }

  toJSON(): JSONObject {
    const out: JSONObject = {
      ...this.commonJSON(),
      keys: keysToJSON(this.keys),
      roles: mapRecord(this.roles, (role) => role.toJSON()),
    };
    if (this.consistentSnapshot !== undefined) out.consistent_snapshot = this.consistentSnapshot;
    return { ...out, ...this.unrecognized };
  }

  /** The keys and threshold that may sign `roleName`, or undefined if root does not delegate it. */
  delegateFor(roleName: string): { keys: Readonly<Record<string, Key>>; role: Role } | undefined {
    const role = ownEntry(this.roles as Record<string, Role>, roleName);
    return role && { keys: this.keys, role };
  }
}

export function parseKeys(raw: JSONObject): Record<string, Key> {
  return mapRecord(raw, (key) => Key.fromJSON(key));
}

export function keysToJSON(keys: Readonly<Record<string, Key>>): JSONObject {
  return mapRecord(keys, (key) => key.toJSON());
}
