/**
 * Bad inputs: each is one line on stderr, "error: <what is wrong>. <what to do>",
 * with a non-zero exit code, and never echoes key material.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { completeCeremony, initArgs, ok, ONE_LINE_ERROR, readJSON, run, useCeremony, writeJSON } from "./helpers.js";

const ctx = useCeremony();

interface Case {
  name: string;
  /** Prepares the directory and returns the command line. */
  setup: () => Promise<string[]>;
  code: number;
  message: string | RegExp;
}

const cases: Case[] = [
  {
    name: "signing with a key the role does not list",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      return ["sign", "--key", ctx.c.root[0]!.key, join(ctx.dir, "1.bins.json")];
    },
    code: 1,
    message: /key [0-9a-f]{64} \(root-a\) may not sign 1\.bins\.json\. targets v1 lists bins keys [0-9a-f]{64}, [0-9a-f]{64} \(threshold 2\); sign with one of those/,
  },
  {
    name: "the online key signing an offline role",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      return ["sign", "--key", ctx.c.online.key, join(ctx.dir, "1.root.json")];
    },
    code: 1,
    message: "(online) may not sign 1.root.json. root v1 lists root keys",
  },
  {
    name: "a malformed JSON file",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      await writeFile(join(ctx.dir, "1.targets.json"), '{"signatures": [], "signed": {');
      return ["sign", "--key", ctx.c.targets[0]!.key, join(ctx.dir, "1.targets.json")];
    },
    code: 1,
    message: "1.targets.json is not valid targets metadata (targets: not valid UTF-8 JSON)",
  },
  {
    name: "metadata of the wrong role under a role's name",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      await copyFile(join(ctx.dir, "1.root.json"), join(ctx.dir, "1.bins.json"));
      return ["sign", "--key", ctx.c.targets[0]!.key, join(ctx.dir, "1.bins.json")];
    },
    code: 1,
    message: 'is not valid bins metadata (expected _type targets, got "root")',
  },
  {
    name: "a file name that is not N.role.json",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      await copyFile(join(ctx.dir, "1.root.json"), join(ctx.dir, "root.json"));
      return ["sign", "--key", ctx.c.root[0]!.key, join(ctx.dir, "root.json")];
    },
    code: 1,
    message: "root.json is not a ceremony file name. Ceremony files are named N.root.json, N.targets.json or N.bins.json",
  },
  {
    name: "a file whose name and version disagree",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      await copyFile(join(ctx.dir, "1.targets.json"), join(ctx.dir, "2.targets.json"));
      return ["sign", "--key", ctx.c.targets[0]!.key, join(ctx.dir, "2.targets.json")];
    },
    code: 1,
    message: "2.targets.json holds targets version 1, but its name says version 2. Rename it to 1.targets.json",
  },
  {
    name: "root N > 1 without root N-1 beside it",
    setup: async () => {
      await completeCeremony(ctx.dir, ctx.c);
      await ok("renew", "--dir", ctx.dir, "--role", "root");
      const other = join(ctx.tmp.path, "other");
      await mkdir(other);
      await copyFile(join(ctx.dir, "2.root.json"), join(other, "2.root.json"));
      return ["sign", "--key", ctx.c.root[0]!.key, join(other, "2.root.json")];
    },
    code: 1,
    message: "1.root.json is missing. root v2 must also be signed by the keys of root v1",
  },
  {
    name: "an expired role",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c, "--bins-expires-days", "1"));
      vi.stubEnv("TUF_EDGE_NOW", "2026-01-03T00:00:00Z");
      return ["sign", "--key", ctx.c.targets[0]!.key, join(ctx.dir, "1.bins.json")];
    },
    code: 1,
    message: "1.bins.json expired at 2026-01-02T00:00:00Z, so no client would accept it",
  },
  {
    name: "a threshold above the number of keys",
    setup: async () => [...initArgs(ctx.dir, ctx.c).map((a) => (a === "2" ? "4" : a))],
    code: 2,
    message: "the root threshold 4 exceeds its 3 keys",
  },
  {
    name: "a targets threshold above the number of keys",
    setup: async () => initArgs(ctx.dir, ctx.c, "--targets-threshold", "3"),
    code: 2,
    message: "the targets threshold 3 exceeds its 2 keys",
  },
  {
    name: "a root threshold of 1 without --insecure-single-root-key",
    setup: async () => initArgs(ctx.dir, ctx.c).map((a) => (a === "2" ? "1" : a)),
    code: 2,
    message: "PEP 458 requires at least two root signatures",
  },
  {
    name: "the online key also given as a root key",
    setup: async () => initArgs(ctx.dir, ctx.c, "--root-key", ctx.c.online.pub),
    code: 1,
    message: "is also a root key. The online key lives on the server",
  },
  {
    name: "a targets key that is also a root key",
    setup: async () => initArgs(ctx.dir, ctx.c, "--targets-key", ctx.c.root[0]!.pub),
    code: 1,
    message: "is both a root key and a targets key",
  },
  {
    name: "the same key twice",
    setup: async () => initArgs(ctx.dir, ctx.c, "--root-key", ctx.c.root[0]!.pub),
    code: 1,
    message: "--root-key names key",
  },
  {
    name: "a private key file passed as a public key",
    setup: async () => initArgs(ctx.dir, ctx.c).map((a) => (a === ctx.c.online.pub ? ctx.c.online.key : a)),
    code: 1,
    message: "online.key is a private key file. Pass the matching .pub file instead",
  },
  {
    name: "a public key file passed to sign",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      return ["sign", "--key", ctx.c.root[0]!.pub, join(ctx.dir, "1.root.json")];
    },
    code: 1,
    message: "root-a.pub is a public key, not a private key file",
  },
  {
    name: "a damaged private key file",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      const key = await readJSON(ctx.c.root[0]!.key);
      key.seed = ctx.c.root[1]!.seedHex;
      await writeJSON(ctx.c.root[0]!.key, key);
      return ["sign", "--key", ctx.c.root[0]!.key, join(ctx.dir, "1.root.json")];
    },
    code: 1,
    message: "is damaged: its seed does not match its keyid. Restore the key file from its backup",
  },
  {
    name: "a private key file that is not JSON",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      await writeFile(ctx.c.root[0]!.key, `seed ${ctx.c.root[0]!.seedHex}`);
      return ["sign", "--key", ctx.c.root[0]!.key, join(ctx.dir, "1.root.json")];
    },
    code: 1,
    message: "root-a.key is not valid JSON",
  },
  {
    name: "a missing metadata file",
    setup: async () => ["sign", "--key", ctx.c.root[0]!.key, join(ctx.dir, "1.root.json")],
    code: 1,
    message: "1.root.json does not exist. Check the path",
  },
  {
    name: "status of a directory that does not exist",
    setup: async () => ["status", join(ctx.tmp.path, "nowhere")],
    code: 1,
    message: "nowhere does not exist",
  },
  {
    name: "status of a directory without ceremony files",
    setup: async () => {
      await mkdir(ctx.dir);
      return ["status", ctx.dir];
    },
    code: 1,
    message: "holds no N.root.json, N.targets.json or N.bins.json",
  },
  {
    name: "init over an existing ceremony",
    setup: async () => {
      await ok(...initArgs(ctx.dir, ctx.c));
      return initArgs(ctx.dir, ctx.c);
    },
    code: 1,
    message: "1.root.json already exists. Refusing to overwrite a ceremony",
  },
  {
    name: "an invalid TUF_EDGE_NOW",
    setup: async () => {
      vi.stubEnv("TUF_EDGE_NOW", "yesterday");
      return initArgs(ctx.dir, ctx.c);
    },
    code: 1,
    message: 'TUF_EDGE_NOW is "yesterday", not an ISO 8601 time',
  },
  {
    name: "a name prefix that can't be a file name",
    setup: async () => initArgs(ctx.dir, ctx.c, "--name-prefix", "../bin"),
    code: 2,
    message: '--name-prefix "../bin" must be lowercase letters a-z, digits',
  },
  {
    name: "an upper-case name prefix, which the Worker's bootstrap would refuse after the whole ceremony",
    setup: async () => initArgs(ctx.dir, ctx.c, "--name-prefix", "Bin"),
    code: 2,
    message: '--name-prefix "Bin" must be lowercase letters a-z, digits',
  },
  {
    name: "an underscore in the name prefix, which the Worker's bootstrap would refuse",
    setup: async () => initArgs(ctx.dir, ctx.c, "--name-prefix", "delegated_bin"),
    code: 2,
    message: '--name-prefix "delegated_bin" must be lowercase letters a-z, digits',
  },
  {
    name: "a bit length above the Worker's 16",
    setup: async () => initArgs(ctx.dir, ctx.c, "--bit-length", "20"),
    code: 2,
    message: "--bit-length must be an integer from 1 to 16",
  },
];

describe("bad inputs", () => {
  it.each(cases)("$name", async ({ setup, code, message }) => {
    const argv = await setup();
    const result = await run(...argv);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(ONE_LINE_ERROR);
    if (typeof message === "string") expect(result.stderr).toContain(message);
    else expect(result.stderr).toMatch(message);
    for (const h of [...ctx.c.root, ...ctx.c.targets, ctx.c.online]) expect(result.stderr).not.toContain(h.seedHex);
  });

  it("accepts a root threshold of 1 with --insecure-single-root-key, with a warning", async () => {
    const result = await run("init", "--dir", ctx.dir, "--root-key", ctx.c.root[0]!.pub, "--root-threshold", "1", "--targets-key", ctx.c.targets[0]!.pub, "--online-key", ctx.c.online.pub, "--insecure-single-root-key");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("warning: root threshold is 1: one stolen root key can take over this repository\n");
    expect((await readJSON(join(ctx.dir, "1.root.json"))).signed.roles.root).toEqual({ keyids: [ctx.c.root[0]!.keyid], threshold: 1 });
  });

  it("leaves the file untouched when signing is refused", async () => {
    await ok(...initArgs(ctx.dir, ctx.c));
    const before = await readFile(join(ctx.dir, "1.bins.json"));
    expect((await run("sign", "--key", ctx.c.root[0]!.key, join(ctx.dir, "1.bins.json"))).code).toBe(1);
    expect((await readFile(join(ctx.dir, "1.bins.json"))).equals(before)).toBe(true);
  });
});

describe("status reports, and exits 0, when", () => {
  it("a threshold is not met: INCOMPLETE, naming the keys still missing", async () => {
    await ok(...initArgs(ctx.dir, ctx.c));
    await ok("sign", "--key", ctx.c.targets[0]!.key, join(ctx.dir, "1.targets.json"));
    const { code, stdout } = await run("status", ctx.dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^targets +1\.targets\.json +1 .* 1\/2 +INCOMPLETE$/m);
    expect(stdout).toContain(`1.targets.json: needs 1 more signature from root v1's targets keys: ${ctx.c.targets[1]!.keyid}`);
    expect(stdout.trimEnd().split("\n").at(-1)).toBe(
      "ceremony incomplete: 1.root.json INCOMPLETE; 1.targets.json INCOMPLETE; 1.bins.json INCOMPLETE",
    );
  });

  it("a role has expired: EXPIRED, even when fully signed", async () => {
    await completeCeremony(ctx.dir, ctx.c, "--bins-expires-days", "1");
    vi.stubEnv("TUF_EDGE_NOW", "2026-01-03T00:00:00Z");
    const { code, stdout } = await run("status", ctx.dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^bins +1\.bins\.json +1 +2026-01-02T00:00:00Z \(expired 1 day ago\) +2\/2 +EXPIRED$/m);
    expect(stdout).toMatch(/^root .* \(363 days left\) .* COMPLETE$/m);
    expect(stdout).toContain("ceremony incomplete: 1.bins.json EXPIRED");
  });

  it("a file is malformed: UNREADABLE, with the reason", async () => {
    await completeCeremony(ctx.dir, ctx.c);
    await writeFile(join(ctx.dir, "1.bins.json"), "not json");
    const { code, stdout } = await run("status", ctx.dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^bins +1\.bins\.json +1 +- +- +UNREADABLE$/m);
    expect(stdout).toContain("1.bins.json is not valid bins metadata (targets: not valid UTF-8 JSON)");
    expect(stdout).toContain("ceremony incomplete: 1.bins.json UNREADABLE");
  });

  it("a role is missing: MISSING", async () => {
    await ok(...initArgs(ctx.dir, ctx.c));
    await rm(join(ctx.dir, "1.bins.json"));
    const { code, stdout } = await run("status", ctx.dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^bins +N\.bins\.json +- +- +- +MISSING$/m);
  });
});
