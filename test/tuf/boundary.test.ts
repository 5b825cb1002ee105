/**
 * The edges of src/tuf: what it may import (WebCrypto, @noble/* and canonicalize only; no Node,
 * no Cloudflare), and what it exports. Both lists change only on purpose.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as tuf from "../../src/tuf/index.js";

const SRC = fileURLToPath(new URL("../../src/tuf/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [path] : [];
  });
}

/** Every module specifier in `source`: static and type imports, re-exports, side-effect and dynamic imports, require. */
function moduleSpecifiers(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^"'`;]*?\bfrom\s*["'`]([^"'`]+)["'`]/g, // import x from "m", export { x } from "m", import type ...
    /\bimport\s*["'`]([^"'`]+)["'`]/g, // import "m"
    /\bimport\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g, // import("m")
    /\brequire\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g, // require("m")
  ];
  return patterns.flatMap((re) => [...source.matchAll(re)].map((m) => m[1]!));
}

const isAllowed = (specifier: string): boolean =>
  (specifier.startsWith("./") && !specifier.includes("..")) || specifier === "canonicalize" || specifier.startsWith("@noble/");

describe("src/tuf imports", () => {
  const files = sourceFiles(SRC);
  const imports = files.flatMap((file) =>
    moduleSpecifiers(readFileSync(file, "utf8")).map((specifier) => ({ file: relative(SRC, file), specifier })),
  );

  it("reads every source file and finds their imports", () => {
    expect(files.map((f) => relative(SRC, f))).toContain("index.ts");
    expect(files.length).toBeGreaterThanOrEqual(10);
    const specifiers = new Set(imports.map((i) => i.specifier));
    expect(specifiers).toContain("canonicalize");
    expect(specifiers).toContain("@noble/hashes/sha2.js");
    expect(specifiers).toContain("./errors.js");
  });

  it('imports nothing from "node:*", "cloudflare:*" or any package but canonicalize and @noble/*', () => {
    expect(imports.filter((i) => !isAllowed(i.specifier))).toEqual([]);
  });

  it("stays inside src/tuf with relative imports", () => {
    expect(imports.filter((i) => i.specifier.startsWith(".") && !i.specifier.startsWith("./"))).toEqual([]);
  });

  it("uses no Node globals (Buffer, process, require, __dirname)", () => {
    const offenders = files.filter((file) =>
      /\bBuffer\s*[.(]|\bnew Buffer\b|\bprocess\.|\brequire\s*\(|\b__dirname\b|\b__filename\b/.test(readFileSync(file, "utf8")),
    );
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });

  describe("the import scanner", () => {
    it.each([
      ['import { createHash } from "node:crypto";', "node:crypto"],
      ["import type { Env } from 'cloudflare:workers';", "cloudflare:workers"],
      ['export { x } from "hono";', "hono"],
      ['import {\n  a,\n  b,\n} from "@tufjs/models";', "@tufjs/models"],
      ['import "node:buffer";', "node:buffer"],
      ['const m = await import("node:fs");', "node:fs"],
      ['const c = require("crypto");', "crypto"],
      ['import * as ns from "../publisher/publisher.js";', "../publisher/publisher.js"],
    ])("catches %j", (source, specifier) => {
      expect(moduleSpecifiers(source)).toContain(specifier);
      expect(isAllowed(specifier)).toBe(false);
    });

    it.each(['import { sha256 } from "@noble/hashes/sha2.js";', 'import canonicalizeJcs from "canonicalize";', 'import { TufError } from "./errors.js";'])(
      "allows %j",
      (source) => {
        expect(moduleSpecifiers(source).every(isAllowed)).toBe(true);
      },
    );
  });
});

describe("src/tuf/index.ts exports", () => {
  // Update these lists on purpose: they are the public API the Worker, the CLI and the tests share.
  const VALUES = [
    "Delegations",
    "DelegatedRole",
    "Ed25519Signer",
    "Key",
    "MetaFile",
    "Metadata",
    "Role",
    "Root",
    "SPEC_VERSION",
    "Signature",
    "Signed",
    "Snapshot",
    "SuccinctRoles",
    "TOP_LEVEL_ROLES",
    "TargetFile",
    "Targets",
    "Timestamp",
    "TufError",
    "assertCanonicalSubset",
    "canonicalBytes",
    "canonicalString",
    "countSignatures",
    "digestHex",
    "formatExpires",
    "fromHex",
    "fromUtf8",
    "mapLimit",
    "olpcCanonicalString",
    "parseExpires",
    "sha256Sync",
    "timingSafeEqual",
    "toHex",
    "utf8",
    "verificationResult",
    "verifyDelegate",
    "verifyRootRotation",
  ];
  const TYPES = [
    "Delegator",
    "HashAlgorithm",
    "JSONObject",
    "JSONValue",
    "RoleType",
    "SignedByType",
    "SignedFields",
    "Signer",
    "TopLevelRole",
    "TufErrorCode",
    "VerificationResult",
  ];

  it("exports exactly these values", () => {
    expect(Object.keys(tuf).sort()).toEqual([...VALUES].sort());
  });

  it("exports exactly these names, types included (read from the source)", () => {
    const source = readFileSync(join(SRC, "index.ts"), "utf8");
    const names = [...source.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s*from/g)].flatMap((m) =>
      m[2]!
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean)
        .map((part) => ({ name: part.replace(/^type\s+/, "").split(/\s+as\s+/).pop()!, type: !!m[1] || part.startsWith("type ") })),
    );
    expect(names.filter((n) => !n.type).map((n) => n.name).sort()).toEqual([...VALUES].sort());
    expect(names.filter((n) => n.type).map((n) => n.name).sort()).toEqual([...TYPES].sort());
    expect(source).not.toMatch(/export\s+\*/);
  });

  it("exports TOP_LEVEL_ROLES and SPEC_VERSION with their values", () => {
    expect(tuf.TOP_LEVEL_ROLES).toEqual(["root", "targets", "snapshot", "timestamp"]);
    expect(tuf.SPEC_VERSION).toBe("1.0.31");
  });
});
