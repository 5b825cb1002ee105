/**
 * Threshold verification (src/tuf/verify.ts): verificationResult never throws on bad signatures,
 * verifyDelegate throws TufError("threshold"), verifyRootRotation needs the old and the new threshold.
 * Root rotations are scenario tables in the style of python-tuf tests/test_updater_key_rotations.py.
 */
import { describe, expect, it } from "vitest";
import {
  countSignatures,
  Key,
  Metadata,
  Role,
  Root,
  Signature,
  Snapshot,
  Targets,
  type TufErrorCode,
  utf8,
  verificationResult,
  verifyDelegate,
  verifyRootRotation,
} from "../../src/tuf/index.js";
import {
  binJSON,
  envelope,
  expectRejectsTuf,
  expectThrowsTuf,
  type Json,
  keyid,
  rootJSON,
  signedBy,
  signers,
  snapshotJSON,
  succinctTargetsJSON,
  targetsJSON,
} from "./helpers.js";

const snapshotV7 = (): Json => ({ ...snapshotJSON(), version: 7 });
const unsignedSnapshot = () => Metadata.fromJSON("snapshot", envelope(snapshotV7()));
const snapshotSignedBy = (indices: readonly number[]) => signedBy(unsignedSnapshot(), indices);

/** A root whose snapshot role is signed by `keys` (signer indices) with `threshold`. */
function rootWithSnapshotRole(keys: readonly number[], threshold: number): Root {
  const d = rootJSON();
  for (const i of keys) d.keys[keyid(i)] = signers[i]!.key.toJSON();
  d.roles.snapshot = { keyids: keys.map(keyid), threshold };
  return Root.fromJSON(d);
}

const ids = (indices: readonly number[]) => new Set(indices.map(keyid));

describe("verificationResult", () => {
  describe("with root as delegator, snapshot 1-of-1 (signer 2)", () => {
    const root = Root.fromJSON(rootJSON());

    it("is verified when the snapshot key signed", async () => {
      const result = await verificationResult(root, "snapshot", await snapshotSignedBy([2]));
      expect(result).toEqual({ threshold: 1, signed: ids([2]), unsigned: ids([]), verified: true });
    });

    it("is not verified without signatures", async () => {
      const result = await verificationResult(root, "snapshot", unsignedSnapshot());
      expect(result).toEqual({ threshold: 1, signed: ids([]), unsigned: ids([2]), verified: false });
    });

    it("does not count a signature by a key root lists for another role", async () => {
      const result = await verificationResult(root, "snapshot", await snapshotSignedBy([0, 1, 3]));
      expect(result.verified).toBe(false);
      expect(result.signed.size).toBe(0);
    });

    it("does not count a signature by a key root does not list at all", async () => {
      const result = await verificationResult(root, "snapshot", await snapshotSignedBy([7]));
      expect(result.verified).toBe(false);
    });

    it("ignores extra signatures by unlisted keys", async () => {
      const result = await verificationResult(root, "snapshot", await snapshotSignedBy([7, 2, 8]));
      expect(result).toEqual({ threshold: 1, signed: ids([2]), unsigned: ids([]), verified: true });
    });

    it("does not count a valid signature by another key filed under the listed keyid", async () => {
      const bySix = await signers[6]!.sign(unsignedSnapshot().signedBytes());
      const md = new Metadata(unsignedSnapshot().signed, [new Signature(keyid(2), bySix.sig)]);
      expect((await verificationResult(root, "snapshot", md)).verified).toBe(false);
    });

    it("does not count a signature once signed changes", async () => {
      const md = await snapshotSignedBy([2]);
      const changed = new Metadata(Snapshot.fromJSON({ ...snapshotV7(), version: 8 }), md.signatures);
      expect((await verificationResult(root, "snapshot", changed)).verified).toBe(false);
    });

    it.each([
      ["garbage", "not a signature"],
      ["the empty string", ""],
      ["64 zero bytes", "00".repeat(64)],
      ["uppercase hex", "AB".repeat(64)],
    ])("counts a signature that is %s as missing, without throwing", async (_name, sig) => {
      const md = new Metadata(unsignedSnapshot().signed, [new Signature(keyid(2), sig)]);
      const result = await verificationResult(root, "snapshot", md);
      expect(result).toEqual({ threshold: 1, signed: ids([]), unsigned: ids([2]), verified: false });
    });

    it("verifies over the canonical bytes of signed, whatever the wire formatting", async () => {
      const md = await snapshotSignedBy([2]);
      const pretty = utf8(JSON.stringify(md.toJSON(), null, 4));
      expect((await verificationResult(root, "snapshot", Metadata.fromBytes("snapshot", pretty))).verified).toBe(true);
    });

    it("checks metadata outside the canonical subset over securesystemslib's bytes, as python-tuf does", async () => {
      const md = Metadata.fromJSON("snapshot", envelope({ ...snapshotV7(), meta: { "a\nb.json": { version: 1 } } }));
      expect((await verificationResult(root, "snapshot", md)).verified).toBe(false);
    });

    it.each(["bins", "Snapshot", "", "constructor", "__proto__", "toString"])("throws unknown_role for %j", async (name) => {
      await expectRejectsTuf(verificationResult(root, name, unsignedSnapshot()), "unknown_role");
    });
  });

  describe("with a 2-of-3 role (signers 2, 4 and 5)", () => {
    const root = rootWithSnapshotRole([2, 4, 5], 2);
    const cases: ReadonlyArray<readonly [string, number[], number[], boolean]> = [
      ["no signatures", [], [], false],
      ["one listed key", [4], [4], false],
      ["two listed keys", [2, 5], [2, 5], true],
      ["all three listed keys", [5, 4, 2], [2, 4, 5], true],
      ["one listed key and two unlisted keys", [2, 6, 7], [2], false],
      ["two listed keys among unlisted ones", [6, 4, 7, 5, 8], [4, 5], true],
      ["only unlisted keys", [6, 7, 8], [], false],
    ];

    it.each(cases)("%s", async (_name, sigs, counted, verified) => {
      const result = await verificationResult(root, "snapshot", await snapshotSignedBy(sigs));
      expect(result.signed).toEqual(ids(counted));
      expect(result.unsigned).toEqual(ids([2, 4, 5].filter((i) => !counted.includes(i))));
      expect(result.verified).toBe(verified);
      expect(result.threshold).toBe(2);
    });

    it("counts one keyid once: signing twice with one key replaces the signature", async () => {
      const md = await snapshotSignedBy([4, 4, 4]);
      expect(md.signatures).toHaveLength(1);
      const result = await verificationResult(root, "snapshot", md);
      expect(result.signed).toEqual(ids([4]));
      expect(result.verified).toBe(false);
    });

    it("counts one keyid once: two signatures under one keyid are malformed", async () => {
      const { sig } = await signers[4]!.sign(unsignedSnapshot().signedBytes());
      expectThrowsTuf(() => new Metadata(unsignedSnapshot().signed, [new Signature(keyid(4), sig), new Signature(keyid(4), sig)]), "malformed");
    });

    it("counts one keyid once: a role cannot list a keyid twice", () => {
      expectThrowsTuf(() => new Role([keyid(4), keyid(4)], 2), "malformed");
    });
  });

  describe("with keyids the role lists but the keys map lacks", () => {
    const MISSING = "f".repeat(64);
    const d = rootJSON();
    d.roles.snapshot = { keyids: [keyid(2), MISSING], threshold: 2 };
    const root = Root.fromJSON(d);

    it("counts the missing key as unsigned even when a signature names it", async () => {
      const md = await snapshotSignedBy([2]);
      const withGhost = new Metadata(md.signed, [...md.signatures, new Signature(MISSING, md.signatures[0]!.sig)]);
      const result = await verificationResult(root, "snapshot", withGhost);
      expect(result).toEqual({ threshold: 2, signed: ids([2]), unsigned: new Set([MISSING]), verified: false });
    });
  });

  describe("with a key of an unsupported scheme", () => {
    it("never counts it", async () => {
      const rsa = new Key("rsa", "rsassa-pss-sha256", { public: "-----BEGIN PUBLIC KEY-----" });
      const d = rootJSON();
      d.keys[rsa.keyid] = rsa.toJSON();
      d.roles.snapshot = { keyids: [rsa.keyid], threshold: 1 };
      const md = new Metadata(unsignedSnapshot().signed, [new Signature(rsa.keyid, "ab".repeat(64))]);
      expect((await verificationResult(Root.fromJSON(d), "snapshot", md)).verified).toBe(false);
    });
  });

  describe("with targets as delegator", () => {
    it("verifies a role delegated by name", async () => {
      const targets = Targets.fromJSON(targetsJSON());
      const md = await signedBy(Metadata.fromJSON("targets", envelope(binJSON())), [4]);
      expect((await verificationResult(targets, "a", md)).verified).toBe(true);
      expect((await verificationResult(targets, "b", md)).verified).toBe(false);
      await expectRejectsTuf(verificationResult(targets, "c", md), "unknown_role", "targets does not delegate to c");
    });

    it("verifies any succinct bin with the one delegation's keys", async () => {
      const targets = Targets.fromJSON(succinctTargetsJSON());
      const md = await signedBy(Metadata.fromJSON("targets", envelope(binJSON())), [4]);
      for (const bin of ["bins-0000", "bins-3e98", "bins-3fff"]) expect((await verificationResult(targets, bin, md)).verified).toBe(true);
      await expectRejectsTuf(verificationResult(targets, "bins-4000", md), "unknown_role");
      await expectRejectsTuf(verificationResult(targets, "bins-3E98", md), "unknown_role");
    });

    it("throws unknown_role when targets delegates nothing", async () => {
      const md = await signedBy(Metadata.fromJSON("targets", envelope(binJSON())), [4]);
      await expectRejectsTuf(verificationResult(Targets.fromJSON(binJSON()), "a", md), "unknown_role");
    });
  });
});

describe("countSignatures", () => {
  it("reads only own entries of the keys map (a keyid named like an Object.prototype member)", async () => {
    const role = new Role(["constructor", "toString"], 1);
    const md = new Metadata(unsignedSnapshot().signed, [new Signature("constructor", "ab".repeat(64)), new Signature("toString", "cd".repeat(64))]);
    const result = await countSignatures({}, role, md);
    expect(result).toEqual({ threshold: 1, signed: new Set(), unsigned: new Set(["constructor", "toString"]), verified: false });
  });
});

describe("verifyDelegate", () => {
  const root = Root.fromJSON(rootJSON());

  it("resolves when the threshold is met", async () => {
    await expect(verifyDelegate(root, "snapshot", await snapshotSignedBy([2]))).resolves.toBeUndefined();
  });

  it('throws threshold "snapshot v7 signed by 0/1 required keys"', async () => {
    await expectRejectsTuf(verifyDelegate(root, "snapshot", unsignedSnapshot()), "threshold", /^snapshot v7 signed by 0\/1 required keys$/);
  });

  it('throws threshold "snapshot v7 signed by 1/2 required keys" for 1 of 2', async () => {
    const twoOfThree = rootWithSnapshotRole([2, 4, 5], 2);
    await expectRejectsTuf(verifyDelegate(twoOfThree, "snapshot", await snapshotSignedBy([5, 6])), "threshold", /^snapshot v7 signed by 1\/2 required keys$/);
  });

  it("throws unknown_role for a role the delegator does not know", async () => {
    await expectRejectsTuf(verifyDelegate(root, "bins", unsignedSnapshot()), "unknown_role");
  });
});

// ---------------------------------------------------------------------------------------------
// Root rotation, python-tuf test_updater_key_rotations.py style.

interface RootVersion {
  keys: number[];
  threshold: number;
  sigs: number[];
  error?: TufErrorCode;
}

/** Root v`version` whose root role is `keys` with `threshold`; the other roles use signer 9 (which may also be a root key). */
function rootVersion(version: number, { keys, threshold }: RootVersion): Root {
  const d = rootJSON();
  d.version = version;
  d.keys = { [keyid(9)]: signers[9]!.key.toJSON() };
  for (const i of keys) d.keys[keyid(i)] = signers[i]!.key.toJSON();
  d.roles = {
    root: { keyids: keys.map(keyid), threshold },
    targets: { keyids: [keyid(9)], threshold: 1 },
    snapshot: { keyids: [keyid(9)], threshold: 1 },
    timestamp: { keyids: [keyid(9)], threshold: 1 },
  };
  return Root.fromJSON(d);
}

const md = (keys: number[], threshold: number, sigs: number[], error?: TufErrorCode): RootVersion => ({ keys, threshold, sigs, error });

// python-tuf root_rotation_cases with its key numbers, then the combinations the old/new threshold rule allows.
const ROTATIONS: Record<string, RootVersion[]> = {
  "1-of-1 key rotation": [md([1], 1, [1]), md([2], 1, [2, 1]), md([2], 1, [2])],
  "1-of-1 key rotation, unused signatures": [md([1], 1, [3, 1, 4]), md([2], 1, [3, 2, 1, 4]), md([2], 1, [3, 2, 4])],
  "1-of-1 key rotation fail: not signed with old key": [md([1], 1, [1]), md([2], 1, [2, 3, 4], "threshold")],
  "1-of-1 key rotation fail: not signed with new key": [md([1], 1, [1]), md([2], 1, [1, 3, 4], "threshold")],
  "3-of-5, sign with different keycombos": [
    md([0, 1, 2, 3, 4], 3, [0, 2, 4]),
    md([0, 1, 2, 3, 4], 3, [0, 4, 1]),
    md([0, 1, 2, 3, 4], 3, [0, 1, 3]),
    md([0, 1, 2, 3, 4], 3, [0, 1, 3]),
  ],
  "3-of-5, one key rotated": [md([0, 1, 2, 3, 4], 3, [0, 2, 4]), md([0, 1, 3, 4, 5], 3, [0, 4, 1])],
  "3-of-5, one key rotate fails: not signed with 3 new keys": [md([0, 1, 2, 3, 4], 3, [0, 2, 4]), md([0, 1, 3, 4, 5], 3, [0, 2, 4], "threshold")],
  "3-of-5, one key rotate fails: not signed with 3 old keys": [md([0, 1, 2, 3, 4], 3, [0, 2, 4]), md([0, 1, 3, 4, 5], 3, [0, 4, 5], "threshold")],
  "3-of-5, one key rotated, with intermediate step": [
    md([0, 1, 2, 3, 4], 3, [0, 2, 4]),
    md([0, 1, 3, 4, 5], 3, [0, 2, 4, 5]),
    md([0, 1, 3, 4, 5], 3, [0, 4, 5]),
  ],
  "3-of-5, all keys rotated, with intermediate step": [
    md([0, 1, 2, 3, 4], 3, [0, 2, 4]),
    md([5, 6, 7, 8, 9], 3, [0, 2, 4, 5, 6, 7]),
    md([5, 6, 7, 8, 9], 3, [5, 6, 7]),
  ],
  "1-of-3 threshold increase to 2-of-3": [md([1, 2, 3], 1, [1]), md([1, 2, 3], 2, [1, 2])],
  "1-of-3 threshold bump to 2-of-3 fails: new threshold not reached": [md([1, 2, 3], 1, [1]), md([1, 2, 3], 2, [2], "threshold")],
  "2-of-3 threshold decrease to 1-of-3": [md([1, 2, 3], 2, [1, 2]), md([1, 2, 3], 1, [1, 2]), md([1, 2, 3], 1, [1])],
  "2-of-3 threshold decr. to 1-of-3 fails: old threshold not reached": [md([1, 2, 3], 2, [1, 2]), md([1, 2, 3], 1, [1], "threshold")],
  "1-of-2 threshold increase to 2-of-2": [md([1], 1, [1]), md([1, 2], 2, [1, 2])],
  // The four combinations the brief names, on one 1-of-1 -> 1-of-1 rotation from key 1 to key 2.
  "old threshold only: signed by the old key alone": [md([1], 1, [1]), md([2], 1, [1], "threshold")],
  "new threshold only: signed by the new key alone": [md([1], 1, [1]), md([2], 1, [2], "threshold")],
  "both thresholds: signed by the old and the new key": [md([1], 1, [1]), md([2], 1, [1, 2])],
  "neither threshold: signed by unrelated keys": [md([1], 1, [1]), md([2], 1, [6, 7], "threshold")],
  "no signatures at all": [md([1], 1, [1]), md([2], 1, [], "threshold")],
};

describe("verifyRootRotation", () => {
  it.each(Object.entries(ROTATIONS))("%s", async (_name, versions) => {
    let trusted = rootVersion(1, versions[0]!);
    for (let v = 1; v < versions.length; v++) {
      const spec = versions[v]!;
      const next = await signedBy(new Metadata(rootVersion(v + 1, spec)), spec.sigs);
      if (spec.error) {
        expect(v).toBe(versions.length - 1); // only the last version may fail
        await expectRejectsTuf(verifyRootRotation(trusted, next), spec.error);
      } else {
        await expect(verifyRootRotation(trusted, next)).resolves.toBeUndefined();
        trusted = next.signed;
      }
    }
  });

  const versionCases: ReadonlyArray<readonly [string, number, number]> = [
    ["a skipped version (v1 to v3)", 1, 3],
    ["the same version (v2 to v2)", 2, 2],
    ["a version going back (v3 to v2)", 3, 2],
  ];

  it.each(versionCases)("rejects %s as rollback, even when fully signed", async (_name, from, to) => {
    const spec = md([1], 1, [1]);
    const next = await signedBy(new Metadata(rootVersion(to, spec)), [1]);
    await expectRejectsTuf(verifyRootRotation(rootVersion(from, spec), next), "rollback", `root v${to} does not follow trusted root v${from}`);
  });

  it("names both counts in its message", async () => {
    const next = await signedBy(new Metadata(rootVersion(2, md([2], 1, []))), [2]);
    await expectRejectsTuf(
      verifyRootRotation(rootVersion(1, md([1], 1, [])), next),
      "threshold",
      "root v2 signed by 0/1 keys of root v1 and 1/1 of its own",
    );
  });

  it("ignores expiry: an expired trusted root still rotates (clients check expiry after the last root, TUF spec 5.3.10)", async () => {
    const expired = Root.fromJSON({ ...rootJSON(), expires: "2000-01-01T00:00:00Z" });
    const d = rootJSON();
    d.version = 2;
    const next = await signedBy(Metadata.fromJSON("root", envelope(d)), [0]);
    await expect(verifyRootRotation(expired, next)).resolves.toBeUndefined();
  });
});
