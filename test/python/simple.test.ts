import { describe, expect, it } from "vitest";
import { formatOverride, negotiateFormat } from "../../src/python/negotiate.js";
import { projectListHtml, projectListJson, projectPageHtml, projectPageJson, type Project } from "../../src/python/simple.js";

const SHA = "a".repeat(64);
const META = "b".repeat(64);
const project: Project = {
  name: "Demo_Pkg",
  files: [
    { filename: "demo_pkg-1.0.tar.gz", version: "1.0", size: 10, sha256: SHA, requiresPython: ">=3.8", uploadedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6), yanked: false },
    { filename: "demo_pkg-1.0-py3-none-any.whl", version: "1.0", size: 20, sha256: SHA, requiresPython: ">=3.8,<4", coreMetadataSha256: META, uploadedAt: Date.UTC(2026, 0, 2), yanked: "broken <b>" },
    { filename: "demo_pkg-0.9-py3-none-any.whl", version: "0.9", size: 30, sha256: SHA, uploadedAt: Date.UTC(2025, 0, 1), yanked: "" },
  ],
};

describe("PEP 503 project page", () => {
  const html = projectPageHtml(project);
  it("declares api-version 1.1 and lists files by filename with relative, hashed links", () => {
    expect(html).toContain('<meta name="pypi:repository-version" content="1.1">');
    expect(html).toContain("<title>Links for demo-pkg</title>");
    const order = [...html.matchAll(/>([^<]+)<\/a>/g)].map((m) => m[1]);
    expect(order).toEqual(["demo_pkg-0.9-py3-none-any.whl", "demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"]);
    expect(html).toContain(`href="../../targets/packages/demo-pkg/demo_pkg-1.0.tar.gz#sha256=${SHA}"`);
  });
  it("escapes requires-python and the yank reason; an empty reason is an empty attribute", () => {
    expect(html).toContain('data-requires-python="&gt;=3.8,&lt;4"');
    expect(html).toContain('data-yanked="broken &lt;b&gt;"');
    expect(html).toMatch(/data-yanked="">demo_pkg-0\.9/);
    expect(html).not.toMatch(/data-yanked[^>]*>demo_pkg-1\.0\.tar\.gz/);
  });
  it("names the core metadata under both PEP 658 and PEP 714 attributes", () => {
    expect(html).toContain(`data-dist-info-metadata="sha256=${META}" data-core-metadata="sha256=${META}"`);
  });
});

describe("PEP 691 project page", () => {
  const page = JSON.parse(projectPageJson(project));
  it("has the normalized name, api-version and PEP 700 versions", () => {
    expect(page.meta).toEqual({ "api-version": "1.1" });
    expect(page.name).toBe("demo-pkg");
    expect(page.versions).toEqual(["0.9", "1.0"]);
  });
  it("gives each file its hashes, size, upload-time, yank and core metadata", () => {
    const [old, wheel, sdist] = page.files;
    expect(sdist).toEqual({
      filename: "demo_pkg-1.0.tar.gz",
      url: `../../targets/packages/demo-pkg/demo_pkg-1.0.tar.gz#sha256=${SHA}`,
      hashes: { sha256: SHA },
      "requires-python": ">=3.8",
      size: 10,
      "upload-time": "2026-01-02T03:04:05.006000Z",
      yanked: false,
      "core-metadata": false,
      "dist-info-metadata": false,
    });
    expect(wheel.yanked).toBe("broken <b>");
    expect(wheel["core-metadata"]).toEqual({ sha256: META });
    expect(old.yanked).toBe(true);
    expect(old["requires-python"]).toBeNull();
  });
  it("is byte-stable", () => expect(projectPageJson(project)).toBe(projectPageJson({ ...project, files: [...project.files].reverse() })));
});

describe("project list", () => {
  it("links each project by its normalized name, sorted", () => {
    const html = projectListHtml(["Zeta", "alpha.Beta"]);
    expect(html.indexOf('<a href="alpha-beta/">alpha.Beta</a>')).toBeLessThan(html.indexOf('<a href="zeta/">Zeta</a>'));
    expect(JSON.parse(projectListJson(["Zeta", "alpha.Beta"]))).toEqual({ meta: { "api-version": "1.1" }, projects: [{ name: "alpha.Beta" }, { name: "Zeta" }] });
  });
});

describe("PEP 691 negotiation", () => {
  it.each([
    [undefined, "text/html"],
    ["*/*", "text/html"],
    ["application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", "application/vnd.pypi.simple.v1+json"],
    ["application/vnd.pypi.simple.latest+json", "application/vnd.pypi.simple.v1+json"],
    ["application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"],
    ["text/*;q=0.5, application/vnd.pypi.simple.v1+json;q=0.4", "text/html"],
    ["application/json", undefined],
    ["text/html;q=0", undefined],
  ])("Accept %s → %s", (accept, type) => expect(negotiateFormat(accept)?.contentType).toBe(type));

  it("takes ?format= as an override", () => {
    expect(formatOverride("application/vnd.pypi.simple.v1+json")?.format).toBe("json");
    expect(formatOverride("text/html")?.format).toBe("html");
    expect(formatOverride("json")).toBeUndefined();
  });
});
