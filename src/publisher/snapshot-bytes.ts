/**
 * The snapshot's canonical bytes, kept between publishes.
 *
 * At 16,384 bins the snapshot `meta` has 16,386 entries, but a publish changes
 * only a few. Re-serializing the whole object each time is the dominant cost of
 * a publish, so each entry's canonical text is kept
 * and only changed entries are rewritten. The output is byte-identical to
 * canonicalString(snapshot.toJSON()); test/publisher/snapshot-bytes.test.ts proves it.
 * Entries carry versions only (PEP 458: snapshot lists versions; VERSION alone
 * identifies a file because versions are never reused).
 */
import { formatExpires, SPEC_VERSION, utf8 } from "../tuf/index.js";

const ROLE_FILE = /^[a-z0-9.-]+\.json$/;

export class SnapshotBytes {
  private readonly position = new Map<string, number>();
  private readonly fragments: string[];

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
    this.fragments[i] = fragment(name, version);
  }

  signedBytes(version: number, expires: Date): Uint8Array {
    return utf8(
      `{"_type":"snapshot","expires":"${formatExpires(expires)}","meta":{${this.fragments.join(",")}},` +
        `"spec_version":"${SPEC_VERSION}","version":${version}}`,
    );
  }
}

const HEAD = /\{"_type":"snapshot","expires":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","meta":\{/y;
const ENTRY = /"([a-z0-9.-]+\.json)":\{"version":([1-9]\d{0,15})\}/y;
const TAIL = /\},"spec_version":"\d+\.\d+\.\d+","version":([1-9]\d{0,15})\}$/y;

/**
 * Checks signed snapshot bytes against the exact canonical form clients
 * re-serialize and verify over: this grammar, every role once, names in
 * strictly increasing order, safe-integer versions. A grammar scan, because
 * parsing and re-canonicalizing 16,386 entries on every publish costs more
 * than the rest of the publish (docs/performance.md).
 */
export function assertCanonicalSnapshot(signed: string): void {
  const fail = (at: number, why: string): never => {
    throw new Error(`self-check failed: the snapshot is not canonical at byte ${at}: ${why}`);
  };
  HEAD.lastIndex = 0;
  if (!HEAD.test(signed)) return fail(0, "expected the snapshot header");
  let at = HEAD.lastIndex;
  let previous = "";
  for (;;) {
    ENTRY.lastIndex = at;
    const m = ENTRY.exec(signed);
    if (!m) return fail(at, 'expected "<role>.json":{"version":N}');
    const [, name, version] = m as unknown as [string, string, string];
    if (!(previous < name)) fail(at, `${name} is out of order or repeated`);
    if (!Number.isSafeInteger(Number(version))) fail(at, `version ${version} is not a safe integer`);
    previous = name;
    at = ENTRY.lastIndex;
    if (signed.charCodeAt(at) !== 0x2c) break; // ","
    at++;
  }
  TAIL.lastIndex = at;
  const tail = TAIL.exec(signed);
  if (!tail || !Number.isSafeInteger(Number(tail[1]))) fail(at, "expected spec_version and version to end the snapshot");
}

function fragment(name: string, version: number): string {
  if (!Number.isSafeInteger(version) || version < 1) throw new Error(`snapshot: bad version ${version} for ${name}`);
  return `"${name}":{"version":${version}}`;
}
