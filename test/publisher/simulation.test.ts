/**
 * Simulated days of one repository at bit_length 10 (1,024 bins), on a clock
 * the test controls: the cron every 5 minutes (`renew(now)`), random uploads
 * and removes between ticks, and one 6-hour outage with neither.
 *
 * How many days: VITE_SIM_DAYS (Vite passes VITE_* variables into workerd).
 * The default, 2 days, runs in about 40 s and still covers bootstrap, the
 * steady state, the outage and the renewals in the 24 hours after it.
 * `VITE_SIM_DAYS=30 npx vitest run --project workers test/publisher/simulation.test.ts`
 * is the full month, with the outage on day 11: about 14 minutes.
 *
 * After every publish the state in R2 is read the way a client reads it
 * (src/client's Updater over R2, TUF spec 5) and held to the renewal policy:
 *
 *   property                                  checked
 *   ---------------------------------------   -------------------------------------------------
 *   the repository verifies                   after every upload and every tick, warm (from the
 *                                             previous state); every 6 simulated hours, right after
 *                                             the outage and at the end also from the root alone
 *   the floor holds at each publish           timestamp, snapshot and every bin-n
 *   renewal stays bounded                     bins re-signed per tick <= binsPerRun, plus the
 *                                             overdue backlog on the first tick after the outage
 *   a tick publishes exactly when work is due every tick
 *   R2 holds the retention window, no more    every simulated hour (one listing of metadata/)
 *   the retention window is kept              every simulated hour: every file of the current
 *                                             state and of the state of 1 h ago is in R2
 *
 * Each property collects its violations during the one run, so a failure in
 * one does not hide the others; the simulation stops only when the repository
 * can't be read at all.
 *
 * Runtime: a publish makes ~19 R2 puts, and a local R2 put takes 1.5-2.7 ms,
 * so the Publisher alone needs ~35-45 ms per tick (500 s of the 30 days).
 * The checks are kept cheap: a warm check fetches and verifies only what changed, and the
 * check from the root alone reuses bytes whose R2 etag did not change.
 *
 * Not here: an unmodified tuf-js client refreshing every 6 simulated hours and
 * right after the outage. tuf-js needs Node, and this file runs in workerd;
 * test/e2e covers tuf-js against a real Worker.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { Metadata, type Targets } from "../../src/tuf/index.js";
import { fromR2, type MetadataReader } from "../../src/publisher/r2-fetcher.js";
import { R2Keys } from "../../src/publisher/r2-keys.js";
import { binsPerRun, DEFAULT_POLICY, isDue, isOverdue } from "../../src/publisher/policy.js";
import type { Change, PublishResult, SubmitResult } from "../../src/publisher/types.js";
import { readMetadata } from "../../src/publisher/at-rest.js";
import { makeCeremony } from "../fixtures/ceremony.js";
import { Rng } from "../tuf/helpers.js";
import { ServedClient, type ServedState } from "./served.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const BIT_LENGTH = 10;
const NUMBER_OF_BINS = 2 ** BIT_LENGTH;
const DAYS = Number((import.meta as ImportMeta & { env?: Record<string, string | undefined> }).env?.VITE_SIM_DAYS ?? 2);
const TICK = DEFAULT_POLICY.intervalMs;
/** The cron stops for 6 hours a little over a third into the run (day 11 of 30); no uploads arrive either. */
const OUTAGE = { from: Math.floor(DAYS * 24 * 0.37) * HOUR + 25 * MINUTE, length: 6 * HOUR };
/** How often R2 is listed (object count, retention), and how often the repository is checked from the root alone. */
const LIST_EVERY = HOUR;
const FULL_CHECK_EVERY = 6 * HOUR;
/** Violations kept per property: enough to see the pattern. */
const KEEP = 20;
const SEED = 458;

const stub = () => env.PUBLISHER.getByName(env.REPOSITORY);

/** Clients read `default/metadata/NAME`; so does the check. Nothing is cached, so a swept file would show. */
const served: MetadataReader = fromR2(env.BUCKET, new R2Keys("default"));

type Property = "verifies" | "floor" | "renewal_bound" | "no_op" | "object_count" | "retention" | "uploads";

interface Simulation {
  ticks: number;
  plannedTicks: number;
  publishes: number;
  uploads: number;
  fullChecks: number;
  violations: Record<Property, string[]>;
  /** Counts per property, as `violations` keeps only the first few. */
  counts: Record<Property, number>;
  most: { renewedPerTick: number; objects: number; objectBound: number };
  ms: { total: number; publisher: number; warmChecks: number; fullChecks: number; listing: number };
  stoppedAt?: string;
}

/** The bin-n of a state (every targets role but targets and bins), by name. */
function binRoles(state: ServedState): Map<string, Targets> {
  const bins = new Map(state.targets);
  bins.delete("targets");
  bins.delete("bins");
  return bins;
}

/** Bins whose version differs between two states. */
function changedBins(before: ServedState, after: ServedState): Set<string> {
  const changed = new Set<string>();
  const was = binRoles(before);
  for (const [role, targets] of binRoles(after)) if (was.get(role)?.version !== targets.version) changed.add(role);
  return changed;
}

/** The online role with the least validity left at `now`. */
function leastLeft(state: ServedState, now: number): { role: string; version: number; left: number } {
  const online: Array<[string, { version: number; expires: Date }]> = [
    ["timestamp", state.timestamp],
    ["snapshot", state.snapshot],
    ...binRoles(state),
  ];
  let least = { role: "", version: 0, left: Infinity };
  for (const [role, signed] of online) {
    const left = signed.expires.getTime() - now;
    if (left < least.left) least = { role, version: signed.version, left };
  }
  return least;
}

/** Whether renew(now) has anything to do on this state (policy.ts): a due bin, or a due timestamp or snapshot. */
function anythingDue(state: ServedState, now: number): boolean {
  const roles = [state.timestamp, state.snapshot, ...binRoles(state).values()];
  return roles.some((signed) => isDue(signed.expires.getTime(), now, DEFAULT_POLICY));
}

/** Every metadata object in R2: name (without "default/metadata/") → etag. */
async function listMetadata(): Promise<Map<string, string>> {
  const listed = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ prefix: "default/metadata/", cursor, limit: 1000 });
    for (const object of page.objects) listed.set(object.key.slice("default/metadata/".length), object.etag);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return listed;
}

/** The file names a client may fetch for a state: its root, timestamp.json, snapshot and every targets role. */
function filesOf(state: ServedState): string[] {
  return [
    `${state.root.version}.root.json`,
    "timestamp.json",
    `${state.snapshot.version}.snapshot.json`,
    ...[...state.targets].map(([role, targets]) => `${targets.version}.${role}.json`),
  ];
}

/**
 * Reads R2 as a client would, but reuses the bytes of an object whose etag is
 * unchanged since the last read: the listing says what exists and what changed.
 */
function etagCachedFetcher(): { fetchWith(listing: Map<string, string>): MetadataReader } {
  const cache = new Map<string, { etag: string; bytes: Uint8Array }>();
  return {
    fetchWith(listing) {
      for (const name of cache.keys()) if (!listing.has(name)) cache.delete(name);
      return async (name) => {
        const etag = listing.get(name);
        if (etag === undefined) return undefined;
        const hit = cache.get(name);
        if (hit?.etag === etag) return hit.bytes;
        const bytes = await readMetadata(env.BUCKET, `default/metadata/${name}`);
        if (!bytes) return undefined;
        cache.set(name, { etag, bytes });
        return bytes;
      };
    },
  };
}

const hours = (ms: number) => `${(ms / HOUR).toFixed(2)} h`;
/** "d11 09:30": days and time since the start of the simulation. */
const day = (t: number, start: number) => {
  const since = t - start;
  const hh = String(Math.floor((since % DAY) / HOUR)).padStart(2, "0");
  const mm = String(Math.floor((since % HOUR) / MINUTE)).padStart(2, "0");
  return `d${Math.floor(since / DAY)} ${hh}:${mm}`;
};

async function simulate(): Promise<Simulation> {
  const began = performance.now();
  const rng = new Rng(SEED);
  const policy = DEFAULT_POLICY;
  const bound = binsPerRun(NUMBER_OF_BINS, policy);
  // Ahead of the real clock, so that no alarm the Publisher sets (real time) fires during the run.
  const start = Math.ceil((Date.now() + DAY) / HOUR) * HOUR;
  const end = start + DAYS * DAY;
  const inOutage = (t: number) => t >= start + OUTAGE.from && t < start + OUTAGE.from + OUTAGE.length;

  const sim: Simulation = {
    ticks: 0,
    plannedTicks: 0,
    publishes: 0,
    uploads: 0,
    fullChecks: 0,
    violations: { verifies: [], floor: [], renewal_bound: [], no_op: [], object_count: [], retention: [], uploads: [] },
    counts: { verifies: 0, floor: 0, renewal_bound: 0, no_op: 0, object_count: 0, retention: 0, uploads: 0 },
    most: { renewedPerTick: 0, objects: 0, objectBound: 0 },
    ms: { total: 0, publisher: 0, warmChecks: 0, fullChecks: 0, listing: 0 },
  };
  const violation = (property: Property, message: string) => {
    sim.counts[property]++;
    if (sim.violations[property].length < KEEP) sim.violations[property].push(message);
  };
  const timed = async <T>(bucket: keyof Simulation["ms"], work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      sim.ms[bucket] += performance.now() - t0;
    }
  };

  // The ceremony's offline roles expire in a year: they outlive the run.
  const ceremony = await makeCeremony({ bitLength: BIT_LENGTH, now: start });
  const trustedRoot = Metadata.fromJSON("root", ceremony.root);
  const boot = await stub().bootstrap(
    { root: JSON.stringify(ceremony.root), targets: JSON.stringify(ceremony.targets), bins: JSON.stringify(ceremony.bins) },
    start,
  );
  expect(boot).toMatchObject({ status: "bootstrapped", bins: NUMBER_OF_BINS });

  // Warm checks are two clients that keep what they trusted: one refreshes after every upload, one at every tick.
  const uploadClient = new ServedClient(trustedRoot, served);
  const tickClient = new ServedClient(trustedRoot, served);
  const check = (client: ServedClient | undefined, now: number) =>
    timed(client ? "warmChecks" : "fullChecks", () => (client ? client.checkChanged(new Date(now)) : new ServedClient(trustedRoot, served).check(new Date(now))));
  const cachedR2 = etagCachedFetcher();

  /** The floor, at a publish made at `now`. */
  const expectFloor = (state: ServedState, now: number, what: string) => {
    const least = leastLeft(state, now);
    if (least.left < policy.floorMs)
      violation("floor", `${what} at ${day(now, start)}: ${least.role} v${least.version} has ${hours(least.left)} left, floor ${hours(policy.floorMs)}`);
  };

  /** Every publish as the checks saw it: when, how many snapshot versions, how many bins re-signed. */
  const publishes: Array<{ at: number; snapshots: number; bins: number }> = [];
  const recordPublish = (before: ServedState, after: ServedState, at: number) => {
    const snapshots = after.snapshot.version - before.snapshot.version;
    if (snapshots > 0) publishes.push({ at, snapshots, bins: changedBins(before, after).size });
    sim.publishes += snapshots;
  };

  let latest = await check(tickClient, start);
  await check(uploadClient, start);
  expectFloor(latest, start, "bootstrap");
  let tickState = latest;
  /** Tick states of the last hour and a bit, for the retention check. */
  const recent: Array<{ at: number; state: ServedState }> = [{ at: start, state: latest }];
  const listed = new Map<string, string>(); // path → sha256 of the version listed
  const succinct = latest.targets.get("bins")!.delegations!.succinctRoles!;
  let uploadSeq = 0;
  let wasInOutage = false;

  for (let t = start + TICK; t <= end; t += TICK) {
    sim.plannedTicks++;
    if (inOutage(t)) {
      wasInOutage = true;
      continue;
    }
    const firstAfterOutage = wasInOutage;
    wasInOutage = false;
    const where = day(t, start);

    // ---- uploads between the previous tick and this one (none during the outage) ----
    const touched = new Set<string>();
    if (!firstAfterOutage) {
      // About one interval in four has an upload: enough interplay with renewal, and each costs a publish.
      const uploads = rng.chance(0.2) ? 1 : rng.chance(0.05) ? 2 : 0;
      const offsets = Array.from({ length: uploads }, () => 1 + rng.int(TICK - 1)).sort((a, b) => a - b);
      for (const offset of offsets) {
        const at = t - TICK + offset;
        const changes: Change[] = [];
        for (let i = rng.range(1, 4); i > 0; i--) {
          const existing = [...listed.keys()];
          if (existing.length > 0 && rng.chance(0.3)) {
            const path = rng.pick(existing);
            if (changes.some((c) => c.path === path)) continue;
            changes.push({ op: "remove", path });
          } else {
            const path = `packages/${rng.int(1e9).toString(36)}/pkg-${uploadSeq}-${i}.tar.gz`;
            const sha256 = (rng.int(2 ** 32).toString(16).padStart(8, "0") + String(uploadSeq).padStart(8, "0")).repeat(4);
            changes.push({ op: "add", path, length: rng.range(1, 1e7), hashes: { sha256 } });
          }
        }
        // wait: the publish is done when submit returns, so the state read next is the one it made.
        const result: SubmitResult = await timed("publisher", async () =>
          stub().submit({ changes, bodySha256: `simulation-${uploadSeq++}`, wait: true }, at),
        );
        sim.uploads++;
        if (result.status !== "published") {
          violation("uploads", `upload at ${day(at, start)} was ${result.status}`);
          continue;
        }
        let after: ServedState;
        try {
          after = await check(uploadClient, at);
        } catch (e) {
          violation("verifies", `after the upload at ${day(at, start)}: ${(e as Error).message}`);
          sim.stoppedAt = day(at, start);
          return finish();
        }
        recordPublish(latest, after, at);
        expectFloor(after, at, "upload publish");
        for (const change of changes) {
          const bin = succinct.succinctBinFor(change.path);
          touched.add(bin);
          const entry = after.targets.get(bin)?.targets[change.path];
          if (change.op === "add") {
            if (entry?.hashes.sha256 !== change.hashes.sha256) violation("uploads", `${change.path} is not listed in ${bin} after its upload`);
            listed.set(change.path, change.hashes.sha256!);
          } else {
            if (entry) violation("uploads", `${change.path} is still listed in ${bin} after its removal`);
            listed.delete(change.path);
          }
        }
        latest = after;
      }
    }

    // ---- the cron tick ----
    const due = anythingDue(latest, t);
    const overdueBacklog = [...binRoles(latest).values()].filter((b) => isOverdue(b.expires.getTime(), t, policy)).length;
    const renewal: PublishResult = await timed("publisher", async () => stub().renew(t));
    let after: ServedState;
    try {
      // Warm: a client that last refreshed at the previous tick.
      after = await check(tickClient, t);
    } catch (e) {
      violation("verifies", `tick at ${where}: ${(e as Error).message}`);
      sim.stoppedAt = where;
      return finish();
    }
    sim.ticks++;
    const published = after.timestamp.version !== latest.timestamp.version;
    if (renewal.status === "published" !== published)
      violation("no_op", `tick at ${where}: renew() said ${renewal.status}, timestamp v${latest.timestamp.version} → v${after.timestamp.version}`);
    if (!due && published) violation("no_op", `tick at ${where}: nothing was due, yet timestamp v${after.timestamp.version} was published`);
    if (due && !published) violation("no_op", `tick at ${where}: something was due, yet nothing was published`);
    // One renew() may publish several times (the timestamp jumps by more than one); the check
    // sees the last of them, and the floor is asserted on it.
    if (published) {
      recordPublish(latest, after, t);
      expectFloor(after, t, "renewal publish");
    }

    // Renewal since the previous tick: re-signed bins that no upload touched.
    const renewed = [...changedBins(tickState, after)].filter((bin) => !touched.has(bin)).length;
    sim.most.renewedPerTick = Math.max(sim.most.renewedPerTick, renewed);
    const allowed = bound + (firstAfterOutage ? overdueBacklog : 0);
    if (renewed > allowed)
      violation(
        "renewal_bound",
        `tick at ${where}${firstAfterOutage ? " (first after the outage)" : ""}: ${renewed} bins re-signed, bound ${bound}` +
          (firstAfterOutage ? ` + ${overdueBacklog} overdue` : "") +
          `, timestamp v${latest.timestamp.version} → v${after.timestamp.version}`,
      );

    // ---- every simulated hour: what R2 holds ----
    if ((t - start) % LIST_EVERY === 0) {
      const listing = await timed("listing", listMetadata);

      // Superseded files stay for the retention window after the publish that superseded them, then go.
      const windowStart = t - policy.retentionMs;
      const retained = publishes.filter((p) => p.at > windowStart);
      const objectBound =
        NUMBER_OF_BINS + // the current bin-n
        5 + // timestamp.json, the current snapshot, targets, bins and 1.root.json
        retained.reduce((sum, p) => sum + p.bins + p.snapshots, 0); // what each retained publish superseded
      sim.most.objects = Math.max(sim.most.objects, listing.size);
      sim.most.objectBound = Math.max(sim.most.objectBound, objectBound);
      if (listing.size > objectBound)
        violation(
          "object_count",
          `${where}: ${listing.size} metadata objects in R2, bound ${objectBound} (${retained.length} publishes in the last ${hours(policy.retentionMs)})`,
        );

      // The current state is complete, and so is the state of an hour ago: a client that read
      // timestamp.json then can still finish its update (the retention window is 1 h + TIMESTAMP_MAX_AGE).
      const hourAgo = recent.find((r) => r.at === t - HOUR);
      for (const [when, state] of [["current", after], ["1 h ago", hourAgo?.state]] as const) {
        if (!state) continue;
        const missing = filesOf(state).filter((name) => !listing.has(name));
        if (missing.length > 0)
          violation("retention", `${where}: the state of ${when} lacks ${missing.length} files, e.g. ${missing.slice(0, 3).join(", ")}`);
      }

      // Every 6 hours, right after the outage and at the end: the whole repository from the root alone.
      if ((t - start) % FULL_CHECK_EVERY === 0 || firstAfterOutage || t + TICK > end) {
        sim.fullChecks++;
        try {
          const fresh = await timed("fullChecks", () =>
            new ServedClient(trustedRoot, cachedR2.fetchWith(listing)).check(new Date(t)),
          );
          if (fresh.timestamp.version !== after.timestamp.version || fresh.targets.size !== after.targets.size)
            violation("verifies", `${where}: the check from the root saw timestamp v${fresh.timestamp.version}, the warm one v${after.timestamp.version}`);
        } catch (e) {
          violation("verifies", `check from the root at ${where}: ${(e as Error).message}`);
        }
      }
    } else if (firstAfterOutage) {
      sim.fullChecks++;
      try {
        await check(undefined, t);
      } catch (e) {
        violation("verifies", `check from the root at ${where} (first tick after the outage): ${(e as Error).message}`);
      }
    }

    latest = tickState = after;
    recent.push({ at: t, state: after });
    while (recent[0]!.at < t - HOUR) recent.shift();
  }
  return finish();

  function finish(): Simulation {
    sim.ms.total = performance.now() - began;
    return sim;
  }
}

describe(`${DAYS} simulated days at bit_length ${BIT_LENGTH}: cron every 5 minutes, uploads, one 6-hour outage`, () => {
  let sim: Simulation;
  beforeAll(async () => {
    // The Publisher logs every publish; 10,000 lines of it would drown the report.
    const quiet = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      sim = await simulate();
    } finally {
      quiet.mockRestore();
    }
    const round = (ms: number) => Math.round(ms);
    console.log(
      JSON.stringify({
        ticks: sim.ticks,
        publishes: sim.publishes,
        uploads: sim.uploads,
        fullChecks: sim.fullChecks,
        most: sim.most,
        violations: sim.counts,
        ms: Object.fromEntries(Object.entries(sim.ms).map(([k, v]) => [k, round(v)])),
      }),
    );
  }, DAYS * 40_000 + 60_000);

  it("runs every tick but the outage's", () => {
    expect(sim.stoppedAt, "the repository could not be read").toBeUndefined();
    expect(sim.ticks).toBe(sim.plannedTicks - OUTAGE.length / TICK);
  });

  it("checks the per-run bound the README states: twice 2^bit_length / 60, rounded up (5 min of a 5 h renewal period)", () => {
    expect(binsPerRun(NUMBER_OF_BINS, DEFAULT_POLICY)).toBe(2 * Math.ceil(NUMBER_OF_BINS / 60));
  });

  // One row per property; each lists its first violations.
  it.each([
    ["verifies", "every published state passes src/client's Updater, warm and from the root alone"],
    ["uploads", "every upload is published and listed in its bin (or gone, for a remove)"],
    ["floor", "no online role is published with less than the floor left, even right after the outage"],
    ["renewal_bound", "a tick re-signs at most binsPerRun bins, plus the overdue backlog on the first tick after the outage"],
    ["no_op", "a tick publishes exactly when something is due"],
    ["object_count", "R2 holds the current state plus what the retention window keeps, no more"],
    ["retention", "the current state, and the state of an hour ago, are complete in R2"],
  ] as const)("%s: %s", (property, _claim) => {
    expect(sim.violations[property], `${sim.counts[property]} violations`).toEqual([]);
  });
});
