/**
 * Project names, versions and distribution filenames, as packaging defines them:
 * PEP 503 name normalization, PEP 440 version canonicalization (as
 * `packaging.utils.canonicalize_version`), wheel names (PEP 427/491) and sdist names (PEP 625).
 */

/** PEP 503: runs of `-`, `_` and `.` become one `-`, lowercased. */
export const normalizeName = (name: string): string => name.replace(/[-_.]+/g, "-").toLowerCase();

/** PEP 508 §Names: what a project name may be at all (ASCII letters, digits, `.-_`, alphanumeric at both ends). */
export const isValidName = (name: string): boolean => /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i.test(name);

// packaging.version.VERSION_PATTERN, anchored.
const VERSION = new RegExp(
  "^\\s*v?(?:(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\\.[0-9]+)*)" +
    "(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?" +
    "(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?" +
    "(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?)(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\\s*$",
  "i",
);

const PRE: Record<string, string> = { alpha: "a", a: "a", beta: "b", b: "b", c: "rc", pre: "rc", preview: "rc", rc: "rc" };

/** The PEP 440 normal form of `version`, or undefined if it is not a valid version. */
export function normalizeVersion(version: string): string | undefined {
  const g = VERSION.exec(version)?.groups;
  if (!g) return undefined;
  const num = (s: string | undefined) => String(BigInt(s ?? "0"));
  let out = g.epoch && BigInt(g.epoch) !== 0n ? `${num(g.epoch)}!` : "";
  out += g.release!.split(".").map(num).join(".");
  if (g.pre_l) out += PRE[g.pre_l.toLowerCase()]! + num(g.pre_n);
  if (g.post) out += `.post${num(g.post_n1 ?? g.post_n2)}`;
  if (g.dev) out += `.dev${num(g.dev_n)}`;
  if (g.local) out += `+${g.local.toLowerCase().replace(/[-_]/g, ".")}`;
  return out;
}

/** As `packaging.utils.canonicalize_version`: the normal form with trailing `.0` release parts dropped, for comparing. */
export function canonicalVersion(version: string): string | undefined {
  const normal = normalizeVersion(version);
  if (normal === undefined) return undefined;
  return normal.replace(/^((?:\d+!)?\d+(?:\.\d+)*?)(?:\.0)+(?=$|[a-z+]|\.(?:post|dev))/, "$1");
}

export type DistributionKind = "bdist_wheel" | "sdist";

export interface ParsedFilename {
  kind: DistributionKind;
  /** The name part, as written in the filename. */
  name: string;
  version: string;
}

/** Why a filename cannot be `project`'s `version`, or undefined when it can. */
export class FilenameError extends Error {}

/**
 * Parses a distribution filename and checks it names `project` at `version`.
 * Wheels: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`, name escaped per PEP 491
 * (any run of `-_.` as `_`). Sdists: `{name}-{version}.tar.gz` with the name normalized with
 * underscores (PEP 625); `.zip` and other archive formats are refused, as PyPI does.
 */
export function checkFilename(filename: string, project: string, version: string): ParsedFilename {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+!-]*$/.test(filename) || filename.length > 255)
    throw new FilenameError(`invalid filename ${JSON.stringify(filename)}`);
  let parsed: ParsedFilename;
  if (filename.endsWith(".whl")) {
    const parts = filename.slice(0, -4).split("-");
    if (parts.length !== 5 && parts.length !== 6)
      throw new FilenameError(`invalid wheel filename ${filename}: expected name-version(-build)-python-abi-platform.whl (PEP 427)`);
    if (parts.length === 6 && !/^\d/.test(parts[2]!))
      throw new FilenameError(`invalid wheel filename ${filename}: the build tag must start with a digit (PEP 427)`);
    parsed = { kind: "bdist_wheel", name: parts[0]!, version: parts[1]! };
  } else if (filename.endsWith(".tar.gz")) {
    const stem = filename.slice(0, -7);
    const dash = stem.lastIndexOf("-");
    if (dash <= 0) throw new FilenameError(`invalid sdist filename ${filename}: expected {name}-{version}.tar.gz (PEP 625)`);
    parsed = { kind: "sdist", name: stem.slice(0, dash), version: stem.slice(dash + 1) };
    const expected = normalizeName(project).replace(/-/g, "_");
    if (parsed.name !== expected)
      throw new FilenameError(`invalid sdist filename ${filename}: its name part must be ${expected} (PEP 625)`);
  } else {
    throw new FilenameError(`invalid distribution file extension of ${filename}: upload a wheel (.whl) or an sdist (.tar.gz)`);
  }
  if (normalizeName(parsed.name) !== normalizeName(project))
    throw new FilenameError(`the filename ${filename} does not match the project name ${project}`);
  const fileVersion = canonicalVersion(parsed.version);
  if (fileVersion === undefined) throw new FilenameError(`invalid version in filename ${filename}`);
  if (fileVersion !== canonicalVersion(version))
    throw new FilenameError(`the filename ${filename} does not match the version ${version}`);
  return parsed;
}
