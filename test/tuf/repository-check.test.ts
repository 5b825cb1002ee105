/**
 * checkRepository, the project's model of a TUF client (spec 5), against a
 * repository built in memory: one good repository, then one tampered file or
 * one bad publish per case. Every failure names the role and version, with
 * the TufError code a client's error class maps to.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { Ed25519Signer, Metadata, MetaFile, Role, Root, TufError, utf8, type TufErrorCode } from "../../src/tuf/index.js";
import { checkRepository, earliestExpiry, MAX_LENGTH, type TrustedState } from "../../src/tuf/repository-check.js";
import { signAll, TestRepository } from "../fixtures/repository.js";

const HOUR = 3_600_000;
const BINS = 8; // bit_length 3

const check = (repo: TestRepository, previous?: TrustedState, now = repo.now) =>
  checkRepository({ fetch: repo.fetch, trustedRoot: repo.trustedRoot, now: new Date(now), previous });

async function failure(promise: Promise<unknown>): Promise<TufError> {
  const error = await promise.then(
    () => expect.fail("expected the check to fail"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TufError);
  return error as TufError;
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

describe("checkRepository on a good repository", () => {
  let repo: TestRepository;
  beforeEach(async () => {
    repo = await TestRepository.create();
  });

  it("verifies root, timestamp, snapshot, targets, bins and every bin-n from the root alone", async () => {
    const state = await check(repo);
    expect(state.root.signed.version).toBe(1);
    expect(state.timestamp.signed.version).toBe(1);
    expect(state.snapshot.signed.version).toBe(1);
    expect([...state.targets.keys()].sort()).toEqual(["bin-0", "bin-1", "bin-2", "bin-3", "bin-4", "bin-5", "bin-6", "bin-7", "bins", "targets"]);
    expect(state.fetched).toEqual(expect.arrayContaining(["timestamp.json", "1.snapshot.json", "1.targets.json", "1.bins.json", "1.bin-7.json"]));
    expect(state.fetched).toHaveLength(2 + 2 + BINS); // 2.root.json does not exist, so nothing was fetched for it
  });

  it("reports progress once per targets role, up to the snapshot's count", async () => {
    const seen: number[] = [];
    await checkRepository({ fetch: repo.fetch, trustedRoot: repo.trustedRoot, now: new Date(repo.now), onProgress: (p) => seen.push(p.done) });
    expect(seen).toEqual(Array.from({ length: BINS + 2 }, (_, i) => i + 1));
  });

  it("names the role that expires first", async () => {
    await repo.publish([2], { snapshot: { expires: new Date(repo.now + 2 * HOUR) } });
    expect(earliestExpiry(await check(repo))).toEqual({ role: "snapshot", version: 2, expires: new Date(repo.now + 2 * HOUR) });
  });

  it("warm: fetches only what changed since the previous state, and sees the new target", async () => {
    const cold = await check(repo);
    const bin = repo.addTarget("files/a.txt", 1, "a".repeat(64));
    await repo.publish([bin]);
    const warm = await check(repo, cold);
    expect(warm.fetched).toEqual(["timestamp.json", "2.snapshot.json", `2.${repo.succinct.roleName(bin)}.json`]);
    expect(warm.targets.get(repo.succinct.roleName(bin))!.targets["files/a.txt"]?.length).toBe(1);
    expect(warm.targets.size).toBe(BINS + 2);
  });

  it("warm: an unchanged repository passes again, with the same timestamp", async () => {
    const cold = await check(repo);
    const again = await check(repo, cold, repo.now + HOUR);
    expect(again.timestamp.signed.version).toBe(1);
  });

  it("walks the root chain: each new root signed by the old and the new root keys", async () => {
    await nextRoot(repo, repo.trustedRoot.signed);
    const root2 = Metadata.fromBytes("root", repo.files.get("2.root.json")!);
    await nextRoot(repo, root2.signed);
    const state = await check(repo);
    expect(state.root.signed.version).toBe(3);
    expect(state.fetched.slice(0, 2)).toEqual(["2.root.json", "3.root.json"]);
  });

  it("warm: starts the root walk at the root it trusts already", async () => {
    await nextRoot(repo, repo.trustedRoot.signed);
    const first = await check(repo);
    repo.files.delete("1.root.json");
    const second = await check(repo, first);
    expect(second.root.signed.version).toBe(2);
    expect(second.fetched).not.toContain("2.root.json");
  });

  it("fast-forward recovery (spec 5.3.11): after a root rotates the timestamp and snapshot keys, lower versions pass", async () => {
    await repo.publish([1], { timestamp: { version: 1000 }, snapshot: { version: 1000 } });
    const inflated = await check(repo);
    expect(inflated.timestamp.signed.version).toBe(1000);

    const recovery = await Ed25519Signer.fromSeed(new Uint8Array(32).fill(99));
    await nextRoot(repo, repo.trustedRoot.signed, recovery);
    repo.online = [recovery];
    await repo.publish([1], { timestamp: { version: 1 }, snapshot: { version: 1 } });
    const recovered = await check(repo, inflated);
    expect(recovered.timestamp.signed.version).toBe(1);
    expect(recovered.root.signed.version).toBe(2);
  });
});

describe("checkRepository rejects a bad repository, naming the role and version", () => {
  let repo: TestRepository;
  let stranger: Ed25519Signer;
  beforeEach(async () => {
    repo = await TestRepository.create();
    stranger = await Ed25519Signer.fromSeed(new Uint8Array(32).fill(77));
  });

  // [case, what the repository does, code, message]
  const table: Array<[string, (repo: TestRepository, stranger: Ed25519Signer) => Promise<void> | void, TufErrorCode, RegExp]> = [
    ["no timestamp.json", (r) => void r.files.delete("timestamp.json"), "malformed", /timestamp: timestamp\.json does not exist/],
    ["timestamp signed by another key", (r, s) => r.publishTimestamp({ signers: [s] }), "threshold", /^timestamp v2 signed by 0\/1 required keys/],
    ["timestamp expired", (r) => r.publishTimestamp({ expires: new Date(r.now) }), "expired", /^timestamp v2 expired at 2026-01-01T00:00:00Z/],
    ["timestamp over the 16 KiB clients allow", (r) => r.put("timestamp.json", new Uint8Array(MAX_LENGTH.timestamp + 1)), "length_or_hash", /timestamp\.json is 16385 bytes, more than the 16384 allowed/],
    ["timestamp not JSON", (r) => r.put("timestamp.json", utf8("<html>")), "malformed", /timestamp: not valid UTF-8 JSON/],
    ["the snapshot the timestamp names is missing", (r) => void r.files.delete("1.snapshot.json"), "malformed", /^snapshot v1: 1\.snapshot\.json does not exist, but timestamp v1 names it/],
    [
      "snapshot bytes changed after the timestamp hashed them (same length)",
      (r) => {
        const bytes = Uint8Array.from(r.files.get("1.snapshot.json")!);
        bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 1;
        r.put("1.snapshot.json", bytes);
      },
      "length_or_hash",
      /^snapshot v1: sha256 [0-9a-f]{64} does not match [0-9a-f]{64} in timestamp v1/,
    ],
    // A client stops reading at the length the timestamp gives (endless data), so a longer file fails at the cap.
    ["snapshot longer than the timestamp says", (r) => r.put("1.snapshot.json", utf8(new TextDecoder().decode(r.files.get("1.snapshot.json")) + " ")), "length_or_hash", /^snapshot v1: 1\.snapshot\.json is \d+ bytes, more than the \d+ allowed/],
    ["snapshot shorter than the timestamp says", (r) => r.put("1.snapshot.json", r.files.get("1.snapshot.json")!.slice(0, -1)), "length_or_hash", /^snapshot v1: \d+ bytes, but timestamp v1 says \d+/],
    ["snapshot signed by another key", (r, s) => r.publish([], { snapshot: { signers: [s] } }), "threshold", /^snapshot v2 signed by 0\/1/],
    [
      "snapshot served under another version's name",
      async (r) => {
        await r.publishSnapshot({ version: 7 });
        r.put("2.snapshot.json", r.files.get("7.snapshot.json")!);
        await r.publishTimestamp({ snapshotVersion: 2 });
        // The timestamp hashed the v7 bytes under the name of v2.
      },
      "rollback",
      /^snapshot v7 is served as 2\.snapshot\.json, but timestamp v2 names v2/,
    ],
    ["snapshot expired", (r) => r.publish([], { snapshot: { expires: new Date(r.now - 1000) } }), "expired", /^snapshot v2 expired at 2025-12-31T23:59:59Z/],
    ["a bin-n file missing", (r) => void r.files.delete("1.bin-5.json"), "malformed", /^bin-5 v1: 1\.bin-5\.json does not exist, but snapshot v1 lists it/],
    ["a bin-n not listed in the snapshot", (r) => r.publish([], { snapshot: { meta: (m) => delete m["bin-5.json"] } }), "malformed", /^bin-5: bins delegates to it, but snapshot v2 does not list bin-5\.json/],
    ["a bin-n signed by another key", async (r, s) => r.publish([5], {}).then(() => r.publishBin(5, { signers: [s] })).then(() => r.publish([])), "threshold", /^bin-5 v3 signed by 0\/1/],
    ["a bin-n expired", (r) => r.publishBin(5, { expires: new Date(r.now) }).then(() => r.publish([])), "expired", /^bin-5 v2 expired at 2026-01-01T00:00:00Z/],
    [
      "bins signed only by the online key",
      async (r) => {
        const bins = Metadata.fromBytes("targets", r.files.get("1.bins.json")!);
        r.put("1.bins.json", (await new Metadata(bins.signed).sign(r.ceremony.signers.online)).toBytes());
      },
      "threshold",
      /^bins v1 signed by 0\/2/,
    ],
    ["a root N+1 signed by one root holder only", (r) => nextRoot(r, r.trustedRoot.signed, undefined, r.ceremony.signers.root.slice(0, 1)).then(() => undefined), "threshold", /^root v2 signed by 1\/2 keys of root v1 and 1\/2 of its own/],
  ];

  const cases = table.map(([name, tamper, code, message]) => [name, code, message, tamper] as const);
  it.each(cases)("%s → %s", async (_case, code, message, tamper) => {
    await tamper(repo, stranger);
    const error = await failure(check(repo));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it("a bin-n whose file holds another version than the snapshot lists → rollback", async () => {
    await repo.publish([5]); // bin-5 v2
    repo.put("2.bin-5.json", repo.files.get("1.bin-5.json")!); // v1's bytes under v2's name
    const error = await failure(check(repo));
    expect(error.code).toBe("rollback");
    expect(error.message).toMatch(/^bin-5 v1 is served as 2\.bin-5\.json, but snapshot v2 lists v2/);
  });

  it("the final root expired → expired", async () => {
    const error = await failure(check(repo, undefined, repo.trustedRoot.signed.expires.getTime()));
    expect(error.code).toBe("expired");
    expect(error.message).toMatch(/^root v1 expired at/);
  });
});

describe("checkRepository, warm: rollback against the previous state (spec 5.4.3, 5.5.5)", () => {
  let repo: TestRepository;
  let previous: TrustedState;
  beforeEach(async () => {
    repo = await TestRepository.create();
    await repo.publish([5]); // timestamp v2, snapshot v2, bin-5 v2
    previous = await check(repo);
  });

  const cases: Array<[string, (repo: TestRepository) => Promise<void>, RegExp]> = [
    ["timestamp goes back", (r) => r.publishTimestamp({ version: 1 }), /^timestamp v1 is older than the trusted timestamp v2/],
    ["timestamp version reused for other content", (r) => r.publishTimestamp({ version: 2, expires: new Date(r.now + 2 * 86_400_000) }), /^timestamp v2 differs from the trusted timestamp v2: a version was reused/],
    ["timestamp names an older snapshot", (r) => r.publishTimestamp({ snapshotVersion: 1 }), /^timestamp v3 names snapshot v1, older than the trusted snapshot v2/],
    [
      "a bin-n goes back",
      (r) => r.publish([], { snapshot: { meta: (m) => (m["bin-5.json"] = new MetaFile(1)) } }),
      /^snapshot v3 lists bin-5\.json v1, older than v2 in snapshot v2/,
    ],
    ["a role disappears from the snapshot", (r) => r.publish([], { snapshot: { meta: (m) => delete m["bins.json"] } }), /^snapshot v3 no longer lists bins\.json, which snapshot v2 listed/],
  ];

  it.each(cases)("%s → rollback", async (_case, publish, message) => {
    await publish(repo);
    const error = await failure(check(repo, previous));
    expect(error.code).toBe("rollback");
    expect(error.message).toMatch(message);
  });

  it("a bin-n carried over from the cache is still checked for expiry", async () => {
    // Timestamp and snapshot are renewed; bin-0 v1 is not, and its day runs out.
    const later = repo.now + 25 * HOUR;
    repo.now = later;
    await repo.publish([1, 2, 3, 4, 5, 6, 7]);
    const error = await failure(check(repo, previous, later));
    expect(error.code).toBe("expired");
    expect(error.message).toMatch(/^bin-0 v1 expired at 2026-01-02T00:00:00Z/);
  });

  it("without rotated keys, lower versions stay a rollback", async () => {
    await nextRoot(repo, repo.trustedRoot.signed);
    await repo.publish([], { timestamp: { version: 1 }, snapshot: { version: 1 } });
    const error = await failure(check(repo, previous));
    expect(error.code).toBe("rollback");
  });
});
