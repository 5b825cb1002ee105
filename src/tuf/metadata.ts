/**
 * The signed envelope `{"signatures": [...], "signed": {...}}` of one role.
 *
 * Bytes are the artifact: `toBytes()` is the canonical envelope tuf-edge writes,
 * and snapshot/timestamp hashes cover exactly those bytes, never a re-serialization.
 */
import { canonicalString, olpcCanonicalString, type JSONObject } from "./canonical.js";
import { fromUtf8, utf8 } from "./bytes.js";
import { TufError } from "./errors.js";
import { isObject } from "./guards.js";
import { Signature, type Signer } from "./keys.js";
import { Root } from "./root.js";
import { Signed, type RoleType } from "./signed.js";
import { Snapshot, Timestamp } from "./snapshot.js";
import { Targets } from "./targets.js";

export interface SignedByType {
  root: Root;
  targets: Targets;
  snapshot: Snapshot;
  timestamp: Timestamp;
}

const PARSERS: { [K in RoleType]: (raw: unknown) => SignedByType[K] } = {
  root: Root.fromJSON,
  targets: Targets.fromJSON,
  snapshot: Snapshot.fromJSON,
  timestamp: Timestamp.fromJSON,
};

export class Metadata<T extends Signed = Signed> {
  private cachedSignedBytes?: Uint8Array;
  private cachedVerificationBytes?: Uint8Array;
  /** The `signed` object as parsed, when this came from JSON: what its signers signed, with no model rebuild. */
  private rawSigned?: unknown;

  constructor(
    readonly signed: T,
    readonly signatures: readonly Signature[] = [],
    readonly unrecognized: JSONObject = {},
  ) {
    if (new Set(signatures.map((s) => s.keyid)).size !== signatures.length)
      throw new TufError("malformed", `${signed.type}: two signatures share a keyid`);
  }

  /** The caller names the role it expects; anything else is rejected. */
  static fromJSON<K extends RoleType>(type: K, raw: unknown): Metadata<SignedByType[K]> {
    if (!isObject(raw)) throw new TufError("malformed", `${type}: metadata must be an object`);
    const { signed, signatures, ...unrecognized } = raw;
    if (!Array.isArray(signatures)) throw new TufError("malformed", `${type}: signatures must be an array`);
    const md = new Metadata(PARSERS[type](signed), signatures.map(Signature.fromJSON), unrecognized);
    md.rawSigned = signed;
    return md;
  }

  static fromBytes<K extends RoleType>(type: K, bytes: Uint8Array): Metadata<SignedByType[K]> {
    let raw: unknown;
    try {
      raw = JSON.parse(fromUtf8(bytes));
    } catch {
      throw new TufError("malformed", `${type}: not valid UTF-8 JSON`);
    }
    return Metadata.fromJSON(type, raw);
  }

  /** The canonical bytes of `signed`: what every signature covers. */
  signedBytes(): Uint8Array {
    this.cachedSignedBytes ??= utf8(canonicalString(this.signed.toJSON()));
    return this.cachedSignedBytes;
  }

  /**
   * The bytes signatures are checked over: securesystemslib's canonical form of `signed`, so
   * metadata other tools signed (PEM keys hold newlines) verifies as in python-tuf. Equal to
   * `signedBytes()` for everything tuf-edge signs.
   */
  verificationBytes(): Uint8Array {
    this.cachedVerificationBytes ??= this.cachedSignedBytes ?? utf8(olpcCanonicalString(this.rawSigned ?? this.signed.toJSON()));
    return this.cachedVerificationBytes;
  }

  toJSON(): JSONObject {
    return { signatures: this.signatures.map((s) => s.toJSON()), signed: this.signed.toJSON(), ...this.unrecognized };
  }

  /** The canonical envelope: the exact bytes to publish. */
  toBytes(): Uint8Array {
    return utf8(canonicalString(this.toJSON()));
  }

  /** A copy with `signer`'s signature added, replacing an older one by the same key. */
  async sign(signer: Signer): Promise<Metadata<T>> {
    const signature = await signer.sign(this.signedBytes());
    const others = this.signatures.filter((s) => s.keyid !== signature.keyid);
    const signedCopy = new Metadata(this.signed, [...others, signature], this.unrecognized);
    signedCopy.cachedSignedBytes = this.cachedSignedBytes;
    return signedCopy;
  }
}
