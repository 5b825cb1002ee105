/** Ed25519 keys, keyids and signatures (src/tuf/keys.ts), checked against @noble/ed25519 and RFC 8032. */
import { createHash } from "node:crypto";
import * as ed from "@noble/ed25519";
import { canonicalize as tufjsCanonicalize } from "@tufjs/canonical-json";
import { describe, expect, it } from "vitest";
import { canonicalBytes, Ed25519Signer, fromHex, Key, Signature, toHex, utf8 } from "../../src/tuf/index.js";
import { expectRejectsTuf, expectThrowsTuf, type Json, rootJSON, Rng, SPEC_KEYID, SPEC_PUBLIC_KEY, signers } from "./helpers.js";

const edKey = (publicHex: string, extra: Json = {}): Json => ({ keytype: "ed25519", scheme: "ed25519", keyval: { public: publicHex }, ...extra });

const SEEDS: ReadonlyArray<readonly [string, string]> = [
  ["all zero", "00".repeat(32)],
  ["all 0x01", "01".repeat(32)],
  ["all 0xff", "ff".repeat(32)],
  ["0x00..0x1f", Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0")).join("")],
  ["RFC 8032 test 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"],
];

const rng = new Rng(0x0ed25519);
const MESSAGES: ReadonlyArray<readonly [string, Uint8Array]> = [
  ["the empty message", new Uint8Array(0)],
  ['"hello"', utf8("hello")],
  ["canonical root bytes", canonicalBytes(rootJSON())],
  ["1,000 random bytes", Uint8Array.from({ length: 1000 }, () => rng.int(256))],
];

// RFC 8032 section 7.1, tests 1-3: secret key, public key, message, signature.
const RFC8032: ReadonlyArray<readonly [string, string, string, string, string]> = [
  [
    "test 1",
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "",
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  ],
  [
    "test 2",
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "72",
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  ],
  [
    "test 3",
    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    "af82",
    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  ],
];

describe("Key", () => {
  describe("#keyid", () => {
    it("matches the TUF spec example: 72378e5b...542c has keyid 1bf1c6e3...fca3", () => {
      expect(Key.fromJSON(edKey(SPEC_PUBLIC_KEY)).keyid).toBe(SPEC_KEYID);
      expect(Key.ed25519(fromHex(SPEC_PUBLIC_KEY)).keyid).toBe(SPEC_KEYID);
    });

    it("is the SHA-256 of keytype, scheme and keyval only (securesystemslib compute_default_keyid)", () => {
      const raw = edKey(SPEC_PUBLIC_KEY, { keyid_hash_algorithms: ["sha256", "sha512"] });
      const { keytype, scheme, keyval } = raw;
      const expected = createHash("sha256").update(tufjsCanonicalize({ keytype, scheme, keyval })).digest("hex");
      const key = Key.fromJSON(raw);
      expect(key.keyid).toBe(expected);
      expect(key.keyid).toBe(SPEC_KEYID);
      expect(key.toJSON()).toStrictEqual(raw); // the extra field is still written back
    });

    it("changes with keyval", () => {
      const raw = { keytype: "ed25519", scheme: "ed25519", keyval: { public: SPEC_PUBLIC_KEY, extra: "x" } };
      expect(Key.fromJSON(raw).keyid).toBe(createHash("sha256").update(tufjsCanonicalize(raw)).digest("hex"));
      expect(Key.fromJSON(raw).keyid).not.toBe(SPEC_KEYID);
    });

    it("changes with the scheme", () => {
      expect(Key.fromJSON({ ...edKey(SPEC_PUBLIC_KEY), scheme: "ed25519-other" }).keyid).not.toBe(SPEC_KEYID);
    });
  });

  describe(".ed25519", () => {
    it("builds an ed25519 key with the public key as lowercase hex", () => {
      const key = Key.ed25519(fromHex(SPEC_PUBLIC_KEY.toUpperCase()));
      expect(key.toJSON()).toEqual(edKey(SPEC_PUBLIC_KEY));
    });

    it.each([0, 31, 33, 64])("rejects a public key of %i bytes", (n) => {
      expectThrowsTuf(() => Key.ed25519(new Uint8Array(n)), "malformed");
    });
  });

  describe(".fromJSON", () => {
    const valid: ReadonlyArray<readonly [string, Json]> = [
      ["an ed25519 key", edKey(SPEC_PUBLIC_KEY)],
      ["a key with an unrecognized field", edKey(SPEC_PUBLIC_KEY, { "x-origin": { by: "ceremony" } })],
      ["a key with an extra keyval field", { keytype: "ed25519", scheme: "ed25519", keyval: { public: SPEC_PUBLIC_KEY, private: "" } }],
      ["a key of another type", { keytype: "rsa", scheme: "rsassa-pss-sha256", keyval: { public: "-----BEGIN PUBLIC KEY-----" } }],
    ];

    it.each(valid)("round-trips %s", (_name, raw) => {
      const key = Key.fromJSON(structuredClone(raw));
      expect(key.toJSON()).toStrictEqual(raw);
      expect(key.keyid).toMatch(/^[0-9a-f]{64}$/);
    });

    const invalid: ReadonlyArray<readonly [string, unknown]> = [
      ["not an object", "key"],
      ["an array", [edKey(SPEC_PUBLIC_KEY)]],
      ["null", null],
      ["a missing keytype", { scheme: "ed25519", keyval: { public: SPEC_PUBLIC_KEY } }],
      ["a keytype that is not a string", { keytype: 1, scheme: "ed25519", keyval: { public: SPEC_PUBLIC_KEY } }],
      ["a missing scheme", { keytype: "ed25519", keyval: { public: SPEC_PUBLIC_KEY } }],
      ["a missing keyval", { keytype: "ed25519", scheme: "ed25519" }],
      ["a keyval that is not an object", { keytype: "ed25519", scheme: "ed25519", keyval: SPEC_PUBLIC_KEY }],
      ["a keyval without public", { keytype: "ed25519", scheme: "ed25519", keyval: {} }],
      ["a keyval.public that is not a string", { keytype: "ed25519", scheme: "ed25519", keyval: { public: 1 } }],
      ["a keyval with a non-string field", { keytype: "ed25519", scheme: "ed25519", keyval: { public: SPEC_PUBLIC_KEY, n: 1 } }],
    ];

    it.each(invalid)("rejects %s", (_name, raw) => {
      expectThrowsTuf(() => Key.fromJSON(raw), "malformed");
    });
  });

  describe("#verify", () => {
    const data = utf8("tuf-edge signs canonical bytes");
    const signer = signers[0]!;
    const other = signers[1]!;

    it("accepts a signature by the matching private key", async () => {
      const { sig } = await signer.sign(data);
      await expect(signer.key.verify(data, sig)).resolves.toBe(true);
    });

    it("accepts a signature made by @noble/ed25519", async () => {
      const seed = fromHex(SEEDS[3]![1]);
      const key = Key.ed25519(await ed.getPublicKeyAsync(seed));
      await expect(key.verify(data, toHex(await ed.signAsync(data, seed)))).resolves.toBe(true);
    });

    it.each([0, 1, 31, 63, 64, 100, 127])("rejects a signature with hex digit %i altered", async (position) => {
      const { sig } = await signer.sign(data);
      const flipped = (parseInt(sig[position]!, 16) ^ 1).toString(16);
      const altered = sig.slice(0, position) + flipped + sig.slice(position + 1);
      await expect(signer.key.verify(data, altered)).resolves.toBe(false);
    });

    it.each([0, 5, data.length - 1])("rejects data with byte %i altered", async (position) => {
      const { sig } = await signer.sign(data);
      const altered = data.slice();
      altered[position] = altered[position]! ^ 0x01;
      await expect(signer.key.verify(altered, sig)).resolves.toBe(false);
    });

    it("rejects truncated and extended data", async () => {
      const { sig } = await signer.sign(data);
      await expect(signer.key.verify(data.subarray(1), sig)).resolves.toBe(false);
      await expect(signer.key.verify(new Uint8Array([...data, 0]), sig)).resolves.toBe(false);
    });

    it("rejects a signature by another key", async () => {
      const { sig } = await other.sign(data);
      await expect(signer.key.verify(data, sig)).resolves.toBe(false);
    });

    const malformedSigs: ReadonlyArray<readonly [string, (sig: string) => string]> = [
      ["uppercase hex", (sig) => sig.toUpperCase()],
      ["127 hex digits", (sig) => sig.slice(1)],
      ["129 hex digits", (sig) => `${sig}0`],
      ["the empty string", () => ""],
      ["non-hex characters", (sig) => `zz${sig.slice(2)}`],
      ["base64 instead of hex", (sig) => Buffer.from(sig, "hex").toString("base64")],
    ];

    it.each(malformedSigs)("returns false, without throwing, for a signature in %s", async (_name, mangle) => {
      const { sig } = await signer.sign(data);
      await expect(signer.key.verify(data, mangle(sig))).resolves.toBe(false);
    });

    const malformedKeys: ReadonlyArray<readonly [string, Json]> = [
      ["a 63-digit public key", edKey(SPEC_PUBLIC_KEY.slice(1))],
      ["a non-hex public key", edKey(`g${SPEC_PUBLIC_KEY.slice(1)}`)],
      ["a public key that is not a curve point", edKey("ff".repeat(32))],
    ];

    it.each(malformedKeys)("returns false, without throwing, for %s", async (_name, raw) => {
      const { sig } = await signer.sign(data);
      await expect(Key.fromJSON(raw).verify(data, sig)).resolves.toBe(false);
    });

    it("returns false for an uppercase-hex public key (tuf-edge writes lowercase)", async () => {
      const { sig } = await signer.sign(data);
      const upper = Key.fromJSON(edKey(signer.key.keyval.public!.toUpperCase()));
      await expect(upper.verify(data, sig)).resolves.toBe(false);
    });

    it.each([
      ["keytype rsa", "rsa", "ed25519"],
      ["scheme rsassa-pss-sha256", "ed25519", "rsassa-pss-sha256"],
      ["scheme ed25519ph", "ed25519", "ed25519ph"],
      ["keytype ecdsa", "ecdsa", "ecdsa-sha2-nistp256"],
    ])("never verifies an unsupported %s, even with a valid Ed25519 signature", async (_name, keytype, scheme) => {
      const { sig } = await signer.sign(data);
      const key = new Key(keytype, scheme, { public: signer.key.keyval.public! });
      await expect(key.verify(data, sig)).resolves.toBe(false);
    });
  });
});

describe("Signature", () => {
  describe(".fromJSON", () => {
    it.each([
      ["a keyid and sig", { keyid: "id", sig: "b" }],
      ["an unrecognized field", { keyid: "id", sig: "b", foo: "bar" }],
    ])("round-trips %s", (_name, raw) => {
      expect(Signature.fromJSON(structuredClone(raw)).toJSON()).toStrictEqual(raw);
    });

    it.each([
      ["a missing keyid", { sig: "abc" }],
      ["a missing sig", { keyid: "id" }],
      ["a keyid that is not a string", { keyid: 1, sig: "abc" }],
      ["a sig that is not a string", { keyid: "id", sig: null }],
      ["an array", [{ keyid: "id", sig: "abc" }]],
      ["a string", "sig"],
    ])("rejects %s", (_name, raw) => {
      expectThrowsTuf(() => Signature.fromJSON(raw), "malformed");
    });
  });
});

describe("Ed25519Signer", () => {
  describe(".fromSeed", () => {
    it.each(SEEDS)("derives the same public key as @noble/ed25519 (seed %s)", async (_name, seedHex) => {
      const signer = await Ed25519Signer.fromSeed(fromHex(seedHex));
      expect(signer.key.keyval.public).toBe(toHex(await ed.getPublicKeyAsync(fromHex(seedHex))));
      expect(signer.key.keytype).toBe("ed25519");
      expect(signer.key.scheme).toBe("ed25519");
    });

    const cases = SEEDS.flatMap(([seedName, seedHex]) => MESSAGES.map(([msgName, msg]) => [seedName, msgName, seedHex, msg] as const));

    it.each(cases)("signs byte-identically to @noble/ed25519 (seed %s, %s)", async (_seedName, _msgName, seedHex, msg) => {
      const signer = await Ed25519Signer.fromSeed(fromHex(seedHex));
      const ours = await signer.sign(msg);
      expect(ours.sig).toBe(toHex(await ed.signAsync(msg, fromHex(seedHex))));
      expect(ours.keyid).toBe(signer.key.keyid);
      await expect(ed.verifyAsync(fromHex(ours.sig), msg, fromHex(signer.key.keyval.public!))).resolves.toBe(true);
    });

    it.each(RFC8032)("reproduces RFC 8032 section 7.1 %s", async (_name, secret, publicKey, message, signature) => {
      const signer = await Ed25519Signer.fromSeed(fromHex(secret));
      expect(signer.key.keyval.public).toBe(publicKey);
      expect((await signer.sign(fromHex(message))).sig).toBe(signature);
    });

    it.each([0, 16, 31, 33, 64])("rejects a seed of %i bytes", async (n) => {
      await expectRejectsTuf(Ed25519Signer.fromSeed(new Uint8Array(n)), "malformed");
    });
  });

  describe(".generate", () => {
    it("returns a 32-byte seed that rebuilds the same signer", async () => {
      const { signer, seed } = await Ed25519Signer.generate();
      expect(seed).toHaveLength(32);
      const again = await Ed25519Signer.fromSeed(seed);
      expect(again.key.keyid).toBe(signer.key.keyid);
      const msg = utf8("m");
      expect((await again.sign(msg)).sig).toBe((await signer.sign(msg)).sig);
    });

    it("does not return the same seed twice", async () => {
      const a = await Ed25519Signer.generate();
      const b = await Ed25519Signer.generate();
      expect(toHex(a.seed)).not.toBe(toHex(b.seed));
    });
  });

  describe("#sign", () => {
    it("is deterministic and returns 128 lowercase hex digits under the signer's keyid", async () => {
      const signer = signers[2]!;
      const a = await signer.sign(utf8("x"));
      const b = await signer.sign(utf8("x"));
      expect(a.sig).toBe(b.sig);
      expect(a.sig).toMatch(/^[0-9a-f]{128}$/);
      expect(a.keyid).toBe(signer.key.keyid);
      expect(a.toJSON()).toStrictEqual({ keyid: signer.key.keyid, sig: a.sig });
    });
  });
});
