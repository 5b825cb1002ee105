/**
 * A whole PEP 458 key ceremony, run the way a user would: keygen on each
 * holder's machine, init, each holder signs, status. Then tuf-js's own model
 * classes check every file, so "complete" means what a real client means.
 */
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Metadata as TufJsMetadata, MetadataKind } from "@tufjs/models";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { canonicalString } from "../../src/tuf/index.js";
import { cast, completeCeremony, holder, ok, readJSON, run, T0, tempDir, writeJSON, type Holder } from "./helpers.js";

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
  vi.stubEnv("TUF_EDGE_NOW", T0);
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await tmp.cleanup();
});

const keyidFrom = (stdout: string): string => /^keyid: ([0-9a-f]{64})$/m.exec(stdout)![1]!;

async function tufJs(dir: string) {
  return {
    root: TufJsMetadata.fromJSON(MetadataKind.Root, await readJSON(join(dir, "1.root.json"))),
    targets: TufJsMetadata.fromJSON(MetadataKind.Targets, await readJSON(join(dir, "1.targets.json"))),
    bins: TufJsMetadata.fromJSON(MetadataKind.Targets, await readJSON(join(dir, "1.bins.json"))),
  };
}

describe("a full ceremony", () => {
  it("3 root holders (2 of 3), 2 targets/bins holders and an online key, step by step", async () => {
    // Each holder makes a key on their own machine and hands over the .pub.
    const machines = ["alice", "bob", "carol", "dave", "erin", "server"];
    const keyids: Record<string, string> = {};
    for (const name of machines) {
      await mkdir(join(tmp.path, name));
      const { stdout } = await ok("keygen", "--out", join(tmp.path, name, name));
      keyids[name] = keyidFrom(stdout);
    }
    const dir = join(tmp.path, "ceremony");
    const pub = (name: string) => join(tmp.path, name, `${name}.pub`);
    const key = (name: string) => join(tmp.path, name, `${name}.key`);
    const init = await ok(
      "init",
      "--dir", dir,
      "--root-key", pub("alice"), "--root-key", pub("bob"), "--root-key", pub("carol"),
      "--root-threshold", "2",
      "--targets-key", pub("dave"), "--targets-key", pub("erin"),
      "--online-key", pub("server"),
    ); // prettier-ignore
    expect(init.stdout).toContain("1.root.json: 2 of 3 root keys");

    const before = await ok("status", dir);
    expect(before.stdout).toMatch(/^root +1\.root\.json +1 +2027-01-01T00:00:00Z \(365 days left\) +0\/2 +INCOMPLETE$/m);
    expect(before.stdout).toMatch(/ceremony incomplete/);

    // Root: alice signs, then carol (bob is away). One signature is not enough.
    const first = await ok("sign", "--key", key("alice"), join(dir, "1.root.json"));
    expect(first.stdout).toContain(`signed ${join(dir, "1.root.json")} as ${keyids.alice}: now 1/2 valid signatures`);
    expect((await ok("status", dir)).stdout).toMatch(/^root .* 1\/2 +INCOMPLETE$/m);
    const second = await ok("sign", "--key", key("carol"), join(dir, "1.root.json"));
    expect(second.stdout).toContain("now 2/2 valid signatures");

    // targets and bins: both offline holders sign each.
    for (const role of ["targets", "bins"])
      for (const name of ["dave", "erin"]) await ok("sign", "--key", key(name), join(dir, `1.${role}.json`));

    const after = await ok("status", dir);
    for (const role of ["root", "targets", "bins"])
      expect(after.stdout).toMatch(new RegExp(`^${role} +1\\.${role}\\.json +1 .* 2/2 +COMPLETE$`, "m"));
    expect(after.stdout.trimEnd().split("\n").at(-1)).toBe("ceremony complete: root v1, targets v1, bins v1 are signed and unexpired");
    expect(after.code).toBe(0);

    // Nothing printed along the way ever held a private seed.
    for (const name of machines) {
      const { seed } = await readJSON(key(name));
      for (const output of [init, before, first, second, after]) expect(output.stdout + output.stderr).not.toContain(seed);
    }

    // tuf-js accepts every file.
    const md = await tufJs(dir);
    expect(() => md.root.verifyDelegate("root", md.root)).not.toThrow();
    expect(() => md.root.verifyDelegate("targets", md.targets)).not.toThrow();
    expect(() => md.targets.verifyDelegate("bins", md.bins)).not.toThrow();
  });
});

describe("the drafted metadata", () => {
  let c: Awaited<ReturnType<typeof cast>>;
  let dir: string;
  beforeEach(async () => {
    c = await cast(tmp.path);
    dir = join(tmp.path, "ceremony");
    await completeCeremony(dir, c);
  });
  const ids = (holders: Holder[]) => holders.map((h) => h.keyid);

  it("has the PEP 458 layout: root t-of-n, offline targets and bins, one online key for snapshot, timestamp and bin-n", async () => {
    const root = (await readJSON(join(dir, "1.root.json"))).signed;
    expect(root).toMatchObject({ _type: "root", spec_version: "1.0.31", version: 1, expires: "2027-01-01T00:00:00Z", consistent_snapshot: true });
    expect(root.roles).toEqual({
      root: { keyids: ids(c.root), threshold: 2 },
      targets: { keyids: ids(c.targets), threshold: 2 },
      snapshot: { keyids: [c.online.keyid], threshold: 1 },
      timestamp: { keyids: [c.online.keyid], threshold: 1 },
    });
    expect(Object.keys(root.keys).sort()).toEqual([...ids(c.root), ...ids(c.targets), c.online.keyid].sort());

    const targets = (await readJSON(join(dir, "1.targets.json"))).signed;
    expect(targets).toMatchObject({ _type: "targets", version: 1, targets: {} });
    expect(targets.delegations.roles).toEqual([
      { name: "bins", keyids: ids(c.targets), threshold: 2, terminating: false, path_hash_prefixes: [..."0123456789abcdef"] },
    ]);

    const bins = (await readJSON(join(dir, "1.bins.json"))).signed;
    expect(bins).toMatchObject({ _type: "targets", version: 1, targets: {} });
    expect(bins.delegations.succinct_roles).toEqual({ keyids: [c.online.keyid], threshold: 1, bit_length: 14, name_prefix: "bin" });
    expect(Object.keys(bins.delegations.keys)).toEqual([c.online.keyid]);
  });

  it("delegates nested target paths to bins, which a paths [\"*\"] pattern would not", async () => {
    const { targets, bins } = await tufJs(dir);
    const binsRole = targets.signed.delegations!.roles!.bins!;
    for (const path of ["a.whl", "simple/requests/index.html", "packages/source/r/requests/requests-2.31.0.tar.gz"])
      expect(binsRole.isDelegatedPath(path)).toBe(true);
    // TAP 15 vectors from pep458.md §1.3 (B=14), with this repository's prefix.
    const succinct = bins.signed.delegations!.succinctRoles!;
    expect(succinct.getRoleForTarget("packages/source/r/requests/requests-2.31.0.tar.gz")).toBe("bin-3e98");
    expect(succinct.getRoleForTarget("simple/requests/index.html")).toBe("bin-2730");
  });

  it("writes canonical JSON that is byte-identical for the same keys and time", async () => {
    const again = join(tmp.path, "again");
    await completeCeremony(again, c);
    for (const name of ["1.root.json", "1.targets.json", "1.bins.json"]) {
      const bytes = await readFile(join(dir, name));
      expect(bytes.equals(await readFile(join(again, name)))).toBe(true);
      expect(bytes.toString("utf8")).toBe(canonicalString(JSON.parse(bytes.toString("utf8"))));
    }
  });

  it("honours --bit-length, --name-prefix, --bins-key and the expiry options", async () => {
    const other = join(tmp.path, "other");
    const b1 = await holder(tmp.path, "bins-a", 7);
    const b2 = await holder(tmp.path, "bins-b", 8);
    const b3 = await holder(tmp.path, "bins-c", 9);
    await ok(
      "init", "--dir", other,
      ...c.root.flatMap((h) => ["--root-key", h.pub]), "--root-threshold", "3",
      "--targets-key", c.targets[0]!.pub, "--targets-key", c.targets[1]!.pub, "--targets-threshold", "1",
      "--bins-key", b1.pub, "--bins-key", b2.pub, "--bins-key", b3.pub, "--bins-threshold", "2",
      "--online-key", c.online.pub,
      "--bit-length", "5", "--name-prefix", "delegated-bin",
      "--root-expires-days", "730", "--targets-expires-days", "90", "--bins-expires-days", "30",
    ); // prettier-ignore
    const root = (await readJSON(join(other, "1.root.json"))).signed;
    expect(root.roles.root.threshold).toBe(3);
    expect(root.roles.targets.threshold).toBe(1);
    expect(root.expires).toBe("2028-01-01T00:00:00Z");
    const targets = (await readJSON(join(other, "1.targets.json"))).signed;
    expect(targets.expires).toBe("2026-04-01T00:00:00Z");
    expect(targets.delegations.roles[0]).toMatchObject({ keyids: [b1.keyid, b2.keyid, b3.keyid], threshold: 2 });
    expect(Object.keys(targets.delegations.keys).sort()).toEqual([b1.keyid, b2.keyid, b3.keyid].sort());
    const binsMd = (await readJSON(join(other, "1.bins.json"))).signed;
    expect(binsMd.expires).toBe("2026-01-31T00:00:00Z");
    expect(binsMd.delegations.succinct_roles).toMatchObject({ bit_length: 5, name_prefix: "delegated-bin" });
    // The bins role is now signed by the bins holders, not the targets holders.
    const refused = await run("sign", "--key", c.targets[0]!.key, join(other, "1.bins.json"));
    expect(refused.code).toBe(1);
    await ok("sign", "--key", b3.key, join(other, "1.bins.json"));
  });
});

describe("tuf-js rejects what is not fully signed", () => {
  let c: Awaited<ReturnType<typeof cast>>;
  let dir: string;
  beforeEach(async () => {
    c = await cast(tmp.path);
    dir = join(tmp.path, "ceremony");
    await completeCeremony(dir, c);
  });

  const cases: { name: string; file: string; tamper: (md: any) => void; valid?: string }[] = [
    { name: "a root signature is missing", file: "1.root.json", tamper: (md) => md.signatures.pop() },
    { name: "a targets signature is missing", file: "1.targets.json", tamper: (md) => md.signatures.pop() },
    { name: "a bins signature is missing", file: "1.bins.json", tamper: (md) => md.signatures.pop() },
    {
      name: "a root signature is altered",
      file: "1.root.json",
      tamper: (md) => (md.signatures[0].sig = md.signatures[0].sig.replace(/^./, (ch: string) => (ch === "0" ? "1" : "0"))),
    },
    {
      name: "a bins signature is altered",
      file: "1.bins.json",
      tamper: (md) => (md.signatures[1].sig = md.signatures[1].sig.replace(/.$/, (ch: string) => (ch === "0" ? "1" : "0"))),
    },
    { name: "the signed targets content is altered", file: "1.targets.json", tamper: (md) => (md.signed.expires = "2030-01-01T00:00:00Z"), valid: "0/2" },
  ];

  it.each(cases)("when $name", async ({ file, tamper, valid = "1/2" }) => {
    const path = join(dir, file);
    const md = await readJSON(path);
    tamper(md);
    await writeJSON(path, md);
    const { root, targets, bins } = await tufJs(dir);
    const checks = [() => root.verifyDelegate("root", root), () => root.verifyDelegate("targets", targets), () => targets.verifyDelegate("bins", bins)];
    const failing = checks.filter((check) => {
      try {
        check();
        return false;
      } catch (err) {
        expect((err as Error).constructor.name).toBe("UnsignedMetadataError");
        return true;
      }
    });
    expect(failing).toHaveLength(1);
    // And tuf-edge status agrees.
    const status = await ok("status", dir);
    expect(status.stdout).toMatch(new RegExp(`^\\w+ +${file.replace(/\./g, "\\.")} .* ${valid} +INCOMPLETE$`, "m"));
    expect(status.stdout).toMatch(/ceremony incomplete/);
  });

  it("re-signing replaces an older or broken signature by the same key", async () => {
    const path = join(dir, "1.bins.json");
    const md = await readJSON(path);
    md.signatures[0].sig = "00".repeat(64);
    await writeJSON(path, md);
    const again = await ok("sign", "--key", c.targets[0]!.key, path);
    expect(again.stdout).toContain("now 2/2 valid signatures");
    const fixed = await readJSON(path);
    expect(fixed.signatures).toHaveLength(2);
    const { targets, bins } = await tufJs(dir);
    expect(() => targets.verifyDelegate("bins", bins)).not.toThrow();
  });

  it("copies signed on separate machines count once each holder has signed", async () => {
    // Two holders sign the file in turn on their own machines, carrying it between them.
    const fresh = join(tmp.path, "fresh");
    await ok("init", "--dir", fresh, ...c.root.flatMap((h) => ["--root-key", h.pub]), "--root-threshold", "2", ...c.targets.flatMap((h) => ["--targets-key", h.pub]), "--online-key", c.online.pub);
    const usb = join(tmp.path, "usb");
    const machineB = join(tmp.path, "machine-b");
    await mkdir(usb);
    await mkdir(machineB);
    for (const name of ["1.root.json", "1.targets.json", "1.bins.json"]) await copyFile(join(fresh, name), join(usb, name));
    await ok("sign", "--key", c.root[0]!.key, join(usb, "1.root.json"));
    for (const name of ["1.root.json", "1.targets.json", "1.bins.json"]) await copyFile(join(usb, name), join(machineB, name));
    await ok("sign", "--key", c.root[2]!.key, join(machineB, "1.root.json"));
    expect((await ok("status", machineB)).stdout).toMatch(/^root .* 2\/2 +COMPLETE$/m);
  });
});
