/**
 * Canonical JSON (src/tuf/canonical.ts, docs/adr/0001-canonical-json.md).
 *
 * Inside the subset, canonicalString must be byte-identical to tuf-js's OLPC
 * implementation and to a port of securesystemslib's; outside it, it must throw
 * TufError("not_canonical"). A seeded generator checks both on thousands of documents.
 */
import { canonicalize as tufjsCanonicalize } from "@tufjs/canonical-json";
import jcsCanonicalize from "canonicalize";
import { describe, expect, it } from "vitest";
import { assertCanonicalSubset, canonicalBytes, canonicalString, toHex, TufError } from "../../src/tuf/index.js";
import { expectThrowsTuf, type Json, Rng, sslibCanonical, thrown } from "./helpers.js";
import divergenceList from "./known-divergences.json";

// ---------------------------------------------------------------------------------------------
// A deterministic generator of JSON documents inside the canonical subset.

type CharKind = "ascii" | "del" | "bmp" | "high" | "astral";
const CHAR_KINDS: readonly CharKind[] = ["ascii", "ascii", "ascii", "del", "bmp", "high", "astral"];
const BMP_SPECIALS = ["\u2028", "\u2029", "é", "€", "\u00a0", "\u0080", "\u009f", "\ud7ff"];
const HIGH_SPECIALS = ["\ue000", "\uf8ff", "\ufeff", "\uff61", "\ufffd", "\ufffe", "\uffff"];
const ASTRAL_SPECIALS = ["😀", "\u{10000}", "\u{10ffff}", "\u{1d11e}"];
const EDGE_INTS = [0, 1, -1, 9, 10, -10, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 1e15, 2 ** 53 - 1, -(2 ** 53 - 1)];

function genChar(rng: Rng, kind: CharKind): string {
  switch (kind) {
    case "ascii":
      return rng.chance(0.2) ? rng.pick(['"', "\\", "/"]) : String.fromCharCode(rng.range(0x20, 0x7e));
    case "del":
      return "\u007f";
    case "bmp":
      return rng.chance(0.4) ? rng.pick(BMP_SPECIALS) : String.fromCharCode(rng.range(0x80, 0xd7ff));
    case "high":
      return rng.chance(0.4) ? rng.pick(HIGH_SPECIALS) : String.fromCharCode(rng.range(0xe000, 0xffff));
    case "astral":
      return rng.chance(0.4) ? rng.pick(ASTRAL_SPECIALS) : String.fromCodePoint(rng.range(0x10000, 0x10ffff));
  }
}

function genString(rng: Rng, kinds: readonly CharKind[], maxLength: number): string {
  let s = "";
  for (let n = rng.int(maxLength + 1); n > 0; n--) s += genChar(rng, rng.pick(kinds));
  return s;
}

// `+ 0` turns -0 into 0: JSON.parse of the output cannot give -0 back (a fixed vector covers -0).
const genInt = (rng: Rng): number =>
  rng.chance(0.4)
    ? rng.pick(EDGE_INTS)
    : rng.chance(0.5)
      ? rng.range(-1000, 1000)
      : Math.trunc((rng.next() * 2 - 1) * Number.MAX_SAFE_INTEGER) + 0;

const MAX_DEPTH = 4;

function genValue(rng: Rng, depth: number): Json {
  switch (rng.int(depth >= MAX_DEPTH ? 4 : 7)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return genInt(rng);
    case 3:
      return genString(rng, CHAR_KINDS, 12);
    case 4:
      return Array.from({ length: rng.int(5) }, () => genValue(rng, depth + 1));
    default:
      return genObject(rng, depth);
  }
}

/** Keys of one object avoid either astral or U+E000-U+FFFF characters, never both (the subset rule). */
function genObject(rng: Rng, depth: number): Json {
  const excluded: CharKind = rng.chance(0.5) ? "astral" : "high";
  const keyKinds = CHAR_KINDS.filter((k) => k !== excluded);
  const obj: Json = {};
  const keys: string[] = [];
  for (let n = rng.int(7); n > 0; n--) {
    let key: string;
    if (keys.length > 0 && rng.chance(0.3)) key = rng.pick(keys) + genChar(rng, rng.pick(keyKinds)); // shared prefixes
    else if (rng.chance(0.15)) key = String(rng.int(20)); // "10" sorts before "9"
    else key = genString(rng, keyKinds, 6);
    keys.push(key);
    obj[key] = genValue(rng, depth + 1);
  }
  return obj;
}

const genDocument = (rng: Rng): Json => (rng.chance(0.85) ? genObject(rng, 0) : genValue(rng, 0));

// ---------------------------------------------------------------------------------------------
// Ways to leave the subset, injected at a random place of an in-subset document.

type Violation = { kind: "value"; value: unknown } | { kind: "key"; key: string } | { kind: "mixed keys"; astral: string; high: string };

class Point {
  x = 1;
  y = 2;
}

const controlChar = (rng: Rng) => String.fromCharCode(rng.range(0x00, 0x1f));
const loneHigh = (rng: Rng) => String.fromCharCode(rng.range(0xd800, 0xdbff));
const loneLow = (rng: Rng) => String.fromCharCode(rng.range(0xdc00, 0xdfff));
const ascii = (rng: Rng) => genString(rng, ["ascii"], 4);

const VIOLATIONS: ReadonlyArray<readonly [string, (rng: Rng) => Violation]> = [
  ["a control character in a value", (rng) => ({ kind: "value", value: ascii(rng) + controlChar(rng) + ascii(rng) })],
  ["a control character in a key", (rng) => ({ kind: "key", key: ascii(rng) + controlChar(rng) + ascii(rng) })],
  ["a lone high surrogate in a value", (rng) => ({ kind: "value", value: ascii(rng) + loneHigh(rng) + rng.pick(["", "x", "\ue000"]) })],
  ["a lone low surrogate in a value", (rng) => ({ kind: "value", value: ascii(rng) + loneLow(rng) + ascii(rng) })],
  ["a reversed surrogate pair in a value", (rng) => ({ kind: "value", value: loneLow(rng) + loneHigh(rng) })],
  ["a lone surrogate in a key", (rng) => ({ kind: "key", key: ascii(rng) + rng.pick([loneHigh, loneLow])(rng) })],
  [
    "a float",
    (rng) => ({
      kind: "value",
      value: rng.chance(0.5) ? rng.range(-1e6, 1e6) + 0.25 : rng.pick([0.5, -0.5, 1.5, Math.PI, 1e-7, -1e-300, Number.MIN_VALUE]),
    }),
  ],
  ["an integer of magnitude 2^53 or more", (rng) => ({ kind: "value", value: rng.pick([2 ** 53, -(2 ** 53), 2 ** 53 + 2, 2 ** 64, 1e21, Number.MAX_VALUE]) })],
  ["NaN or an infinity", (rng) => ({ kind: "value", value: rng.pick([NaN, Infinity, -Infinity]) })],
  ["undefined", () => ({ kind: "value", value: undefined })],
  ["a function", () => ({ kind: "value", value: () => 1 })],
  ["a bigint", (rng) => ({ kind: "value", value: BigInt(rng.int(100)) })],
  ["a symbol", () => ({ kind: "value", value: Symbol("s") })],
  [
    "a class instance",
    (rng) => ({
      kind: "value",
      value: rng.pick<() => unknown>([
        () => new Date(0),
        () => new Map([["a", 1]]),
        () => new Set([1]),
        () => new Uint8Array(2),
        () => /re/,
        () => new Point(),
        () => new String("s"),
        () => new Number(1),
        () => new Boolean(false),
        () => new Error("e"),
        () => Object.create({ inherited: 1 }),
      ])(),
    }),
  ],
  [
    "an array with a hole",
    () => {
      const holey: Json[] = [1];
      holey[2] = 3;
      return { kind: "value", value: holey };
    },
  ],
  [
    "keys mixing U+10000 and above with U+E000-U+FFFF",
    (rng) => ({ kind: "mixed keys", astral: ascii(rng) + genChar(rng, "astral"), high: ascii(rng) + genChar(rng, "high") }),
  ],
];

function containersOf(doc: Json, out: Json[] = []): Json[] {
  if (doc !== null && typeof doc === "object") {
    out.push(doc);
    for (const member of Object.values(doc)) containersOf(member, out);
  }
  return out;
}

function inject(doc: Json, violation: Violation, rng: Rng): Json {
  let pool = containersOf(doc);
  if (pool.length === 0) {
    doc = [doc];
    pool = [doc];
  }
  const target = rng.pick(pool);
  const intoObject = (): Json => {
    if (!Array.isArray(target)) return target;
    const obj: Json = {};
    target.splice(rng.int(target.length + 1), 0, obj);
    return obj;
  };
  switch (violation.kind) {
    case "value":
      if (Array.isArray(target)) target.splice(rng.int(target.length + 1), 0, violation.value);
      else target[`bad-${rng.int(1e9)}`] = violation.value;
      break;
    case "key":
      intoObject()[violation.key] = 0;
      break;
    case "mixed keys": {
      const obj = intoObject();
      obj[violation.astral] = 1;
      obj[violation.high] = 2;
      break;
    }
  }
  return doc;
}

const outcome = (fn: () => string): string | null => {
  try {
    return fn();
  } catch {
    return null;
  }
};

const bytesOf = (s: string): string => toHex(new TextEncoder().encode(s));

// ---------------------------------------------------------------------------------------------

describe("canonicalString", () => {
  describe("property: random documents inside the subset", () => {
    const DOCUMENTS = 5_000;
    const rng = new Rng(0x5eed_0458);
    const docs = Array.from({ length: DOCUMENTS }, () => genDocument(rng));

    it(`is byte-identical to @tufjs/canonical-json on ${DOCUMENTS} documents`, () => {
      const mismatches: string[] = [];
      for (const doc of docs) {
        const ours = canonicalString(doc);
        const theirs = tufjsCanonicalize(doc);
        // tuf-js signs Buffer.from(string): compare UTF-8 bytes, not just UTF-16 strings.
        if (ours !== theirs || toHex(canonicalBytes(doc)) !== Buffer.from(theirs, "utf8").toString("hex"))
          mismatches.push(`${JSON.stringify(doc)}\n  ours:   ${ours}\n  tuf-js: ${theirs}`);
      }
      expect(mismatches.slice(0, 5)).toEqual([]);
    });

    it("is byte-identical to a port of securesystemslib encode_canonical (code-point key order)", () => {
      const mismatches = docs.filter((doc) => canonicalString(doc) !== sslibCanonical(doc));
      expect(mismatches.slice(0, 5)).toEqual([]);
    });

    it("parses back to the same document", () => {
      const mismatches = docs.filter((doc) => {
        try {
          expect(JSON.parse(canonicalString(doc))).toStrictEqual(doc);
          return false;
        } catch {
          return true;
        }
      });
      expect(mismatches.slice(0, 5)).toEqual([]);
    });

    it("covers the characters and numbers it is meant to cover", () => {
      const text = docs.map((d) => JSON.stringify(d)).join("\n");
      const keyText = docs.flatMap((d) => containersOf(d).flatMap((c) => (Array.isArray(c) ? [] : Object.keys(c)))).join("");
      const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;
      expect(count(text, /\\"/g)).toBeGreaterThan(100); // escaped quotes
      expect(count(text, /\\\\/g)).toBeGreaterThan(100); // escaped backslashes
      expect(count(text, /\u007f/g)).toBeGreaterThan(100);
      expect(count(text, /\u2028/g)).toBeGreaterThan(10);
      expect(count(text, /€/g)).toBeGreaterThan(10);
      expect(count(text, /😀/g)).toBeGreaterThan(10);
      expect(count(keyText, /[\ue000-\uffff]/g)).toBeGreaterThan(100);
      expect(count(keyText, /[\ud800-\udbff][\udc00-\udfff]/g)).toBeGreaterThan(100);
      expect(count(text, /:-\d/g)).toBeGreaterThan(100); // negative integers
      expect(count(text, /9007199254740991/g)).toBeGreaterThan(10);
      expect(docs.filter((d) => containersOf(d).length > 3).length).toBeGreaterThan(500); // nesting
    });
  });

  describe("property: random documents outside the subset", () => {
    const DOCUMENTS = 5_000;
    const rng = new Rng(0xbad_0458);

    it(`throws TufError not_canonical on ${DOCUMENTS} documents, ${VIOLATIONS.length} kinds of violation`, () => {
      const failures: string[] = [];
      for (let i = 0; i < DOCUMENTS; i++) {
        const [name, make] = VIOLATIONS[i % VIOLATIONS.length]!;
        const doc = inject(genDocument(rng), make(rng), rng);
        let error: unknown;
        try {
          canonicalString(doc);
        } catch (e) {
          error = e;
        }
        if (!(error instanceof TufError) || error.code !== "not_canonical") failures.push(`${name}: ${String(error)}`);
      }
      expect(failures.slice(0, 5)).toEqual([]);
    });
  });

  describe("fixed vectors (pep458.md section 8)", () => {
    const accepted: ReadonlyArray<readonly [string, unknown, string]> = [
      ["sorts keys", { b: 1, a: 2, aa: 3, B: 4, "": 5 }, '{"":5,"B":4,"a":2,"aa":3,"b":1}'],
      ["sorts numeric-looking keys as strings", { "10": 1, "9": 2, "1": 3 }, '{"1":3,"10":1,"9":2}'],
      ["writes no whitespace and sorts nested objects", { d: false, a: [1, { c: null, b: true }] }, '{"a":[1,{"b":true,"c":null}],"d":false}'],
      ["escapes only quote and backslash", { q: 'say "hi" \\ / done' }, String.raw`{"q":"say \"hi\" \\ / done"}`],
      ["escapes quote and backslash in keys", { 'k"\\': 1 }, String.raw`{"k\"\\":1}`],
      ["writes U+007F, U+2028 and U+2029 raw", { s: "\u007f\u2028\u2029" }, '{"s":"\u007f\u2028\u2029"}'],
      ["writes non-ASCII raw", { s: "é€😀" }, '{"s":"é€😀"}'],
      ["writes the number 1.0 as 1 (in JavaScript 1.0 is the integer 1)", { n: 1.0 }, '{"n":1}'],
      ["accepts 2^53-1", { n: 2 ** 53 - 1 }, '{"n":9007199254740991}'],
      ["accepts -(2^53-1)", { n: -(2 ** 53 - 1) }, '{"n":-9007199254740991}'],
      ["writes -0 as 0", { n: -0 }, '{"n":0}'],
      ["writes empty containers", { o: {}, a: [], s: "" }, '{"a":[],"o":{},"s":""}'],
      ["writes top-level scalars", [true, false, null, 0, "x"], '[true,false,null,0,"x"]'],
      ["sorts astral keys (no U+E000-U+FFFF key beside them)", { "😀": 1, a: 2, "\u{10000}": 3 }, '{"a":2,"\u{10000}":3,"😀":1}'],
      ["sorts U+E000-U+FFFF keys (no astral key beside them)", { "\uff61": 1, a: 2, "\ue000": 3 }, '{"a":2,"\ue000":3,"\uff61":1}'],
      ["accepts astral and U+E000-U+FFFF characters together in a value", { s: "😀\uff61" }, '{"s":"😀\uff61"}'],
      ["accepts astral and U+E000-U+FFFF keys in different objects", { "😀": { "\uff61": 1 } }, '{"😀":{"\uff61":1}}'],
      ["accepts an object without a prototype", Object.assign(Object.create(null), { b: 1, a: 2 }), '{"a":2,"b":1}'],
      ["keeps an own __proto__ key", JSON.parse('{"__proto__":1,"a":2}'), '{"__proto__":1,"a":2}'],
      ["accepts an object shared by two members (not a cycle)", ((x) => ({ p: x, q: x }))({ a: 1 }), '{"p":{"a":1},"q":{"a":1}}'],
    ];

    it.each(accepted)("%s", (_name, input, expected) => {
      expect(canonicalString(input)).toBe(expected);
      expect(tufjsCanonicalize(input)).toBe(expected);
      expect(sslibCanonical(input)).toBe(expected);
      expect(() => assertCanonicalSubset(input)).not.toThrow();
    });

    it("emits é€😀 as raw UTF-8 bytes", () => {
      expect(toHex(canonicalBytes({ s: "é€😀" }))).toBe(bytesOf('{"s":"') + "c3a9" + "e282ac" + "f09f9880" + bytesOf('"}'));
    });

    it("emits U+007F and U+2028 as raw UTF-8 bytes", () => {
      expect(toHex(canonicalBytes("\u007f\u2028"))).toBe("22" + "7f" + "e280a8" + "22");
    });

    it('rejects {"s":"a\\nb"}, which OLPC writes raw and RFC 8785 escapes', () => {
      const doc = { s: "a\nb" };
      expect(tufjsCanonicalize(doc)).toBe('{"s":"a\nb"}');
      expect(jcsCanonicalize(doc)).toBe('{"s":"a\\nb"}');
      expectThrowsTuf(() => canonicalString(doc), "not_canonical", /\$\.s: control characters/);
    });

    it.each(Array.from({ length: 32 }, (_, c) => [`U+${c.toString(16).padStart(4, "0")}`, String.fromCharCode(c)]))(
      "rejects control character %s in a value and in a key",
      (_name, c) => {
        expectThrowsTuf(() => canonicalString({ s: `a${c}b` }), "not_canonical");
        expectThrowsTuf(() => canonicalString({ [`k${c}`]: 1 }), "not_canonical");
      },
    );

    const cyclicObject: Json = { a: 1 };
    cyclicObject.self = { back: cyclicObject };
    const cyclicArray: Json[] = [1];
    cyclicArray.push(cyclicArray);

    const rejected: ReadonlyArray<readonly [string, unknown]> = [
      ["the float 1.5", { n: 1.5 }],
      ["the float 0.1", [0.1]],
      ["the float -0.5", -0.5],
      ["2^53", { n: 2 ** 53 }],
      ["-(2^53)", { n: -(2 ** 53) }],
      ["1e21", 1e21],
      ["NaN", NaN],
      ["Infinity", { n: Infinity }],
      ["undefined at the top", undefined],
      ["an undefined member (RFC 8785 drops it)", { a: undefined, b: 1 }],
      ["an undefined array element (RFC 8785 writes null)", [undefined]],
      ["a function", { f: () => 1 }],
      ["a bigint", { n: 1n }],
      ["a symbol", [Symbol("s")]],
      ["a Date (RFC 8785 would call its toJSON)", { d: new Date(0) }],
      ["a Map", new Map()],
      ["a Uint8Array", new Uint8Array(1)],
      ["a class instance", new Point()],
      ["a boxed string", new String("s")],
      ["an object with a toJSON method", { toJSON: () => "x" }],
      ["a lone high surrogate", "\ud800"],
      ["a lone low surrogate", "a\udfffb"],
      ["a reversed surrogate pair", "\udc00\ud800"],
      ["a lone surrogate in a key", { "\ud83d": 1 }],
      ["keys U+FF61 and U+1F600 in one object", { "\uff61": 1, "😀": 2 }],
      ["keys U+E000 and U+10000 in one object", { "a\ue000": 1, "a\u{10000}": 2 }],
      ["one key holding both U+1F600 and U+E000 (checked per object)", { "😀\ue000": 1 }],
      ["a cycle through objects", cyclicObject],
      ["a cycle through an array", cyclicArray],
    ];

    it.each(rejected)("rejects %s", (_name, input) => {
      expectThrowsTuf(() => canonicalString(input), "not_canonical");
      expectThrowsTuf(() => assertCanonicalSubset(input), "not_canonical");
      expectThrowsTuf(() => canonicalBytes(input), "not_canonical");
    });

    it("names the offending path in the message", () => {
      expectThrowsTuf(() => canonicalString({ a: [{ b: 1.5 }] }), "not_canonical", "$.a[0].b");
      expectThrowsTuf(() => canonicalString({ a: { ["k\u0001"]: 1 } }), "not_canonical", /\$\.a key "k\\u0001"/);
    });
  });

  describe("known divergences (known-divergences.json)", () => {
    const entries = divergenceList.divergences.filter((d) => d.area === "canonical");

    it("lists only areas some test checks", () => {
      expect(new Set(divergenceList.divergences.map((d) => d.area))).toEqual(new Set(["canonical", "succinct", "models"]));
      expect(entries.length).toBeGreaterThanOrEqual(1);
      expect(entries.map((d) => d.id)).toContain("canonical/key-order-utf16-vs-code-point");
      for (const d of divergenceList.divergences) expect(d.reason.length, d.id).toBeGreaterThan(40);
    });

    it.each(entries.map((d) => [d.id, d] as const))("%s", (_id, entry) => {
      const doc = JSON.parse(entry.input_json!);
      // tuf-edge's side of it.
      if (entry.tuf_edge === null) expectThrowsTuf(() => canonicalString(doc), "not_canonical");
      else expect(canonicalString(doc)).toBe(entry.tuf_edge);
      // The divergence is real: securesystemslib's recorded output differs from tuf-js's or RFC 8785's.
      const outcomes = new Set([entry.securesystemslib, outcome(() => tufjsCanonicalize(doc)), outcome(() => jcsCanonicalize(doc)!)]);
      expect(outcomes.size).toBeGreaterThan(1);
    });

    it("key order: tuf-js sorts by UTF-16 unit, securesystemslib by code point", () => {
      const doc = { "\uff61": 1, "😀": 2 };
      expect(tufjsCanonicalize(doc)).toBe('{"😀":2,"\uff61":1}');
      expect(jcsCanonicalize(doc)).toBe('{"😀":2,"\uff61":1}');
      expect(sslibCanonical(doc)).toBe('{"\uff61":1,"😀":2}');
      const error = thrown(() => canonicalString(doc));
      expect((error as TufError).message).toMatch(/sort order differs/);
    });
  });
});

describe("canonicalBytes", () => {
  it("is the UTF-8 encoding of canonicalString", () => {
    const doc = { b: ["é", 1], a: "😀" };
    expect(canonicalBytes(doc)).toEqual(new TextEncoder().encode(canonicalString(doc)));
  });
});
