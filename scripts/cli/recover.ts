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
would: the root chain, timestamp, snapshot, targets, bins and every bin-n. It
takes the offline roles, every artifact in every bin-n and the current
versions from it, then publishes every bin-n, the snapshot and the timestamp
one version above the highest R2 holds under each name. Run tuf-edge verify
afterwards. Changes queued but not yet published when the storage was lost
are not in R2: have the index resend them (the recovered Publisher does not
know their webhook-ids, so resending them with the same ids is fine).

The admin token is read from TUF_EDGE_ADMIN_TOKEN, or from ./.dev.vars.

options:
  --url URL   the Worker, e.g. http://127.0.0.1:8787`;

export const recover: Command = {
  summary: "rebuild a lost Publisher from what R2 serves",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("recover", args, { url: { type: "string" } });
    const url = baseUrl(required(values.url, "url", "recover"));
    const { body } = await request<Extract<RecoverResult, { status: "recovered" }>>(
      `${url}/api/v1/recover`,
      { method: "POST", headers: { authorization: `Bearer ${adminToken()}` } },
      "Recovery needs an empty Publisher and a complete repository in R2; check the code above",
    );
    const f = body.found;
    print(`found in R2: root v${f.root}, targets v${f.targets}, bins v${f.bins}, snapshot v${f.snapshot}, timestamp v${f.timestamp}, ${f.artifacts} artifacts`);
    print(`recovered ${url}: publishing every bin-n, snapshot ${body.snapshot} and timestamp ${body.timestamp}`);
    if (!body.published) print(`publishing goes on in the background; watch ${url}/api/v1/status until last_publish is set`);
    print(`check it: tuf-edge verify --url ${url} --root <ceremony>/1.root.json`);
    return 0;
  },
};
