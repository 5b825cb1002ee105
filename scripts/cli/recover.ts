/** `tuf-edge recover`: rebuilds a Publisher whose storage was lost from what R2 serves (docs/operations.md). */
import { parseCommandArgs, required } from "./args.js";
import type { Command } from "./command.js";
import { print } from "./output.js";
import { adminToken, baseUrl, request } from "./remote.js";
import type { RecoverResult } from "../../src/publisher/types.js";

const USAGE = `usage: tuf-edge recover --url URL

Use when the Worker's Publisher (its Durable Object storage) is empty but R2
still serves the repository: the storage was lost, or a new deployment points
at the bucket. Bootstrap refuses that case (409 repository_in_bucket), since
it would give published versions new bytes.

The Worker reads the served repository back from R2 and checks it as a client
would (src/client, the client tuf-edge verify runs): the root chain,
timestamp, snapshot, targets, bins and every bin-n. It takes the offline
roles, every artifact in every bin-n and the current versions from it, then
publishes every bin-n, the snapshot and the timestamp one version above the
highest R2 holds under each name. A large repository takes many calls (each
reads at most 32 bin-n from R2); this command makes them and prints progress.
Its progress is kept in the Worker: if it stops, run it again to go on.
Run tuf-edge verify afterwards. Changes queued but not yet published when the
storage was lost are not in R2: have the index resend them (the recovered
Publisher does not know their webhook-ids, so resending them with the same ids
is fine).

The admin token is read from TUF_EDGE_ADMIN_TOKEN, or from ./.dev.vars.

options:
  --url URL   the Worker, e.g. http://127.0.0.1:8787`;

/** Progress is printed every this many bin-n read. */
const PROGRESS_EVERY = 1024;

export const recover: Command = {
  summary: "rebuild a lost Publisher from what R2 serves",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("recover", args, { url: { type: "string" } });
    const url = baseUrl(required(values.url, "url", "recover"));
    let body: RecoverResult;
    let printed = -1;
    for (;;) {
      ({ body } = await request<RecoverResult>(
        `${url}/api/v1/recover`,
        { method: "POST", headers: { authorization: `Bearer ${adminToken()}` } },
        "Recovery needs an empty Publisher and a complete repository in R2; check the code above. What was read so far is kept: run it again once fixed",
      ));
      // Anything but 200 recovered and 202 recovering is an error status, which request() throws.
      if (body.status !== "recovering") break;
      if (printed < 0) {
        print(`verified the root chain, timestamp, snapshot, targets and bins R2 serves; reading its ${body.bins} bin-n`);
        printed = 0;
      } else if (body.bins_read - printed >= PROGRESS_EVERY) {
        print(`read ${body.bins_read} of ${body.bins} bin-n`);
        printed = body.bins_read;
      }
    }
    body = body as Extract<RecoverResult, { status: "recovered" }>;
    const f = body.found;
    print(`found in R2: root v${f.root}, targets v${f.targets}, bins v${f.bins}, snapshot v${f.snapshot}, timestamp v${f.timestamp}, ${f.artifacts} artifacts`);
    print(`recovered ${url}: publishing every bin-n, snapshot ${body.snapshot} and timestamp ${body.timestamp}`);
    if (!body.published) print(`publishing goes on in the background; watch ${url}/api/v1/status until last_publish is set`);
    print(`check it: tuf-edge verify --url ${url} --root <ceremony>/1.root.json`);
    return 0;
  },
};
