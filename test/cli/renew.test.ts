/**
 * `tuf-edge renew`: the yearly renewal (PEP 458 §Metadata Expiry Times). The
 * next version of one role, a fresh expiry, nothing else changed; the newest
 * version must be complete. tuf-js must accept the result once signed.
 */
import { join } from "node:path";
import { Metadata as TufJsMetadata, MetadataKind } from "@tufjs/models";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ok, ONE_LINE_ERROR, readJSON, run, useCeremony } from "./helpers.js";

const ctx = useCeremony({ complete: true });
// The renewal happens eleven months later.
beforeEach(() => {
  vi.stubEnv("TUF_EDGE_NOW", "2026-12-01T00:00:00Z");
});

const file = (name: string) => join(ctx.dir, name);
const withoutExpiry = ({ expires: _e, version: _v, ...rest }: Record<string, unknown>) => rest;

describe("tuf-edge renew --role targets|bins", () => {
  it.each(["targets", "bins"] as const)("drafts %s v2: a year from now, unsigned, nothing else changed", async (role) => {
    const { stdout, stderr } = await ok("renew", "--dir", ctx.dir, "--role", role);
    expect(stderr).toBe("");
    const before = await readJSON(file(`1.${role}.json`));
    const after = await readJSON(file(`2.${role}.json`));
    expect(after.signatures).toEqual([]);
    expect(after.signed).toMatchObject({ version: 2, expires: "2027-12-01T00:00:00Z" });
    expect(withoutExpiry(after.signed)).toEqual(withoutExpiry(before.signed));
    expect(stdout).toContain(
      `drafted ${file(`2.${role}.json`)}: ${role} v2, expires 2027-12-01T00:00:00Z (v1 expires 2027-01-01T00:00:00Z); nothing else changed`,
    );
    const delegator = role === "targets" ? "root v1's 2 targets keys" : "targets v1's 2 bins keys";
    expect(stdout).toContain(`  2.${role}.json: 2 of ${delegator} (${ctx.c.targets.map((h) => h.keyid).join(", ")})`);
    expect(stdout).toContain(`then publish with: tuf-edge upload --url URL ${file(`2.${role}.json`)}`);
  });

  it("is complete once the targets holders sign, and tuf-js accepts it", async () => {
    await ok("renew", "--dir", ctx.dir, "--role", "targets");
    for (const h of ctx.c.targets) await ok("sign", "--key", h.key, file("2.targets.json"));
    const status = await ok("status", ctx.dir);
    expect(status.stdout).toContain("ceremony complete: root v1, targets v2, bins v1");
    const root = TufJsMetadata.fromJSON(MetadataKind.Root, await readJSON(file("1.root.json")));
    const targets = TufJsMetadata.fromJSON(MetadataKind.Targets, await readJSON(file("2.targets.json")));
    expect(() => root.verifyDelegate("targets", targets)).not.toThrow();
  });

  it("takes --expires-days", async () => {
    await ok("renew", "--dir", ctx.dir, "--role", "bins", "--expires-days", "90");
    expect((await readJSON(file("2.bins.json"))).signed.expires).toBe("2027-03-01T00:00:00Z");
  });

  it("refuses to renew a version that is not fully signed, and keeps the draft", async () => {
    await ok("renew", "--dir", ctx.dir, "--role", "targets");
    const again = await run("renew", "--dir", ctx.dir, "--role", "targets");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(ONE_LINE_ERROR);
    expect(again.stderr).toContain(`${file("2.targets.json")} is signed by only 0/2 of root v1's targets keys`);
    expect(again.stderr).toContain("or delete it to renew v1 instead");
    expect((await readJSON(file("2.targets.json"))).signed.version).toBe(2);
  });
});

describe("tuf-edge renew --role root", () => {
  it("drafts root v2 with the same keys and roles, needing both thresholds", async () => {
    const { stdout } = await ok("renew", "--dir", ctx.dir, "--role", "root", "--expires-days", "365");
    const before = await readJSON(file("1.root.json"));
    const after = await readJSON(file("2.root.json"));
    expect(after.signatures).toEqual([]);
    expect(after.signed).toMatchObject({ version: 2, expires: "2027-12-01T00:00:00Z" });
    expect(withoutExpiry(after.signed)).toEqual(withoutExpiry(before.signed));
    for (const role of ["root", "targets", "snapshot", "timestamp"]) expect(stdout).toContain(`  ${role}: unchanged`);
    expect(stdout).toContain("2.root.json: 2 of root v1's 3 root keys");
    expect(stdout).toContain("AND 2 of root v2's 3 root keys");
    for (const h of ctx.c.root.slice(0, 2)) await ok("sign", "--key", h.key, file("2.root.json"));
    expect((await ok("status", ctx.dir)).stdout).toContain("ceremony complete: root v2, targets v1, bins v1");
  });
});

describe("tuf-edge renew usage", () => {
  const cases: { argv: string[]; message: string }[] = [
    { argv: ["renew", "--role", "targets"], message: "missing required option --dir" },
    { argv: ["renew", "--dir", "d"], message: "missing required option --role" },
    { argv: ["renew", "--dir", "d", "--role", "snapshot"], message: '--role must be root, targets or bins, got "snapshot"' },
    { argv: ["renew", "--dir", "d", "--role", "bins", "--expires-days", "0"], message: "--expires-days must be an integer from 1 to 36500" },
  ];
  it.each(cases)("exits 2 for $argv", async ({ argv, message }) => {
    const { code, stderr } = await run(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(ONE_LINE_ERROR);
    expect(stderr).toContain(message);
  });
});
