/**
 * The snapshot's canonical bytes, kept between publishes, and their gzip.
 *
 * At 16,384 bins the snapshot `meta` has 16,386 entries, but a publish changes
 * only a few. Re-serializing the whole object each time is the dominant cost of
 * a publish, so the encoded entries are kept as bytes and a changed entry is
 * written over its old bytes in place (a version that gains a digit rebuilds
 * them). The output is byte-identical to canonicalString(snapshot.toJSON());
 * test/publisher/snapshot-bytes.test.ts proves it.
 * Entries carry versions only (PEP 458: snapshot lists versions; VERSION alone
 * identifies a file because versions are never reused).
 *
 * Compressing the whole file again on every publish cost 1.4 ms at 16,384 bins,
 * and 3.8 ms with versions as varied as a live repository's. So the file is
 * gzipped in segments: every SEGMENT_ENTRIES entries are one deflate segment of their
 * own, ended by a sync flush (byte-aligned, no back-reference into another
 * segment), and a segment whose entries did not change keeps its compressed bytes.
 * The segments of one file make one ordinary gzip member.
 */
import { formatExpires, SPEC_VERSION, utf8 } from "../tuf/index.js";
import { deflateSegment, gzip, gzipCrc, gzipMember } from "./at-rest.js";

const ROLE_FILE = /^[a-z0-9.-]+\.json$/;

/** Entries in one compressed segment (~16 KB): a one-bin publish recompresses one. */
const SEGMENT_ENTRIES = 512;

/** A segment's entry bytes as they were compressed, and the deflate segment they compressed to. */
interface Segment {
  raw: Uint8Array;
  deflated: Uint8Array;
}

export class SnapshotBytes {
  private readonly position = new Map<string, number>();
  private readonly fragments: string[];
  /** The fragments joined with ",", and where each one starts in it. */
  private entries: Uint8Array = new Uint8Array();
  private readonly offsets: number[] = [];
  private stale = true;
  private segments: Array<Segment | undefined> = [];
  /** The length of the tail of the last signedBytes(). */
  private tailLength = 0;

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
    if (!this.stale && next.length === this.fragments[i]!.length) {
      this.entries.set(utf8(next), this.offsets[i]!);
      this.segments[Math.floor(i / SEGMENT_ENTRIES)] = undefined;
    } else this.stale = true;
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
    this.tailLength = tail.length;
    return out;
  }

  /**
   * The gzip of `file`, the envelope around the last signedBytes() output
   * (`{"signatures":[…],"signed":` + signed + `}`): the part before the entries and
   * the part after them are compressed anew, each unchanged segment is reused.
   * The CRC of what the segments decode to must be the file's, or the
   * whole file is compressed in one piece instead.
   */
  gzip(file: Uint8Array): Uint8Array {
    const start = file.length - 1 - this.tailLength - this.entries.length;
    if (this.stale || start < 0) return gzip(file);
    const end = start + this.entries.length;
    const segments = this.currentSegments();
    const head = file.subarray(0, start);
    const tail = file.subarray(end);
    let crc = gzipCrc(head);
    let length = head.length + tail.length;
    for (const { raw } of segments) {
      crc = gzipCrc(raw, crc);
      length += raw.length;
    }
    crc = gzipCrc(tail, crc);
    if (length !== file.length || crc !== gzipCrc(file)) return gzip(file);
    return gzipMember([deflateSegment(head), ...segments.map((s) => s.deflated), deflateSegment(tail, true)], crc, file.length);
  }

  private currentSegments(): Segment[] {
    const count = Math.ceil(this.fragments.length / SEGMENT_ENTRIES);
    const segments: Segment[] = [];
    for (let g = 0; g < count; g++) {
      let segment = this.segments[g];
      if (!segment) {
        const from = this.offsets[g * SEGMENT_ENTRIES]!;
        const to = g + 1 < count ? this.offsets[(g + 1) * SEGMENT_ENTRIES]! : this.entries.length;
        // A copy: later publishes patch this.entries in place.
        const raw = this.entries.slice(from, to);
        segment = this.segments[g] = { raw, deflated: deflateSegment(raw) };
      }
      segments.push(segment);
    }
    return segments;
  }

  private rebuild(): void {
    let at = 0;
    this.fragments.forEach((f, i) => {
      this.offsets[i] = at;
      at += f.length + 1; // ASCII: one byte a character, and the "," after it
    });
    this.entries = utf8(this.fragments.join(","));
    this.segments = [];
    this.stale = false;
  }
}

const enc = new TextEncoder();
const HEAD = enc.encode('{"_type":"snapshot","expires":"');
const META = enc.encode('","meta":{');
const ENTRY_OPEN = enc.encode('":{"version":');
const TAIL = enc.encode('},"spec_version":"');
const VERSION = enc.encode('","version":');
/** Where `formatExpires` writes digits in YYYY-MM-DDTHH:MM:SSZ; the other bytes are its separators. */
const EXPIRES = "0000-00-00T00:00:00Z";

/**
 * Checks signed snapshot bytes against the exact canonical form clients
 * re-serialize and verify over: this grammar, every role once, names in
 * strictly increasing byte order, safe-integer versions. A byte scan, because
 * parsing and re-canonicalizing 16,386 entries on every publish cost more
 * than the rest of the publish (docs/performance.md); the entry loop is
 * written out by hand, since it runs on every publish over ~0.5 MB.
 */
export function assertCanonicalSnapshot(b: Uint8Array): void {
  let i = literal(b, 0, HEAD, "the snapshot header");
  for (let k = 0; k < EXPIRES.length; k++, i++)
    if (EXPIRES[k] === "0" ? !isDigit(b[i]) : b[i] !== EXPIRES.charCodeAt(k)) notCanonical(i, "expected expires as YYYY-MM-DDTHH:MM:SSZ");
  i = literal(b, i, META, '"meta"');
  let previous = -1;
  let previousLength = 0;
  for (;;) {
    if (b[i] !== 0x22) notCanonical(i, "expected a role file name"); // '"'
    const start = ++i;
    while (i < b.length && NAME_BYTE[b[i]!] === 1) i++;
    const length = i - start;
    // Ends in ".json".
    if (length <= 5 || b[i - 5] !== 0x2e || b[i - 4] !== 0x6a || b[i - 3] !== 0x73 || b[i - 2] !== 0x6f || b[i - 1] !== 0x6e)
      notCanonical(i, "expected a role file name ending in .json");
    if (previous >= 0) {
      const shorter = Math.min(length, previousLength);
      let k = 0;
      while (k < shorter && b[previous + k] === b[start + k]) k++;
      if (k < shorter ? b[previous + k]! > b[start + k]! : previousLength >= length) notCanonical(start, "role file names out of order or repeated");
    }
    previous = start;
    previousLength = length;
    for (let k = 0; k < ENTRY_OPEN.length; k++) if (b[i + k] !== ENTRY_OPEN[k]) notCanonical(i + k, 'expected ":{"version":');
    i = integer(b, i + ENTRY_OPEN.length);
    if (b[i] !== 0x7d) notCanonical(i, "expected }");
    if (b[++i] !== 0x2c) break; // ","
    i++;
  }
  i = literal(b, i, TAIL, '},"spec_version":"');
  for (let part = 0; part < 3; part++) {
    const start = i;
    while (isDigit(b[i])) i++;
    if (i === start) notCanonical(i, "expected spec_version as N.N.N");
    if (part < 2) i = literal(b, i, DOT, ".");
  }
  i = literal(b, i, VERSION, '","version":');
  i = integer(b, i);
  i = literal(b, i, CLOSE, "}");
  if (i !== b.length) notCanonical(i, "expected the end of the snapshot");
}

const CLOSE = enc.encode("}");
const DOT = enc.encode(".");

function notCanonical(at: number, why: string): never {
  throw new Error(`self-check failed: the snapshot is not canonical at byte ${at}: ${why}`);
}

/** Checks `bytes` at `at`; returns the index after them. */
function literal(b: Uint8Array, at: number, bytes: Uint8Array, what: string): number {
  for (let k = 0; k < bytes.length; k++) if (b[at + k] !== bytes[k]) notCanonical(at + k, `expected ${what}`);
  return at + bytes.length;
}

/** A version from 1 up, a safe integer, without leading zeros; returns the index after it. */
function integer(b: Uint8Array, at: number): number {
  let i = at;
  if (!(b[i]! >= 0x31 && b[i]! <= 0x39)) notCanonical(i, "expected a version from 1 up");
  let value = 0;
  while (isDigit(b[i])) value = value * 10 + (b[i++]! - 0x30);
  if (!Number.isSafeInteger(value)) notCanonical(at, "a version is not a safe integer");
  return i;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** 1 for `[a-z0-9.-]`, ROLE_FILE's characters: one load a byte in the scan's busiest loop. */
const NAME_BYTE = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyz0123456789.-") NAME_BYTE[c.charCodeAt(0)] = 1;

function fragment(name: string, version: number): string {
  if (!Number.isSafeInteger(version) || version < 1) throw new Error(`snapshot: bad version ${version} for ${name}`);
  return `"${name}":{"version":${version}}`;
}
