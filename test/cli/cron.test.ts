/** The local cron of tuf-edge dev (scripts/cli/cron.ts): wrangler.toml's schedules, in UTC. */
import { describe, expect, it } from "vitest";
import { cronsOf, nextFire, parseCron } from "../../scripts/cli/cron.js";

const at = (iso: string) => new Date(iso);

describe("cron schedules", () => {
  it("reads wrangler.toml's crons", () => {
    expect(cronsOf("wrangler.toml")).toEqual(["*/5 * * * *"]);
  });

  it.each([
    ["*/5 * * * *", "2026-01-01T00:03:10Z", "2026-01-01T00:05:00.000Z"],
    ["*/5 * * * *", "2026-01-01T00:05:00Z", "2026-01-01T00:10:00.000Z"],
    ["* * * * *", "2026-01-01T00:03:10Z", "2026-01-01T00:04:00.000Z"],
    ["0 3 * * *", "2026-01-01T04:00:00Z", "2026-01-02T03:00:00.000Z"],
    ["15,45 * * * *", "2026-01-01T00:20:00Z", "2026-01-01T00:45:00.000Z"],
    ["0 0 * * 1", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00.000Z"],
  ])("%s after %s fires at %s", (expression, after, next) => {
    expect(nextFire(parseCron(expression), at(after)).toISOString()).toBe(next);
  });

  it.each([["* * * *"], ["61 * * * *"], ["@daily"], ["*/0 * * * *"]])("refuses %s", (expression) => {
    expect(() => parseCron(expression)).toThrow(/cron/);
  });
});
