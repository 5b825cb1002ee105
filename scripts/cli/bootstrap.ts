/** `tuf-edge bootstrap`: hands the signed ceremony to a new repository, which then publishes every bin-n, snapshot and timestamp. */
import { CEREMONY_ROLES, listDir, loadFile, loadNewest, pathOf, type CeremonyFile } from "./ceremony.js";
import { parseCommandArgs, required } from "./args.js";
import type { Command } from "./command.js";
import { CliError } from "./errors.js";
import { print } from "./output.js";
import { adminToken, baseUrl, request, UNAVAILABLE_HINTS, withHints } from "./remote.js";
import { checkUpload } from "./upload.js";

const USAGE = `usage: tuf-edge bootstrap --url URL --ceremony DIR [--insecure-key-policy]

Uploads the newest 1.root.json, N.targets.json and N.bins.json of a completed
ceremony (check it with tuf-edge status DIR) to a tuf-edge Worker. The Worker
checks every threshold and that its ONLINE_KEY is the key root names for
snapshot and timestamp and bins names for bin-n, then publishes all
2^bit_length bin-n roles, snapshot 1 and timestamp 1. A repository is
bootstrapped once; later offline versions go through tuf-edge upload.

The Worker enforces PEP 458's key policy: root needs at least two signatures,
and the online key signs none of root, targets and bins. A test repository
made with tuf-edge init --insecure-single-root-key needs
--insecure-key-policy, which /api/v1/status then reports for good.

The admin token is read from TUF_EDGE_ADMIN_TOKEN, or from ./.dev.vars.

options:
  --url URL        the Worker, e.g. http://127.0.0.1:8787
  --ceremony DIR   the ceremony directory
  --insecure-key-policy  skip the PEP 458 key policy (test repositories only)`;

export const bootstrap: Command = {
  summary: "bootstrap a repository from a completed ceremony",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("bootstrap", args, { url: { type: "string" }, ceremony: { type: "string" }, "insecure-key-policy": { type: "boolean" } });
    const url = baseUrl(required(values.url, "url", "bootstrap"));
    const listing = await listDir(required(values.ceremony, "ceremony", "bootstrap"));
    for (const role of CEREMONY_ROLES)
      if (listing.versions[role].length === 0)
        throw new CliError(`${listing.dir} has no ${role} metadata`, "Run tuf-edge init and collect the signatures first");
    if (listing.versions.root[0] !== 1)
      throw new CliError(`${listing.dir} has no 1.root.json`, "Bootstrap starts from root version 1");
    const files = {
      root: (await loadFile(pathOf(listing, "root", 1))) as CeremonyFile<"root">,
      targets: (await loadNewest(listing, "targets")) as CeremonyFile<"targets">,
      bins: (await loadNewest(listing, "bins")) as CeremonyFile<"bins">,
    };
    // The same offline checks as upload, so a missing signature is named here, not as a 422.
    for (const line of await checkUpload(files)) print(line);
    const body: Record<string, unknown> = { root: files.root.md.toJSON(), targets: files.targets.md.toJSON(), bins: files.bins.md.toJSON() };
    if (values["insecure-key-policy"]) body.insecure_key_policy = true;
    const started = Date.now();
    const { body: result } = await request<{ bins: number; snapshot: number; timestamp: number; published: boolean }>(
      `${url}/api/v1/bootstrap`,
      { method: "POST", headers: { authorization: `Bearer ${adminToken()}`, "content-type": "application/json" }, body: JSON.stringify(body) },
      "Fix the ceremony (tuf-edge status shows what is missing) or the Worker's ONLINE_KEY, then run bootstrap again",
    ).catch((err: unknown) => {
      throw withHints(err, {
        ...UNAVAILABLE_HINTS(url),
        "401": "Set TUF_EDGE_ADMIN_TOKEN to the Worker's ADMIN_TOKEN secret (ADMIN_TOKEN in .dev.vars for tuf-edge dev)",
        already_bootstrapped: `Nothing was changed. Publish later versions with tuf-edge upload --url ${url} FILE...`,
        unknown_key: "Set the Worker's ONLINE_KEY to the seed of the online key the ceremony's root names (wrangler secret put ONLINE_KEY), then bootstrap again",
      });
    });
    print(`bootstrapped ${url}: ${result.bins} bins, snapshot ${result.snapshot}, timestamp ${result.timestamp} (${Date.now() - started} ms)`);
    if (!result.published)
      print(`publishing goes on in the background (it resumes where it stopped); watch ${url}/api/v1/status until last_publish is set`);
    print(`clients trust ${listing.dir}/1.root.json and fetch ${url}/metadata/`);
    return 0;
  },
};
