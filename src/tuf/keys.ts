/**
 * Ed25519 keys in TUF form and the signatures they make.
 *
 * A key is `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":<64 hex>}}`
 * and its keyid is the SHA-256 of that object's canonical JSON (TUF spec 4.2.2).
 * Signing and verifying use WebCrypto, which workerd and Node both ship.
 */
import { canonicalBytes, type JSONObject } from "./canonical.js";
import { fromHex, sha256Sync, toHex } from "./bytes.js";
import { TufError } from "./errors.js";
import { isObject } from "./guards.js";

export class Key {
  readonly keyid: string;

  constructor(
    readonly keytype: string,
    readonly scheme: string,
    readonly keyval: Readonly<Record<string, string>>,
    readonly unrecognized: JSONObject = {},
  ) {
    if (typeof keyval.public !== "string") throw new TufError("malformed", "key: keyval.public must be a string");
    // securesystemslib compute_default_keyid: only keytype, scheme and keyval, so
    // extra fields some tools add to key objects do not change the keyid.
    this.keyid = toHex(sha256Sync(canonicalBytes({ keytype, scheme, keyval: { ...keyval } })));
  }

  static ed25519(publicKey: Uint8Array): Key {
    if (publicKey.length !== 32) throw new TufError("malformed", "key: an Ed25519 public key is 32 bytes");
    return new Key("ed25519", "ed25519", { public: toHex(publicKey) });
  }

  static fromJSON(raw: unknown): Key {
    if (!isObject(raw)) throw new TufError("malformed", "key: must be an object");
    const { keytype, scheme, keyval, ...unrecognized } = raw;
    if (typeof keytype !== "string" || typeof scheme !== "string")
      throw new TufError("malformed", "key: keytype and scheme must be strings");
    if (!isObject(keyval) || !Object.values(keyval).every((v) => typeof v === "string"))
      throw new TufError("malformed", "key: keyval must be an object of strings");
    return new Key(keytype, scheme, keyval as Record<string, string>, unrecognized);
  }

  toJSON(): JSONObject {
    return { keytype: this.keytype, scheme: this.scheme, keyval: { ...this.keyval }, ...this.unrecognized };
  }

  /** True when `sig` is a valid signature by this key over `data`. Unsupported schemes never verify. */
  async verify(data: Uint8Array, sig: string): Promise<boolean> {
    if (this.keytype !== "ed25519" || this.scheme !== "ed25519") return false;
    if (!/^[0-9a-f]{128}$/.test(sig) || !/^[0-9a-f]{64}$/.test(this.keyval.public!)) return false;
    const key = await crypto.subtle.importKey("raw", fromHex(this.keyval.public!) as BufferSource, { name: "Ed25519" }, false, [
      "verify",
    ]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, fromHex(sig) as BufferSource, data as BufferSource);
  }
}

export class Signature {
  constructor(
    readonly keyid: string,
    readonly sig: string,
    readonly unrecognized: JSONObject = {},
  ) {}

  static fromJSON(raw: unknown): Signature {
    if (!isObject(raw)) throw new TufError("malformed", "signature: must be an object");
    const { keyid, sig, ...unrecognized } = raw;
    if (typeof keyid !== "string" || typeof sig !== "string")
      throw new TufError("malformed", "signature: keyid and sig must be strings");
    return new Signature(keyid, sig, unrecognized);
  }

  toJSON(): JSONObject {
    return { keyid: this.keyid, sig: this.sig, ...this.unrecognized };
  }
}

/** Anything that can sign for a key: the online key in the Worker, a key file in the CLI. */
export interface Signer {
  readonly key: Key;
  sign(data: Uint8Array): Promise<Signature>;
}

// PKCS#8 wrapper for a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX = fromHex("302e020100300506032b657004220420");

export class Ed25519Signer implements Signer {
  private constructor(
    readonly key: Key,
    private readonly privateKey: CryptoKey,
  ) {}

  /** A signer from a 32-byte private seed. The seed never leaves this object. */
  static async fromSeed(seed: Uint8Array): Promise<Ed25519Signer> {
    if (seed.length !== 32) throw new TufError("malformed", "an Ed25519 private seed is 32 bytes");
    const pkcs8 = new Uint8Array(48);
    pkcs8.set(PKCS8_ED25519_PREFIX);
    pkcs8.set(seed, 16);
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, { name: "Ed25519" }, true, ["sign"]);
    const jwk = (await crypto.subtle.exportKey("jwk", privateKey)) as JsonWebKey;
    const publicKey = base64UrlDecode(jwk.x!);
    return new Ed25519Signer(Key.ed25519(publicKey), privateKey);
  }

  static async generate(): Promise<{ signer: Ed25519Signer; seed: Uint8Array }> {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    return { signer: await Ed25519Signer.fromSeed(seed), seed };
  }

  async sign(data: Uint8Array): Promise<Signature> {
    const sig = await crypto.subtle.sign({ name: "Ed25519" }, this.privateKey, data as BufferSource);
    return new Signature(this.key.keyid, toHex(new Uint8Array(sig)));
  }
}

function base64UrlDecode(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
