/**
 * The snapshot's canonical bytes, kept between publishes.
 *
 * At 16,384 bins the snapshot `meta` has 16,386 entries, but a publish changes
 * only a few. Re-serializing the whole object each time is the dominant cost of
 * a publish, so the encoded entries are kept as bytes and a changed entry is
 * written over its old bytes in place (a version that gains a digit rebuilds
 * them). The output is byte-identical to canonicalString(snapshot.toJSON());
 * test/publisher/snapshot-bytes.test.ts proves it.
 * Entries carry versions only (PEP 458: snapshot lists versions; VERSION alone
 * identifies a file because versions are never reused).
 */
import { formatExpires, SPEC_VERSION, utf8 } from "../tuf/index.js";

const ROLE_FILE = /^[a-z0-9.-]+\.json$/;

export class SnapshotBytes {
  private readonly position = new Map<string, number>();
  private readonly fragments: string[];
  /** The fragments joined with ",", and where each one starts in it. */
  private entries: Uint8Array = new Uint8Array();
  private readonly offsets: number[] = [];
  private stale = true;

  /** `meta`: role file name (`bin-3e98.json`) to version. Names are fixed for the life of the repository. */
  constructor(meta: ReadonlyMap<string, number>) {
    const names = [...meta.keys()].sort();
    this.fragments = names.map((name, i) => {
      if (!ROLE_FILE.test(name)) throw new Error(`snapshot: role file name ${name} is outside [a-z0-9.-]`);
      this.position.set(name, i);
      return fragment(name, meta.get(name)!);
    });
  }

  set(name: string, version: number): void {
    const i = this.position.get(name);
    if (i === undefined) throw new Error(`snapshot: ${name} is not a listed role`);
    const next = fragment(name, version);
    if (!this.stale && next.length === this.fragments[i]!.length) this.entries.set(utf8(next), this.offsets[i]!);
    else this.stale = true;
    this.fragments[i] = next;
  }

  signedBytes(version: number, expires: Date): Uint8Array {
    if (this.stale) this.rebuild();
    const head = utf8(`{"_type":"snapshot","expires":"${formatExpires(expires)}","meta":{`);
    const tail = utf8(`},"spec_version":"${SPEC_VERSION}","version":${version}}`);
    const out = new Uint8Array(head.length + this.entries.length + tail.length);
    out.set(head);
    out.set(this.entries, head.length);
    out.set(tail, head.length + this.entries.length);
    return out;
  }

  private rebuild(): void {
    let at = 0;
    this.fragments.forEach((f, i) => {
      this.offsets[i] = at;
      at += f.length + 1; // ASCII: one byte a character, and the "," after it
    });
    this.entries = utf8(this.fragments.join(","));
    this.stale = false;
  }
}

const enc = new TextEncoder();
const HEAD = enc.encode('{"_type":"snapshot","expires":"');
const META = enc.encode('","meta":{');
const ENTRY_OPEN = enc.encode('":{"version":');
const TAIL = enc.encode('},"spec_version":"');
const VERSION = enc.encode('","version":');
const JSON_SUFFIX = enc.encode(".json");
/** Where `formatExpires` writes digits in YYYY-MM-DDTHH:MM:SSZ; the other bytes are its separators. */
const EXPIRES = "0000-00-00T00:00:00Z";

/**
 * Checks signed snapshot bytes against the exact canonical form clients
 * re-serialize and verify over: this grammar, every role once, names in
 * strictly increasing byte order, safe-integer versions. A byte scan, because
 * parsing and re-canonicalizing 16,386 entries on every publish cost more
 * than the rest of the publish (docs/performance.md).
 */
export function assertCanonicalSnapshot(b: Uint8Array): void {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`self-check failed: the snapshot is not canonical at byte ${i}: ${why}`);
  };
  const literal = (bytes: Uint8Array, what: string): void => {
    for (let k = 0; k < bytes.length; k++) if (b[i + k] !== bytes[k]) fail(`expected ${what}`);
    i += bytes.length;
  };
  const integer = (): void => {
    if (!(b[i]! >= 0x31 && b[i]! <= 0x39)) fail("expected a version from 1 up");
    let value = 0;
    while (b[i]! >= 0x30 && b[i]! <= 0x39) value = value * 10 + (b[i++]! - 0x30);
    if (!Number.isSafeInteger(value)) fail("a version is not a safe integer");
  };
  literal(HEAD, "the snapshot header");
  for (let k = 0; k < EXPIRES.length; k++, i++)
    if (EXPIRES[k] === "0" ? !(b[i]! >= 0x30 && b[i]! <= 0x39) : b[i] !== EXPIRES.charCodeAt(k)) fail("expected expires as YYYY-MM-DDTHH:MM:SSZ");
  literal(META, '"meta"');
  let previous = -1;
  let previousLength = 0;
  for (;;) {
    literal(QUOTE, "a role file name");
    const start = i;
    while (isNameByte(b[i]!)) i++;
    const length = i - start;
    if (length <= JSON_SUFFIX.length || compare(b, i - JSON_SUFFIX.length, JSON_SUFFIX.length, JSON_SUFFIX, 0) !== 0) fail("expected a role file name ending in .json");
    if (previous >= 0 && compare(b, previous, previousLength, b, start, length) >= 0) fail("role file names out of order or repeated");
    previous = start;
    previousLength = length;
    literal(ENTRY_OPEN, '":{"version":');
    integer();
    literal(CLOSE, "}");
    if (b[i] !== 0x2c) break; // ","
    i++;
  }
  literal(TAIL, '},"spec_version":"');
  for (let part = 0; part < 3; part++) {
    const start = i;
    while (b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    if (i === start) fail("expected spec_version as N.N.N");
    if (part < 2) literal(DOT, ".");
  }
  literal(VERSION, '","version":');
  integer();
  literal(CLOSE, "}");
  if (i !== b.length) fail("expected the end of the snapshot");
}

const QUOTE = enc.encode('"');
const CLOSE = enc.encode("}");
const DOT = enc.encode(".");

/** `[a-z0-9.-]`: ROLE_FILE's characters. */
const isNameByte = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d;

/** Byte order of `a[x, x+length)` and `c[y, y+yLength)` (defaults to `length`): UTF-16 order too, for these ASCII names. */
function compare(a: Uint8Array, x: number, length: number, c: Uint8Array, y: number, yLength = length): number {
  for (let k = 0; k < Math.min(length, yLength); k++) if (a[x + k] !== c[y + k]) return a[x + k]! - c[y + k]!;
  return length - yLength;
}

function fragment(name: string, version: number): string {
  if (!Number.isSafeInteger(version) || version < 1) throw new Error(`snapshot: bad version ${version} for ${name}`);
  return `"${name}":{"version":${version}}`;
}
