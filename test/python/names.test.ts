import { describe, expect, it } from "vitest";
import { canonicalVersion, checkFilename, FilenameError, isValidName, normalizeName, normalizeVersion } from "../../src/python/names.js";

describe("PEP 503 names", () => {
  it.each([
    ["Friendly-Bard", "friendly-bard"],
    ["FRIENDLY_BARD", "friendly-bard"],
    ["friendly.bard", "friendly-bard"],
    ["Friendly-._.-Bard", "friendly-bard"],
  ])("%s → %s", (name, normal) => expect(normalizeName(name)).toBe(normal));

  it("accepts PEP 508 names and refuses others", () => {
    expect(isValidName("a")).toBe(true);
    expect(isValidName("zope.interface")).toBe(true);
    expect(isValidName("-lead")).toBe(false);
    expect(isValidName("trail_")).toBe(false);
    expect(isValidName("sp ace")).toBe(false);
  });
});

describe("PEP 440 versions", () => {
  it.each([
    ["1.0", "1.0", "1"],
    ["v1.0.0", "1.0.0", "1"],
    ["1.0-alpha.1", "1.0a1", "1a1"],
    ["1.0.POST", "1.0.post0", "1.post0"],
    ["1.0-1", "1.0.post1", "1.post1"],
    ["1.0.dev", "1.0.dev0", "1.dev0"],
    ["0!1.01", "1.1", "1.1"],
    ["1.0+Local_Ver", "1.0+local.ver", "1+local.ver"],
    ["1.10.0", "1.10.0", "1.10"],
    ["1.0.1", "1.0.1", "1.0.1"],
  ])("%s normalizes to %s, canonical %s", (v, normal, canonical) => {
    expect(normalizeVersion(v)).toBe(normal);
    expect(canonicalVersion(v)).toBe(canonical);
  });

  it("refuses what is not a version", () => {
    expect(normalizeVersion("banana")).toBeUndefined();
    expect(normalizeVersion("1.0-")).toBeUndefined();
  });
});

describe("distribution filenames", () => {
  it("parses wheels (PEP 427/491) whose name and version match", () => {
    expect(checkFilename("my_pkg-1.0-py3-none-any.whl", "My-Pkg", "1.0.0")).toEqual({ kind: "bdist_wheel", name: "my_pkg", version: "1.0" });
    expect(checkFilename("my_pkg-1.0-1build-cp311-cp311-manylinux_2_17_x86_64.whl", "my.pkg", "1.0").kind).toBe("bdist_wheel");
  });

  it("parses sdists with a PEP 625 name", () => {
    expect(checkFilename("my_pkg-2.0rc1.tar.gz", "My.Pkg", "2.0-rc1")).toEqual({ kind: "sdist", name: "my_pkg", version: "2.0rc1" });
  });

  it.each([
    ["other-1.0-py3-none-any.whl", "mypkg", "1.0", "does not match the project name"],
    ["mypkg-1.1-py3-none-any.whl", "mypkg", "1.0", "does not match the version"],
    ["mypkg-1.0-py3-none.whl", "mypkg", "1.0", "invalid wheel filename"],
    ["mypkg-1.0-x-py3-none-any.whl", "mypkg", "1.0", "build tag must start with a digit"],
    ["My-Pkg-1.0.tar.gz", "my-pkg", "1.0", "name part must be my_pkg"],
    ["mypkg-1.0.zip", "mypkg", "1.0", "invalid distribution file extension"],
    ["mypkg-banana.tar.gz", "mypkg", "1.0", "invalid version"],
    ["../mypkg-1.0.tar.gz", "mypkg", "1.0", "invalid filename"],
  ])("refuses %s for %s %s", (filename, project, version, reason) => {
    expect(() => checkFilename(filename, project, version)).toThrow(FilenameError);
    expect(() => checkFilename(filename, project, version)).toThrow(reason);
  });
});
