/** `tuf-edge yank`, `unyank` and `delete`: PEP 592 changes to a release of the Python index, each one publish. */
import { parseCommandArgs, required } from "./args.js";
import type { Command } from "./command.js";
import { print } from "./output.js";
import { adminToken, baseUrl, request } from "./remote.js";

type Action = "yank" | "unyank" | "delete";

const WHAT: Record<Action, string> = {
  yank: "Marks every file of PROJECT VERSION yanked (PEP 592): installers skip it unless it is\npinned with ==. The reason is shown to users who install it anyway.",
  unyank: "Clears the yank of every file of PROJECT VERSION.",
  delete: "Deletes every file of PROJECT VERSION from the index. Their filenames can never be\nuploaded again (as on PyPI); prefer yank, which breaks no pinned installs.",
};

function releaseCommand(action: Action): Command {
  const usage = `usage: tuf-edge ${action} --url URL PROJECT VERSION${action === "yank" ? " [--reason R]" : ""}

${WHAT[action]}
The project's simple pages are re-signed in the same publish; the command waits for it.

The admin token is read from TUF_EDGE_ADMIN_TOKEN, or from ./.dev.vars.

options:
  --url URL     the Worker, e.g. http://127.0.0.1:8787${action === "yank" ? "\n  --reason R    why, in one line" : ""}`;
  return {
    summary: `${action} a release of the Python index (PEP 592)`,
    usage,
    async run(args) {
      const options: Record<string, { type: "string" }> = action === "yank" ? { url: { type: "string" }, reason: { type: "string" } } : { url: { type: "string" } };
      const { values, positionals } = parseCommandArgs(action, args, options, { min: 2, max: 2, name: "PROJECT VERSION" });
      const url = baseUrl(required(values.url, "url", action));
      const [project, version] = positionals as [string, string];
      const base = `${url}/api/v1/python/projects/${encodeURIComponent(project)}/releases/${encodeURIComponent(version)}`;
      const reason = values.reason;
      const { body } = await request<{ status: string; timestamp?: number; receipt: string }>(
        action === "delete" ? base : `${base}/${action}`,
        {
          method: action === "delete" ? "DELETE" : "POST",
          headers: { authorization: `Bearer ${adminToken()}`, "content-type": "application/json" },
          ...(reason === undefined ? {} : { body: JSON.stringify({ reason }) }),
        },
        "Check the project name and version (the project page lists them)",
      );
      const done = { yank: "yanked", unyank: "unyanked", delete: "deleted" }[action];
      print(body.status === "published" ? `${done} ${project} ${version}; published in timestamp ${body.timestamp}` : `${done} ${project} ${version}; queued, receipt ${body.receipt}`);
      return 0;
    },
  };
}

export const yank = releaseCommand("yank");
export const unyank = releaseCommand("unyank");
export const deleteRelease = releaseCommand("delete");
