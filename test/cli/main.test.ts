/** The dispatcher: help for every command, unknown commands and options, and keygen's files. */
import { chmod, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Ed25519Signer, fromHex, Key } from "../../src/tuf/index.js";
import { readPrivateKey } from "../../scripts/cli/keyfile.js";
import { COMMANDS } from "../../scripts/cli/main.js";
import { ok, ONE_LINE_ERROR, readJSON, run, tempDir } from "./helpers.js";

describe("tuf-edge --help", () => {
  it("lists every command with its summary", async () => {
    for (const flag of ["--help", "-h", "help"]) {
      const { code, stdout } = await run(flag);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^usage: tuf-edge <command>/);
      const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
      for (const [name, command] of Object.entries(COMMANDS))
        expect(stdout.split("\n")).toContain(`  ${name.padEnd(width)}  ${command.summary}`);
    }
  });

  it("registers the ceremony commands", () => {
    expect(Object.keys(COMMANDS)).toEqual(expect.arrayContaining(["keygen", "init", "sign", "status", "root rotate"]));
  });

  it.each(Object.keys(COMMANDS))("prints the usage of %s", async (name) => {
    for (const argv of [[...name.split(" "), "--help"], [...name.split(" "), "-h"], ["help", ...name.split(" ")]]) {
      const { code, stdout, stderr } = await run(...argv);
      expect(code).toBe(0);
      expect(stderr).toBe("");
      expect(stdout).toMatch(new RegExp(`^usage: tuf-edge ${name} `));
    }
  });

  it("prints the usage on stderr and exits 2 without a command", async () => {
    const { code, stdout, stderr } = await run();
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^usage: tuf-edge <command>/);
  });

  it("lists a command group's commands", async () => {
    const { code, stdout } = await run("root", "--help");
    expect(code).toBe(0);
    expect(stdout).toContain("root rotate");
  });

  it("prints its version", async () => {
    const { code, stdout } = await run("--version");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^tuf-edge \d+\.\d+\.\d+\n$/);
  });

  const usageErrors: { argv: string[]; message: string }[] = [
    { argv: ["frobnicate"], message: 'unknown command "frobnicate"' },
    { argv: ["root", "spin"], message: 'unknown command "root spin"' },
    { argv: ["keygen", "--out", "x", "--colour"], message: "unknown option '--colour'" },
    { argv: ["keygen"], message: "missing required option --out" },
    { argv: ["keygen", "--out"], message: "option '--out <value>' argument missing" },
    { argv: ["status"], message: "missing ceremony directory" },
    { argv: ["status", "a", "b"], message: "too many arguments" },
    { argv: ["sign", "--key", "k.key"], message: "missing metadata file" },
    { argv: ["init", "--dir", "d", "--root-threshold", "two"], message: '--root-threshold must be an integer >= 1, got "two"' },
    { argv: ["init", "--dir", "d", "--root-threshold", "2", "--bit-length", "17"], message: "--bit-length must be an integer from 1 to 16" },
  ];
  it.each(usageErrors)("exits 2 with one line for $argv", async ({ argv, message }) => {
    const { code, stdout, stderr } = await run(...argv);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(ONE_LINE_ERROR);
    expect(stderr).toContain(message);
    expect(stderr).toContain("--help");
  });
});

describe("tuf-edge keygen", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (tmp = await tempDir()));
  afterEach(() => tmp.cleanup());

  it("writes a 0600 private key and a TUF public key, and prints the keyid but never the seed", async () => {
    const out = join(tmp.path, "alice");
    const { code, stdout, stderr } = await run("keygen", "--out", out, "--name", "Alice Example");
    expect(code).toBe(0);
    expect(stderr).toBe("");

    const pub = await readJSON(`${out}.pub`);
    expect(Object.keys(pub).sort()).toEqual(["keytype", "keyval", "scheme"]);
    expect(pub).toMatchObject({ keytype: "ed25519", scheme: "ed25519" });
    expect(pub.keyval.public).toMatch(/^[0-9a-f]{64}$/);
    const keyid = Key.fromJSON(pub).keyid;
    expect(stdout).toContain(`keyid: ${keyid}\n`);

    const priv = await readJSON(`${out}.key`);
    expect(priv).toMatchObject({ format: "tuf-edge-private-key", version: 1, name: "Alice Example", keytype: "ed25519", scheme: "ed25519", keyid, public: pub.keyval.public });
    expect(priv.seed).toMatch(/^[0-9a-f]{64}$/);
    expect((await Ed25519Signer.fromSeed(fromHex(priv.seed))).key.keyid).toBe(keyid);
    expect(stdout).not.toContain(priv.seed);
    if (process.platform !== "win32") expect((await stat(`${out}.key`)).mode & 0o777).toBe(0o600);
  });

  it("ignores a .key or .pub suffix on --out", async () => {
    await ok("keygen", "--out", join(tmp.path, "bob.key"));
    await stat(join(tmp.path, "bob.key"));
    await stat(join(tmp.path, "bob.pub"));
  });

  it("refuses to overwrite either file", async () => {
    const out = join(tmp.path, "carol");
    await ok("keygen", "--out", out);
    const before = await readFile(`${out}.key`, "utf8");
    const again = await run("keygen", "--out", out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(ONE_LINE_ERROR);
    expect(again.stderr).toContain(`${out}.key already exists`);
    expect(await readFile(`${out}.key`, "utf8")).toBe(before);

    await writeFile(join(tmp.path, "dave.pub"), "{}");
    const pubExists = await run("keygen", "--out", join(tmp.path, "dave"));
    expect(pubExists.code).toBe(1);
    await expect(stat(join(tmp.path, "dave.key"))).rejects.toThrow();
  });

  it("reads its own key files back, and warns when a key file is readable by others", async () => {
    const out = join(tmp.path, "erin");
    const { stdout } = await ok("keygen", "--out", out);
    const loaded = await readPrivateKey(`${out}.key`);
    expect(stdout).toContain(loaded.signer.key.keyid);
    expect(loaded.name).toBe("erin");
    if (process.platform === "win32") return;
    await chmod(`${out}.key`, 0o644);
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      await readPrivateKey(`${out}.key`);
      expect(stderr).toHaveBeenCalledWith(`warning: ${out}.key can be read by other users; run: chmod 600 ${out}.key\n`);
    } finally {
      stderr.mockRestore();
    }
  });
});
