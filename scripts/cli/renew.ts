/**
 * `tuf-edge renew`: the yearly renewal of one offline role. PEP 458 §Metadata
 * Expiry Times: root, targets and bins expire after one year, and "every year,
 * PyPI administrators SHOULD sign for root and targets role keys".
 *
 * It drafts the next version of the role with a fresh expiry and nothing else
 * changed (same keys, thresholds, delegations, targets, unknown fields), from
 * a newest version that must be fully signed. Root goes through `root rotate`
 * with no changes, so root N+1 needs a threshold of root N's keys and of its
 * own, which are the same keys. It never signs.
 */
import { formatExpires, Metadata, Targets } from "../../src/tuf/index.js";
import { daysFrom, intOption, MAX_DAYS, parseCommandArgs, referenceTime, required } from "./args.js";
import {
  CEREMONY_ROLES,
  checksFor,
  fileName,
  listDir,
  listedKeys,
  loadFile,
  loadNewest,
  pathOf,
  verify,
  writeMetadata,
  type CeremonyDir,
  type CeremonyFile,
  type CeremonyRole,
} from "./ceremony.js";
import type { Command } from "./command.js";
import { CliError, UsageError } from "./errors.js";
import { print } from "./output.js";
import { draftRootRotation, printDrafts, printNextSteps } from "./root-rotate.js";

const CMD = "renew";

const USAGE = `usage: tuf-edge renew --dir DIR --role targets|bins|root [--expires-days D]

Drafts the next version of one offline role in DIR with a fresh expiry and no
other change: the yearly renewal (PEP 458: root, targets and bins expire after
one year and are signed again every year). The newest version must be fully
signed. Nothing is signed here:
  --role root     (N+1).root.json, as tuf-edge root rotate with no changes:
                  signed by a threshold of root N's root keys AND of root N+1's
                  (the same keys)
  --role targets  (v+1).targets.json, signed by the targets keys of the newest root
  --role bins     (v+1).bins.json, signed by the bins keys of the newest targets
Then sign it (tuf-edge sign), check it (tuf-edge status DIR) and publish it
(tuf-edge upload --url URL FILE).

options:
  --dir DIR          the ceremony directory
  --role ROLE        root, targets or bins
  --expires-days D   the new expiry, in days from now (default 365)

environment:
  TUF_EDGE_NOW   an ISO 8601 time to use as "now"`;

const OPTIONS = { dir: { type: "string" }, role: { type: "string" }, "expires-days": { type: "string" } } as const;

export const renew: Command = {
  summary: "draft the next root, targets or bins version with a fresh expiry",
  usage: USAGE,
  async run(args) {
    const { values: v } = parseCommandArgs(CMD, args, OPTIONS);
    const dir = required(v.dir, "dir", CMD);
    const role = required(v.role, "role", CMD);
    if (!(CEREMONY_ROLES as readonly string[]).includes(role))
      throw new UsageError(`--role must be root, targets or bins, got ${JSON.stringify(role)}`, CMD);
    const days = intOption(v["expires-days"], "expires-days", CMD, MAX_DAYS) ?? 365;

    if (role === "root") {
      const rotation = await draftRootRotation({ dir, days: { root: days } }, CMD);
      printDrafts(rotation);
      printNextSteps(rotation);
      return 0;
    }

    const listing = await listDir(dir);
    const current = await loadNewest(listing, role as Exclude<CeremonyRole, "root">);
    await requireComplete(listing, current);
    const t = current.md.signed;
    const version = t.version + 1;
    const path = pathOf(listing, current.role, version);
    const next = new Targets(
      { version, expires: daysFrom(referenceTime(), days), specVersion: t.specVersion, unrecognized: t.unrecognized },
      t.targets,
      t.delegations,
    );
    await writeMetadata(path, new Metadata(next, [], current.md.unrecognized), "create");

    const draft = await loadFile(path);
    const needs = (await checksFor(draft, await listDir(dir))).map((check) => {
      const { keyids, threshold } = listedKeys(check);
      return `${threshold} of ${check.label}'s ${keyids.length} ${check.roleName} keys (${keyids.join(", ")})`;
    });
    print(`drafted ${path}: ${current.role} v${version}, expires ${formatExpires(next.expires)} (v${t.version} expires ${formatExpires(t.expires)}); nothing else changed`);
    print("");
    print("next, sign with tuf-edge sign --key HOLDER.key FILE:");
    print(`  ${fileName(current.role, version)}: ${needs.join(" AND ")}`);
    print(`then check with: tuf-edge status ${dir}`);
    print(`then publish with: tuf-edge upload --url URL ${path}`);
    return 0;
  },
};

/** A renewal copies the newest version, so that version must be one clients accept. */
async function requireComplete(listing: CeremonyDir, current: CeremonyFile): Promise<void> {
  for (const check of await checksFor(current, listing)) {
    const result = await verify(check, current);
    if (!result.verified)
      throw new CliError(
        `${current.path} is signed by only ${result.signed.size}/${result.threshold} of ${check.label}'s ${check.roleName} keys`,
        `Finish signing it (tuf-edge status ${listing.dir} shows who is missing) before drafting ${current.role} v${current.version + 1}` +
          (current.version > 1 ? `, or delete it to renew v${current.version - 1} instead` : ""),
      );
  }
}
