/**
 * The simple repository API's pages, rendered from a project's files: PEP 503 HTML and
 * PEP 691 JSON at api-version 1.1 (PEP 700: `versions`, `size`, `upload-time`), with
 * PEP 592 yanks and PEP 658/714 core metadata. Pure: the same input gives the same bytes,
 * because each page is a TUF target whose hash is signed.
 *
 * Links are relative, `../../targets/packages/<name>/<filename>#sha256=…`, so the same bytes
 * work from the Worker's `/simple/<name>/` and from a verifying proxy with the same URL shape.
 */
import { normalizeName } from "./names.js";

export const API_VERSION = "1.1";
export const HTML_TYPE = "application/vnd.pypi.simple.v1+html";
export const JSON_TYPE = "application/vnd.pypi.simple.v1+json";

export interface DistributionFile {
  filename: string;
  version: string;
  size: number;
  sha256: string;
  /** The wheel's `Requires-Python`, or the sdist upload's `requires_python` field. */
  requiresPython?: string;
  /** sha256 of the `.metadata` file (PEP 658), when there is one. */
  coreMetadataSha256?: string;
  /** Milliseconds since the epoch. */
  uploadedAt: number;
  /** PEP 592: false, or the reason ("" when none was given). */
  yanked: false | string;
}

export interface Project {
  /** The name as first uploaded; URLs use its normalized form. */
  name: string;
  files: readonly DistributionFile[];
}

/** TUF target paths of a project's pages and files (the layout issue 9's proxy reads too). */
export const projectPagePath = (project: string, format: "html" | "json"): string =>
  `simple/${normalizeName(project)}/index.${format}`;
export const distributionPath = (project: string, filename: string): string => `packages/${normalizeName(project)}/${filename}`;
export const coreMetadataPath = (project: string, filename: string): string => `${distributionPath(project, filename)}.metadata`;
export const PROJECT_LIST_PATHS = { html: "simple/index.html", json: "simple/index.json" } as const;

const fileUrl = (project: string, file: DistributionFile) => `../../targets/${distributionPath(project, file.filename)}`;

/** PEP 700 `upload-time`: `yyyy-mm-ddThh:mm:ss.ffffffZ`. */
const uploadTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

const byFilename = (files: readonly DistributionFile[]) => [...files].sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));

/** Every version with a file, in the order of their first upload. */
function versions(files: readonly DistributionFile[]): string[] {
  const ordered = [...files].sort((a, b) => a.uploadedAt - b.uploadedAt || (a.filename < b.filename ? -1 : 1));
  return [...new Set(ordered.map((f) => f.version))];
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

export function projectPageHtml(project: Project): string {
  // As on PyPI, and as the JSON's "name": the normalized name.
  const name = escapeHtml(normalizeName(project.name));
  const links = byFilename(project.files).map((f) => {
    let attrs = `href="${escapeHtml(`${fileUrl(project.name, f)}#sha256=${f.sha256}`)}"`;
    if (f.requiresPython !== undefined) attrs += ` data-requires-python="${escapeHtml(f.requiresPython)}"`;
    if (f.yanked !== false) attrs += ` data-yanked="${escapeHtml(f.yanked)}"`;
    // PEP 714 renamed data-dist-info-metadata; older pip reads only the old name.
    if (f.coreMetadataSha256 !== undefined)
      attrs += ` data-dist-info-metadata="sha256=${f.coreMetadataSha256}" data-core-metadata="sha256=${f.coreMetadataSha256}"`;
    return `    <a ${attrs}>${escapeHtml(f.filename)}</a><br />\n`;
  });
  return (
    "<!DOCTYPE html>\n<html>\n  <head>\n" +
    `    <meta name="pypi:repository-version" content="${API_VERSION}">\n` +
    `    <title>Links for ${name}</title>\n  </head>\n  <body>\n    <h1>Links for ${name}</h1>\n` +
    links.join("") +
    "  </body>\n</html>\n"
  );
}

export function projectPageJson(project: Project): string {
  const files = byFilename(project.files).map((f) => {
    const metadata = f.coreMetadataSha256 === undefined ? false : { sha256: f.coreMetadataSha256 };
    return {
      filename: f.filename,
      url: `${fileUrl(project.name, f)}#sha256=${f.sha256}`,
      hashes: { sha256: f.sha256 },
      "requires-python": f.requiresPython ?? null,
      size: f.size,
      "upload-time": uploadTime(f.uploadedAt),
      // PEP 691: true, or the reason as a non-empty string.
      yanked: f.yanked === false ? false : f.yanked === "" ? true : f.yanked,
      "core-metadata": metadata,
      "dist-info-metadata": metadata,
    };
  });
  return JSON.stringify({ meta: { "api-version": API_VERSION }, name: normalizeName(project.name), files, versions: versions(project.files) });
}

/** `/simple/`: every project, by normalized name. Links are relative to `/simple/`. */
export function projectListHtml(names: readonly string[]): string {
  const links = sortByNormalized(names).map((n) => `    <a href="${escapeHtml(normalizeName(n))}/">${escapeHtml(n)}</a><br />\n`);
  return (
    "<!DOCTYPE html>\n<html>\n  <head>\n" +
    `    <meta name="pypi:repository-version" content="${API_VERSION}">\n` +
    "    <title>Simple index</title>\n  </head>\n  <body>\n" +
    links.join("") +
    "  </body>\n</html>\n"
  );
}

export function projectListJson(names: readonly string[]): string {
  return JSON.stringify({ meta: { "api-version": API_VERSION }, projects: sortByNormalized(names).map((name) => ({ name })) });
}

function sortByNormalized(names: readonly string[]): string[] {
  return [...names].sort((a, b) => {
    const x = normalizeName(a);
    const y = normalizeName(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
