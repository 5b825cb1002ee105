/**
 * src/client's Updater against a repository built in memory (test/fixtures/repository.ts):
 * the workflow, the local store, the warm path, and refusals that name role and rule.
 * tuf-conformance (scripts/conformance/run.js) covers the spec's cases against python-tuf's simulator.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { DownloadError, MemoryStore, UpdateError, Updater, type Fetcher } from "../../src/client/index.js";
import { digestHex, utf8 } from "../../src/tuf/index.js";
import { TestRepository } from "../fixtures/repository.js";

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
});
