/** `tuf-edge keygen`: one holder's Ed25519 key pair, made on the offline machine. */
import { Ed25519Signer } from "../../src/tuf/index.js";
import { parseCommandArgs, required } from "./args.js";
import type { Command } from "./command.js";
import { writeKeyPair } from "./keyfile.js";
import { print } from "./output.js";

const USAGE = `usage: tuf-edge keygen --out PATH [--name NAME]

Generates an Ed25519 key pair for one key holder:
  PATH.key  the private key (mode 0600; refused if it exists). Keep it offline.
  PATH.pub  the TUF public key {"keytype":"ed25519","scheme":"ed25519","keyval":{"public":...}}
            to hand to whoever runs tuf-edge init.
Prints the keyid (the SHA-256 of the public key's canonical JSON).

options:
  --out PATH    where to write (a trailing .key or .pub is ignored)
  --name NAME   a label stored in the .key file (default: the file name)`;

export const keygen: Command = {
  summary: "generate an Ed25519 key pair for one key holder",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs("keygen", args, { out: { type: "string" }, name: { type: "string" } });
    const out = required(values.out, "out", "keygen");
    const { seed } = await Ed25519Signer.generate();
    const written = await writeKeyPair(out, seed, values.name);
    seed.fill(0);
    print(`keyid: ${written.key.keyid}`);
    print(`private key: ${written.privatePath} (mode 0600; keep it offline and never share it)`);
    print(`public key:  ${written.publicPath} (give this file to whoever runs tuf-edge init)`);
    return 0;
  },
};
