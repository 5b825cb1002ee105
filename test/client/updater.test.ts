/**
 * src/client's Updater against a repository built in memory (test/fixtures/repository.ts):
 * the workflow, the local store, the warm path, and refusals that name role and rule.
 * tuf-conformance (scripts/conformance/run.js) covers the spec's cases against python-tuf's simulator.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { DownloadError, MemoryStore, UpdateError, Updater, type Fetcher } from "../../src/client/index.js";
import { digestHex, Ed25519Signer, Metadata, MetaFile, Role, Root, utf8 } from "../../src/tuf/index.js";
import { signAll, TestRepository } from "../fixtures/repository.js";

const BASE = "https://repo.test/metadata/";

function fetcherOf(repo: TestRepository, targets = new Map<string, Uint8Array>()) {
  const requests: string[] = [];
  const fetcher: Fetcher = {
    async fetch(url, maxLength) {
      requests.push(url);
      const bytes = url.startsWith(BASE) ? repo.files.get(url.slice(BASE.length)) : targets.get(url);
      if (!bytes) throw new DownloadError(url, `${url} answered HTTP 404`, { status: 404 });
      if (bytes.length > maxLength) throw new DownloadError(url, `${url} is longer than the ${maxLength} bytes allowed`, { tooLarge: true });
      return bytes;
    },
  };
  return { fetcher, requests };
}

async function updaterFor(repo: TestRepository, options: { targets?: Map<string, Uint8Array>; plain?: boolean } = {}) {
  const store = new MemoryStore();
  await store.write("root.json", repo.trustedRoot.toBytes());
  const { fetcher, requests } = fetcherOf(repo, options.targets);
  const now = { value: new Date(repo.now) };
  const updater = new Updater({
    metadataBaseUrl: BASE,
    targetBaseUrl: "https://repo.test/targets",
    fetcher,
    store,
    now: () => now.value,
    config: { prefixTargetsWithHash: !options.plain },
  });
  return { updater, store, requests, now };
}

/** Root v(N+1) with the same root keys, optionally new timestamp and snapshot keys, signed by two root holders. */
async function nextRoot(repo: TestRepository, trusted: Root, online?: Ed25519Signer, signers = repo.ceremony.signers.root.slice(0, 2)) {
  const keys = { ...trusted.keys, ...(online ? { [online.key.keyid]: online.key } : {}) };
  const roles = online
    ? { ...trusted.roles, timestamp: new Role([online.key.keyid], 1), snapshot: new Role([online.key.keyid], 1) }
    : trusted.roles;
  const md = await signAll(new Metadata(new Root({ version: trusted.version + 1, expires: trusted.expires }, keys, roles, true)), signers);
  repo.put(`${md.signed.version}.root.json`, md.toBytes());
  return md;
}

const HOUR = 3_600_000;
const BINS = 8; // TestRepository's bit_length 3

async function refusal(promise: Promise<unknown>): Promise<UpdateError> {
  const error = await promise.then(() => expect.fail("expected a refusal"), (e: unknown) => e);
  expect(error).toBeInstanceOf(UpdateError);
  return error as UpdateError;
}

describe("Updater", () => {
  let repo: TestRepository;
  beforeEach(async () => {
    repo = await TestRepository.create();
  });

  it("refreshes root, timestamp, snapshot and targets, keeping them under unversioned names", async () => {
    const { updater, store, requests } = await updaterFor(repo);
    const trusted = await updater.refresh();
    expect(trusted.timestamp!.version).toBe(1);
    expect(requests.map((u) => u.slice(BASE.length))).toEqual(["2.root.json", "timestamp.json", "1.snapshot.json", "1.targets.json"]);
    expect([...store.files.keys()].sort()).toEqual(["root.json", "snapshot.json", "targets.json", "timestamp.json"]);
  });

  it("finds a target through bins and its succinct hash bin, and downloads it by its hash-prefixed name", async () => {
    const bytes = utf8("hello wheel");
    const sha256 = (await digestHex(bytes)).sha256!;
    const bin = repo.addTarget("packages/demo/demo-1.0.whl", bytes.length, sha256);
    await repo.publish([bin]);
    const targets = new Map([[`https://repo.test/targets/packages/demo/${sha256}.demo-1.0.whl`, bytes]]);
    const { updater, store } = await updaterFor(repo, { targets });
    const info = await updater.getTargetInfo("packages/demo/demo-1.0.whl");
    expect(info?.length).toBe(bytes.length);
    expect(store.files.has(`${repo.succinct.roleName(bin)}.json`)).toBe(true);
    expect(await updater.downloadTarget(info!)).toEqual(bytes);
    expect(await updater.getTargetInfo("packages/demo/missing.whl")).toBeUndefined();
  });

  it("downloads by the plain name when asked, and refuses bytes whose hash differs", async () => {
    const bytes = utf8("hello wheel");
    const bin = repo.addTarget("a/b.txt", bytes.length, (await digestHex(bytes)).sha256!);
    await repo.publish([bin]);
    const targets = new Map([["https://repo.test/targets/a/b.txt", utf8("hellO wheel")]]);
    const { updater } = await updaterFor(repo, { targets, plain: true });
    const error = await refusal(updater.downloadTarget((await updater.getTargetInfo("a/b.txt"))!));
    expect([error.code, error.role, error.rule]).toEqual(["length_or_hash", "a/b.txt", "5.7.3"]);
  });

  it("warm: a refresh where only the timestamp changed fetches only timestamp.json", async () => {
    const { updater, requests } = await updaterFor(repo);
    await updater.refresh();
    await repo.publishTimestamp();
    requests.length = 0;
    const trusted = await updater.refresh();
    expect(trusted.timestamp!.version).toBe(2);
    expect(requests.map((u) => u.slice(BASE.length))).toEqual(["2.root.json", "timestamp.json"]);
  });

  it("a new Updater on the same store starts from what the last one trusted", async () => {
    const first = await updaterFor(repo);
    await first.updater.refresh();
    await repo.publishTimestamp({ version: 5 });
    await first.updater.refresh();
    await repo.publishTimestamp({ version: 3 });
    const again = new Updater({ metadataBaseUrl: BASE, fetcher: fetcherOf(repo).fetcher, store: first.store, now: () => new Date(repo.now) });
    const error = await refusal(again.refresh());
    expect([error.code, error.role, error.rule]).toEqual(["rollback", "timestamp", "5.4.3.1"]);
    expect(error.message).toBe("timestamp: version 3 is older than the trusted version 5 (TUF 5.4.3.1)");
  });

  it("refuses an expired bin, naming it", async () => {
    const bin = repo.addTarget("x/y.txt", 1, "00".repeat(32));
    await repo.publishBin(bin, { expires: new Date(repo.now) });
    await repo.publish([]);
    const { updater } = await updaterFor(repo);
    const error = await refusal(updater.getTargetInfo("x/y.txt"));
    expect([error.code, error.role, error.rule]).toEqual(["expired", repo.succinct.roleName(bin), "5.6.5"]);
  });

  it("applies python-tuf's length limits: a timestamp over 16 KiB is refused", async () => {
    repo.put("timestamp.json", new Uint8Array(16_385));
    const { updater } = await updaterFor(repo);
    const error = await refusal(updater.refresh());
    expect([error.code, error.role]).toEqual(["too_large", "timestamp"]);
  });

  it("refuses a snapshot whose bytes differ from what the timestamp hashed", async () => {
    const bytes = Uint8Array.from(repo.files.get("1.snapshot.json")!);
    bytes[bytes.length - 3]! ^= 1;
    repo.put("1.snapshot.json", bytes);
    const { updater } = await updaterFor(repo);
    const error = await refusal(updater.refresh());
    expect([error.code, error.role, error.rule]).toEqual(["length_or_hash", "snapshot", "5.5.2"]);
  });

  it("walks the root chain: each new root signed by the old and the new root keys", async () => {
    const root2 = await nextRoot(repo, repo.trustedRoot.signed);
    await nextRoot(repo, root2.signed);
    const { updater, requests } = await updaterFor(repo);
    expect((await updater.refresh()).root.version).toBe(3);
    expect(requests.slice(0, 3).map((u) => u.slice(BASE.length))).toEqual(["2.root.json", "3.root.json", "4.root.json"]);
  });

  it("fast-forward recovery (spec 5.3.11): after a root rotates the timestamp and snapshot keys, lower versions pass", async () => {
    await repo.publish([1], { timestamp: { version: 1000 }, snapshot: { version: 1000 } });
    const { updater } = await updaterFor(repo);
    expect((await updater.refresh()).timestamp!.version).toBe(1000);
    const recovery = await Ed25519Signer.fromSeed(new Uint8Array(32).fill(99));
    await nextRoot(repo, repo.trustedRoot.signed, recovery);
    repo.online = [recovery];
    await repo.publish([1], { timestamp: { version: 1 }, snapshot: { version: 1 } });
    const trusted = await updater.refresh();
    expect([trusted.root.version, trusted.timestamp!.version]).toEqual([2, 1]);
  });

  it("without rotated keys, lower versions stay a rollback", async () => {
    await repo.publish([5]);
    const { updater } = await updaterFor(repo);
    await updater.refresh();
    await nextRoot(repo, repo.trustedRoot.signed);
    await repo.publish([], { timestamp: { version: 1 }, snapshot: { version: 1 } });
    const error = await refusal(updater.refresh());
    expect([error.code, error.role]).toEqual(["rollback", "timestamp"]);
  });
});

describe("Updater#loadAllTargets: every targets role, as tuf-edge verify and the Worker's recovery walk them", () => {
  let repo: TestRepository;
  beforeEach(async () => {
    repo = await TestRepository.create();
  });

  it("verifies targets, bins and every bin-n from the root alone, reporting progress once per role", async () => {
    const { updater, requests } = await updaterFor(repo);
    const seen: number[] = [];
    const all = await updater.loadAllTargets({ onProgress: (done, total) => seen.push(done / total) });
    expect([...all.keys()].sort()).toEqual([...Array.from({ length: BINS }, (_, i) => `bin-${i}`), "bins", "targets"]);
    expect(seen).toEqual(Array.from({ length: BINS + 2 }, (_, i) => (i + 1) / (BINS + 2)));
    expect(requests).toHaveLength(1 + 1 + 1 + 2 + BINS); // 2.root.json (absent), timestamp, snapshot, targets and bins, each bin-n
  });

  it("warm: fetches only what changed, and sees the new target", async () => {
    const { updater, requests } = await updaterFor(repo);
    await updater.loadAllTargets();
    const bin = repo.addTarget("files/a.txt", 1, "a".repeat(64));
    await repo.publish([bin]);
    requests.length = 0;
    await updater.refresh();
    const all = await updater.loadAllTargets();
    expect(requests.map((u) => u.slice(BASE.length))).toEqual(["2.root.json", "timestamp.json", "2.snapshot.json", `2.${repo.succinct.roleName(bin)}.json`]);
    expect(all.get(repo.succinct.roleName(bin))!.targets["files/a.txt"]?.length).toBe(1);
  });

  it("loadDelegatedTargets loads one role of a delegator the update trusts, for a walk in parts", async () => {
    const { updater, requests } = await updaterFor(repo);
    await updater.loadDelegatedTargets("bins", "targets");
    requests.length = 0;
    expect((await updater.loadDelegatedTargets("bin-5", "bins")).version).toBe(1);
    expect(requests.map((u) => u.slice(BASE.length))).toEqual(["1.bin-5.json"]);
    const error = await refusal(updater.loadDelegatedTargets("bin-5", "targets"));
    expect([error.code, error.role]).toEqual(["unknown_role", "bin-5"]);
  });

  it("a bin-n kept from the last refresh is still checked for expiry", async () => {
    const { updater, now } = await updaterFor(repo);
    await updater.loadAllTargets();
    // Timestamp and snapshot are renewed; bin-0 v1 is not, and its day runs out.
    repo.now += 25 * HOUR;
    now.value = new Date(repo.now);
    await repo.publish([1, 2, 3, 4, 5, 6, 7]);
    await updater.refresh();
    const error = await refusal(updater.loadAllTargets());
    expect([error.code, error.role, error.rule]).toEqual(["expired", "bin-0", "5.6.5"]);
  });

  // [case, what the repository does, code, role, rule]: each refusal names the role and the spec rule.
  const table: Array<[string, (repo: TestRepository, stranger: Ed25519Signer) => Promise<unknown> | void, string, string, string]> = [
    ["no timestamp.json", (r) => void r.files.delete("timestamp.json"), "download", "timestamp", "5.4.1"],
    ["timestamp signed by another key", (r, s) => r.publishTimestamp({ signers: [s] }), "threshold", "timestamp", "5.4.2"],
    ["timestamp expired", (r) => r.publishTimestamp({ expires: new Date(r.now) }), "expired", "timestamp", "5.4.4"],
    ["the snapshot the timestamp names is missing", (r) => void r.files.delete("1.snapshot.json"), "download", "snapshot", "5.5.1"],
    ["snapshot shorter than the timestamp says", (r) => r.put("1.snapshot.json", r.files.get("1.snapshot.json")!.slice(0, -1)), "length_or_hash", "snapshot", "5.5.2"],
    ["snapshot signed by another key", (r, s) => r.publish([], { snapshot: { signers: [s] } }), "threshold", "snapshot", "5.5.3"],
    [
      "snapshot served under another version's name",
      async (r) => {
        await r.publishSnapshot({ version: 7 });
        r.put("2.snapshot.json", r.files.get("7.snapshot.json")!);
        await r.publishTimestamp({ snapshotVersion: 2 });
      },
      "rollback",
      "snapshot",
      "5.5.4",
    ],
    ["snapshot expired", (r) => r.publish([], { snapshot: { expires: new Date(r.now - 1000) } }), "expired", "snapshot", "5.5.6"],
    ["a bin-n file missing", (r) => void r.files.delete("1.bin-5.json"), "download", "bin-5", "5.6.1"],
    ["a bin-n not listed in the snapshot", (r) => r.publish([], { snapshot: { meta: (m) => delete m["bin-5.json"] } }), "not_in_snapshot", "bin-5", "5.6.1"],
    ["a bin-n signed by another key", (r, s) => r.publish([5]).then(() => r.publishBin(5, { signers: [s] })).then(() => r.publish([])), "threshold", "bin-5", "5.6.3"],
    [
      "a bin-n whose file holds another version than the snapshot lists",
      async (r) => {
        await r.publish([5]);
        r.put("2.bin-5.json", r.files.get("1.bin-5.json")!);
      },
      "rollback",
      "bin-5",
      "5.6.4",
    ],
    ["a bin-n expired", (r) => r.publishBin(5, { expires: new Date(r.now) }).then(() => r.publish([])), "expired", "bin-5", "5.6.5"],
    [
      "bins signed only by the online key",
      async (r) => {
        const bins = Metadata.fromBytes("targets", r.files.get("1.bins.json")!);
        r.put("1.bins.json", (await new Metadata(bins.signed).sign(r.ceremony.signers.online)).toBytes());
      },
      "threshold",
      "bins",
      "5.6.3",
    ],
    ["a root N+1 signed by one root holder only", (r) => nextRoot(r, r.trustedRoot.signed, undefined, r.ceremony.signers.root.slice(0, 1)), "threshold", "root", "5.3.4"],
  ];
  it.each(table)("refuses a repository where %s", async (_case, tamper, code, role, rule) => {
    await tamper(repo, await Ed25519Signer.fromSeed(new Uint8Array(32).fill(77)));
    const { updater } = await updaterFor(repo);
    const error = await refusal(updater.loadAllTargets());
    expect([error.code, error.role, error.rule]).toEqual([code, role, rule]);
  });

  // Against what the last refresh trusted (spec 5.4.3, 5.5.5).
  const rollbacks: Array<[string, (repo: TestRepository) => Promise<void>, string, string]> = [
    ["timestamp names an older snapshot", (r) => r.publishTimestamp({ snapshotVersion: 1 }), "timestamp", "5.4.3.2"],
    ["a bin-n goes back", (r) => r.publish([], { snapshot: { meta: (m) => (m["bin-5.json"] = new MetaFile(1)) } }), "snapshot", "5.5.5"],
    ["a role disappears from the snapshot", (r) => r.publish([], { snapshot: { meta: (m) => delete m["bins.json"] } }), "snapshot", "5.5.5"],
  ];
  it.each(rollbacks)("warm: refuses a repository where %s", async (_case, publish, role, rule) => {
    await repo.publish([5]);
    const { updater } = await updaterFor(repo);
    await updater.loadAllTargets();
    await publish(repo);
    const error = await refusal(updater.refresh());
    expect([error.code, error.role, error.rule]).toEqual(["rollback", role, rule]);
  });
});
