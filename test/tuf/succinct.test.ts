/** TAP 15 succinct hash bins (SuccinctRoles in src/tuf/role.ts), against pep458.md section 1.3, tuf-js and python-tuf. */
import { createHash } from "node:crypto";
import { MetadataKind, Metadata as TufJsMetadata } from "@tufjs/models";
import { describe, expect, it } from "vitest";
import { SuccinctRoles } from "../../src/tuf/index.js";
import { envelope, expectThrowsTuf, Rng, succinctTargetsJSON } from "./helpers.js";
import divergenceList from "./known-divergences.json";

/** tuf-js's SuccinctRoles, reached through its public API (the class is not exported by @tufjs/models). */
function tufjsSuccinct(bitLength: number, namePrefix: string) {
  return TufJsMetadata.fromJSON(MetadataKind.Targets, envelope(succinctTargetsJSON(bitLength, namePrefix))).signed.delegations!.succinctRoles!;
}

const sha256Hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

// pep458.md section 1.3: [target path, sha256[:8], B=5 "delegated_bin", B=14 "bins", classic 16,384-bin name].
const VECTORS: ReadonlyArray<readonly [string, string | null, string, string | null, string | null]> = [
  ["repo_example/succinct_hash_bin_delegations.py", null, "delegated_bin-0d", null, null],
  ["packages/source/r/requests/requests-2.31.0.tar.gz", "fa603e36", "delegated_bin-1f", "bins-3e98", "fa60-fa63"],
  ["simple/requests/index.html", "9cc24e4e", "delegated_bin-13", "bins-2730", "9cc0-9cc3"],
  ["requests-2.31.0-py3-none-any.whl", "49c27f94", "delegated_bin-09", "bins-1270", "49c0-49c3"],
];

/** Random target paths: ASCII path segments with some BMP and astral characters. */
function randomPaths(count: number, seed: number): string[] {
  const rng = new Rng(seed);
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_.ABCXYZ";
  const extras = ["é", "€", "ß", "😀", "\u4e2d", "\uff61", " ", "%20", "+"];
  return Array.from({ length: count }, () => {
    const segments = Array.from({ length: rng.range(1, 4) }, () => {
      let s = "";
      for (let n = rng.range(1, 12); n > 0; n--) s += rng.chance(0.05) ? rng.pick(extras) : alphabet[rng.int(alphabet.length)];
      return s;
    });
    return segments.join("/") + rng.pick(["", ".tar.gz", ".whl", "/index.html"]);
  });
}

describe("SuccinctRoles", () => {
  describe("#succinctBinFor (pep458.md section 1.3 vectors)", () => {
    it.each(VECTORS)("puts %s in the documented bins", (path, prefix, b5, b14, classic) => {
      if (prefix) expect(sha256Hex(path).slice(0, 8)).toBe(prefix);
      expect(new SuccinctRoles([], 1, 5, "delegated_bin").succinctBinFor(path)).toBe(b5);
      if (b14) expect(new SuccinctRoles([], 1, 14, "bins").succinctBinFor(path)).toBe(b14);
      if (classic) {
        // Classic 16,384 bins and succinct B=14 agree on the index: the classic bin is low/4.
        const index = new SuccinctRoles([], 1, 14, "bins").binIndexFor(path);
        const low = index * 4;
        const hex = (n: number) => n.toString(16).padStart(4, "0");
        expect(`${hex(low)}-${hex(low + 3)}`).toBe(classic);
      }
    });
  });

  describe("#binIndexFor", () => {
    const BIT_LENGTHS = [1, 5, 10, 14, 16, 32];
    const paths = randomPaths(2000, 0x7a915);

    it.each(BIT_LENGTHS)("assigns 2,000 random paths to the same bins as tuf-js at bit_length %i", (bitLength) => {
      const ours = new SuccinctRoles([], 1, bitLength, "bins");
      const theirs = tufjsSuccinct(bitLength, "bins");
      const mismatches = paths.filter((p) => ours.succinctBinFor(p) !== theirs.getRoleForTarget(p));
      expect(mismatches.slice(0, 5)).toEqual([]);
    });

    it.each(BIT_LENGTHS)("takes the first bit_length bits of SHA-256(path) at bit_length %i", (bitLength) => {
      const ours = new SuccinctRoles([], 1, bitLength, "bins");
      for (const p of paths.slice(0, 200)) {
        const first32 = BigInt(`0x${sha256Hex(p).slice(0, 8)}`);
        expect(ours.binIndexFor(p)).toBe(Number(first32 >> BigInt(32 - bitLength)));
      }
    });

    it("stays unsigned at bit_length 32 (a path whose hash starts with a 1 bit)", () => {
      const ours = new SuccinctRoles([], 1, 32, "bins");
      const path = paths.find((p) => parseInt(sha256Hex(p).slice(0, 2), 16) >= 0x80)!;
      expect(ours.binIndexFor(path)).toBe(parseInt(sha256Hex(path).slice(0, 8), 16));
      expect(ours.binIndexFor(path)).toBeGreaterThanOrEqual(2 ** 31);
      expect(ours.succinctBinFor(path)).toMatch(/^bins-[89a-f][0-9a-f]{7}$/);
    });

    it("hashes the UTF-8 bytes of the path", () => {
      const ours = new SuccinctRoles([], 1, 32, "bins");
      expect(ours.binIndexFor("é😀")).toBe(parseInt(sha256Hex("é😀").slice(0, 8), 16));
    });
  });

  describe("#roles", () => {
    it.each([1, 2, 3, 4, 5, 8, 10, 14, 16])("yields 2^%i names in order, as tuf-js getRoles does", (bitLength) => {
      const names = [...new SuccinctRoles([], 1, bitLength, "bins").roles()];
      const digits = Math.ceil(bitLength / 4);
      expect(names).toHaveLength(2 ** bitLength);
      expect(names).toEqual([...tufjsSuccinct(bitLength, "bins").getRoles()]);
      names.forEach((name, i) => expect(name).toBe(`bins-${i.toString(16).padStart(digits, "0")}`));
      expect(names.every((n) => new RegExp(`^bins-[0-9a-f]{${digits}}$`).test(n))).toBe(true);
    });

    it("starts and ends where expected at bit_length 32, without listing all 2^32", () => {
      const roles = new SuccinctRoles([], 1, 32, "bins");
      const iterator = roles.roles();
      expect([iterator.next().value, iterator.next().value]).toEqual(["bins-00000000", "bins-00000001"]);
      expect(roles.roleName(2 ** 32 - 1)).toBe("bins-ffffffff");
      expect(roles.numberOfBins).toBe(2 ** 32);
    });

    it("names bins like the TAP 15 example: B=11 gives alice.hbd-000 .. alice.hbd-7ff", () => {
      const names = [...new SuccinctRoles([], 1, 11, "alice.hbd").roles()];
      expect([names[0], names[names.length - 1]]).toEqual(["alice.hbd-000", "alice.hbd-7ff"]);
    });
  });

  describe("#suffixLength", () => {
    it.each(Array.from({ length: 32 }, (_, i) => i + 1))("is ceil(B/4), as in tuf-js, for bit_length %i", (bitLength) => {
      const ours = new SuccinctRoles([], 1, bitLength, "p");
      expect(ours.suffixLength).toBe(Math.ceil(bitLength / 4));
      expect(ours.suffixLength).toBe(tufjsSuccinct(bitLength, "p").suffixLen);
    });
  });

  describe("#isDelegatedRole", () => {
    // python-tuf tests/test_api.py::test_is_delegated_role_in_succinct_roles, SuccinctRoles([], 1, 5, "bin").
    const roles = new SuccinctRoles([], 1, 5, "bin");

    it.each(["bin-00", "bin-0f", "bin-1f"])("accepts %s (python-tuf true_name_examples)", (name) => {
      expect(roles.isDelegatedRole(name)).toBe(true);
    });

    it.each([
      ["foo", "wrong prefix (python-tuf)"],
      ["bin-", "no suffix (python-tuf)"],
      ["bin-s", "a suffix too short and not hex (python-tuf)"],
      ["bin-0t", "a non-hex suffix (python-tuf)"],
      ["bin-20", "an index out of range, 32 of 32 bins (python-tuf)"],
      ["bin-100", "a suffix too long (python-tuf)"],
      ["bin-ff", "an index out of range"],
      ["bin-0", "a suffix too short"],
      ["bin-000", "a suffix too long, though in range"],
      ["bin-0F", "uppercase hex (see known-divergences.json)"],
      ["bin-1A", "uppercase hex"],
      ["bins-00", "a longer prefix"],
      ["bi-00", "a shorter prefix"],
      ["BIN-00", "a prefix in another case"],
      ["bin_00", "another separator"],
      ["bin00", "no separator"],
      ["-00", "an empty prefix"],
      ["bin--1", "a negative index"],
      ["bin-+1", "a plus sign"],
      ["bin- 1", "a space"],
      ["bin-0x", "0x notation"],
      ["bin-0.", "a dot"],
      ["bin-00 ", "a trailing space"],
      ["bin-00.json", "a file name"],
      ["", "the empty string"],
    ])("rejects %s: %s", (name) => {
      expect(roles.isDelegatedRole(name)).toBe(false);
      expect(roles.indexOf(name)).toBeUndefined();
    });

    it("treats the prefix literally, not as a pattern", () => {
      const dotted = new SuccinctRoles([], 1, 4, "a.b");
      expect(dotted.isDelegatedRole("a.b-f")).toBe(true);
      expect(dotted.isDelegatedRole("axb-f")).toBe(false);
    });

    it("accepts every name roles() yields and maps it back to its index", () => {
      const bins = new SuccinctRoles([], 1, 10, "bins");
      let i = 0;
      for (const name of bins.roles()) {
        expect(bins.indexOf(name)).toBe(i++);
        expect(bins.isDelegatedRole(name)).toBe(true);
      }
      expect(i).toBe(1024);
    });

    it("agrees with tuf-js on 5,000 random names, except that it refuses uppercase hex", () => {
      const rng = new Rng(0x15d);
      const chars = "0123456789abcdefABCDEFg-";
      const disagreements: string[] = [];
      for (const bitLength of [1, 5, 10, 14]) {
        const ours = new SuccinctRoles([], 1, bitLength, "bins");
        const theirs = tufjsSuccinct(bitLength, "bins");
        for (let n = 0; n < 1250; n++) {
          let suffix = "";
          for (let k = rng.range(0, ours.suffixLength + 1); k > 0; k--) suffix += chars[rng.int(chars.length)];
          const name = `${rng.chance(0.9) ? "bins" : "bin"}-${suffix}`;
          const expected = theirs.isDelegatedRole(name) && !/[A-F]/.test(suffix);
          if (ours.isDelegatedRole(name) !== expected) disagreements.push(`${bitLength}: ${name}`);
        }
      }
      expect(disagreements).toEqual([]);
    });
  });

  describe("constructor", () => {
    it.each([0, 33, -1, 1.5, NaN, 64])("rejects bit_length %s", (bitLength) => {
      expectThrowsTuf(() => new SuccinctRoles([], 1, bitLength, "bins"), "malformed", /bit_length/);
    });

    it("rejects threshold 0 and duplicate keyids", () => {
      expectThrowsTuf(() => new SuccinctRoles([], 0, 5, "bins"), "malformed");
      expectThrowsTuf(() => new SuccinctRoles(["a", "a"], 1, 5, "bins"), "malformed");
    });
  });

  describe("#fromJSON", () => {
    it.each([
      ["standard succinct_roles (python-tuf)", { keyids: ["keyid"], threshold: 1, bit_length: 8, name_prefix: "foo" }],
      ["an unrecognized field (python-tuf)", { keyids: ["keyid"], threshold: 1, bit_length: 8, name_prefix: "foo", foo: "bar" }],
    ])("round-trips %s", (_name, raw) => {
      expect(SuccinctRoles.fromJSON(structuredClone(raw)).toJSON()).toStrictEqual(raw);
    });

    it.each([
      ["a missing bit_length", { keyids: ["keyid"], threshold: 1, name_prefix: "foo" }],
      ["a missing name_prefix", { keyids: ["keyid"], threshold: 1, bit_length: 8 }],
      ["a bit_length of the wrong type", { keyids: ["keyid"], threshold: 1, bit_length: "a", name_prefix: "foo" }],
      ["a name_prefix of the wrong type", { keyids: ["keyid"], threshold: 1, bit_length: 8, name_prefix: 1 }],
      ["a high bit_length", { keyids: ["keyid"], threshold: 1, bit_length: 50, name_prefix: "foo" }],
      ["a low bit_length", { keyids: ["keyid"], threshold: 1, bit_length: 0, name_prefix: "foo" }],
      ["keyids of the wrong type", { keyids: "keyid", threshold: 1, bit_length: 8, name_prefix: "foo" }],
      ["not an object", ["keyid"]],
    ])("rejects %s (python-tuf invalid_succinct_roles)", (_name, raw) => {
      expectThrowsTuf(() => SuccinctRoles.fromJSON(raw), "malformed");
    });
  });

  describe("known divergences (known-divergences.json, area succinct)", () => {
    const entries = divergenceList.divergences.filter((d) => d.area === "succinct");

    it.each(entries.map((d) => [d.id, d] as const))("%s", (_id, entry) => {
      const { bit_length, name_prefix, role_name } = entry.input!;
      expect(tufjsSuccinct(bit_length, name_prefix).isDelegatedRole(role_name)).toBe(entry.python_tuf_and_tuf_js);
      expect(new SuccinctRoles([], 1, bit_length, name_prefix).isDelegatedRole(role_name)).toBe(entry.tuf_edge);
    });

    it("lists the uppercase-suffix divergence", () => {
      expect(entries.map((d) => d.id)).toEqual(["succinct/uppercase-hex-suffix"]);
    });
  });
});
