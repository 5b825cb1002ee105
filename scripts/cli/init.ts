/**
 * `tuf-edge init`: drafts the unsigned offline metadata of a new PEP 458
 * repository: 1.root.json, 1.targets.json and 1.bins.json.
 *
 * It does not sign anything (each holder runs `tuf-edge sign`), and it never
 * reads a private key: only .pub files.
 */
import { ALL_PATHS, MAX_BIT_LENGTH } from "../../src/publisher/offline.js";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  DelegatedRole,
  Delegations,
  formatExpires,
  Metadata,
  Root,
  SuccinctRoles,
  Targets,
} from "../../src/tuf/index.js";
import { daysFrom, intOption, MAX_DAYS, parseCommandArgs, referenceTime, required } from "./args.js";
import { BINS_ROLE, CEREMONY_ROLES, fileName, listDir, pathOf, writeMetadata } from "./ceremony.js";
import type { Command } from "./command.js";
import { CliError, fromFsError } from "./errors.js";
import { readPublicKey } from "./keyfile.js";
import { checkIndependence, checkNamePrefix, checkRootThreshold, checkThreshold, ids, keyMap, readKeys, rootRoles } from "./layout.js";
import { print, warn } from "./output.js";

const USAGE = `usage: tuf-edge init --dir DIR --root-key PUB... --root-threshold N --targets-key PUB... --online-key PUB [options]

Drafts the unsigned metadata of a new repository in DIR (created if missing):
  1.root.json     root (the root keys, t of n), targets, snapshot and timestamp keys
  1.targets.json  delegates every target path to the offline bins role
                  (path_hash_prefixes 0..f, which unlike paths ["*"] also covers a/b/c paths)
  1.bins.json     delegates to 2^bit-length bin-n roles (TAP 15 succinct_roles) on the online key
Refuses to overwrite existing files. Repeat --root-key, --targets-key and --bins-key once per key.

options:
  --dir DIR                   the ceremony directory
  --root-key PUB              a root holder's .pub file (repeat; offline keys)
  --root-threshold N          root signatures required, 2 <= N <= number of root keys
  --targets-key PUB           a targets holder's .pub file (repeat; offline keys)
  --targets-threshold N       default: all targets keys
  --bins-key PUB              a bins holder's .pub file (repeat; default: the targets keys)
  --bins-threshold N          default: the targets threshold, or all bins keys
  --online-key PUB            the one online key for snapshot, timestamp and every bin-n (threshold 1)
  --bit-length B              2^B bins, 1..16 (default 14: 16,384 bins, as PEP 458 recommends)
  --name-prefix P             bin role names are P-0000 ... (default "bin"; a-z 0-9 . -)
  --root-expires-days D       default 365
  --targets-expires-days D    default 365
  --bins-expires-days D       default 365
  --insecure-single-root-key  allow a root threshold of 1 (test repositories only)

environment:
  TUF_EDGE_NOW   an ISO 8601 time to use as "now" (reproducible output)`;

// targets hands EVERY target path to bins with the 16 one-digit hash prefixes, not
// paths ["*"], which TUF clients match one path segment at a time (see ALL_PATHS).

const OPTIONS = {
  dir: { type: "string" },
  "root-key": { type: "string", multiple: true },
  "root-threshold": { type: "string" },
  "targets-key": { type: "string", multiple: true },
  "targets-threshold": { type: "string" },
  "bins-key": { type: "string", multiple: true },
  "bins-threshold": { type: "string" },
  "online-key": { type: "string" },
  "bit-length": { type: "string" },
  "name-prefix": { type: "string" },
  "root-expires-days": { type: "string" },
  "targets-expires-days": { type: "string" },
  "bins-expires-days": { type: "string" },
  "insecure-single-root-key": { type: "boolean" },
} as const;

export const init: Command = {
  summary: "draft unsigned 1.root.json, 1.targets.json and 1.bins.json",
  usage: USAGE,
  async run(args) {
    const cmd = "init";
    const { values: v } = parseCommandArgs(cmd, args, OPTIONS);
    const dir = required(v.dir, "dir", cmd);
    const rootThreshold = required(intOption(v["root-threshold"], "root-threshold", cmd, { min: 1 }), "root-threshold", cmd);
    const targetsThreshold = intOption(v["targets-threshold"], "targets-threshold", cmd, { min: 1 });
    const binsThreshold = intOption(v["bins-threshold"], "bins-threshold", cmd, { min: 1 });
    // The Worker's bootstrap takes at most MAX_BIT_LENGTH: refuse more before a whole ceremony is signed.
    const bitLength = intOption(v["bit-length"], "bit-length", cmd, { min: 1, max: MAX_BIT_LENGTH }) ?? 14;
    const namePrefix = v["name-prefix"] ?? "bin";
    checkNamePrefix(namePrefix, cmd);
    const days = {
      root: intOption(v["root-expires-days"], "root-expires-days", cmd, MAX_DAYS) ?? 365,
      targets: intOption(v["targets-expires-days"], "targets-expires-days", cmd, MAX_DAYS) ?? 365,
      bins: intOption(v["bins-expires-days"], "bins-expires-days", cmd, MAX_DAYS) ?? 365,
    };
    const rootKeyPaths = required(v["root-key"], "root-key", cmd);
    const targetsKeyPaths = required(v["targets-key"], "targets-key", cmd);
    const onlineKeyPath = required(v["online-key"], "online-key", cmd);

    const rootKeys = await readKeys(rootKeyPaths, "root-key");
    const targetsKeys = await readKeys(targetsKeyPaths, "targets-key");
    const binsKeys = v["bins-key"] ? await readKeys(v["bins-key"], "bins-key") : targetsKeys;
    const online = await readPublicKey(onlineKeyPath);

    // PEP 458 §Number and Type Of Keys Recommended: root t > 1; thresholds never above n.
    checkRootThreshold(rootThreshold, rootKeys.length, v["insecure-single-root-key"] === true, cmd);
    const tThreshold = targetsThreshold ?? targetsKeys.length;
    checkThreshold("targets", tThreshold, targetsKeys.length, "targets-key", cmd);
    const bThreshold = binsThreshold ?? (v["bins-key"] ? binsKeys.length : tThreshold);
    checkThreshold("bins", bThreshold, binsKeys.length, "bins-key", cmd);
    checkIndependence({ root: rootKeys, targets: targetsKeys, bins: binsKeys, online });

    const now = referenceTime();
    // PEP 458 §Metadata Expiry Times: root, targets and bins expire in one year by default.
    const expires = { root: daysFrom(now, days.root), targets: daysFrom(now, days.targets), bins: daysFrom(now, days.bins) };

    const root = new Root(
      { version: 1, expires: expires.root },
      keyMap([...rootKeys, ...targetsKeys, online]),
      rootRoles({ keys: rootKeys, threshold: rootThreshold }, { keys: targetsKeys, threshold: tThreshold }, online),
      true, // PEP 458 §Producing Consistent Snapshots
    );
    const targets = new Targets(
      { version: 1, expires: expires.targets },
      {},
      new Delegations(keyMap(binsKeys), [
        new DelegatedRole(BINS_ROLE, ids(binsKeys), bThreshold, false, undefined, ALL_PATHS),
      ]),
    );
    // TAP 15: the bins role delegates to every bin-n at once, all on the one online key.
    const succinct = new SuccinctRoles([online.keyid], 1, bitLength, namePrefix);
    const bins = new Targets({ version: 1, expires: expires.bins }, {}, new Delegations(keyMap([online]), undefined, succinct));

    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw fromFsError(err, dir);
    }
    const files = [
      [fileName("root", 1), new Metadata(root)],
      [fileName("targets", 1), new Metadata(targets)],
      [fileName("bins", 1), new Metadata(bins)],
    ] as const;
    const present = await listDir(dir);
    for (const role of CEREMONY_ROLES)
      if (present.versions[role].length > 0)
        throw new CliError(
          `${pathOf(present, role, present.versions[role][0]!)} already exists`,
          "Refusing to overwrite a ceremony; use an empty --dir",
        );
    for (const [name, md] of files) await writeMetadata(join(dir, name), md, "create");

    if (rootThreshold < 2) warn("root threshold is 1: one stolen root key can take over this repository");
    const short = (keyids: readonly string[]): string => keyids.join(", ");
    const first = succinct.roleName(0);
    const last = succinct.roleName(succinct.numberOfBins - 1);
    print(`drafted ${join(dir, fileName("root", 1))}: root v1, expires ${formatExpires(expires.root)}`);
    print(`drafted ${join(dir, fileName("targets", 1))}: targets v1, delegates every path to bins, expires ${formatExpires(expires.targets)}`);
    print(
      `drafted ${join(dir, fileName("bins", 1))}: bins v1, delegates ${succinct.numberOfBins} bins ${first} ... ${last} to the online key, expires ${formatExpires(expires.bins)}`,
    );
    print("");
    print("next, each holder signs with tuf-edge sign --key HOLDER.key FILE:");
    print(`  ${fileName("root", 1)}: ${rootThreshold} of ${rootKeys.length} root keys: ${short(ids(rootKeys))}`);
    print(`  ${fileName("targets", 1)}: ${tThreshold} of ${targetsKeys.length} targets keys: ${short(ids(targetsKeys))}`);
    print(`  ${fileName("bins", 1)}: ${bThreshold} of ${binsKeys.length} bins keys: ${short(ids(binsKeys))}`);
    print(`online key (snapshot, timestamp, bin-n): ${online.keyid}`);
    print(`then check with: tuf-edge status ${dir}`);
    return 0;
  },
};
