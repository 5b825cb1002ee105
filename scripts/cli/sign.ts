/**
 * `tuf-edge sign`: adds one holder's signature to a ceremony file, in place.
 *
 * The role comes from the file name and its delegator from the same directory
 * (see ceremony.ts). A key the delegator does not list is refused, so a holder
 * can't silently add a signature that clients would ignore. An older signature
 * by the same key is replaced. The private seed never leaves the signer.
 */
import { basename, dirname } from "node:path";
import { formatExpires } from "../../src/tuf/index.js";
import { parseCommandArgs, plural, referenceTime, required } from "./args.js";
import { checksFor, listDir, listedKeys, loadFile, verify, writeMetadata, type SignerCheck } from "./ceremony.js";
import type { Command } from "./command.js";
import { CliError } from "./errors.js";
import { readPrivateKey } from "./keyfile.js";
import { print } from "./output.js";

const USAGE = `usage: tuf-edge sign --key FILE.key FILE.json

Adds the signature of the key in FILE.key to FILE.json, in place, replacing an
older signature by the same key. FILE.json is N.root.json, N.targets.json or
N.bins.json; the keys allowed to sign it are read from the same directory:
  N.root.json     root N's root keys; for N > 1 also root N-1's root keys
                  (a rotation needs a threshold of both)
  N.targets.json  the targets keys of the newest root; the first targets after
                  a root that replaced them also needs the previous root's
                  (it is served before the new root)
  N.bins.json     the bins keys of the newest targets
Refuses a key the role does not list, and metadata that has already expired.

options:
  --key FILE.key  the holder's private key file (written by tuf-edge keygen)`;

export const sign: Command = {
  summary: "add one key holder's signature to a ceremony file",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs("sign", args, { key: { type: "string" } }, {
      min: 1,
      max: 1,
      name: "metadata file (N.root.json, N.targets.json or N.bins.json)",
    });
    const keyPath = required(values.key, "key", "sign");
    const path = positionals[0]!;
    const file = await loadFile(path);
    const listing = await listDir(dirname(path));
    const checks = await checksFor(file, listing);
    const { signer, name } = await readPrivateKey(keyPath);
    const keyid = signer.key.keyid;

    if (!checks.some((check) => listedKeys(check).keyids.includes(keyid)))
      throw new CliError(`key ${keyid} (${name}) may not sign ${basename(path)}`, `${checks.map(describeKeys).join("; ")}`);
    const now = referenceTime();
    if (file.md.signed.isExpired(now))
      throw new CliError(
        `${path} expired at ${formatExpires(file.md.signed.expires)}, so no client would accept it`,
        file.role === "root" && file.version > 1
          ? "Draft a fresh root with tuf-edge root rotate after removing this file"
          : "Draft it again with a later expiry (tuf-edge init --dir NEW_DIR, or tuf-edge root rotate)",
      );

    const signed = { ...file, md: await file.md.sign(signer) };
    await writeMetadata(path, signed.md, "replace");
    const results = await Promise.all(checks.map(async (check) => ({ check, result: await verify(check, signed) })));
    if (!results.some(({ result }) => result.signed.has(keyid)))
      throw new CliError(`the new signature by ${keyid} on ${path} does not verify`, "This is a bug in tuf-edge; please report it");

    const counts =
      results.length === 1
        ? `${results[0]!.result.signed.size}/${results[0]!.result.threshold} valid signatures`
        : results
            .map(({ check, result }, i) => `${result.signed.size}/${result.threshold} ${i === 0 ? "valid signatures of " : "of "}${check.label} keys`)
            .join(" and ");
    print(`signed ${path} as ${keyid}: now ${counts}`);
    const missing = results.filter(({ result }) => !result.verified);
    if (missing.length === 0) print(`${basename(path)} has all the signatures it needs`);
    else
      for (const { check, result } of missing)
        print(
          `${basename(path)} still needs ${plural(result.threshold - result.signed.size, "signature")} from ${check.label}'s ${check.roleName} keys: ${[...result.unsigned].join(", ")}`,
        );
    return 0;
  },
};

function describeKeys(check: SignerCheck): string {
  const { keyids, threshold } = listedKeys(check);
  return `${check.label} lists ${check.roleName} keys ${keyids.join(", ")} (threshold ${threshold}); sign with one of those`;
}
