/** What /healthz calls a problem (src/publisher/health.ts) and which settings are invalid (src/publisher/config.ts). */
import { describe, expect, it } from "vitest";
import { settingsFromEnv } from "../../src/publisher/config.js";
import { FAILING_AFTER_ATTEMPTS, healthProblems, type HealthInput } from "../../src/publisher/health.js";

const SEED = "07".repeat(32);
const role = (version: number, secondsLeft: number) => ({ version, expires: "2026-01-01T00:00:00.000Z", seconds_left: secondsLeft });
const DAY = 86_400;

function input(over: Partial<HealthInput> = {}): HealthInput {
  return {
    served: {
      roles: { timestamp: role(5, 20 * 3600), snapshot: role(5, 20 * 3600), oldest_bin: { role: "bin-3", ...role(2, 19 * 3600) }, bins: role(1, 300 * DAY), targets: role(1, 300 * DAY), root: role(1, 300 * DAY) },
      last_publish: "2026-01-01T00:00:00.000Z",
    },
    inFlight: null,
    failing: null,
    oldestQueuedSeconds: null,
    ...over,
  };
}

const inFlight = (seconds: number, oldest: number | null = null) => ({ timestamp: 6, snapshot: 6, bins: 1, reason: "artifacts", since: "2026-01-01T00:00:00.000Z", seconds, oldest_change_seconds: oldest });
const settings = settingsFromEnv({ ONLINE_KEY: SEED, QUEUE_STUCK_SECONDS: "300" });

describe("healthProblems", () => {
  it("is empty for a healthy repository, and for a publish in flight that has not failed or stuck yet", () => {
    expect(healthProblems(input(), settings)).toEqual([]);
    expect(healthProblems(input({ inFlight: inFlight(10, 10) }), settings)).toEqual([]);
  });

  it("names a served role below the floor", () => {
    const low = input();
    low.served.roles.timestamp = role(5, 3600);
    expect(healthProblems(low, settings)).toEqual(["served timestamp v5 has 3600 s of validity left, below the 64800 s floor (RENEW_FLOOR_HOURS)"]);
  });

  it(`names a publish that failed ${FAILING_AFTER_ATTEMPTS} times in a row, with its error`, () => {
    const failing = { timestamp: 6, since: "2026-01-01T00:00:00.000Z", last_attempt: "2026-01-01T00:00:04.000Z", attempts: FAILING_AFTER_ATTEMPTS, error: "ONLINE_KEY is not the key root v4 names for timestamp" };
    expect(healthProblems(input({ inFlight: inFlight(4), failing: { ...failing, attempts: 1 } }), settings)).toEqual([]);
    expect(healthProblems(input({ inFlight: inFlight(4), failing }), settings)).toEqual([
      "publish of timestamp v6 failing since 2026-01-01T00:00:00.000Z (3 attempts): ONLINE_KEY is not the key root v4 names for timestamp",
    ]);
  });

  it("names a publish, a change inside it, or a queued change stuck past QUEUE_STUCK_SECONDS", () => {
    expect(healthProblems(input({ inFlight: inFlight(301) }), settings)).toEqual([
      "publish of timestamp v6 in flight since 2026-01-01T00:00:00.000Z, longer than QUEUE_STUCK_SECONDS (300 s)",
    ]);
    expect(healthProblems(input({ inFlight: inFlight(20, 400) }), settings)).toEqual([
      "a change in the publish of timestamp v6 has waited 400 s, longer than QUEUE_STUCK_SECONDS (300 s)",
    ]);
    expect(healthProblems(input({ oldestQueuedSeconds: 301 }), settings)).toEqual([
      "the oldest queued change has waited 301 s, longer than QUEUE_STUCK_SECONDS (300 s)",
    ]);
  });
});

describe("settingsFromEnv", () => {
  it("accepts wrangler.toml's defaults", () => {
    const s = settingsFromEnv({ ONLINE_KEY: SEED, ONLINE_EXPIRY_HOURS: "24", RENEW_FLOOR_HOURS: "18", RETENTION_SECONDS: "3600", TIMESTAMP_MAX_AGE: "60", QUEUE_STUCK_SECONDS: "300" });
    expect(s.problems).toEqual([]);
    expect(s.queueStuckSeconds).toBe(300);
  });

  it.each([
    [{ RENEW_FLOOR_HOURS: "23.5" }, "RENEW_FLOOR_HOURS (23.5) must be more than 1.08 h below ONLINE_EXPIRY_HOURS (24): renewal needs the cron interval plus 1 h of slack"],
    [{ ONLINE_EXPIRY_HOURS: "12" }, "RENEW_FLOOR_HOURS (18) must be more than 1.08 h below ONLINE_EXPIRY_HOURS (12): renewal needs the cron interval plus 1 h of slack"],
    [{ ONLINE_EXPIRY_HOURS: "a day" }, 'ONLINE_EXPIRY_HOURS is "a day", not a positive number of hours'],
    [{ QUEUE_STUCK_SECONDS: "-1" }, 'QUEUE_STUCK_SECONDS is "-1", not a number of seconds'],
    [{ ONLINE_KEY: "" }, "ONLINE_KEY is not set (wrangler secret put ONLINE_KEY; .dev.vars locally)"],
    [{ ONLINE_KEY: "not-hex" }, 'ONLINE_KEY is not a 64-hex-digit Ed25519 seed (the "seed" of a tuf-edge keygen .key file)'],
    [{ ONLINE_KEY_NEXT: "ab" }, 'ONLINE_KEY_NEXT is not a 64-hex-digit Ed25519 seed (the "seed" of a tuf-edge keygen .key file)'],
  ])("names %j", (vars, problem) => {
    expect(settingsFromEnv({ ONLINE_KEY: SEED, ...vars }).problems).toEqual([problem]);
  });

  it("never puts a secret's value in a problem", () => {
    const secret = "s3cr3t-online-seed";
    expect(settingsFromEnv({ ONLINE_KEY: secret }).problems.join(" ")).not.toContain(secret);
  });
});
