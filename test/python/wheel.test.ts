import { describe, expect, it } from "vitest";
import { parseCoreMetadata } from "../../src/python/core-metadata.js";
import { wheelMetadata, WheelError, type RandomAccess } from "../../src/python/wheel.js";
import { buildWheel, coreMetadata, zip } from "../fixtures/distributions.js";

const access = (bytes: Uint8Array): RandomAccess => ({ size: bytes.length, read: async (o, n) => bytes.subarray(o, o + n) });

describe("wheel METADATA", () => {
  it("reads the one .dist-info/METADATA of a wheel", async () => {
    const wheel = buildWheel({ name: "demo-pkg", version: "1.0", requiresPython: ">=3.8" });
    const bytes = await wheelMetadata(access(wheel.bytes));
    expect(new TextDecoder().decode(bytes)).toBe(coreMetadata({ name: "demo-pkg", version: "1.0", requiresPython: ">=3.8" }));
    expect(parseCoreMetadata(new TextDecoder().decode(bytes))).toEqual({ name: "demo-pkg", version: "1.0", requiresPython: ">=3.8" });
  });

  it.each([
    ["not a zip", new Uint8Array(100), "not a zip"],
    ["no METADATA", zip([["a.py", Buffer.from("x")]]), "no .dist-info/METADATA"],
    ["two dist-infos", zip([["a-1.dist-info/METADATA", Buffer.from("x")], ["b-1.dist-info/METADATA", Buffer.from("y")]]), "more than one"],
  ])("refuses %s", async (_, bytes, reason) => {
    await expect(wheelMetadata(access(bytes))).rejects.toThrow(WheelError);
    await expect(wheelMetadata(access(bytes))).rejects.toThrow(reason);
  });

  it("stops a METADATA that inflates past its stated size", async () => {
    const bytes = zip([["a-1.dist-info/METADATA", Buffer.alloc(100_000)]]);
    bytes.writeUInt32LE(10, bytes.length - 22 - 46 - "a-1.dist-info/METADATA".length + 24); // central directory's uncompressed size
    await expect(wheelMetadata(access(bytes))).rejects.toThrow("inflates past");
  });
});

describe("core metadata headers", () => {
  it("folds continuation lines and stops at the body", () => {
    const m = parseCoreMetadata("Metadata-Version: 2.1\nName: x\nVersion: 1\nRequires-Python: >=3.8\nDescription: a\n  b\n\nRequires-Python: no\n");
    expect(m).toEqual({ name: "x", version: "1", requiresPython: ">=3.8" });
  });
});
