/** Path-pattern matching of delegations, as python-tuf's DelegatedRole.is_delegated_path does it. */
import { describe, expect, it } from "vitest";
import { isDelegatedPath, matchesPathPattern } from "../../src/client/index.js";
import { DelegatedRole, sha256Sync, toHex, utf8 } from "../../src/tuf/index.js";

describe("matchesPathPattern", () => {
  it.each([
    ["targets/file.txt", "targets/*.txt", true],
    ["targets/sub/file.txt", "targets/*.txt", false], // "*" does not cross "/"
    ["targets/file.txt", "targets/fil?.txt", true],
    ["targets/file.txt", "targets/[ef]ile.txt", true],
    ["targets/file.txt", "targets/[!f]ile.txt", false],
    ["a.b/c", "a.b/*", true],
    ["axb/c", "a.b/*", false], // "." is literal
    ["file", "*", true],
    ["dir/file", "*", false],
    ["[", "[", true], // an unclosed bracket is literal
  ])("%s against %s: %s", (path, pattern, expected) => {
    expect(matchesPathPattern(path, pattern)).toBe(expected);
  });

  it("matches path_hash_prefixes on the SHA-256 of the path", () => {
    const hash = toHex(sha256Sync(utf8("packages/x.whl")));
    expect(isDelegatedPath(new DelegatedRole("r", [], 1, false, undefined, [hash.slice(0, 2)]), "packages/x.whl")).toBe(true);
    expect(isDelegatedPath(new DelegatedRole("r", [], 1, false, undefined, [hash.slice(0, 2) === "00" ? "01" : "00"]), "packages/x.whl")).toBe(false);
  });
});
