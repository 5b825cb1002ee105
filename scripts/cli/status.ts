/**
 * `tuf-edge status`: where a ceremony stands. One row per root version (a
 * client walks them all, TUF spec 5.3) and one for the newest targets and
 * bins; each counts valid signatures against its delegator's threshold.
 *
 * It reports, never fails: the exit code is 0 unless the directory itself
 * can't be read. A broken file is a row marked UNREADABLE.
 */
import { formatExpires, TufError, verifyRootRotation, type Root, type Targets } from "../../src/tuf/index.js";
import { parseCommandArgs, plural, referenceTime, timeLeft } from "./args.js";
import {
  BINS_ROLE,
  checksFor,
  fileName,
  listDir,
  loadFile,
  newestVersion,
  pathOf,
  verify,
  type CeremonyDir,
  type CeremonyFile,
  type CeremonyRole,
} from "./ceremony.js";
import type { Command } from "./command.js";
import { CliError, describeError } from "./errors.js";
import { print, table } from "./output.js";

const USAGE = `usage: tuf-edge status DIR

Shows each ceremony file in DIR: role, version, expiry, valid signatures out of
the threshold, and whether it is COMPLETE. Every N.root.json is checked
(N > 1 against the keys of both N-1 and N); targets and bins are checked in
their newest version. The last line says whether the whole ceremony is complete:
every role signed by a threshold of its keys and unexpired.

Exits 0 whatever the state, unless DIR can't be read.

environment:
  TUF_EDGE_NOW   an ISO 8601 time to use as "now"`;

type State = "COMPLETE" | "INCOMPLETE" | "EXPIRED" | "UNREADABLE" | "MISSING";

interface Row {
  role: CeremonyRole;
  file: string;
  version: string;
  expires: string;
  signatures: string;
  state: State;
  /** Why it is not COMPLETE, one line each. */
  notes: string[];
}

export const status: Command = {
  summary: "show signatures, thresholds and expiry of every ceremony file",
  usage: USAGE,
  async run(args) {
    const { positionals } = parseCommandArgs("status", args, {}, { min: 1, max: 1, name: "ceremony directory" });
    const dir = positionals[0]!;
    const listing = await listDir(dir);
    if (listing.versions.root.length + listing.versions.targets.length + listing.versions.bins.length === 0)
      throw new CliError(`${dir} holds no N.root.json, N.targets.json or N.bins.json`, "Run tuf-edge init --dir " + dir + " first");
    const now = referenceTime();

    const rows: Row[] = [];
    const newestRoot = newestVersion(listing, "root");
    for (const version of listing.versions.root) rows.push(await inspect(listing, "root", version, now, version === newestRoot));
    for (const role of ["targets", "bins"] as const) {
      const version = newestVersion(listing, role);
      rows.push(version === undefined ? missingRow(role) : await inspect(listing, role, version, now, true));
    }
    if (newestRoot === undefined) rows.unshift(missingRow("root"));

    const problems = rows.filter((r) => r.state !== "COMPLETE").map((r) => `${r.file} ${r.state}`);
    const mismatch = await onlineKeyMismatch(listing);
    if (mismatch) problems.push(mismatch);

    const lines = table([
      ["ROLE", "FILE", "VERSION", "EXPIRES", "SIGNATURES", "STATE"],
      ...rows.map((r) => [r.role, r.file, r.version, r.expires, r.signatures, r.state]),
    ]);
    for (const line of lines) print(line);
    const notes = rows.flatMap((r) => r.notes.map((n) => `  ${r.file}: ${n}`));
    if (mismatch) notes.push(`  ${mismatch}`);
    if (notes.length > 0) {
      print("");
      for (const note of notes) print(note);
    }
    print("");
    if (problems.length === 0) {
      const newest = rows.filter((r) => r.role !== "root" || r.version === String(newestRoot));
      print(`ceremony complete: ${newest.map((r) => `${r.role} v${r.version}`).join(", ")} are signed and unexpired`);
    } else {
      print(`ceremony incomplete: ${problems.join("; ")}`);
    }
    return 0;
  },
};

function missingRow(role: CeremonyRole): Row {
  return {
    role,
    file: fileName(role, 1).replace(/^1/, "N"),
    version: "-",
    expires: "-",
    signatures: "-",
    state: "MISSING",
    notes: [`no ${role} metadata in the directory; run tuf-edge init or copy the file here`],
  };
}

async function inspect(listing: CeremonyDir, role: CeremonyRole, version: number, now: Date, isNewest: boolean): Promise<Row> {
  const name = fileName(role, version);
  const row: Row = { role, file: name, version: String(version), expires: "-", signatures: "-", state: "UNREADABLE", notes: [] };
  let file: CeremonyFile;
  try {
    file = await loadFile(pathOf(listing, role, version));
  } catch (err) {
    row.notes.push(errorText(err));
    return row;
  }
  const expires = file.md.signed.expires;
  row.expires = `${formatExpires(expires)} (${timeLeft(expires, now)})`;
  row.state = "INCOMPLETE";
  try {
    const checks = await checksFor(file, listing);
    const results = await Promise.all(checks.map(async (check) => ({ check, result: await verify(check, file) })));
    row.signatures = results
      .map(({ check, result }) => `${result.signed.size}/${result.threshold}${results.length > 1 ? ` of ${check.label}` : ""}`)
      .join(", ");
    for (const { check, result } of results)
      if (!result.verified)
        row.notes.push(
          `needs ${plural(result.threshold - result.signed.size, "more signature")} from ${check.label}'s ${check.roleName} keys: ${[...result.unsigned].join(", ")}`,
        );
    let verified = results.every(({ result }) => result.verified);
    // TUF spec 5.3.4: root N+1 needs a threshold of root N's keys and of its own.
    if (verified && role === "root" && version > 1) verified = await rotationVerifies(checks[0]!.delegator as Root, file, row);
    // TUF spec 5.3.10 / 5.4.4: clients reject expired metadata; an older root may be expired, as clients only check the newest.
    if (isNewest && file.md.signed.isExpired(now)) {
      row.state = "EXPIRED";
      row.notes.push(`expired at ${formatExpires(expires)}; draft a new version with tuf-edge renew --dir ${listing.dir} --role ${role}`);
    } else if (verified) row.state = "COMPLETE";
  } catch (err) {
    row.notes.push(errorText(err));
  }
  return row;
}

async function rotationVerifies(previous: Root, file: CeremonyFile, row: Row): Promise<boolean> {
  try {
    await verifyRootRotation(previous, file.md as CeremonyFile<"root">["md"]);
    return true;
  } catch (err) {
    if (!(err instanceof TufError)) throw err;
    row.notes.push(err.message);
    return false;
  }
}

/** The publisher signs snapshot, timestamp and every bin-n with ONE online key (PEP 458 §Managing online keys). */
async function onlineKeyMismatch(listing: CeremonyDir): Promise<string | undefined> {
  const rootVersion = newestVersion(listing, "root");
  const binsVersion = newestVersion(listing, "bins");
  if (rootVersion === undefined || binsVersion === undefined) return undefined;
  let root: Root;
  let bins: Targets;
  try {
    root = (await loadFile(pathOf(listing, "root", rootVersion))).md.signed as Root;
    bins = (await loadFile(pathOf(listing, "bins", binsVersion))).md.signed as Targets;
  } catch {
    return undefined; // already reported as UNREADABLE
  }
  const online = [...root.roles.timestamp.keyids, ...root.roles.snapshot.keyids];
  const binN = bins.delegations?.succinctRoles?.keyids ?? [];
  const same = new Set([...online, ...binN]).size === 1 && binN.length === 1;
  if (same) return undefined;
  return (
    `${fileName(BINS_ROLE, binsVersion)} delegates bin-n to ${binN.join(", ") || "no key"} but ${fileName("root", rootVersion)} ` +
    `gives snapshot and timestamp ${[...new Set(online)].join(", ")}; all three must use the one online key`
  );
}

function errorText(err: unknown): string {
  return describeError(err).line.replace(/^error: /, "");
}
