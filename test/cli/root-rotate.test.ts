/**
 * Root rotation (TUF spec 5.3.4, 6.1): root N+1 counts only with a threshold of
 * root N's keys AND a threshold of its own. Scenarios are tables of who signed
 * and what tuf-edge status and tuf-js make of it.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Metadata as TufJsMetadata, MetadataKind } from "@tufjs/models";
import { beforeEach, describe, expect, it } from "vitest";
import { holder, ok, ONE_LINE_ERROR, readJSON, run, useCeremony, type Holder } from "./helpers.js";

const ctx = useCeremony({ complete: true });

const root = (n: number) => join(ctx.dir, `${n}.root.json`);

async function tufJsAccepts(previous: number, next: number): Promise<boolean> {
  const trusted = TufJsMetadata.fromJSON(MetadataKind.Root, await readJSON(root(previous)));
  const candidate = TufJsMetadata.fromJSON(MetadataKind.Root, await readJSON(root(next)));
  try {
    // Client workflow 5.3.4: a threshold of the trusted root's keys, then of the new root's own.
    trusted.verifyDelegate("root", candidate);
    candidate.verifyDelegate("root", candidate);
    return true;
  } catch {
    return false;
  }
}

describe("root rotate to an entirely new set of 3 root keys, threshold 2", () => {
  let fresh: Holder[];
  beforeEach(async () => {
    fresh = [await holder(ctx.tmp.path, "root-d", 11), await holder(ctx.tmp.path, "root-e", 12), await holder(ctx.tmp.path, "root-f", 13)];
    const drafted = await ok(
      "root", "rotate", "--dir", ctx.dir,
      ...fresh.flatMap((h) => ["--add-root-key", h.pub]),
      ...ctx.c.root.flatMap((h) => ["--remove-root-key", h.keyid]),
    ); // prettier-ignore
    expect(drafted.stdout).toContain(`drafted ${root(2)}: root v2, expires 2027-01-01T00:00:00Z`);
  });

  it("drafts version 2 with the new keys, a fresh expiry and no signatures", async () => {
    const md = await readJSON(root(2));
    expect(md.signatures).toEqual([]);
    expect(md.signed.version).toBe(2);
    expect(md.signed.roles.root).toEqual({ keyids: fresh.map((h) => h.keyid), threshold: 2 });
    // Old root keys no role uses any more are gone from keys; targets and online keys stay.
    expect(Object.keys(md.signed.keys).sort()).toEqual(
      [...fresh.map((h) => h.keyid), ...ctx.c.targets.map((h) => h.keyid), ctx.c.online.keyid].sort(),
    );
    expect(md.signed.roles.targets).toEqual((await readJSON(root(1))).signed.roles.targets);
  });

  // a, b, c are root v1's keys; d, e, f root v2's.
  const scenarios: { signers: string; complete: boolean; counts: string }[] = [
    { signers: "ab", complete: false, counts: "2/2 of root v1, 0/2 of root v2" },
    { signers: "de", complete: false, counts: "0/2 of root v1, 2/2 of root v2" },
    { signers: "ade", complete: false, counts: "1/2 of root v1, 2/2 of root v2" },
    { signers: "abd", complete: false, counts: "2/2 of root v1, 1/2 of root v2" },
    { signers: "acef", complete: true, counts: "2/2 of root v1, 2/2 of root v2" },
    { signers: "abcdef", complete: true, counts: "3/2 of root v1, 3/2 of root v2" },
  ];

  it.each(scenarios)("signed by $signers: complete is $complete", async ({ signers, complete, counts }) => {
    const byLetter: Record<string, Holder> = { a: ctx.c.root[0]!, b: ctx.c.root[1]!, c: ctx.c.root[2]!, d: fresh[0]!, e: fresh[1]!, f: fresh[2]! };
    for (const letter of signers) await ok("sign", "--key", byLetter[letter]!.key, root(2));
    const status = await ok("status", ctx.dir);
    const row = status.stdout.split("\n").find((line) => line.startsWith("root") && line.includes("2.root.json"))!;
    expect(row).toContain(counts);
    expect(row).toMatch(complete ? /COMPLETE$/ : /INCOMPLETE$/);
    expect(status.stdout).toContain(complete ? "ceremony complete" : "ceremony incomplete");
    expect(await tufJsAccepts(1, 2)).toBe(complete);
  });

  it("reports both counts when a holder signs", async () => {
    const signed = await ok("sign", "--key", ctx.c.root[0]!.key, root(2));
    expect(signed.stdout).toContain(`as ${ctx.c.root[0]!.keyid}: now 1/2 valid signatures of root v1 keys and 0/2 of root v2 keys`);
  });

  it("refuses a key neither root lists, naming both key sets", async () => {
    const result = await run("sign", "--key", ctx.c.targets[0]!.key, root(2));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(ONE_LINE_ERROR);
    expect(result.stderr).toContain(`root v1 lists root keys ${ctx.c.root.map((h) => h.keyid).join(", ")} (threshold 2)`);
    expect(result.stderr).toContain(`root v2 lists root keys ${fresh.map((h) => h.keyid).join(", ")} (threshold 2)`);
  });

  it("refuses to draft root v3 before root v2 is complete, and allows it after", async () => {
    const early = await run("root", "rotate", "--dir", ctx.dir);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(ONE_LINE_ERROR);
    expect(early.stderr).toContain("2.root.json is signed by only 0/2 of root v1's root keys");
    for (const h of [ctx.c.root[0]!, ctx.c.root[1]!, fresh[0]!, fresh[1]!]) await ok("sign", "--key", h.key, root(2));
    await ok("root", "rotate", "--dir", ctx.dir, "--expires-days", "30");
    expect((await readJSON(root(3))).signed).toMatchObject({ version: 3, expires: "2026-01-31T00:00:00Z" });
    // Root v3 is signed by v2's keys only: v1's keys no longer count.
    const refused = await run("sign", "--key", ctx.c.root[0]!.key, root(3));
    expect(refused.code).toBe(1);
  });

  it("drafts again only after the unsigned draft is deleted", async () => {
    const again = await run("root", "rotate", "--dir", ctx.dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("or delete it to draft root v2 again");
    await rm(root(2));
    await ok("root", "rotate", "--dir", ctx.dir, "--root-threshold", "3");
    expect((await readJSON(root(2))).signed.roles.root.threshold).toBe(3);
  });
});

describe("root rotate replacing targets and online keys", () => {
  it("--targets-key replaces root's targets role and drafts targets v2 for the new keys", async () => {
    const t = [await holder(ctx.tmp.path, "targets-c", 21), await holder(ctx.tmp.path, "targets-d", 22)];
    const drafted = await ok("root", "rotate", "--dir", ctx.dir, "--targets-key", t[0]!.pub, "--targets-key", t[1]!.pub);
    expect(drafted.stdout).toContain(`drafted ${join(ctx.dir, "2.targets.json")}`);
    const r2 = (await readJSON(root(2))).signed;
    expect(r2.roles.targets).toEqual({ keyids: t.map((h) => h.keyid), threshold: 2 });
    for (const old of ctx.c.targets) expect(r2.keys[old.keyid]).toBeUndefined();
    const t2 = await readJSON(join(ctx.dir, "2.targets.json"));
    const t1 = await readJSON(join(ctx.dir, "1.targets.json"));
    expect(t2.signatures).toEqual([]);
    expect(t2.signed.version).toBe(2);
    expect(t2.signed.delegations).toEqual(t1.signed.delegations);

    for (const h of [ctx.c.root[0]!, ctx.c.root[1]!]) await ok("sign", "--key", h.key, root(2));
    // Clients on root v1 verify targets v2 until root v2 is out: a threshold of the old targets keys AND of the new.
    expect(drafted.stdout).toContain(
      `2.targets.json: 2 of root v1's 2 targets keys (${ctx.c.targets.map((h) => h.keyid).join(", ")}) AND 2 of the 2 new targets keys (${t.map((h) => h.keyid).join(", ")})`,
    );
    for (const h of t) await ok("sign", "--key", h.key, join(ctx.dir, "2.targets.json"));
    let status = await ok("status", ctx.dir);
    expect(status.stdout).toMatch(/^targets +2\.targets\.json .*INCOMPLETE$/m);
    const signed = await ok("sign", "--key", ctx.c.targets[0]!.key, join(ctx.dir, "2.targets.json"));
    expect(signed.stdout).toContain("2.targets.json still needs 1 signature from root v1's targets keys");
    await ok("sign", "--key", ctx.c.targets[1]!.key, join(ctx.dir, "2.targets.json"));
    status = await ok("status", ctx.dir);
    expect(status.stdout).toContain("ceremony complete: root v2, targets v2, bins v1");

    const rootMd = TufJsMetadata.fromJSON(MetadataKind.Root, await readJSON(root(2)));
    const targetsMd = TufJsMetadata.fromJSON(MetadataKind.Targets, await readJSON(join(ctx.dir, "2.targets.json")));
    const binsMd = TufJsMetadata.fromJSON(MetadataKind.Targets, await readJSON(join(ctx.dir, "1.bins.json")));
    const root1Md = TufJsMetadata.fromJSON(MetadataKind.Root, await readJSON(root(1)));
    expect(() => rootMd.verifyDelegate("targets", targetsMd)).not.toThrow();
    expect(() => root1Md.verifyDelegate("targets", targetsMd)).not.toThrow();
    expect(() => targetsMd.verifyDelegate("bins", binsMd)).not.toThrow();
    expect(await tufJsAccepts(1, 2)).toBe(true);

    // A later targets (a renewal) follows a targets root v2 alone accepts: only the new keys sign it.
    await ok("renew", "--dir", ctx.dir, "--role", "targets");
    const renewed = await run("sign", "--key", ctx.c.targets[0]!.key, join(ctx.dir, "3.targets.json"));
    expect(renewed.code).toBe(1);
  });

  it("--targets-key warns that bins still uses the old targets keys, and --bins-key moves bins too", async () => {
    const t = [await holder(ctx.tmp.path, "targets-c", 21), await holder(ctx.tmp.path, "targets-d", 22)];
    const newTargets = t.flatMap((h) => ["--targets-key", h.pub]);
    const warned = await ok("root", "rotate", "--dir", ctx.dir, ...newTargets);
    expect(warned.stderr).toBe(
      "warning: bins is still delegated to the old targets keys; pass --bins-key as well if those holders should no longer sign bins\n",
    );
    for (const name of ["2.root.json", "2.targets.json"]) await rm(join(ctx.dir, name));

    const quiet = await ok("root", "rotate", "--dir", ctx.dir, ...newTargets, ...t.flatMap((h) => ["--bins-key", h.pub]), "--bins-threshold", "1");
    expect(quiet.stderr).toBe("");
    expect(quiet.stdout).toContain(`2.bins.json: 1 of the 2 new bins keys (${t[0]!.keyid}, ${t[1]!.keyid})`);
    const t2 = (await readJSON(join(ctx.dir, "2.targets.json"))).signed;
    expect(t2.delegations.roles).toEqual([
      { name: "bins", keyids: t.map((h) => h.keyid), threshold: 1, terminating: false, path_hash_prefixes: [..."0123456789abcdef"] },
    ]);
    expect(Object.keys(t2.delegations.keys).sort()).toEqual(t.map((h) => h.keyid).sort());
    expect((await readJSON(join(ctx.dir, "2.bins.json"))).signed.delegations).toEqual((await readJSON(join(ctx.dir, "1.bins.json"))).signed.delegations);

    for (const h of [ctx.c.root[0]!, ctx.c.root[2]!]) await ok("sign", "--key", h.key, root(2));
    for (const h of [...t, ...ctx.c.targets]) await ok("sign", "--key", h.key, join(ctx.dir, "2.targets.json"));
    expect((await run("sign", "--key", ctx.c.targets[0]!.key, join(ctx.dir, "2.bins.json"))).code).toBe(1);
    await ok("sign", "--key", t[1]!.key, join(ctx.dir, "2.bins.json"));
    expect((await ok("status", ctx.dir)).stdout).toContain("ceremony complete: root v2, targets v2, bins v2");
    const targetsMd = TufJsMetadata.fromJSON(MetadataKind.Targets, await readJSON(join(ctx.dir, "2.targets.json")));
    const binsMd = TufJsMetadata.fromJSON(MetadataKind.Targets, await readJSON(join(ctx.dir, "2.bins.json")));
    expect(() => targetsMd.verifyDelegate("bins", binsMd)).not.toThrow();
  });

  it("--online-key replaces snapshot and timestamp in root and every bin-n in a drafted bins v2", async () => {
    const online2 = await holder(ctx.tmp.path, "online-2", 31);
    await ok("root", "rotate", "--dir", ctx.dir, "--online-key", online2.pub);
    const r2 = (await readJSON(root(2))).signed;
    expect(r2.roles.snapshot).toEqual({ keyids: [online2.keyid], threshold: 1 });
    expect(r2.roles.timestamp).toEqual({ keyids: [online2.keyid], threshold: 1 });
    expect(r2.keys[ctx.c.online.keyid]).toBeUndefined();
    const b2 = await readJSON(join(ctx.dir, "2.bins.json"));
    expect(b2.signed.version).toBe(2);
    expect(b2.signed.delegations.keys).toEqual({ [online2.keyid]: (await readJSON(online2.pub)) });
    expect(b2.signed.delegations.succinct_roles).toEqual({ keyids: [online2.keyid], threshold: 1, bit_length: 14, name_prefix: "bin" });

    for (const h of [ctx.c.root[1]!, ctx.c.root[2]!]) await ok("sign", "--key", h.key, root(2));
    for (const h of ctx.c.targets) await ok("sign", "--key", h.key, join(ctx.dir, "2.bins.json"));
    expect((await ok("status", ctx.dir)).stdout).toContain("ceremony complete: root v2, targets v1, bins v2");

    // Without the new bins, status says bin-n and the online roles disagree.
    await rm(join(ctx.dir, "2.bins.json"));
    const status = await ok("status", ctx.dir);
    expect(status.stdout).toContain(`1.bins.json delegates bin-n to ${ctx.c.online.keyid} but 2.root.json gives snapshot and timestamp ${online2.keyid}`);
    expect(status.stdout).toContain("ceremony incomplete");
  });

  it("keeps t >= 2 and t <= n for the new root", async () => {
    const tooMany = await run("root", "rotate", "--dir", ctx.dir, "--root-threshold", "4");
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(ONE_LINE_ERROR);
    expect(tooMany.stderr).toContain("the root threshold 4 exceeds its 3 keys");

    const one = await run("root", "rotate", "--dir", ctx.dir, "--root-threshold", "1");
    expect(one.code).toBe(2);
    expect(one.stderr).toContain("PEP 458 requires at least two root signatures");

    const shrink = await run("root", "rotate", "--dir", ctx.dir, "--remove-root-key", ctx.c.root[0]!.pub, "--remove-root-key", ctx.c.root[1]!.pub);
    expect(shrink.code).toBe(2);
    expect(shrink.stderr).toContain("root v2 would have 1 root key but keeps threshold 2; pass a lower --root-threshold");

    const unknown = await run("root", "rotate", "--dir", ctx.dir, "--remove-root-key", ctx.c.online.keyid);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`${ctx.c.online.keyid} is not a root key of root v1`);

    const twice = await run("root", "rotate", "--dir", ctx.dir, "--add-root-key", ctx.c.root[0]!.pub);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("is already a root key");

    const onlineAsRoot = await run("root", "rotate", "--dir", ctx.dir, "--add-root-key", ctx.c.online.pub);
    expect(onlineAsRoot.code).toBe(1);
    expect(onlineAsRoot.stderr).toContain("is also a root key");
  });
});
