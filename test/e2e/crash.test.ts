/**
 * Real crashes: workerd is SIGKILLed while the Publisher stands at a named step of a publish
 * (src/publisher/crash-point.ts), then started again on the same persisted R2 and SQLite state.
 * Recovery comes either from the Durable Object's alarm alone (the test sends nothing that
 * publishes and waits) or from the next request alone (the crash point deletes the alarm, and the
 * test first shows that nothing moves for longer than the alarm's retry delay). No test calls renew().
 *
 * After each recovery: every acknowledged change is in its bin by content, no metadata name and
 * no timestamp version ever had two bodies in R2 (so every rewrite under a reserved version was
 * byte-identical), and fresh unmodified tuf-js and python-tuf clients verify the repository.
 * In the next-request runs, both clients also verify the state left at the crash, before recovery.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Metadata, Root } from "../../src/tuf/index.js";
import type { CrashStep } from "../../src/publisher/crash-point.js";
import { ADMIN_TOKEN } from "../fixtures/ceremony.js";
import { artifact, CrashRepo } from "./crash-harness.js";

/** Longer than the alarm's retry delay (RETRY_MS, 2 s): if nothing moved by then, no alarm is coming. */
const NO_ALARM_MS = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let repo: CrashRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

type Recovery = "alarm" | "request";

/** A bootstrapped repository with one published artifact, restarted with the Publisher set to stop at `step`. */
async function armed(step: CrashStep, recovery: Recovery, options: { bitLength?: number; vars?: Record<string, string> } = {}) {
  repo = await CrashRepo.start(options);
  expect((await repo.bootstrap()).status).toBe(201);
  const first = artifact();
  expect((await repo.publish({ add: [first] }, "?wait=true")).status).toBe(200);
  await repo.recordR2();
  await repo.worker.kill();
  await repo.boot(recovery === "alarm" ? step : `${step},no-alarm`);
  return { repo, first };
}

/** After the crash and restart: let the alarm finish the publish, or show that only the next request does. */
async function recover(r: CrashRepo, recovery: Recovery): Promise<void> {
  if (recovery === "alarm") {
    await r.settled();
    return;
  }
  await sleep(NO_ALARM_MS);
  expect((await r.status()).publishing, "no alarm resumed the publish").toBe(true);
  await r.check({ content: false }); // what a client sees at the crash already verifies
  expect((await r.publish({ add: [artifact()] }, "?wait=true")).status).toBe(200);
  await r.settled();
}

const PUBLISH_STEPS: CrashStep[] = ["after-begin", "bins-partial", "after-snapshot", "after-timestamp"];

describe.each<Recovery>(["alarm", "request"])("a publish crashed by SIGKILL, recovered by the %s", (recovery) => {
  // One repository through every step in turn: each crash lands on the state the previous recovery left.
  let r: CrashRepo;
  let live: string;
  beforeAll(async () => {
    r = await CrashRepo.start();
    expect((await r.bootstrap()).status).toBe(201);
    const first = artifact();
    expect((await r.publish({ add: [first] }, "?wait=true")).status).toBe(200);
    live = first.path;
  });
  afterAll(() => r?.close());

  it.each(PUBLISH_STEPS)("%s", async (step) => {
    await r.recordR2();
    await r.worker.kill();
    await r.boot(recovery === "alarm" ? step : `${step},no-alarm`);
    const reached = r.crashPointReached();
    // Acknowledged (202) before the publish runs: durable in SQLite, then the Publisher stops at `step`.
    const [add, other] = [artifact(), artifact()];
    expect((await r.publish({ add: [add, other], remove: [live] })).status).toBe(202);
    live = add.path;
    await reached;
    await r.crashAndRestart();
    await recover(r, recovery);
    await r.check();
  });
});

describe("bootstrap crashed by SIGKILL", () => {
  it("with half of 512 bins written, is finished by the alarm", async () => {
    repo = await CrashRepo.start({ bitLength: 9 });
    await repo.worker.kill();
    await repo.boot("bins-partial");
    const reached = repo.crashPointReached();
    repo.bootstrap().catch(() => undefined); // never answered: workerd dies under it
    await reached;
    await repo.crashAndRestart();
    await repo.settled();
    await repo.check();
  }, 240_000);

  it("after the snapshot, is finished by the next request", async () => {
    repo = await CrashRepo.start();
    await repo.worker.kill();
    await repo.boot("after-snapshot,no-alarm");
    const reached = repo.crashPointReached();
    repo.bootstrap().catch(() => undefined);
    await reached;
    await repo.crashAndRestart();
    await sleep(NO_ALARM_MS);
    expect((await repo.status()).publishing).toBe(true);
    expect((await repo.bootstrap()).status).toBe(409); // the reservation stands; nothing is signed twice
    expect((await repo.publish({ add: [artifact()] }, "?wait=true")).status).toBe(200);
    await repo.check();
  });
});

describe.each<[CrashStep, Recovery]>([
  ["after-timestamp", "alarm"],
  ["after-root", "request"],
])("a root update crashed by SIGKILL at %s, recovered by the %s", (step, recovery) => {
  it("publishes root v2 last and verifies", async () => {
    const { repo: r } = await armed(step, recovery);
    const root1 = Metadata.fromJSON("root", r.ceremony.root).signed;
    let root2 = new Metadata(new Root({ version: 2, expires: root1.expires }, root1.keys, root1.roles, true));
    for (const s of r.ceremony.signers.root.slice(0, 2)) root2 = await root2.sign(s);
    const reached = r.crashPointReached();
    r.post("/api/v1/metadata", { root: root2.toJSON() }, { authorization: `Bearer ${ADMIN_TOKEN}` }).catch(() => undefined);
    await reached;
    const atCrash = await r.keys();
    expect(atCrash.includes("metadata/2.root.json")).toBe(step === "after-root");
    await r.crashAndRestart();
    await recover(r, recovery);
    expect(await r.keys()).toContain("metadata/2.root.json");
    await r.check();
  });
});

describe("the retention sweep crashed by SIGKILL", () => {
  it("between the R2 delete and its SQLite record, is finished by the next cron run", async () => {
    const { repo: r } = await armed("sweep", "alarm", { vars: { RETENTION_SECONDS: "0", TIMESTAMP_MAX_AGE: "0" } });
    for (let i = 0; i < 2; i++) expect((await r.publish({ add: [artifact()] }, "?wait=true")).status).toBe(200);
    const snapshots = (keys: string[]) => keys.filter((k) => /^metadata\/\d+\.snapshot\.json$/.test(k));
    expect(snapshots(await r.keys()).length).toBeGreaterThan(1);
    const reached = r.crashPointReached();
    r.worker.scheduled().catch(() => undefined); // the Worker's real scheduled handler
    await reached;
    await r.crashAndRestart();
    await r.worker.scheduled();
    const current = (await r.status()).roles as unknown as { snapshot: { version: number } };
    expect(snapshots(await r.keys())).toEqual([`metadata/${current.snapshot.version}.snapshot.json`]);
    await r.check();
  });
});
