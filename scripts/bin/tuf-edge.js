#!/usr/bin/env node
// The tuf-edge CLI. Runs the TypeScript sources directly through tsx, so the CLI and the Worker share src/tuf.
import { register } from "tsx/esm/api";

register();
// Piped into head: the reader is gone, which is not an error of ours. Stop quietly, as cat does.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
