/**
 * `tuf-edge client`: src/client behind the command line of tuf-conformance's
 * client-under-test protocol (CLIENT-CLI.md): init, refresh and download.
 */
import { copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { quote, UpdateError, Updater, verifyTarget } from "../../src/client/index.js";
import { parseCommandArgs, required } from "./args.js";
import { DirectoryStore, httpFetcher } from "./client-io.js";
import type { Command } from "./command.js";
import { CliError, UsageError } from "./errors.js";
import { print } from "./output.js";

const USAGE = `usage: tuf-edge client --metadata-dir DIR init ROOT
       tuf-edge client --metadata-dir DIR --metadata-url URL refresh
       tuf-edge client --metadata-dir DIR --metadata-url URL --target-name NAME [--target-name NAME...]
                       --target-base-url URL --target-dir DIR download

A TUF client (TUF spec 5) built on tuf-edge's own TUF core, with the command
line of the tuf-conformance suite (CLIENT-CLI.md).

  init      trust ROOT: copy it to DIR/root.json (nothing is fetched)
  refresh   update root, timestamp, snapshot and targets from URL
  download  refresh, then download each target in order into --target-dir,
            checking its length and every hash; a target already there with
            the right hashes is not fetched again

Trusted metadata is kept in DIR under unversioned names (root.json,
timestamp.json, <role>.json). Exits 0 on success, 1 on any failure.

options:
  --metadata-dir DIR      where trusted metadata is kept
  --metadata-url URL      the repository's metadata base URL
  --target-name NAME      a target path; repeat for several
  --target-base-url URL   the repository's targets base URL
  --target-dir DIR        where downloaded targets are written
  --plain-target-names    fetch targets by their plain name, not <hash>.<name>`;

export const client: Command = {
  summary: "a TUF client: init, refresh and download (tuf-conformance's client protocol)",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs(
      "client",
      args,
      {
        "metadata-dir": { type: "string" },
        "metadata-url": { type: "string" },
        "target-name": { type: "string", multiple: true },
        "target-base-url": { type: "string" },
        "target-dir": { type: "string" },
        "plain-target-names": { type: "boolean" },
      },
      { min: 1, max: 2, name: "command" },
    );
    const metadataDir = required(values["metadata-dir"], "metadata-dir", "client");
    const [sub, root] = positionals;
    if (sub === "init") {
      if (!root) throw new UsageError("init needs the trusted root file", "client");
      await mkdir(metadataDir, { recursive: true });
      await copyFile(root, join(metadataDir, "root.json"));
      print(`tuf-edge client: trusting ${root} in ${metadataDir}`);
      return 0;
    }
    if (positionals.length !== 1 || (sub !== "refresh" && sub !== "download"))
      throw new UsageError(`unknown client command ${JSON.stringify(positionals.join(" "))}`, "client");
    const updater = new Updater({
      metadataBaseUrl: required(values["metadata-url"], "metadata-url", "client"),
      targetBaseUrl: values["target-base-url"],
      fetcher: httpFetcher(),
      store: new DirectoryStore(metadataDir),
      config: { prefixTargetsWithHash: !values["plain-target-names"] },
    });
    try {
      await updater.refresh();
      if (sub === "refresh") {
        print(`tuf-edge client: refreshed ${metadataDir}`);
        return 0;
      }
      const targetDir = required(values["target-dir"], "target-dir", "client");
      required(values["target-base-url"], "target-base-url", "client");
      for (const name of required(values["target-name"], "target-name", "client")) {
        const info = await updater.getTargetInfo(name);
        if (!info) throw new CliError(`${name}: no trusted role lists this target`, "Check the target path");
        // The same name for every version of a target, as the protocol asks.
        const file = join(targetDir, quote(name));
        const cached = await readFile(file).then((b) => new Uint8Array(b), () => undefined);
        if (cached && (await verifyTarget(info, cached).then(() => true, () => false))) continue;
        const bytes = await updater.downloadTarget(info);
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, bytes);
        await rename(tmp, file);
        print(`tuf-edge client: downloaded ${name}`);
      }
      return 0;
    } catch (err) {
      if (err instanceof UpdateError) throw new CliError(`TUF refused ${err.message}`, "The repository's metadata or files do not verify");
      throw err;
    }
  },
};
