/** Snapshot and timestamp: which version of every targets role, and of snapshot, is current (TUF spec 4.4, 4.6). */
import type { JSONObject } from "./canonical.js";
import { TufError } from "./errors.js";
import { isNonNegativeInt, isObject, isPositiveInt, mapRecord } from "./guards.js";
import { Signed, type SignedFields } from "./signed.js";

export class MetaFile {
  constructor(
    readonly version: number,
    readonly length?: number,
    readonly hashes?: Readonly<Record<string, string>>,
    readonly unrecognized: JSONObject = {},
  ) {
    if (!isPositiveInt(version)) throw new TufError("malformed", `meta: version must be an integer > 0, got ${version}`);
    if (length !== undefined && !isNonNegativeInt(length)) throw new TufError("malformed", "meta: length must be an integer >= 0");
    // python-tuf MetaFile: "Hashes must be a non empty dictionary".
    if (hashes !== undefined && Object.keys(hashes).length === 0)
      throw new TufError("malformed", "meta: hashes, when present, must hold at least one hash");
  }

  static fromJSON(raw: unknown): MetaFile {
    if (!isObject(raw)) throw new TufError("malformed", "meta: must be an object");
    const { version, length, hashes, ...unrecognized } = raw;
    if (hashes !== undefined && (!isObject(hashes) || !Object.values(hashes).every((h) => typeof h === "string")))
      throw new TufError("malformed", "meta: hashes must be an object of strings");
    return new MetaFile(version as number, length as number | undefined, hashes as Record<string, string> | undefined, unrecognized);
  }

  toJSON(): JSONObject {
    const out: JSONObject = { version: this.version };
    if (this.length !== undefined) out.length = this.length;
    if (this.hashes !== undefined) out.hashes = { ...this.hashes };
    return { ...out, ...this.unrecognized };
  }
}

export class Snapshot extends Signed {
  readonly type = "snapshot";

  /** `meta` maps `<role>.json` to its version; tuf-edge lists targets, bins and every bin-n. */
  constructor(
    fields: SignedFields,
    readonly meta: Readonly<Record<string, MetaFile>>,
  ) {
    super(fields);
  }

  static fromJSON(raw: unknown): Snapshot {
    const { fields, rest } = Signed.commonFromJSON(raw, "snapshot");
    const { meta, ...unrecognized } = rest;
    if (!isObject(meta)) throw new TufError("malformed", "snapshot: meta must be an object");
    return new Snapshot({ ...fields, unrecognized }, mapRecord(meta, (entry) => MetaFile.fromJSON(entry)));
  }

  toJSON(): JSONObject {
    // Built in one pass: a spread inside reduce (as in @tufjs/models) is quadratic at 16,384 bins.
    const meta = mapRecord(this.meta, (entry) => entry.toJSON());
    return { ...this.commonJSON(), meta, ...this.unrecognized };
  }
}

export class Timestamp extends Signed {
  readonly type = "timestamp";

  constructor(
    fields: SignedFields,
    readonly snapshotMeta: MetaFile,
  ) {
    super(fields);
  }

  static fromJSON(raw: unknown): Timestamp {
    const { fields, rest } = Signed.commonFromJSON(raw, "timestamp");
    const { meta, ...unrecognized } = rest;
    // TUF spec 4.6: timestamp meta "MUST only include a description of the snapshot.json file".
    if (!isObject(meta) || Object.keys(meta).length !== 1 || !meta["snapshot.json"])
      throw new TufError("malformed", "timestamp: meta must hold exactly snapshot.json");
    return new Timestamp({ ...fields, unrecognized }, MetaFile.fromJSON(meta["snapshot.json"]));
  }

  toJSON(): JSONObject {
    return { ...this.commonJSON(), meta: { "snapshot.json": this.snapshotMeta.toJSON() }, ...this.unrecognized };
  }
}
