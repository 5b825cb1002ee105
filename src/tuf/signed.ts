/**
 * Fields every role's `signed` part shares: `_type`, `spec_version`, `version`
 * and `expires`. Unknown fields are kept and written back (TUF spec 4: "must
 * preserve the data when re-serializing"; python-tuf ADR 0008).
 */
import type { JSONObject } from "./canonical.js";
import { TufError } from "./errors.js";
import { isObject, isPositiveInt } from "./guards.js";

/** What tuf-edge writes; python-tuf 5 and tuf-js 5 write the same. */
export const SPEC_VERSION = "1.0.31";

export type RoleType = "root" | "targets" | "snapshot" | "timestamp";

// TUF spec 4.2.3: "YYYY-MM-DDTHH:MM:SSZ", parsed as strictly as python-tuf's strptime.
const EXPIRES = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export function formatExpires(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function parseExpires(s: string, where: string): Date {
  const date = new Date(s);
  if (!EXPIRES.test(s) || Number.isNaN(date.getTime()) || formatExpires(date) !== s)
    throw new TufError("malformed", `${where}: expires must be YYYY-MM-DDTHH:MM:SSZ, got ${JSON.stringify(s)}`);
  return date;
}

export interface SignedFields {
  version: number;
  expires: Date;
  specVersion?: string;
  unrecognized?: JSONObject;
}

export abstract class Signed {
  abstract readonly type: RoleType;
  readonly version: number;
  /** Always whole seconds in UTC. */
  readonly expires: Date;
  readonly specVersion: string;
  readonly unrecognized: JSONObject;

  constructor({ version, expires, specVersion = SPEC_VERSION, unrecognized = {} }: SignedFields) {
    if (!isPositiveInt(version)) throw new TufError("malformed", `version must be an integer > 0, got ${version}`);
    const parts = specVersion.split(".");
    if (parts.length < 2 || parts.length > 3 || !parts.every((p) => /^\d+$/.test(p)) || parts[0] !== "1")
      throw new TufError("malformed", `unsupported spec_version ${JSON.stringify(specVersion)}`);
    // Whole seconds in UTC, and a date that formatExpires writes and parseExpires reads back (years 0001-9999, as in Python).
    const seconds = Math.floor(expires.getTime() / 1000);
    if (!Number.isFinite(seconds) || !EXPIRES.test(formatExpires(new Date(seconds * 1000))) || expires.getUTCFullYear() < 1)
      throw new TufError("malformed", `expires must be a date in years 0001-9999, got ${String(expires)}`);
    this.version = version;
    this.expires = new Date(seconds * 1000);
    this.specVersion = specVersion;
    this.unrecognized = unrecognized;
  }

  isExpired(now: Date): boolean {
    return this.expires.getTime() <= now.getTime();
  }

  protected commonJSON(): JSONObject {
    return {
      _type: this.type,
      spec_version: this.specVersion,
      version: this.version,
      expires: formatExpires(this.expires),
    };
  }

  /** Splits the shared fields off a raw `signed` object of the expected type. */
  static commonFromJSON(raw: unknown, type: RoleType): { fields: SignedFields; rest: JSONObject } {
    if (!isObject(raw)) throw new TufError("malformed", `${type}: signed must be an object`);
    const { _type, spec_version, version, expires, ...rest } = raw;
    if (_type !== type) throw new TufError("malformed", `expected _type ${type}, got ${JSON.stringify(_type)}`);
    if (typeof spec_version !== "string") throw new TufError("malformed", `${type}: spec_version must be a string`);
    if (!isPositiveInt(version)) throw new TufError("malformed", `${type}: version must be an integer > 0`);
    if (typeof expires !== "string") throw new TufError("malformed", `${type}: expires must be a string`);
    return { fields: { version, expires: parseExpires(expires, type), specVersion: spec_version }, rest };
  }

  abstract toJSON(): JSONObject;
}
