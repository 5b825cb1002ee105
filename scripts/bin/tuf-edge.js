#!/usr/bin/env node
// The tuf-edge CLI. Runs the TypeScript sources directly through tsx, so the CLI and the Worker share src/tuf.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
