/**
 * `tuf-edge rotate-online-key`: moves snapshot, timestamp and every bin-n to a
 * new online key, planned or after a compromise (PEP 458 §In the Event of a
 * Key Compromise). The drafting is `root rotate --online-key` (shared code in
 * root-rotate.ts): (N+1).root.json names the new key for snapshot and
 * timestamp, (v+1).bins.json delegates every bin-n to it. This command adds
 * the operator's side, printed as the exact steps:
 *  1. ONLINE_KEY_NEXT on the Worker (the old key keeps signing);
 *  2. the root and bins holders sign;
 *  3. `tuf-edge upload` of both files in one request: the Worker re-signs every
 *     bin-n, snapshot and timestamp with BOTH keys, so clients still on root N
 *     and clients on root N+1 verify, and writes root N+1 on its own
 *     TIMESTAMP_MAX_AGE later, once no cache holds a timestamp signed by the
 *     old key alone (the Worker refuses to sign without both keys meanwhile);
 *  4. once the Worker serves root N+1, ONLINE_KEY becomes the new key and
 *     ONLINE_KEY_NEXT goes.
 * It never reads the new private key: the seed goes to the Worker straight
 * from the .key file through a pipe.
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { intOption, MAX_DAYS, parseCommandArgs, required } from "./args.js";
import { fileName, listDir, loadNewest } from "./ceremony.js";
import { CliError } from "./errors.js";
import type { Root } from "../../src/tuf/index.js";
import type { Command } from "./command.js";
import { keyPairPaths, readPublicKey } from "./keyfile.js";
import { print } from "./output.js";
import { draftRootRotation, printDrafts } from "./root-rotate.js";

const CMD = "rotate-online-key";

const USAGE = `usage: tuf-edge rotate-online-key --dir DIR --new-key PUB [--expires-days D] [--bins-expires-days D]

Moves snapshot, timestamp and every bin-n to a new online key (made with
tuf-edge keygen). Drafts, unsigned, from the newest complete root N in DIR:
  (N+1).root.json  the new key for snapshot and timestamp (root keys sign it:
                   a threshold of root N's AND of root N+1's)
  (v+1).bins.json  every bin-n delegated to the new key (the bins keys sign it)
as tuf-edge root rotate --online-key PUB does, then prints the steps that
follow: ONLINE_KEY_NEXT on the Worker, the signatures, tuf-edge upload of both
files (the Worker then signs with both keys and writes the new root
TIMESTAMP_MAX_AGE later), and once it serves the new root, ONLINE_KEY.

options:
  --dir DIR               the ceremony directory
  --new-key PUB           the new online key's .pub file
  --expires-days D        root expiry (default 365)
  --bins-expires-days D   bins expiry (default 365)

environment:
  TUF_EDGE_NOW   an ISO 8601 time to use as "now"`;

const OPTIONS = {
  dir: { type: "string" },
  "new-key": { type: "string" },
  "expires-days": { type: "string" },
  "bins-expires-days": { type: "string" },
} as const;

/** Prints a .key file's seed, for `| wrangler secret put NAME`; the seed never appears on a command line. */
export const seedPipe = (keyFile: string): string =>
  `node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).seed)' ${keyFile}`;

export const rotateOnlineKey: Command = {
  summary: "draft root and bins for a new online key, and print the rotation steps",
  usage: USAGE,
  async run(args) {
    const { values: v } = parseCommandArgs(CMD, args, OPTIONS);
    const dir = required(v.dir, "dir", CMD);
    const newKeyPath = required(v["new-key"], "new-key", CMD);
    const days = {
      root: intOption(v["expires-days"], "expires-days", CMD, MAX_DAYS),
      bins: intOption(v["bins-expires-days"], "bins-expires-days", CMD, MAX_DAYS),
    };
    const newKey = await readPublicKey(newKeyPath);
    const listing = await listDir(dir);
    const current = (await loadNewest(listing, "root")).md.signed as Root;
    if (current.roles.timestamp.keyids.includes(newKey.keyid))
      throw new CliError(
        `${newKeyPath} (${newKey.keyid}) is already the online key of root v${current.version}, so there is nothing to rotate`,
        "Make a new key with tuf-edge keygen --out DIR/online-N --name online-N and pass its .pub as --new-key",
      );
    const rotation = await draftRootRotation({ dir, onlineKey: newKeyPath, days }, CMD);
    const oldKeyid = rotation.previous.roles.timestamp.keyids.join(", ");
    const files = rotation.drafts.map((d) => d.path);
    // The .key keygen wrote beside the .pub, if it is here; else a placeholder for wherever it is kept.
    const besidePub = keyPairPaths(newKeyPath).privatePath;
    const keyFile = existsSync(besidePub) ? besidePub : `PATH/TO/${basename(besidePub)}`;

    printDrafts(rotation);
    print(`online key: ${oldKeyid} -> ${newKey.keyid}`);
    print("");
    print("next steps:");
    print(`1. Give the Worker the new key; the old ONLINE_KEY keeps signing too (the seed is the "seed" field of ${basename(besidePub)}):`);
    print(`     ${seedPipe(keyFile)} | npx wrangler secret put ONLINE_KEY_NEXT`);
    print("2. Sign, each holder with their own key:");
    for (const draft of rotation.drafts) {
      print(`     ${fileName(draft.role, draft.version)} needs ${draft.needs}:`);
      print(`       npx tuf-edge sign --key HOLDER.key ${draft.path}`);
    }
    print(`   then check: npx tuf-edge status ${dir}`);
    print("3. Publish both files in one request; every bin-n, snapshot and timestamp is then signed by both keys:");
    print(`     npx tuf-edge upload --url URL ${files.join(" ")}`);
    print(`   The Worker writes ${fileName("root", rotation.root.version)} itself TIMESTAMP_MAX_AGE later, once no cache holds a timestamp.json signed by the old key alone.`);
    print(`4. Once GET URL/api/v1/status shows root v${rotation.root.version} (until then the Worker needs both keys to publish), retire the old key:`);
    print(`     ${seedPipe(keyFile)} | npx wrangler secret put ONLINE_KEY`);
    print("     npx wrangler secret delete ONLINE_KEY_NEXT");
    print(`   From then on only ${newKey.keyid} signs; destroy the old online key's .key file.`);
    return 0;
  },
};
