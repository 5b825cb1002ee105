/** binSignedBytes writes exactly what the Metadata API signs for the same targets. */
import { describe, expect, it } from "vitest";
import { binSignedBytes, type ListedRow } from "../../src/publisher/bin-bytes.js";
import { canonicalBytes, canonicalString, TargetFile, Targets, type JSONObject } from "../../src/tuf/index.js";

describe("binSignedBytes", () => {
  it("matches canonical JSON of the Targets role, with and without custom, odd paths and no targets", () => {
    const expires = new Date("2026-03-04T05:06:07Z");
    for (const count of [0, 1, 57]) {
      const files: Array<{ path: string; length: number; hashes: Record<string, string>; custom?: JSONObject }> = [];
      for (let i = 0; i < count; i++)
        files.push({
          path: [`packages/a-${i}/a-${i}.tar.gz`, `p/"quoted"-${i}`, `p/é-ü-${i}`, `Z/${i}`, `p/a b+${i}`][i % 5]!,
          length: i * 1_000_003,
          hashes: i % 2 ? { sha512: "b".repeat(128), sha256: "a".repeat(64) } : { sha256: "c".repeat(64) },
          ...(i % 3 === 0 ? { custom: { z: [1, "x"], a: { nested: true, n: null } } } : {}),
        });
      const rows: ListedRow[] = files
        .map((f) => ({ path: f.path, length: f.length, hashes: canonicalString(f.hashes), custom: f.custom === undefined ? null : canonicalString(f.custom) }))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const targets = Object.fromEntries(files.map((f) => [f.path, new TargetFile(f.path, f.length, f.hashes, f.custom === undefined ? {} : { custom: f.custom })]));
      const expected = canonicalBytes(new Targets({ version: 7, expires }, targets).toJSON());
      expect(new TextDecoder().decode(binSignedBytes(7, expires, rows))).toBe(new TextDecoder().decode(expected));
    }
  });
});
