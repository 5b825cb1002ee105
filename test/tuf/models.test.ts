/**
 * Root, Targets, Snapshot, Timestamp and Metadata (src/tuf/{root,targets,snapshot,signed,metadata}.ts).
 *
 * python-tuf style: named datasets of valid JSON must round-trip to identical canonical bytes,
 * named datasets of invalid JSON must throw TufError("malformed"). Then a cross-check with the
 * tuf-js models: what we sign, tuf-js verifies, and what tuf-js writes, we parse identically.
 */
import { createHash, createPrivateKey, sign as nodeSign } from "node:crypto";
import { canonicalize as tufjsCanonicalize } from "@tufjs/canonical-json";
import {
  MetadataKind,
  MetaFile as TufJsMetaFile,
  Metadata as TufJsMetadata,
  Signature as TufJsSignature,
  Snapshot as TufJsSnapshot,
  Timestamp as TufJsTimestamp,
} from "@tufjs/models";
import { describe, expect, it } from "vitest";
import {
  canonicalBytes,
  canonicalString,
  DelegatedRole,
  Delegations,
  formatExpires,
  fromUtf8,
  Key,
  Metadata,
  MetaFile,
  parseExpires,
  Role,
  Root,
  type RoleType,
  Signature,
  SPEC_VERSION,
  Snapshot,
  SuccinctRoles,
  TargetFile,
  Targets,
  Timestamp,
  utf8,
  verifyDelegate,
} from "../../src/tuf/index.js";
import {
  binJSON,
  DATASETS,
  envelope,
  EXPIRES,
  expectRejectsTuf,
  expectThrowsTuf,
  type Json,
  keyid,
  keyJSON,
  rootJSON,
  SHA256_A,
  SHA512_A,
  seedOf,
  signedBy,
  signers,
  snapshotJSON,
  succinctTargetsJSON,
  targetsJSON,
  timestampJSON,
} from "./helpers.js";
import divergenceList from "./known-divergences.json";

const BASE: Record<RoleType, () => Json> = {
  root: rootJSON,
  targets: targetsJSON,
  snapshot: snapshotJSON,
  timestamp: timestampJSON,
};

const ROLE_TYPES: readonly RoleType[] = ["root", "targets", "snapshot", "timestamp"];

/** The canonical text our model writes back for a `signed` document of `type`. */
const roundTrip = (type: RoleType, signed: Json): string => fromUtf8(Metadata.fromJSON(type, envelope(signed)).signedBytes());

/** The keyid securesystemslib compute_default_keyid gives: SHA-256 of canonical {keytype, scheme, keyval} (without src/tuf). */
const keyidOf = ({ keytype, scheme, keyval }: Json): string =>
  createHash("sha256").update(tufjsCanonicalize({ keytype, scheme, keyval })).digest("hex");

/** Mutates the key under `oldId` and moves it, and every keyids list naming it, to its new keyid. */
function rekey(keys: Json, keyidLists: string[][], oldId: string, mutate: (key: Json) => void): string {
  const key = keys[oldId];
  delete keys[oldId];
  mutate(key);
  const newId = keyidOf(key);
  keys[newId] = key;
  for (const list of keyidLists) for (let i = 0; i < list.length; i++) if (list[i] === oldId) list[i] = newId;
  return newId;
}
const rootKeyidLists = (d: Json): string[][] => Object.values(d.roles).map((r: Json) => r.keyids);
const delegationKeyidLists = (d: Json): string[][] => d.delegations.roles.map((r: Json) => r.keyids);

type Case = readonly [string, (d: Json) => void];

/** Runs each invalid case against a fresh copy of the valid `type` dataset. */
function rejectsAll(type: RoleType, cases: readonly Case[], base: () => Json = BASE[type]): void {
  it.each(cases)("rejects %s", (_name, mutate) => {
    const d = base();
    mutate(d);
    expectThrowsTuf(() => Metadata.fromJSON(type, envelope(d)), "malformed");
  });
}

function acceptsAll(type: RoleType, cases: readonly Case[], base: () => Json = BASE[type]): void {
  it.each(cases)("round-trips %s", (_name, mutate) => {
    const d = base();
    mutate(d);
    expect(roundTrip(type, d)).toBe(canonicalString(d));
  });
}

// ---------------------------------------------------------------------------------------------

describe("valid datasets", () => {
  it.each(Object.entries(DATASETS))("%s round-trips fromJSON -> toJSON to identical canonical bytes", (_name, { type, json }) => {
    const d = json();
    const md = Metadata.fromJSON(type, envelope(d));
    expect(md.signed.toJSON()).toStrictEqual(d);
    expect(fromUtf8(md.signedBytes())).toBe(canonicalString(d));
    expect(fromUtf8(md.toBytes())).toBe(canonicalString(envelope(d)));
  });

  it.each(Object.entries(DATASETS))("%s parses from pretty-printed bytes and writes canonical bytes", (_name, { type, json }) => {
    const pretty = utf8(JSON.stringify(envelope(json()), null, 2));
    expect(fromUtf8(Metadata.fromBytes(type, pretty).toBytes())).toBe(canonicalString(envelope(json())));
  });

  it("the role classes round-trip on their own, too", () => {
    expect(Root.fromJSON(rootJSON()).toJSON()).toStrictEqual(rootJSON());
    expect(Targets.fromJSON(targetsJSON()).toJSON()).toStrictEqual(targetsJSON());
    expect(Targets.fromJSON(succinctTargetsJSON()).toJSON()).toStrictEqual(succinctTargetsJSON());
    expect(Snapshot.fromJSON(snapshotJSON()).toJSON()).toStrictEqual(snapshotJSON());
    expect(Timestamp.fromJSON(timestampJSON()).toJSON()).toStrictEqual(timestampJSON());
  });
});

describe("unrecognized fields", () => {
  const UNKNOWN = { "x-unknown": { nested: [1, "two", null, { deep: true }] } };
  const add = (obj: Json) => Object.assign(obj, structuredClone(UNKNOWN));

  // [where, type, base dataset, mutate, where the parsed model keeps it]
  const levels: ReadonlyArray<readonly [string, RoleType, () => Json, (d: Json) => void, (md: Metadata) => Json]> = [
    ["the envelope", "root", rootJSON, () => {}, (md) => md.unrecognized],
    ["root signed", "root", rootJSON, add, (md) => md.signed.unrecognized],
    [
      "a root key",
      "root",
      rootJSON,
      (d) => rekey(d.keys, rootKeyidLists(d), keyid(0), add),
      (md) => Object.values((md.signed as Root).keys).find((k) => "x-unknown" in k.unrecognized)!.unrecognized,
    ],
    ["a root role", "root", rootJSON, (d) => add(d.roles.snapshot), (md) => (md.signed as Root).roles.snapshot.unrecognized],
    ["targets signed", "targets", targetsJSON, add, (md) => md.signed.unrecognized],
    ["a target file", "targets", targetsJSON, (d) => add(d.targets["file1.txt"]), (md) => (md.signed as Targets).targets["file1.txt"]!.unrecognized],
    [
      "a target file's custom",
      "targets",
      targetsJSON,
      (d) => (d.targets["file1.txt"].custom = structuredClone(UNKNOWN)),
      (md) => (md.signed as Targets).targets["file1.txt"]!.custom,
    ],
    ["delegations", "targets", targetsJSON, (d) => add(d.delegations), (md) => (md.signed as Targets).delegations!.unrecognized],
    [
      "a delegations key",
      "targets",
      targetsJSON,
      (d) => rekey(d.delegations.keys, delegationKeyidLists(d), keyid(5), add),
      (md) => Object.values((md.signed as Targets).delegations!.keys).find((k) => "x-unknown" in k.unrecognized)!.unrecognized,
    ],
    [
      "a delegated role",
      "targets",
      targetsJSON,
      (d) => add(d.delegations.roles[1]),
      (md) => (md.signed as Targets).delegations!.roles![1]!.unrecognized,
    ],
    [
      "succinct_roles",
      "targets",
      succinctTargetsJSON,
      (d) => add(d.delegations.succinct_roles),
      (md) => (md.signed as Targets).delegations!.succinctRoles!.unrecognized,
    ],
    ["snapshot signed", "snapshot", snapshotJSON, add, (md) => md.signed.unrecognized],
    ["a snapshot meta entry", "snapshot", snapshotJSON, (d) => add(d.meta["targets.json"]), (md) => (md.signed as Snapshot).meta["targets.json"]!.unrecognized],
    ["timestamp signed", "timestamp", timestampJSON, add, (md) => md.signed.unrecognized],
    [
      "the timestamp's snapshot.json entry",
      "timestamp",
      timestampJSON,
      (d) => add(d.meta["snapshot.json"]),
      (md) => (md.signed as Timestamp).snapshotMeta.unrecognized,
    ],
  ];

  it.each(levels)("are kept in %s and written back byte for byte", (where, type, base, mutate, kept) => {
    const d = base();
    mutate(d);
    const env = where === "the envelope" ? add(envelope(d)) : envelope(d);
    const md = Metadata.fromJSON(type, env);
    expect(kept(md)).toStrictEqual(UNKNOWN);
    expect(fromUtf8(md.toBytes())).toBe(canonicalString(env));
  });

  it("are kept in a keyval (which holds strings only)", () => {
    const d = rootJSON();
    const id = rekey(d.keys, rootKeyidLists(d), keyid(0), (k) => (k.keyval["x-unknown"] = "kept"));
    const md = Metadata.fromJSON("root", envelope(d));
    expect(md.signed.keys[id]!.keyval).toStrictEqual({ public: signers[0]!.key.keyval.public, "x-unknown": "kept" });
    expect(fromUtf8(md.toBytes())).toBe(canonicalString(envelope(d)));
  });

  it("are kept in a signature", () => {
    const env = envelope(snapshotJSON(), [{ keyid: "id", sig: "ab", ...UNKNOWN }]);
    const md = Metadata.fromJSON("snapshot", env);
    expect(md.signatures[0]!.unrecognized).toStrictEqual(UNKNOWN);
    expect(fromUtf8(md.toBytes())).toBe(canonicalString(env));
  });

  describe("but the real maps keys, roles, meta, hashes and targets hold entries, not unknown fields", () => {
    const junk = () => structuredClone(UNKNOWN["x-unknown"]);
    const entries: ReadonlyArray<readonly [string, RoleType, () => Json, (d: Json) => void]> = [
      ["root keys", "root", rootJSON, (d) => (d.keys["x-unknown"] = junk())],
      ["root roles", "root", rootJSON, (d) => (d.roles["x-unknown"] = { keyids: [], threshold: 1 })],
      ["delegations keys", "targets", targetsJSON, (d) => (d.delegations.keys["x-unknown"] = junk())],
      ["targets", "targets", targetsJSON, (d) => (d.targets["x-unknown"] = junk())],
      ["target hashes", "targets", targetsJSON, (d) => (d.targets["file1.txt"].hashes["x-unknown"] = junk())],
      ["snapshot meta", "snapshot", snapshotJSON, (d) => (d.meta["x-unknown"] = junk())],
      ["snapshot meta hashes", "snapshot", snapshotJSON, (d) => (d.meta["bins-0000.json"].hashes["x-unknown"] = junk())],
      ["timestamp meta", "timestamp", timestampJSON, (d) => (d.meta["x-unknown"] = junk())],
    ];

    it.each(entries)("an unknown entry in %s is parsed as an entry, and rejected", (_name, type, base, mutate) => {
      const d = base();
      mutate(d);
      expectThrowsTuf(() => Metadata.fromJSON(type, envelope(d)), "malformed");
    });

    it("a well-formed extra entry becomes a typed entry, not an unrecognized field", () => {
      const snapshot = Snapshot.fromJSON(snapshotJSON());
      expect(snapshot.meta["bins-0000.json"]).toBeInstanceOf(MetaFile);
      expect(snapshot.unrecognized).toStrictEqual({});
      const targets = Targets.fromJSON(targetsJSON());
      expect(targets.targets["dir/file2.tar.gz"]).toBeInstanceOf(TargetFile);
      expect(targets.unrecognized).toStrictEqual({});
      const root = Root.fromJSON(rootJSON());
      expect(root.keys[keyid(0)]).toBeInstanceOf(Key);
      expect(root.roles.root).toBeInstanceOf(Role);
    });
  });

  describe("a map key named __proto__", () => {
    it("stays a snapshot meta entry", () => {
      const d = JSON.parse(JSON.stringify(snapshotJSON()).replace('"targets.json"', '"__proto__"'));
      const snapshot = Snapshot.fromJSON(d);
      expect(Object.hasOwn(snapshot.meta, "__proto__")).toBe(true);
      expect(Object.getPrototypeOf(snapshot.meta)).toBe(Object.prototype);
      expect(canonicalString(snapshot.toJSON())).toBe(canonicalString(d));
    });

    it("stays a target path", () => {
      const d = JSON.parse(JSON.stringify(targetsJSON()).replace('"file1.txt"', '"__proto__"'));
      const targets = Targets.fromJSON(d);
      expect(targets.targets["__proto__"]).toBeInstanceOf(TargetFile);
      expect(canonicalString(targets.toJSON())).toBe(canonicalString(d));
    });
  });

  it("a float in an unrecognized field parses, but cannot be signed (not_canonical)", async () => {
    const d = { ...snapshotJSON(), "x-float": 1.5 };
    const md = Metadata.fromJSON("snapshot", envelope(d));
    expectThrowsTuf(() => md.toBytes(), "not_canonical");
    await expectRejectsTuf(md.sign(signers[2]!), "not_canonical");
  });
});

// ---------------------------------------------------------------------------------------------

describe("Signed", () => {
  describe("#fromJSON (fields every role shares)", () => {
    for (const type of ROLE_TYPES) {
      describe(`on ${type}`, () => {
        rejectsAll(type, [
          ["a missing _type", (d) => delete d._type],
          ["an empty _type", (d) => (d._type = "")],
          ["_type in another case", (d) => (d._type = type.toUpperCase())],
          ...ROLE_TYPES.filter((t) => t !== type).map((t): Case => [`_type ${t}`, (d) => (d._type = t)]),
          ["a missing version", (d) => delete d.version],
          ["version 0", (d) => (d.version = 0)],
          ["a missing expires", (d) => delete d.expires],
          ["a missing spec_version", (d) => delete d.spec_version],
        ]);
      });
    }
  });

  describe("#fromJSON on snapshot (python-tuf invalid_signed)", () => {
    rejectsAll("snapshot", [
      ["an empty spec_version", (d) => (d.spec_version = "")],
      ["spec_version abc", (d) => (d.spec_version = "abc")],
      ["spec_version 1.2.a", (d) => (d.spec_version = "1.2.a")],
      ["a one-part spec_version", (d) => (d.spec_version = "1")],
      ["a four-part spec_version", (d) => (d.spec_version = "1.0.0.0")],
      ["spec_version with another major", (d) => (d.spec_version = "0.0.0")],
      ["spec_version 2.0.0", (d) => (d.spec_version = "2.0.0")],
      ["a spec_version that is a number", (d) => (d.spec_version = 1)],
      ["version -1", (d) => (d.version = -1)],
      ["version 1.5", (d) => (d.version = 1.5)],
      ['version "1"', (d) => (d.version = "1")],
      ["version 2^53", (d) => (d.version = 2 ** 53)],
      ["version null", (d) => (d.version = null)],
    ]);
    acceptsAll("snapshot", [
      ["legacy spec_version 1.0", (d) => (d.spec_version = "1.0")],
      ["spec_version 1.0.34", (d) => (d.spec_version = "1.0.34")],
      ["spec_version 1.99.0", (d) => (d.spec_version = "1.99.0")],
      ["version 2^53-1", (d) => (d.version = 2 ** 53 - 1)],
    ]);

    it("rejects a signed part that is not an object", () => {
      for (const signed of [null, [], "snapshot", 1]) expectThrowsTuf(() => Snapshot.fromJSON(signed), "malformed");
    });
  });

  describe("expires", () => {
    const badExpires = [
      "2030-01-01T00:00:00.000Z",
      "2030-01-01T00:00:00+00:00",
      "2030-01-01T00:00:00",
      "2030-01-01 00:00:00Z",
      "2030-01-01t00:00:00z",
      "2030-01-01T00:00Z",
      "2030-1-1T0:0:0Z",
      "20300101T000000Z",
      "2030-02-30T00:00:00Z",
      "2030-13-01T00:00:00Z",
      "2030-01-01T24:00:00Z",
      "2030-01-01T23:59:60Z",
      "+010000-01-01T00:00:00Z",
      "0000-01-01T00:00:00Z",
      " 2030-01-01T00:00:00Z",
      "abc",
      "",
    ];

    rejectsAll(
      "timestamp",
      badExpires.map((s): Case => [`expires ${JSON.stringify(s)}`, (d) => (d.expires = s)]),
    );
    rejectsAll("timestamp", [
      ["expires as a number", (d) => (d.expires = 1893456000)],
      ["expires null", (d) => (d.expires = null)],
    ]);
    acceptsAll("timestamp", [
      ["expires 1970-01-01T00:00:00Z", (d) => (d.expires = "1970-01-01T00:00:00Z")],
      ["expires 2024-02-29T23:59:59Z (leap day)", (d) => (d.expires = "2024-02-29T23:59:59Z")],
      ["expires 9999-12-31T23:59:59Z", (d) => (d.expires = "9999-12-31T23:59:59Z")],
      ["expires 0001-01-01T00:00:00Z", (d) => (d.expires = "0001-01-01T00:00:00Z")],
    ]);

    it("parseExpires returns the date and names the role in its error", () => {
      expect(parseExpires(EXPIRES, "snapshot").toISOString()).toBe("2030-01-01T00:00:00.000Z");
      expectThrowsTuf(() => parseExpires("2030-01-01T00:00:00.000Z", "snapshot"), "malformed", /^snapshot: expires/);
    });

    it("formatExpires writes whole seconds with Z", () => {
      expect(formatExpires(new Date("2030-01-01T12:34:56.000Z"))).toBe("2030-01-01T12:34:56Z");
    });
  });

  describe("constructor", () => {
    const snapshotAt = (expires: Date) => new Snapshot({ version: 1, expires }, {});

    it("truncates expires to whole seconds", () => {
      expect(snapshotAt(new Date("2030-01-01T00:00:00.999Z")).toJSON().expires).toBe("2030-01-01T00:00:00Z");
    });

    it("writes SPEC_VERSION 1.0.31 by default", () => {
      expect(SPEC_VERSION).toBe("1.0.31");
      expect(snapshotAt(new Date(EXPIRES)).toJSON().spec_version).toBe("1.0.31");
    });

    it.each([
      ["an invalid Date", new Date("not a date")],
      ["a date after 9999-12-31T23:59:59Z", new Date(Date.UTC(10000, 0, 1))],
      ["a date in year 0", new Date("0000-06-01T00:00:00Z")],
      ["a date before year 0", new Date(Date.UTC(-1, 0, 1))],
    ])("rejects %s as expires", (_name, expires) => {
      expectThrowsTuf(() => snapshotAt(expires), "malformed", /expires/);
    });

    it.each([0, -1, 1.5, NaN, 2 ** 53])("rejects version %s", (version) => {
      expectThrowsTuf(() => new Snapshot({ version, expires: new Date(EXPIRES) }, {}), "malformed");
    });

    it.each(["", "1", "2.0", "1.0.x", "1.0.0.0", "v1.0"])("rejects spec_version %j", (specVersion) => {
      expectThrowsTuf(() => new Snapshot({ version: 1, expires: new Date(EXPIRES), specVersion }, {}), "malformed");
    });
  });

  describe("#isExpired", () => {
    const snapshot = Snapshot.fromJSON(snapshotJSON());
    it.each([
      ["one second before expires", "2029-12-31T23:59:59Z", false],
      ["exactly at expires", "2030-01-01T00:00:00Z", true],
      ["after expires", "2030-01-01T00:00:01Z", true],
    ])("%s is %s", (_name, now, expired) => {
      expect(snapshot.isExpired(new Date(now))).toBe(expired);
    });
  });
});

describe("Root", () => {
  describe("#fromJSON", () => {
    rejectsAll("root", [
      ["roles missing timestamp", (d) => delete d.roles.timestamp],
      ["roles missing root", (d) => delete d.roles.root],
      ["an additional role (python-tuf: one additional role)", (d) => (d.roles.mirror = { keyids: [], threshold: 1 })],
      ["a role renamed (python-tuf: invalid role name)", (d) => ((d.roles.bar = d.roles.root), delete d.roles.root)],
      ["a role with threshold 0", (d) => (d.roles.root.threshold = 0)],
      ["a role with threshold -1", (d) => (d.roles.targets.threshold = -1)],
      ["a role with threshold 1.5", (d) => (d.roles.targets.threshold = 1.5)],
      ['a role with threshold "1"', (d) => (d.roles.targets.threshold = "1")],
      ["a role without threshold", (d) => delete d.roles.targets.threshold],
      ["a role with duplicate keyids", (d) => (d.roles.root.keyids = [keyid(0), keyid(0)])],
      ["a role without keyids", (d) => delete d.roles.root.keyids],
      ["a role whose keyids is not an array", (d) => (d.roles.root.keyids = keyid(0))],
      ["a role with a keyid that is not a string", (d) => (d.roles.root.keyids = [1])],
      ["a role that is not an object", (d) => (d.roles.root = [keyid(0)])],
      ["a key under a keyid that is not its SHA-256", (d) => ((d.keys["keyid1"] = d.keys[keyid(0)]), delete d.keys[keyid(0)])],
      ["a key under another key's keyid", (d) => (d.keys[keyid(0)] = keyJSON(5))],
      ["a key that is not an object", (d) => (d.keys[keyid(0)] = "key")],
      ["keys that is not an object", (d) => (d.keys = [])],
      ["missing keys", (d) => delete d.keys],
      ["missing roles", (d) => delete d.roles],
      ["roles that is an array", (d) => (d.roles = [])],
      ['consistent_snapshot "true"', (d) => (d.consistent_snapshot = "true")],
      ["consistent_snapshot null", (d) => (d.consistent_snapshot = null)],
    ]);
    acceptsAll("root", [
      ["no consistent_snapshot", (d) => delete d.consistent_snapshot],
      ["consistent_snapshot false", (d) => (d.consistent_snapshot = false)],
      ["empty keys and keyids (python-tuf: empty keys)", (d) => ((d.keys = {}), Object.values(d.roles).forEach((r: Json) => (r.keyids = [])))],
      ["a threshold above the number of keys", (d) => (d.roles.root.threshold = 3)],
      ["keyids listed in a role but missing from keys", (d) => d.roles.root.keyids.push("f".repeat(64))],
      ["a key listed by two roles", (d) => (d.roles.targets.keyids = [keyid(0)])],
    ]);
  });

  describe("constructor", () => {
    const roles = () => ({
      root: new Role([keyid(0)], 1),
      targets: new Role([keyid(1)], 1),
      snapshot: new Role([keyid(2)], 1),
      timestamp: new Role([keyid(3)], 1),
    });

    it("builds the same root as fromJSON", () => {
      const keys = Object.fromEntries([0, 1, 2, 3].map((i) => [keyid(i), signers[i]!.key]));
      const root = new Root({ version: 1, expires: new Date(EXPIRES) }, keys, roles(), true);
      expect(canonicalString(root.toJSON())).toBe(canonicalString(rootJSON()));
    });

    it("rejects a role map missing snapshot", () => {
      const { snapshot: _, ...three } = roles();
      expectThrowsTuf(() => new Root({ version: 1, expires: new Date(EXPIRES) }, {}, three as never), "malformed", /snapshot/);
    });
  });

  describe("#delegateFor", () => {
    const root = Root.fromJSON(rootJSON());

    it.each(["root", "targets", "snapshot", "timestamp"])("returns the keys and role for %s", (name) => {
      const delegate = root.delegateFor(name)!;
      expect(delegate.role).toBe(root.roles[name as "root"]);
      expect(delegate.keys).toBe(root.keys);
    });

    it.each(["bins", "Root", "", "constructor", "__proto__", "toString", "hasOwnProperty"])(
      "returns undefined for %j, including names inherited from Object.prototype",
      (name) => {
        expect(root.delegateFor(name)).toBeUndefined();
      },
    );
  });
});

describe("Targets", () => {
  describe("#fromJSON", () => {
    rejectsAll("targets", [
      ["missing targets", (d) => delete d.targets],
      ["targets that is an array", (d) => (d.targets = [])],
      ["a target that is not an object", (d) => (d.targets["file1.txt"] = 1)],
      ["a target with length -1", (d) => (d.targets["file1.txt"].length = -1)],
      ["a target with length 1.5", (d) => (d.targets["file1.txt"].length = 1.5)],
      ['a target with length "12"', (d) => (d.targets["file1.txt"].length = "12")],
      ["a target without length (python-tuf: no length)", (d) => delete d.targets["file1.txt"].length],
      ["a target without hashes (python-tuf: no hashes)", (d) => delete d.targets["file1.txt"].hashes],
      ["a target with empty hashes", (d) => (d.targets["file1.txt"].hashes = {})],
      ["a target whose hashes is a string", (d) => (d.targets["file1.txt"].hashes = SHA256_A)],
      ["a target hash that is not a string", (d) => (d.targets["file1.txt"].hashes.sha256 = 1)],
      ["delegations that is not an object", (d) => (d.delegations = [])],
      ["delegations without keys (python-tuf: missing keys)", (d) => delete d.delegations.keys],
      ["delegations with neither roles nor succinct_roles", (d) => delete d.delegations.roles],
      [
        "delegations with both roles and succinct_roles",
        (d) => (d.delegations.succinct_roles = { keyids: [keyid(4)], threshold: 1, bit_length: 8, name_prefix: "bins" }),
      ],
      ["roles that is not an array", (d) => (d.delegations.roles = { a: d.delegations.roles[0] })],
      ["a delegated role that is not an object", (d) => (d.delegations.roles = ["a"])],
      ["duplicate delegated role names", (d) => (d.delegations.roles[1].name = "a")],
      ['a delegated role named ""', (d) => (d.delegations.roles[0].name = "")],
      ...["root", "targets", "snapshot", "timestamp"].map((n): Case => [`a delegated role named ${n}`, (d) => (d.delegations.roles[1].name = n)]),
      ["a delegated role without name", (d) => delete d.delegations.roles[0].name],
      ["a delegated role with both paths and path_hash_prefixes", (d) => (d.delegations.roles[0].path_hash_prefixes = ["ab"])],
      ["a delegated role with neither paths nor path_hash_prefixes", (d) => delete d.delegations.roles[0].paths],
      ["a delegated role with a path that is not a string", (d) => (d.delegations.roles[0].paths = [1, 2, 3])],
      ["a delegated role with a hash prefix that is not a string", (d) => (d.delegations.roles[1].path_hash_prefixes = [1])],
      ["a delegated role without terminating", (d) => delete d.delegations.roles[0].terminating],
      ['a delegated role with terminating "false"', (d) => (d.delegations.roles[0].terminating = "false")],
      ["a delegated role with threshold 0", (d) => (d.delegations.roles[0].threshold = 0)],
      ["a delegated role with duplicate keyids", (d) => (d.delegations.roles[1].keyids = [keyid(5), keyid(5)])],
      ["a delegations key under a keyid that is not its SHA-256", (d) => (d.delegations.keys[keyid(4)] = keyJSON(6))],
    ]);
    rejectsAll(
      "targets",
      [
        ["bit_length 0", (d) => (d.delegations.succinct_roles.bit_length = 0)],
        ["bit_length 33", (d) => (d.delegations.succinct_roles.bit_length = 33)],
        ["bit_length 50", (d) => (d.delegations.succinct_roles.bit_length = 50)],
        ["bit_length -1", (d) => (d.delegations.succinct_roles.bit_length = -1)],
        ["bit_length 1.5", (d) => (d.delegations.succinct_roles.bit_length = 1.5)],
        ['bit_length "14"', (d) => (d.delegations.succinct_roles.bit_length = "14")],
        ["no bit_length", (d) => delete d.delegations.succinct_roles.bit_length],
        ["no name_prefix", (d) => delete d.delegations.succinct_roles.name_prefix],
        ["a name_prefix that is a number", (d) => (d.delegations.succinct_roles.name_prefix = 1)],
        ["succinct_roles with threshold 0", (d) => (d.delegations.succinct_roles.threshold = 0)],
        ["succinct_roles with duplicate keyids", (d) => (d.delegations.succinct_roles.keyids = [keyid(4), keyid(4)])],
        ["succinct_roles that is not an object", (d) => (d.delegations.succinct_roles = "bins")],
      ],
      succinctTargetsJSON,
    );
    acceptsAll("targets", [
      ["no delegations", (d) => delete d.delegations],
      ["no targets at all", (d) => (d.targets = {})],
      ["a target of length 0", (d) => (d.targets["file1.txt"].length = 0)],
      ["a target with custom", (d) => (d.targets["file1.txt"].custom = { foo: "bar" })],
      ["empty delegations keys and roles (python-tuf)", (d) => ((d.delegations.keys = {}), (d.delegations.roles = []))],
      ["a delegated role with empty paths", (d) => (d.delegations.roles[0].paths = [])],
      ["a delegated role with empty path_hash_prefixes", (d) => (d.delegations.roles[1].path_hash_prefixes = [])],
      ["delegated keyids in a given order", (d) => d.delegations.roles[1].keyids.reverse()],
      ["a delegated role named like a bin", (d) => (d.delegations.roles[0].name = "bins-0000")],
    ]);
    acceptsAll(
      "targets",
      [1, 8, 16, 32].map((b): Case => [`succinct_roles with bit_length ${b}`, (d) => (d.delegations.succinct_roles.bit_length = b)]),
      succinctTargetsJSON,
    );
  });

  describe("#delegateFor", () => {
    it("finds delegated roles by name", () => {
      const targets = Targets.fromJSON(targetsJSON());
      expect(targets.delegateFor("a")!.role).toBeInstanceOf(DelegatedRole);
      expect(targets.delegateFor("b")!.role.threshold).toBe(2);
      expect(targets.delegateFor("c")).toBeUndefined();
      expect(targets.delegateFor("constructor")).toBeUndefined();
    });

    it("finds succinct bins by name", () => {
      const targets = Targets.fromJSON(succinctTargetsJSON());
      expect(targets.delegateFor("bins-0000")!.role).toBeInstanceOf(SuccinctRoles);
      expect(targets.delegateFor("bins-3fff")!.role).toBe(targets.delegations!.succinctRoles);
      expect(targets.delegateFor("bins-4000")).toBeUndefined();
      expect(targets.delegateFor("bins")).toBeUndefined();
    });

    it("returns undefined without delegations", () => {
      expect(Targets.fromJSON(binJSON()).delegateFor("a")).toBeUndefined();
    });
  });

  describe("TargetFile", () => {
    it("exposes custom", () => {
      const file = Targets.fromJSON(targetsJSON()).targets["dir/file2.tar.gz"]!;
      expect(file.custom).toStrictEqual({ "x-note": "kept" });
      expect(file.hashes).toStrictEqual({ sha256: SHA256_A, sha512: SHA512_A });
      expect(file.path).toBe("dir/file2.tar.gz");
    });

    it.each([
      ["length -1", () => new TargetFile("p", -1, { sha256: SHA256_A })],
      ["no hashes", () => new TargetFile("p", 1, {})],
    ])("rejects %s", (_name, make) => {
      expectThrowsTuf(make, "malformed");
    });
  });

  describe("Delegations constructor", () => {
    it("requires exactly one of roles and succinct_roles", () => {
      const succinct = new SuccinctRoles([], 1, 4, "bins");
      expectThrowsTuf(() => new Delegations({}), "malformed");
      expectThrowsTuf(() => new Delegations({}, [], succinct), "malformed");
      expect(new Delegations({}, undefined, succinct).toJSON()).toStrictEqual({ keys: {}, succinct_roles: succinct.toJSON() });
    });
  });
});

describe("Snapshot", () => {
  describe("#fromJSON", () => {
    rejectsAll("snapshot", [
      ["missing meta", (d) => delete d.meta],
      ["meta that is an array", (d) => (d.meta = [])],
      ["a meta entry that is not an object", (d) => (d.meta["targets.json"] = 1)],
      ["a meta entry with version 0", (d) => (d.meta["targets.json"].version = 0)],
      ["a meta entry with version -1", (d) => (d.meta["targets.json"].version = -1)],
      ["a meta entry without version", (d) => delete d.meta["targets.json"].version],
      ['a meta entry with version "1"', (d) => (d.meta["targets.json"].version = "1")],
      ["a meta entry with length -1", (d) => (d.meta["bins-0000.json"].length = -1)],
      ["a meta entry with length 1.5", (d) => (d.meta["bins-0000.json"].length = 1.5)],
      ['a meta entry with length "a" (python-tuf: wrong length type)', (d) => (d.meta["bins-0000.json"].length = "a")],
      ["a meta entry with length null", (d) => (d.meta["bins-0000.json"].length = null)],
      ["a meta entry with empty hashes (python-tuf: empty hashes dict)", (d) => (d.meta["bins-0000.json"].hashes = {})],
      ["a meta entry whose hashes is a number", (d) => (d.meta["bins-0000.json"].hashes = 1)],
      ["a meta entry with a hash that is not a string", (d) => (d.meta["bins-0000.json"].hashes.sha256 = 1)],
    ]);
    acceptsAll("snapshot", [
      ["empty meta (python-tuf)", (d) => (d.meta = {})],
      ["a meta entry without length", (d) => delete d.meta["bins-0000.json"].length],
      ["a meta entry with length 0", (d) => (d.meta["bins-0000.json"].length = 0)],
      ["a meta entry without hashes", (d) => delete d.meta["bins-0000.json"].hashes],
      ["a meta entry with many hashes", (d) => (d.meta["bins-0000.json"].hashes.sha512 = SHA512_A)],
      ["16,384 bin entries", (d) => {
        for (let i = 0; i < 16384; i++) d.meta[`bins-${i.toString(16).padStart(4, "0")}.json`] = { version: 1 + (i % 7) };
      }],
    ]);
  });

  describe("MetaFile", () => {
    it.each([
      ["version 0", () => new MetaFile(0)],
      ["length -1", () => new MetaFile(1, -1)],
      ["empty hashes", () => new MetaFile(1, 1, {})],
    ])("rejects %s", (_name, make) => {
      expectThrowsTuf(make, "malformed");
    });

    it("writes only the fields it has", () => {
      expect(new MetaFile(3).toJSON()).toStrictEqual({ version: 3 });
      expect(new MetaFile(3, 0, { sha256: SHA256_A }).toJSON()).toStrictEqual({ version: 3, length: 0, hashes: { sha256: SHA256_A } });
    });
  });
});

describe("Timestamp", () => {
  describe("#fromJSON", () => {
    rejectsAll("timestamp", [
      ["missing meta (python-tuf: no metafile)", (d) => delete d.meta],
      ["empty meta", (d) => (d.meta = {})],
      ["meta with an extra entry beside snapshot.json", (d) => (d.meta["targets.json"] = { version: 1 })],
      ["meta with another entry instead of snapshot.json", (d) => ((d.meta["snapshot2.json"] = d.meta["snapshot.json"]), delete d.meta["snapshot.json"])],
      ["a snapshot.json entry with version 0", (d) => (d.meta["snapshot.json"].version = 0)],
      ["a snapshot.json entry that is a string", (d) => (d.meta["snapshot.json"] = "snapshot")],
      ["a snapshot.json entry that is null", (d) => (d.meta["snapshot.json"] = null)],
      ["a snapshot.json entry that is an array", (d) => (d.meta["snapshot.json"] = [])],
      ["meta that is an array", (d) => (d.meta = [{ version: 1 }])],
    ]);
    acceptsAll("timestamp", [
      ["a snapshot.json entry with only a version", (d) => (d.meta["snapshot.json"] = { version: 9 })],
      ["legacy spec_version 1.0 (python-tuf)", (d) => (d.spec_version = "1.0")],
    ]);
  });

  it("exposes the snapshot meta", () => {
    const timestamp = Timestamp.fromJSON(timestampJSON());
    expect(timestamp.snapshotMeta.version).toBe(1);
    expect(timestamp.snapshotMeta.length).toBe(1024);
  });
});

describe("Metadata", () => {
  describe("#fromJSON", () => {
    const invalid: ReadonlyArray<readonly [string, Json]> = [
      ["two signatures with the same keyid", envelope(timestampJSON(), [{ keyid: "id", sig: "b" }, { keyid: "id", sig: "c" }])],
      ["two identical signatures (python-tuf: non unique duplicating signatures)", envelope(timestampJSON(), [{ keyid: "id", sig: "b" }, { keyid: "id", sig: "b" }])],
      ["no signatures field (python-tuf)", { signed: timestampJSON() }],
      ["signatures that is an object", { signatures: {}, signed: timestampJSON() }],
      ["a signature without sig", envelope(timestampJSON(), [{ keyid: "id" }])],
      ["a signature that is a string", envelope(timestampJSON(), ["sig"])],
      ["no signed field", { signatures: [] }],
      ["an array", [envelope(timestampJSON())]],
      ["null", null],
    ];

    it.each(invalid)("rejects %s", (_name, raw) => {
      expectThrowsTuf(() => Metadata.fromJSON("timestamp", raw), "malformed");
    });

    it.each(["multiple signatures", "no signatures"])("accepts %s (python-tuf valid_metadata)", (name) => {
      const sigs = name === "no signatures" ? [] : [{ keyid: "id", sig: "b" }, { keyid: "id2", sig: "d" }];
      const env = envelope(timestampJSON(), sigs);
      expect(fromUtf8(Metadata.fromJSON("timestamp", env).toBytes())).toBe(canonicalString(env));
    });

    const pairs = ROLE_TYPES.flatMap((expected) => ROLE_TYPES.filter((t) => t !== expected).map((actual) => [expected, actual] as const));

    it.each(pairs)("rejects a %s request given %s metadata", (expected, actual) => {
      expectThrowsTuf(() => Metadata.fromJSON(expected, envelope(BASE[actual]())), "malformed", /_type/);
    });
  });

  describe("#fromBytes", () => {
    it.each([
      ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d])],
      ["text that is not JSON", utf8("{signed:")],
      ["JSON with trailing garbage", utf8(`${JSON.stringify(envelope(timestampJSON()))}x`)],
      ["empty input", new Uint8Array(0)],
    ])("rejects %s as malformed", (_name, bytes) => {
      expectThrowsTuf(() => Metadata.fromBytes("timestamp", bytes), "malformed");
    });
  });

  describe("constructor", () => {
    it("rejects two signatures with the same keyid", () => {
      const signed = Timestamp.fromJSON(timestampJSON());
      expectThrowsTuf(() => new Metadata(signed, [new Signature("id", "a"), new Signature("id", "b")]), "malformed");
    });
  });

  describe("#sign", () => {
    it("signs the canonical bytes of signed and returns a new object", async () => {
      const md = Metadata.fromJSON("snapshot", envelope(snapshotJSON()));
      const signed = await md.sign(signers[2]!);
      expect(md.signatures).toHaveLength(0);
      expect(signed.signatures.map((s) => s.keyid)).toEqual([keyid(2)]);
      expect(signed.signedBytes()).toEqual(canonicalBytes(snapshotJSON()));
      await expect(signers[2]!.key.verify(canonicalBytes(snapshotJSON()), signed.signatures[0]!.sig)).resolves.toBe(true);
    });

    it("replaces an older signature by the same key and keeps the others", async () => {
      const md = Metadata.fromJSON("snapshot", envelope(snapshotJSON(), [{ keyid: keyid(2), sig: "00" }, { keyid: "other", sig: "11" }]));
      const signed = await md.sign(signers[2]!);
      expect(signed.signatures.map((s) => s.keyid)).toEqual(["other", keyid(2)]);
      expect(signed.signatures[1]!.sig).toMatch(/^[0-9a-f]{128}$/);
    });

    it("writes the canonical envelope, signatures before signed", async () => {
      const md = await signedBy(Metadata.fromJSON("timestamp", envelope(timestampJSON())), [3]);
      const text = fromUtf8(md.toBytes());
      expect(text.startsWith('{"signatures":[{"keyid":')).toBe(true);
      expect(text).toBe(canonicalString(md.toJSON()));
      expect(text).not.toMatch(/\s/);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Interop with the tuf-js models: what we sign, tuf-js verifies; what tuf-js writes, we parse identically.

function tufjsParse(type: RoleType, json: Json) {
  switch (type) {
    case "root":
      return TufJsMetadata.fromJSON(MetadataKind.Root, json);
    case "targets":
      return TufJsMetadata.fromJSON(MetadataKind.Targets, json);
    case "snapshot":
      return TufJsMetadata.fromJSON(MetadataKind.Snapshot, json);
    case "timestamp":
      return TufJsMetadata.fromJSON(MetadataKind.Timestamp, json);
  }
}

/** Our bytes, parsed back as plain JSON: exactly what a client downloads. */
const wire = (md: Metadata): Json => JSON.parse(fromUtf8(md.toBytes()));

// A tuf-js signer: Node's Ed25519 over the bytes tuf-js canonicalizes itself.
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const nodeKey = (i: number) => createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seedOf(i + 1)]), format: "der", type: "pkcs8" });
const tufjsSigner = (i: number) => (data: Buffer) => new TufJsSignature({ keyID: keyid(i), sig: nodeSign(null, data, nodeKey(i)).toString("hex") });

describe("interop with @tufjs/models", () => {
  describe("metadata built and signed by tuf-edge", () => {
    it("verifies in tuf-js: root by itself, then targets, snapshot and timestamp by root", async () => {
      const root = await signedBy(Metadata.fromJSON("root", envelope(rootJSON())), [0]);
      const tufRoot = TufJsMetadata.fromJSON(MetadataKind.Root, wire(root));
      expect(() => tufRoot.verifyDelegate("root", tufRoot)).not.toThrow();

      const cases: ReadonlyArray<readonly [RoleType, Json, number]> = [
        ["targets", targetsJSON(), 1],
        ["snapshot", snapshotJSON(), 2],
        ["timestamp", timestampJSON(), 3],
      ];
      for (const [type, json, signer] of cases) {
        const md = await signedBy(Metadata.fromJSON(type, envelope(json)), [signer]);
        expect(() => tufRoot.verifyDelegate(type, tufjsParse(type, wire(md)))).not.toThrow();
        // Signed by the wrong top-level key: tuf-js refuses it, and so do we.
        const wrong = await signedBy(Metadata.fromJSON(type, envelope(json)), [(signer % 3) + 1]);
        expect(() => tufRoot.verifyDelegate(type, tufjsParse(type, wire(wrong)))).toThrow();
        await expectRejectsTuf(verifyDelegate(root.signed, type, wrong), "threshold");
      }
    });

    it("verifies a succinct bin (bins-3e98) in tuf-js", async () => {
      const targets = Targets.fromJSON(succinctTargetsJSON());
      const bin = await signedBy(Metadata.fromJSON("targets", envelope(binJSON())), [4]);
      const tufTargets = TufJsMetadata.fromJSON(MetadataKind.Targets, envelope(succinctTargetsJSON()));
      const role = targets.delegations!.succinctRoles!.succinctBinFor("packages/source/r/requests/requests-2.31.0.tar.gz");
      expect(role).toBe("bins-3e98");
      expect(() => tufTargets.verifyDelegate(role, TufJsMetadata.fromJSON(MetadataKind.Targets, wire(bin)))).not.toThrow();
      await expect(verifyDelegate(targets, role, bin)).resolves.toBeUndefined();
    });

    it("agrees with tuf-js on a 2-of-2 delegated role", async () => {
      const tufTargets = TufJsMetadata.fromJSON(MetadataKind.Targets, envelope(targetsJSON()));
      const targets = Targets.fromJSON(targetsJSON());
      const both = await signedBy(Metadata.fromJSON("targets", envelope(binJSON())), [5, 6]);
      const one = await signedBy(Metadata.fromJSON("targets", envelope(binJSON())), [5, 4]);
      expect(() => tufTargets.verifyDelegate("b", TufJsMetadata.fromJSON(MetadataKind.Targets, wire(both)))).not.toThrow();
      expect(() => tufTargets.verifyDelegate("b", TufJsMetadata.fromJSON(MetadataKind.Targets, wire(one)))).toThrow();
      await expect(verifyDelegate(targets, "b", both)).resolves.toBeUndefined();
      await expectRejectsTuf(verifyDelegate(targets, "b", one), "threshold", "b v1 signed by 1/2 required keys");
    });

    it("a signature stops verifying in tuf-js when signed changes", async () => {
      const root = TufJsMetadata.fromJSON(MetadataKind.Root, envelope(rootJSON()));
      const md = await signedBy(Metadata.fromJSON("snapshot", envelope(snapshotJSON())), [2]);
      const tampered = wire(md);
      tampered.signed.version = 2;
      expect(() => root.verifyDelegate("snapshot", TufJsMetadata.fromJSON(MetadataKind.Snapshot, tampered))).toThrow();
    });

    it.each(Object.entries(DATASETS))("tuf-js re-serializes our %s to our exact signed bytes", (_name, { type, json }) => {
      const ours = Metadata.fromJSON(type, envelope(json()));
      const theirs = tufjsParse(type, wire(ours));
      expect(Buffer.from(tufjsCanonicalize(theirs.signed.toJSON()))).toEqual(Buffer.from(ours.signedBytes()));
    });
  });

  describe("metadata built and signed by tuf-js", () => {
    it.each(Object.entries(DATASETS))("parses %s identically and verifies its signature", async (_name, { type, json }) => {
      const signerFor: Record<string, number> = { root: 0, targets: 1, snapshot: 2, timestamp: 3 };
      const theirs = tufjsParse(type, envelope(json()));
      theirs.sign(tufjsSigner(signerFor[type]!));
      const written = JSON.parse(JSON.stringify(theirs.toJSON()));

      const ours = Metadata.fromJSON(type, written);
      expect(ours.toJSON()).toStrictEqual(written);
      expect(fromUtf8(ours.toBytes())).toBe(tufjsCanonicalize(written));
      await expect(verifyDelegate(Root.fromJSON(rootJSON()), type, ours)).resolves.toBeUndefined();
    });

    it("parses snapshot and timestamp objects built with the tuf-js constructors", async () => {
      const snapshot = new TufJsMetadata(
        new TufJsSnapshot({
          version: 7,
          specVersion: "1.0.31",
          expires: EXPIRES,
          meta: { "targets.json": new TufJsMetaFile({ version: 3, length: 10, hashes: { sha256: SHA256_A } }) },
        }),
      );
      snapshot.sign(tufjsSigner(2));
      const ourSnapshot = Metadata.fromJSON("snapshot", JSON.parse(JSON.stringify(snapshot.toJSON())));
      expect(ourSnapshot.signed.meta["targets.json"]!.version).toBe(3);
      await expect(verifyDelegate(Root.fromJSON(rootJSON()), "snapshot", ourSnapshot)).resolves.toBeUndefined();

      const timestamp = new TufJsMetadata(
        new TufJsTimestamp({ version: 7, specVersion: "1.0.31", expires: EXPIRES, snapshotMeta: new TufJsMetaFile({ version: 7 }) }),
      );
      timestamp.sign(tufjsSigner(3));
      const ourTimestamp = Metadata.fromJSON("timestamp", JSON.parse(JSON.stringify(timestamp.toJSON())));
      expect(ourTimestamp.signed.snapshotMeta.version).toBe(7);
      await expect(verifyDelegate(Root.fromJSON(rootJSON()), "timestamp", ourTimestamp)).resolves.toBeUndefined();
    });
  });

  describe("known divergences (known-divergences.json, area models)", () => {
    const checks: Record<string, () => void> = {
      "models/keyid-not-sha256": () => {
        const d = rootJSON();
        d.keys.keyid1 = d.keys[keyid(0)];
        delete d.keys[keyid(0)];
        d.roles.root.keyids = ["keyid1"];
        expect(() => TufJsMetadata.fromJSON(MetadataKind.Root, envelope(d))).not.toThrow();
        expectThrowsTuf(() => Metadata.fromJSON("root", envelope(d)), "malformed", /SHA-256/);
      },
      "models/root-extra-role": () => {
        const d = rootJSON();
        d.roles.mirror = { keyids: [keyid(0)], threshold: 1 };
        expect(() => TufJsMetadata.fromJSON(MetadataKind.Root, envelope(d))).not.toThrow();
        expectThrowsTuf(() => Metadata.fromJSON("root", envelope(d)), "malformed", /top-level/);
      },
      "models/timestamp-extra-meta": () => {
        const d = timestampJSON();
        d.meta["targets.json"] = { version: 1 };
        const theirs = TufJsMetadata.fromJSON(MetadataKind.Timestamp, envelope(d));
        expect(theirs.signed.toJSON().meta).toStrictEqual({ "snapshot.json": timestampJSON().meta["snapshot.json"] });
        expectThrowsTuf(() => Metadata.fromJSON("timestamp", envelope(d)), "malformed", /exactly snapshot.json/);
      },
    };
    const entries = divergenceList.divergences.filter((d) => d.area === "models");

    it("has a check for every listed divergence, and a listed divergence for every check", () => {
      expect(entries.map((d) => d.id).sort()).toEqual(Object.keys(checks).sort());
    });

    it.each(entries.map((d) => [d.id] as const))("%s", (id) => {
      checks[id]!();
    });
  });
});
