/**
 * Ed25519 keys in TUF form and the signatures they make.
 *
 * A key is `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":<64 hex>}}`
 * and its keyid is the SHA-256 of that object's canonical JSON (TUF spec 4.2.2).
 * Signing and verifying use WebCrypto, which workerd and Node both ship.
 */
import { olpcCanonicalString, type JSONObject } from "./canonical.js";
import { fromHex, sha256Sync, toHex, utf8 } from "./bytes.js";
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
    this.keyid = toHex(sha256Sync(utf8(olpcCanonicalString({ keytype, scheme, keyval: { ...keyval } }))));
  }

  /**
   * True when `keyid` names this key: the SHA-256 of its canonical {keytype, scheme, keyval},
   * or of the whole key object with its extra fields, as some tools compute it (tuf-conformance's
   * test_deprecated_keyid_hash_algorithms).
   */
  hasKeyid(keyid: string): boolean {
    return keyid === this.keyid || keyid === toHex(sha256Sync(utf8(olpcCanonicalString(this.toJSON()))));
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

  private verifyingKey?: Promise<VerifyingKey | undefined>;

  /**
   * True when `sig` is a valid signature by this key over `data`. The schemes are the TUF
   * specification's (ed25519, ecdsa-sha2-nistp256, rsassa-pss-sha256) plus rsa-pkcs1v15-sha256,
   * as securesystemslib verifies them; any other scheme never verifies.
   */
  async verify(data: Uint8Array, sig: string): Promise<boolean> {
    if (!/^([0-9a-f]{2})+$/.test(sig)) return false;
    // Imported once per key: a refresh verifies thousands of bins with the same online key.
    this.verifyingKey ??= importVerifyingKey(this).catch(() => undefined);
    const key = await this.verifyingKey;
    if (!key) return false;
    let signature = fromHex(sig);
    if (key.name === "ECDSA") {
      const raw = ecdsaDerToRaw(signature);
      if (!raw) return false;
      signature = raw;
    }
    try {
      return await crypto.subtle.verify(key.params, key.cryptoKey, signature as BufferSource, data as BufferSource);
    } catch {
      return false;
    }
  }
}

interface VerifyingKey {
  name: string;
  params: Parameters<SubtleCrypto["verify"]>[0];
  cryptoKey: CryptoKey;
}

async function importVerifyingKey(key: Key): Promise<VerifyingKey | undefined> {
  const pub = key.keyval.public!;
  const spki = (algorithm: Parameters<SubtleCrypto["importKey"]>[2]) =>
    crypto.subtle.importKey("spki", pemToDer(pub) as BufferSource, algorithm, false, ["verify"]);
  if (key.keytype === "ed25519" && key.scheme === "ed25519") {
    if (!/^[0-9a-f]{64}$/.test(pub)) return undefined;
    const cryptoKey = await crypto.subtle.importKey("raw", fromHex(pub) as BufferSource, { name: "Ed25519" }, false, ["verify"]);
    return { name: "Ed25519", params: { name: "Ed25519" }, cryptoKey };
  }
  // "ecdsa-sha2-nistp256" as a keytype is deprecated by the spec, but securesystemslib still accepts it.
  if ((key.keytype === "ecdsa" || key.keytype === "ecdsa-sha2-nistp256") && key.scheme === "ecdsa-sha2-nistp256") {
    const cryptoKey = await spki({ name: "ECDSA", namedCurve: "P-256" });
    return { name: "ECDSA", params: { name: "ECDSA", hash: "SHA-256" }, cryptoKey };
  }
  if (key.keytype === "rsa" && key.scheme === "rsassa-pss-sha256") {
    const cryptoKey = await spki({ name: "RSA-PSS", hash: "SHA-256" });
    // securesystemslib signs with a salt as long as the digest.
    return { name: "RSA-PSS", params: { name: "RSA-PSS", saltLength: 32 }, cryptoKey };
  }
  if (key.keytype === "rsa" && key.scheme === "rsa-pkcs1v15-sha256") {
    const cryptoKey = await spki({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" });
    return { name: "RSASSA-PKCS1-v1_5", params: { name: "RSASSA-PKCS1-v1_5" }, cryptoKey };
  }
  return undefined;
}

/** The DER bytes of a PEM "PUBLIC KEY" block (SubjectPublicKeyInfo), as securesystemslib writes ECDSA and RSA keys. */
function pemToDer(pem: string): Uint8Array {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

/** An ECDSA P-256 signature from DER (SEQUENCE of two INTEGERs, as securesystemslib signs) to WebCrypto's r||s. */
function ecdsaDerToRaw(der: Uint8Array): Uint8Array | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const out = new Uint8Array(64);
  let at = 2;
  for (let part = 0; part < 2; part++) {
    if (der[at] !== 0x02) return undefined;
    const len = der[at + 1]!;
    let value = der.subarray(at + 2, at + 2 + len);
    if (value.length !== len || len === 0) return undefined;
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > 32) return undefined;
    out.set(value, part * 32 + 32 - value.length);
    at += 2 + len;
  }
  return at === der.length ? out : undefined;
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
