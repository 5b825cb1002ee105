/** `tuf-edge proxy`: a local simple-API index for pip and uv that serves only TUF-verified bytes. */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { Metadata, TufError } from "../../src/tuf/index.js";
import { intOption, parseCommandArgs, required } from "./args.js";
import type { Command } from "./command.js";
import { CliError, fromFsError } from "./errors.js";
import { print } from "./output.js";
import { startProxy } from "./proxy-server.js";
import { baseUrl } from "./remote.js";

const USAGE = `usage: tuf-edge proxy --url URL --root ROOT [--port 3141] [--host 127.0.0.1] [--cache DIR]

A local Python package index that checks every page and file with TUF before
pip or uv sees it. It serves /simple/ (HTML, or PEP 691 JSON when asked) and
/targets/ from the tuf-edge repository at URL, each byte verified against the
repository's signed metadata starting from ROOT. A page or file that does not
verify is refused with one line naming TUF, the role and the reason.

  pip install --index-url http://127.0.0.1:3141/simple/ PACKAGE
  uv pip install --index-url http://127.0.0.1:3141/simple/ PACKAGE

Metadata is refreshed at most once per timestamp.json lifetime, and at once
when a page or file is not found. Verified files are cached by hash.

options:
  --url URL     the repository's base URL (metadata at URL/metadata/)
  --root ROOT   the root.json you trust, e.g. 1.root.json from the key ceremony
  --port N      the port to listen on (default 3141; 0 picks a free one)
  --host ADDR   the address to listen on (default 127.0.0.1)
  --cache DIR   trusted metadata and verified files (default ~/.cache/tuf-edge/proxy/<url hash>)`;

export const proxy: Command = {
  summary: "a local pip/uv index that serves only TUF-verified pages and files",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("proxy", args, {
      url: { type: "string" },
      root: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      cache: { type: "string" },
    });
    const url = baseUrl(required(values.url, "url", "proxy"));
    const rootFile = required(values.root, "root", "proxy");
    const port = intOption(values.port, "port", "proxy", { min: 0, max: 65535 }) ?? 3141;
    let root: Uint8Array;
    try {
      root = new Uint8Array(await readFile(rootFile));
      Metadata.fromBytes("root", root);
    } catch (err) {
      if (err instanceof TufError)
        throw new CliError(`${rootFile} is not valid root metadata (${err.message})`, "Pass the root.json you trust, e.g. 1.root.json from the key ceremony");
      throw fromFsError(err, rootFile);
    }
    const cacheDir =
      values.cache ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tuf-edge", "proxy", createHash("sha256").update(url).digest("hex").slice(0, 16));
    let running;
    try {
      running = await startProxy({ url, root, cacheDir, port, host: values.host, log: (line) => process.stderr.write(`${line}\n`) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
        throw new CliError(`port ${port} is in use`, "Pass another --port, or stop what listens there");
      throw err;
    }
    print(`tuf-edge proxy: serving TUF-verified ${url} at ${running.url}/simple/ (cache ${cacheDir})`);
    print(`  pip install --index-url ${running.url}/simple/ PACKAGE`);
    await new Promise<void>((resolve) => {
      const stop = () => void running.close().then(resolve);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    return 0;
  },
};
