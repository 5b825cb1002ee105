/** `tuf-edge publish`: what an index's upload hook sends, from a shell. */
import { readFile } from "node:fs/promises";
import { digestHex } from "../../src/tuf/index.js";
import { parseCommandArgs, required } from "./args.js";
import type { Command } from "./command.js";
import { CliError, fromFsError, UsageError } from "./errors.js";
import { isPublished } from "./published-target.js";
import { print } from "./output.js";
import { baseUrl, request, signWebhook, UNAVAILABLE_HINTS, webhookSecret, withHints } from "./remote.js";

const USAGE = `usage: tuf-edge publish --url URL --path PATH --file FILE [--no-wait]
       tuf-edge publish --url URL --remove PATH

Adds a target (its length, sha256 and sha512 computed from FILE) or removes
one, through the webhook POST /api/v1/artifacts, signed as Standard Webhooks
(webhook-id, webhook-timestamp, webhook-signature), and waits until a
timestamp covers it. The file itself is not uploaded: the index serves it.

The webhook secret (whsec_<base64>) is read from TUF_EDGE_WEBHOOK_SECRET, or from ./.dev.vars.

options:
  --url URL       the Worker, e.g. http://127.0.0.1:8787
  --path PATH     the target path clients ask for, e.g. packages/demo/demo-1.0.tar.gz
  --file FILE     the file whose length and hashes to publish
  --remove PATH   remove this target instead
  --no-wait       return once the change is queued (202) instead of published`;

export const publish: Command = {
  summary: "publish (or remove) one target through the webhook",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("publish", args, {
      url: { type: "string" },
      path: { type: "string" },
      file: { type: "string" },
      remove: { type: "string" },
      "no-wait": { type: "boolean" },
    });
    const url = baseUrl(required(values.url, "url", "publish"));
    if (values.remove !== undefined && (values.path !== undefined || values.file !== undefined))
      throw new UsageError("--remove cannot be combined with --path or --file: publish one change per command", "publish");
    let payload: object;
    if (values.remove !== undefined) {
      if (!(await isPublished(url, values.remove)))
        throw new CliError(`${values.remove} is not published on ${url}, so there is nothing to remove`, "Check the path (tuf-edge publish --remove takes the target path exactly as published); nothing was sent");
      payload = { remove: [values.remove] };
    } else {
      const path = required(values.path, "path", "publish");
      const file = required(values.file, "file", "publish");
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw fromFsError(err, file);
      }
      payload = { add: [{ path, length: bytes.length, hashes: await digestHex(bytes, ["sha256", "sha512"]) }] };
    }
    const body = JSON.stringify(payload);
    // One webhook-id for every attempt (re-signed with a fresh webhook-timestamp): a retry after a
    // dropped connection gets the first attempt's receipt and never publishes twice.
    const id = `msg_${crypto.randomUUID()}`;
    const send = async () =>
      request<{ receipt: string; status: string; bins?: Record<string, number>; timestamp?: number; problem?: string }>(
        `${url}/api/v1/artifacts${values["no-wait"] ? "" : "?wait=true"}`,
        {
          method: "POST",
          headers: { "content-type": "application/json", ...(await signWebhook(body, webhookSecret(), { id })) },
          body,
        },
        "Fix the request as the message says",
      ).catch((err: unknown) => {
        throw withHints(err, {
          ...UNAVAILABLE_HINTS(url),
          "401": "The webhook secret does not match: set TUF_EDGE_WEBHOOK_SECRET (or WEBHOOK_SECRET in ./.dev.vars) to the Worker's WEBHOOK_SECRET secret",
          signature_expired: "This machine's clock is more than 5 minutes off the Worker's; fix the clock and run this again",
        });
      });
    const { body: receipt } = await send().catch((e) => (e instanceof CliError && e.what.startsWith("cannot reach") ? send() : Promise.reject(e)));
    if (receipt.status === "published")
      print(`published in timestamp ${receipt.timestamp} (${Object.entries(receipt.bins ?? {}).map(([b, v]) => `${b} v${v}`).join(", ")}); receipt ${receipt.receipt}`);
    else if (receipt.problem)
      // Accepted and kept: it publishes once the problem is fixed. Still not what the caller asked for.
      throw new CliError(
        `accepted as receipt ${receipt.receipt} but not published: ${receipt.problem}`,
        `It publishes once that is fixed (GET ${url}/healthz names the problem; GET ${url}/api/v1/receipts/${receipt.receipt} shows when)`,
      );
    else print(`queued; receipt ${receipt.receipt} (GET ${url}/api/v1/receipts/${receipt.receipt})`);
    return 0;
  },
};
