/**
 * A bad [vars] combination on a running Worker: reported by /healthz and
 * /api/v1/status, writes refused with a named 503, reads still served; fixing
 * the setting recovers everything.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/tuf/index.js";
import { startRepo, type Repo } from "./harness.js";

describe("RENEW_FLOOR_HOURS too close to ONLINE_EXPIRY_HOURS", () => {
  let repo: Repo;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 3 });
    await repo.worker.setBindings({ RENEW_FLOOR_HOURS: "23.5" });
  });
  afterAll(async () => repo?.close());

  it("is named by /healthz and /api/v1/status, refuses writes with 503 config_invalid, and keeps serving", async () => {
    const problem = "RENEW_FLOOR_HOURS (23.5) must be more than 1.08 h below ONLINE_EXPIRY_HOURS (24)";
    const health = await fetch(`${repo.worker.url}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { problems: string[] }).problems.some((p) => p.startsWith(problem))).toBe(true);

    const status = await fetch(`${repo.worker.url}/api/v1/status`);
    expect(status.status).toBe(200);
    const view = (await status.json()) as { ok: boolean; problems: string[]; roles: { timestamp: { version: number } } };
    expect(view.ok).toBe(false);
    expect(view.problems.some((p) => p.startsWith(problem))).toBe(true);
    expect(view.roles.timestamp.version).toBe(1);

    expect((await fetch(`${repo.worker.url}/metadata/timestamp.json`)).status).toBe(200);
    const change = { add: [{ path: "packages/a/a-1.tar.gz", length: 1, hashes: { sha256: toHex(new Uint8Array(32)) } }] };
    const refused = await repo.publish(change);
    expect(refused.status).toBe(503);
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("config_invalid");
    expect(error.message).toContain(problem);
    await repo.worker.scheduled(); // the cron does not throw either

    await repo.worker.setBindings({ RENEW_FLOOR_HOURS: "18" });
    expect((await fetch(`${repo.worker.url}/healthz`)).status).toBe(200);
    expect((await repo.publish(change)).status).toBe(200);
  });
});
