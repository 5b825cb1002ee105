/** Byte helpers and the error type (src/tuf/bytes.ts, src/tuf/errors.ts). */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { digestHex, fromHex, fromUtf8, sha256Sync, timingSafeEqual, toHex, TufError, utf8 } from "../../src/tuf/index.js";
import { Rng, SHA256_A, SHA512_A } from "./helpers.js";

describe("toHex / fromHex", () => {
  it("round-trip every byte value", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const hex = toHex(all);
    expect(hex).toBe(Buffer.from(all).toString("hex"));
    expect(fromHex(hex)).toEqual(all);
  });

  it("accepts uppercase hex and the empty string", () => {
    expect(fromHex("ABff")).toEqual(new Uint8Array([0xab, 0xff]));
    expect(fromHex("")).toEqual(new Uint8Array(0));
  });

  it.each(["a", "abc", "zz", "0x00", "ab cd", "+1", "-1"])("rejects %j", (hex) => {
    expect(() => fromHex(hex)).toThrow(TypeError);
  });
});

describe("utf8 / fromUtf8", () => {
  it("round-trip non-ASCII text", () => {
    expect(toHex(utf8("é€😀"))).toBe("c3a9e282acf09f9880");
    expect(fromUtf8(utf8("é€😀\u2028"))).toBe("é€😀\u2028");
  });

  it.each([
    ["a lone continuation byte", [0x80]],
    ["a truncated sequence", [0xe2, 0x82]],
    ["an overlong encoding", [0xc0, 0xaf]],
    ["an encoded surrogate", [0xed, 0xa0, 0x80]],
  ])("refuses %s", (_name, bytes) => {
    expect(() => fromUtf8(new Uint8Array(bytes))).toThrow(TypeError);
  });
});

describe("sha256Sync / digestHex", () => {
  it("hash the known vector for 'a'", async () => {
    expect(toHex(sha256Sync(utf8("a")))).toBe(SHA256_A);
    await expect(digestHex(utf8("a"), ["sha256", "sha512"])).resolves.toEqual({ sha256: SHA256_A, sha512: SHA512_A });
  });

  it("default to sha256 only", async () => {
    await expect(digestHex(utf8("a"))).resolves.toEqual({ sha256: SHA256_A });
  });

  it("agree with node:crypto on random inputs", async () => {
    const rng = new Rng(42);
    for (let n = 0; n < 50; n++) {
      const data = Uint8Array.from({ length: rng.int(3000) }, () => rng.int(256));
      const expected = createHash("sha256").update(data).digest("hex");
      expect(toHex(sha256Sync(data))).toBe(expected);
      expect((await digestHex(data)).sha256).toBe(expected);
    }
  });
});

describe("timingSafeEqual", () => {
  it.each([
    ["equal bytes", [1, 2, 3], [1, 2, 3], true],
    ["empty inputs", [], [], true],
    ["a differing last byte", [1, 2, 3], [1, 2, 4], false],
    ["a differing first byte", [0, 2, 3], [1, 2, 3], false],
    ["different lengths", [1, 2], [1, 2, 3], false],
  ])("compares %s", (_name, a, b, equal) => {
    expect(timingSafeEqual(new Uint8Array(a), new Uint8Array(b))).toBe(equal);
  });
});

describe("TufError", () => {
  it("is an Error with a name and a stable code", () => {
    const error = new TufError("threshold", "snapshot v7 signed by 0/1 required keys");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("TufError");
    expect(error.code).toBe("threshold");
    expect(error.message).toBe("snapshot v7 signed by 0/1 required keys");
    expect(String(error)).toBe("TufError: snapshot v7 signed by 0/1 required keys");
  });
});
