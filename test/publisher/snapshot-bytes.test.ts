/** SnapshotBytes, the publisher's incremental snapshot encoder, is byte-identical to canonical JSON of the Snapshot model. */
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { canonicalString, MetaFile, Snapshot, utf8 } from "../../src/tuf/index.js";
import { assertCanonicalSnapshot, SnapshotBytes } from "../../src/publisher/snapshot-bytes.js";

const expires = new Date("2027-01-02T03:04:05Z");
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const model = (meta: Map<string, number>, version: number) =>
  canonicalString(new Snapshot({ version, expires }, Object.fromEntries([...meta].map(([n, v]) => [n, new MetaFile(v)]))).toJSON());

const syncFlushes = (gz: Uint8Array) => gz.reduce((n, _, i) => n + (gz[i] === 0 && gz[i + 1] === 0 && gz[i + 2] === 0xff && gz[i + 3] === 0xff ? 1 : 0), 0);

describe("SnapshotBytes", () => {
  it("matches canonicalString(snapshot.toJSON()) at bootstrap and after entries change", () => {
    const meta = new Map<string, number>([["targets.json", 1], ["bins.json", 1]]);
    for (let i = 0; i < 256; i++) meta.set(`bin-${i.toString(16).padStart(2, "0")}.json`, 1);
    const bytes = new SnapshotBytes(meta);
    expect(decode(bytes.signedBytes(1, expires))).toBe(model(meta, 1));
    for (const [name, version] of [["bin-3e.json", 2], ["bin-00.json", 7], ["bins.json", 2], ["bin-ff.json", 10]] as const) {
      bytes.set(name, version);
      meta.set(name, version);
    }
    expect(decode(bytes.signedBytes(12, expires))).toBe(model(meta, 12));
  });

  it("stays identical over many publishes, whether an entry is rewritten in place or gains a digit", () => {
    const meta = new Map<string, number>([["targets.json", 1], ["bins.json", 1]]);
    for (let i = 0; i < 64; i++) meta.set(`bin-${i.toString(16).padStart(2, "0")}.json`, 1);
    const bytes = new SnapshotBytes(meta);
    const names = [...meta.keys()];
    let seed = 7;
    for (let publish = 2; publish < 400; publish++) {
      for (let k = 0; k < 3; k++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const name = names[seed % names.length]!;
        meta.set(name, meta.get(name)! + 1 + (seed % 5 === 0 ? 95 : 0));
        bytes.set(name, meta.get(name)!);
      }
      expect(decode(bytes.signedBytes(publish, expires))).toBe(model(meta, publish));
    }
  });

  it("gzips the file in segments that decode to it exactly, publish after publish, in every decoder", async () => {
    const meta = new Map<string, number>([["targets.json", 1], ["bins.json", 1]]);
    for (let i = 0; i < 4096; i++) meta.set(`bin-${i.toString(16).padStart(3, "0")}.json`, 1 + ((i * 7919) % 300));
    const bytes = new SnapshotBytes(meta);
    const names = [...meta.keys()];
    const envelopeOf = (signed: Uint8Array) => utf8(`{"signatures":[{"keyid":"${"a".repeat(64)}","sig":"${"b".repeat(128)}"}],"signed":${decode(signed)}}`);
    let seed = 11;
    for (let publish = 2; publish < 60; publish++) {
      for (let k = 0; k < 1 + (publish % 4); k++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const name = names[seed % names.length]!;
        meta.set(name, meta.get(name)! + 1 + (seed % 7 === 0 ? 900 : 0)); // now and then a version gains a digit
        bytes.set(name, meta.get(name)!);
      }
      const file = envelopeOf(bytes.signedBytes(publish, expires));
      const gz = bytes.gzip(file);
      expect(gunzipSync(gz).equals(file), `publish ${publish}`).toBe(true);
      // In segments, each ended by a sync flush (an empty stored block), not in one piece.
      expect(syncFlushes(gz)).toBeGreaterThan(Math.floor(meta.size / 1024));
      if (publish % 10 === 0) {
        // What the Worker serves to clients that do not accept gzip (src/http/serve.ts decompresses this way).
        const served = new Uint8Array(await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
        expect(decode(served)).toBe(decode(file));
        // The segments cost little against one piece.
        expect(gz.length).toBeLessThan(gzipSync(file).length * 1.15);
      }
    }
  });

  it("gzips any other bytes in one piece", () => {
    const meta = new Map<string, number>([["targets.json", 1], ["bins.json", 1]]);
    for (let i = 0; i < 1024; i++) meta.set(`bin-${i.toString(16).padStart(3, "0")}.json`, 1);
    const bytes = new SnapshotBytes(meta);
    const signed = bytes.signedBytes(2, expires);
    const others = [utf8(` ${decode(signed)}}`), utf8(`{"signed":${decode(signed).replace('"bin-3ff.json":{"version":1}', '"bin-3ff.json":{"version":2}')}}`), utf8("{}")];
    for (const other of others) expect(gunzipSync(bytes.gzip(other)).equals(other)).toBe(true);
  });

  it("refuses names it could not encode canonically and versions TUF does not allow", () => {
    expect(() => new SnapshotBytes(new Map([["Bin.json", 1]]))).toThrow(/outside/);
    const bytes = new SnapshotBytes(new Map([["bin-0.json", 1]]));
    expect(() => bytes.set("bin-1.json", 1)).toThrow(/not a listed role/);
    expect(() => bytes.set("bin-0.json", 0)).toThrow(/bad version/);
  });

  it("self-checks: accepts exactly the canonical form clients verify over", () => {
    const meta = new Map<string, number>([["targets.json", 3], ["bins.json", 2]]);
    for (let i = 0; i < 16; i++) meta.set(`bin-${i.toString(16)}.json`, i + 1);
    const good = model(meta, 9);
    expect(() => assertCanonicalSnapshot(utf8(good))).not.toThrow();
    expect(() => assertCanonicalSnapshot(new SnapshotBytes(meta).signedBytes(9, expires))).not.toThrow();
    const bad = {
      "leading space": ` ${good}`,
      "space after a colon": good.replace('"version":9}', '"version": 9}'),
      "entries out of order": good.replace('"bin-0.json":{"version":1},"bin-1.json":{"version":2}', '"bin-1.json":{"version":2},"bin-0.json":{"version":1}'),
      "a repeated entry": good.replace('"bin-1.json":{"version":2}', '"bin-1.json":{"version":2},"bin-1.json":{"version":2}'),
      "a float version": good.replace('"bin-1.json":{"version":2}', '"bin-1.json":{"version":2.0}'),
      "an unsafe integer": good.replace('"bin-1.json":{"version":2}', '"bin-1.json":{"version":9007199254740993}'),
      "an extra field": good.replace('{"version":2}', '{"length":1,"version":2}'),
      "trailing bytes": `${good}\n`,
      "an upper-case name": good.replace('"bin-1.json"', '"Bin-1.json"'),
      "a name not ending in .json": good.replace('"bin-1.json"', '"bin-1.jsno"'),
      "a bad expires": good.replace(/"expires":"\d{4}/, '"expires":"20x6'),
      "a version of 0": good.replace('"version":9}', '"version":0}'),
      "a truncated snapshot": good.slice(0, -1),
    };
    for (const [why, text] of Object.entries(bad)) expect(() => assertCanonicalSnapshot(utf8(text)), why).toThrow(/not canonical/);
  });
});
