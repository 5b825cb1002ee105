/**
 * `tuf-edge rotate-online-key`: the same drafts as `root rotate --online-key`
 * (one implementation), plus the operator's steps with the real commands.
 */
import { execFileSync } from "node:child_process";
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { holder, ok, ONE_LINE_ERROR, readJSON, run, useCeremony, type Holder } from "./helpers.js";

const ctx = useCeremony({ complete: true });
let next: Holder;
beforeEach(async () => {
  next = await holder(ctx.tmp.path, "online-2", 40);
});

describe("tuf-edge rotate-online-key", () => {
  it("drafts root v2 and bins v2 naming the new key for snapshot, timestamp and every bin-n", async () => {
    await ok("rotate-online-key", "--dir", ctx.dir, "--new-key", next.pub);
    const root = await readJSON(join(ctx.dir, "2.root.json"));
    expect(root.signatures).toEqual([]);
    expect(root.signed.roles.snapshot).toEqual({ keyids: [next.keyid], threshold: 1 });
    expect(root.signed.roles.timestamp).toEqual({ keyids: [next.keyid], threshold: 1 });
    expect(root.signed.keys[ctx.c.online.keyid]).toBeUndefined();
    const bins = await readJSON(join(ctx.dir, "2.bins.json"));
    expect(bins.signatures).toEqual([]);
    expect(bins.signed.delegations.succinct_roles).toMatchObject({ keyids: [next.keyid], threshold: 1 });
    expect(Object.keys(bins.signed.delegations.keys)).toEqual([next.keyid]);
  });

  it("writes byte for byte what root rotate --online-key writes", async () => {
    const other = join(ctx.tmp.path, "copy");
    await cp(ctx.dir, other, { recursive: true });
    await ok("rotate-online-key", "--dir", ctx.dir, "--new-key", next.pub, "--expires-days", "200", "--bins-expires-days", "100");
    await ok("root", "rotate", "--dir", other, "--online-key", next.pub, "--expires-days", "200", "--bins-expires-days", "100");
    for (const name of ["2.root.json", "2.bins.json"])
      expect(await readFile(join(ctx.dir, name), "utf8")).toBe(await readFile(join(other, name), "utf8"));
  });

  it("prints the steps: ONLINE_KEY_NEXT, who signs, upload, then ONLINE_KEY and delete ONLINE_KEY_NEXT", async () => {
    const { stdout } = await ok("rotate-online-key", "--dir", ctx.dir, "--new-key", next.pub);
    const lines = stdout.split("\n");
    // A line holding exactly this command, or for descriptions, containing it.
    const at = (text: string) => lines.findIndex((l) => (text.startsWith("node ") || text.startsWith("npx ") ? l.trim() === text : l.includes(text)));
    expect(stdout).toContain(`online key: ${ctx.c.online.keyid} -> ${next.keyid}`);
    const seedCommand = `node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).seed)' ${next.key}`;
    const order = [
      `${seedCommand} | npx wrangler secret put ONLINE_KEY_NEXT`,
      "2.root.json needs 2 of root v1's 3 root keys",
      `npx tuf-edge sign --key HOLDER.key ${join(ctx.dir, "2.root.json")}`,
      `2.bins.json needs 2 of the 2 bins keys (${ctx.c.targets.map((h) => h.keyid).join(", ")})`,
      `npx tuf-edge sign --key HOLDER.key ${join(ctx.dir, "2.bins.json")}`,
      `then check: npx tuf-edge status ${ctx.dir}`,
      `npx tuf-edge upload --url URL ${join(ctx.dir, "2.root.json")} ${join(ctx.dir, "2.bins.json")}`,
      `${seedCommand} | npx wrangler secret put ONLINE_KEY`,
      "npx wrangler secret delete ONLINE_KEY_NEXT",
    ];
    const positions = order.map(at);
    expect(positions.every((p) => p >= 0), JSON.stringify(order.filter((_, i) => positions[i]! < 0))).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    // Nothing secret is printed: the seed reaches wrangler through the pipe only.
    expect(stdout).not.toContain(next.seedHex);
  });

  it("prints a seed command that outputs exactly the new key's seed", async () => {
    const { stdout } = await ok("rotate-online-key", "--dir", ctx.dir, "--new-key", next.pub);
    const line = stdout.split("\n").find((l) => l.includes("wrangler secret put ONLINE_KEY_NEXT"))!;
    const script = /node -e '([^']+)'/.exec(line)![1]!;
    expect(execFileSync(process.execPath, ["-e", script, next.key], { encoding: "utf8" })).toBe(next.seedHex);
  });

  it("names a placeholder when the .key file is not beside the .pub", async () => {
    const pubOnly = join(ctx.tmp.path, "usb-online-2.pub");
    await cp(next.pub, pubOnly);
    const { stdout } = await ok("rotate-online-key", "--dir", ctx.dir, "--new-key", pubOnly);
    expect(stdout).toContain("PATH/TO/usb-online-2.key | npx wrangler secret put ONLINE_KEY_NEXT");
  });

  const failures: { name: string; argv: () => string[]; code: number; message: () => string }[] = [
    { name: "no --new-key", argv: () => ["rotate-online-key", "--dir", ctx.dir], code: 2, message: () => "missing required option --new-key" },
    { name: "no --dir", argv: () => ["rotate-online-key", "--new-key", next.pub], code: 2, message: () => "missing required option --dir" },
    { name: "a private key file", argv: () => ["rotate-online-key", "--dir", ctx.dir, "--new-key", next.key], code: 1, message: () => "is a private key file" },
    {
      name: "an offline key as the online key",
      argv: () => ["rotate-online-key", "--dir", ctx.dir, "--new-key", ctx.c.root[0]!.pub],
      code: 1,
      message: () => `the online key ${ctx.c.root[0]!.keyid} is also a root key`,
    },
  ];
  it.each(failures)("refuses $name with one line and drafts nothing", async ({ argv, code, message }) => {
    const result = await run(...argv());
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(ONE_LINE_ERROR);
    expect(result.stderr).toContain(message());
    await expect(readFile(join(ctx.dir, "2.root.json"))).rejects.toThrow();
    await expect(readFile(join(ctx.dir, "2.bins.json"))).rejects.toThrow();
  });
});
