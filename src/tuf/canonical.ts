/**
 * TUF canonical JSON: the bytes every signature in tuf-edge covers.
 *
 * TUF signs OLPC canonical JSON (securesystemslib `encode_canonical`). We emit it
 * with `canonicalize` (RFC 8785), which yields the very same bytes only on a
 * subset of JSON. `assertCanonicalSubset` rejects everything outside it, so
 * nothing outside it is ever signed (docs/adr/0001-canonical-json.md):
 *  - control characters U+0000-U+001F (OLPC writes them raw, JCS escapes them);
 *  - lone surrogates (not encodable as UTF-8);
 *  - non-integers and integers beyond 2^53-1 (OLPC has no floats; JS loses precision);
 *  - an object whose keys mix characters above U+FFFF with U+E000-U+FFFF
 *    (JCS and tuf-js sort by UTF-16 units, Python and Go by code point);
 *  - undefined, functions, symbols, bigints, non-plain objects and cycles.
 */
import canonicalizeJcs from "canonicalize";
import { TufError } from "./errors.js";
import { utf8 } from "./bytes.js";

export type JSONValue = null | boolean | number | string | JSONValue[] | JSONObject;
export interface JSONObject {
  [key: string]: JSONValue;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ASTRAL = /[\ud800-\udbff][\udc00-\udfff]/;
const HIGH_BMP = /[\ue000-\uffff]/;

function checkString(s: string, where: string): void {
  if (CONTROL.test(s)) throw new TufError("not_canonical", `${where}: control characters are not allowed`);
  if (LONE_SURROGATE.test(s)) throw new TufError("not_canonical", `${where}: lone surrogates are not allowed`);
}

/** Throws `TufError("not_canonical")` unless `value` is inside the signable subset. */
export function assertCanonicalSubset(value: unknown, where = "$"): asserts value is JSONValue {
  check(value, where, new Set());
}

/** `ancestors` holds the containers on the path to `value`: a cycle is an error, not a stack overflow. */
function check(value: unknown, where: string, ancestors: Set<object>): void {
  if (value === null || typeof value === "boolean") return;
  if (typeof value === "string") return checkString(value, where);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value))
      throw new TufError("not_canonical", `${where}: only integers of magnitude below 2^53 are allowed, got ${value}`);
    return;
  }
  if (typeof value === "object" && ancestors.has(value))
    throw new TufError("not_canonical", `${where}: circular reference`);
  if (Array.isArray(value)) {
    ancestors.add(value);
    for (let i = 0; i < value.length; i++) check(value[i], `${where}[${i}]`, ancestors);
    ancestors.delete(value);
    return;
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
      throw new TufError("not_canonical", `${where}: only plain objects are allowed`);
    let astral = false;
    let highBmp = false;
    ancestors.add(value);
    for (const [key, member] of Object.entries(value)) {
      checkString(key, `${where} key ${JSON.stringify(key)}`);
      astral ||= ASTRAL.test(key);
      highBmp ||= HIGH_BMP.test(key);
      check(member, `${where}.${key}`, ancestors);
    }
    ancestors.delete(value);
    if (astral && highBmp)
      throw new TufError(
        "not_canonical",
        `${where}: keys mix characters above U+FFFF with U+E000-U+FFFF, whose sort order differs between TUF clients`,
      );
    return;
  }
  throw new TufError("not_canonical", `${where}: ${typeof value} is not a JSON value`);
}

/** Canonical JSON text of `value`; throws `TufError("not_canonical")` outside the subset. */
export function canonicalString(value: unknown): string {
  assertCanonicalSubset(value);
  return canonicalizeJcs(value) as string;
}

/** Canonical JSON bytes (UTF-8) of `value`. */
export const canonicalBytes = (value: unknown): Uint8Array => utf8(canonicalString(value));

/**
 * securesystemslib's `encode_canonical`, for verifying metadata others signed: only `"` and `\`
 * escaped, control characters raw, keys in code-point order, integers only. Inside the subset
 * it equals `canonicalString`; outside it (a PEM key's newlines, say) it is what python-tuf
 * verifies over. tuf-edge never signs these bytes: signing stays inside the subset.
 */
export function olpcCanonicalString(value: unknown): string {
  const parts: string[] = [];
  writeOlpc(value, parts);
  return parts.join("");
}

function writeOlpc(value: unknown, out: string[]): void {
  if (value === null) out.push("null");
  else if (value === true) out.push("true");
  else if (value === false) out.push("false");
  else if (typeof value === "string") out.push(olpcString(value));
  else if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TufError("not_canonical", `only integers can be canonical, got ${value}`);
    out.push(String(value));
  } else if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      writeOlpc(value[i], out);
    }
    out.push("]");
  } else if (typeof value === "object") {
    const keys = Object.keys(value as object);
    // Code-point order, as Python sorts; UTF-16 order differs only when a key holds a surrogate pair.
    if (keys.some((k) => ASTRAL.test(k))) keys.sort(byCodePoint);
    else keys.sort();
    out.push("{");
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) out.push(",");
      out.push(olpcString(keys[i]!), ":");
      writeOlpc((value as Record<string, unknown>)[keys[i]!], out);
    }
    out.push("}");
  } else throw new TufError("not_canonical", `${typeof value} is not a JSON value`);
}

const NEEDS_ESCAPE = /["\\]/;
const olpcString = (s: string): string => (NEEDS_ESCAPE.test(s) ? `"${s.replace(/(["\\])/g, "\\$1")}"` : `"${s}"`);

function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
