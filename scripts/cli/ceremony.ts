/**
 * The ceremony directory: the offline roles' metadata as `N.root.json`,
 * `N.targets.json` and `N.bins.json` (TUF spec 6.2.1 consistent-snapshot names),
 * and who must sign each one.
 *
 * Delegation inside a directory (PEP 458 §Minimum Security Model):
 *  - N.root.json is signed by its own root keys and, for N > 1, also by the
 *    root keys of (N-1).root.json (TUF spec 5.3.4, 6.1);
 *  - targets is delegated by the newest root in the directory;
 *  - bins is delegated by the newest targets.
 * Online roles (snapshot, timestamp, bin-n) never appear here.
 *
 * Files are written as canonical JSON (`Metadata.toBytes()`), so what the
 * holders sign is byte-for-byte what gets published.
 */
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  Metadata,
  Root,
  Targets,
  TufError,
  verificationResult,
  type Delegator,
  type Key,
  type VerificationResult,
} from "../../src/tuf/index.js";
import { CliError, fromFsError, fromTufError } from "./errors.js";

export const CEREMONY_ROLES = ["root", "targets", "bins"] as const;
export type CeremonyRole = (typeof CEREMONY_ROLES)[number];

/** The delegated role that targets hands the hash bins to (PEP 458 Figure 1). */
export const BINS_ROLE = "bins";

const FILE_NAME = /^([1-9]\d*)\.(root|targets|bins)\.json$/;

export function parseFileName(path: string): { role: CeremonyRole; version: number } {
  const match = FILE_NAME.exec(basename(path));
  if (!match)
    throw new CliError(
      `${basename(path)} is not a ceremony file name`,
      "Ceremony files are named N.root.json, N.targets.json or N.bins.json, as tuf-edge init writes them",
    );
  return { role: match[2] as CeremonyRole, version: Number(match[1]) };
}

export const fileName = (role: CeremonyRole, version: number): string => `${version}.${role}.json`;

interface SignedOf {
  root: Root;
  targets: Targets;
  bins: Targets;
}

export interface CeremonyFile<R extends CeremonyRole = CeremonyRole> {
  path: string;
  role: R;
  version: number;
  md: Metadata<SignedOf[R]>;
}

/** Reads and parses one ceremony file; the version in its name must match its contents. */
export async function loadFile(path: string): Promise<CeremonyFile> {
  const { role, version } = parseFileName(path);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw fromFsError(err, path);
  }
  let md: Metadata<Root | Targets>;
  try {
    md = Metadata.fromBytes(role === "root" ? "root" : "targets", bytes);
  } catch (err) {
    if (err instanceof TufError)
      throw new CliError(
        `${path} is not valid ${role} metadata (${err.message})`,
        "Copy an intact file from the previous holder, or draft it again",
      );
    throw err;
  }
  if (md.signed.version !== version)
    throw new CliError(
      `${path} holds ${role} version ${md.signed.version}, but its name says version ${version}`,
      `Rename it to ${fileName(role, md.signed.version)} or restore the right file`,
    );
  return { path, role, version, md } as CeremonyFile;
}

export interface CeremonyDir {
  dir: string;
  /** Versions present for each role, ascending. */
  versions: Record<CeremonyRole, number[]>;
}

export async function listDir(dir: string): Promise<CeremonyDir> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw fromFsError(err, dir);
  }
  const versions: Record<CeremonyRole, number[]> = { root: [], targets: [], bins: [] };
  for (const name of names) {
    const match = FILE_NAME.exec(name);
    if (match) versions[match[2] as CeremonyRole].push(Number(match[1]));
  }
  for (const list of Object.values(versions)) list.sort((a, b) => a - b);
  return { dir, versions };
}

export const newestVersion = (listing: CeremonyDir, role: CeremonyRole): number | undefined => listing.versions[role].at(-1);

export function pathOf(listing: CeremonyDir, role: CeremonyRole, version: number): string {
  return join(listing.dir, fileName(role, version));
}

/** The newest file of `role`, or a CliError saying how to get one. */
export async function loadNewest<R extends CeremonyRole>(listing: CeremonyDir, role: R): Promise<CeremonyFile<R>> {
  const version = newestVersion(listing, role);
  if (version === undefined)
    throw new CliError(`${listing.dir} has no N.${role}.json`, "Run tuf-edge init to draft the metadata, or copy the files here");
  return (await loadFile(pathOf(listing, role, version))) as CeremonyFile<R>;
}

/** One set of keys whose threshold a file needs: two sets for a root rotation. */
export interface SignerCheck {
  /** e.g. "root v1" */
  label: string;
  delegator: Delegator;
  roleName: string;
}

/** Who must sign `file`, as found in its directory. */
export async function checksFor(file: CeremonyFile, listing: CeremonyDir): Promise<SignerCheck[]> {
  if (file.role === "root") {
    const own: SignerCheck = { label: `root v${file.version}`, delegator: file.md.signed as Root, roleName: "root" };
    if (file.version === 1) return [own];
    const previousPath = pathOf(listing, "root", file.version - 1);
    if (!listing.versions.root.includes(file.version - 1))
      throw new CliError(
        `${previousPath} is missing`,
        `root v${file.version} must also be signed by the keys of root v${file.version - 1}; copy ${fileName("root", file.version - 1)} into ${listing.dir}`,
      );
    const previous = await loadFile(previousPath);
    return [{ label: `root v${previous.version}`, delegator: previous.md.signed as Root, roleName: "root" }, own];
  }
  if (file.role === "targets") return targetsChecks(file as CeremonyFile<"targets">, await loadNewest(listing, "root"), listing);
  const targets = await loadNewest(listing, "targets");
  if (!targets.md.signed.delegateFor(BINS_ROLE))
    throw new CliError(
      `${targets.path} does not delegate to ${BINS_ROLE}`,
      "Draft the targets metadata with tuf-edge init, which delegates to bins",
    );
  return [{ label: `targets v${targets.version}`, delegator: targets.md.signed, roleName: BINS_ROLE }];
}

/**
 * Who must sign a targets delegated by `root`. Root N+1 that replaces the
 * targets keys is written only after the targets signed for it is served
 * (the Worker holds it until cached timestamps run out), so clients still on
 * root N verify that targets: it needs a threshold of root N's targets keys
 * AND of root N+1's. Once a targets version verifies under root N+1 alone,
 * the rotation is done and later versions need only root N+1's keys.
 */
export async function targetsChecks(file: CeremonyFile<"targets">, root: CeremonyFile<"root">, listing: CeremonyDir): Promise<SignerCheck[]> {
  const own: SignerCheck = { label: `root v${root.version}`, delegator: root.md.signed, roleName: "targets" };
  if (!listing.versions.root.includes(root.version - 1)) return [own];
  const previous = (await loadFile(pathOf(listing, "root", root.version - 1))).md.signed as Root;
  const [before, after] = [previous.roles.targets, root.md.signed.roles.targets];
  if (before.threshold === after.threshold && before.keyids.length === after.keyids.length && before.keyids.every((id) => after.keyids.includes(id)))
    return [own];
  if (listing.versions.targets.includes(file.version - 1)) {
    const earlier = await loadFile(pathOf(listing, "targets", file.version - 1));
    if ((await verify(own, earlier)).verified) return [own];
  }
  return [{ label: `root v${previous.version}`, delegator: previous, roleName: "targets" }, own];
}

/** The keyids and threshold a check names. */
export function listedKeys(check: SignerCheck): { keyids: readonly string[]; threshold: number; keys: Readonly<Record<string, Key>> } {
  const delegate = check.delegator.delegateFor(check.roleName);
  if (!delegate) throw new CliError(`${check.label} does not delegate to ${check.roleName}`, "Draft the metadata again");
  return { keyids: delegate.role.keyids, threshold: delegate.role.threshold, keys: delegate.keys };
}

export async function verify(check: SignerCheck, file: CeremonyFile): Promise<VerificationResult> {
  try {
    return await verificationResult(check.delegator, check.roleName, file.md);
  } catch (err) {
    if (err instanceof TufError) throw fromTufError(err, file.path);
    throw err;
  }
}

/**
 * Writes `md` as canonical bytes. A new file is created exclusively (never
 * overwriting); a replacement goes through a temporary file and a rename.
 */
export async function writeMetadata(path: string, md: Metadata, mode: "create" | "replace"): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = md.toBytes();
  } catch (err) {
    if (err instanceof TufError) throw fromTufError(err, path);
    throw err;
  }
  if (mode === "create") {
    try {
      await writeFile(path, bytes, { flag: "wx" });
    } catch (err) {
      throw fromFsError(err, path);
    }
    return;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, bytes, { flag: "wx" });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fromFsError(err, path);
  }
}
