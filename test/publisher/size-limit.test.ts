/**
 * TUF clients refuse a bin-n over 5,000,000 bytes (python-tuf and tuf-js
 * defaults): a change that would push one past it is refused and changes nothing.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN_ENVELOPE_BYTES, CLIENT_MAX_BYTES, entryBytes } from "../../src/publisher/client-limits.js";
import { SuccinctRoles } from "../../src/tuf/index.js";
import { adminHeaders, bootstrap, expectError, fetchWorker, getStatus, metadataKeys, postArtifacts, repoState } from "../http/helpers.js";

const succinct = new SuccinctRoles([], 1, 1, "bin");
const hashes = { sha256: "e".repeat(64) };

/** Long paths (under the 820-byte cap, MAX_TARGET_PATH_BYTES) that all land in bin-0. */
function pathsInBin0(count: number, from = 0): string[] {
  const out: string[] = [];
  for (let i = from; out.length < count; i++) {
    const path = `packages/big/${"x".repeat(780)}-${i}.tar.gz`;
    if (succinct.binIndexFor(path) === 0) out.push(path);
  }
  return out;
}

describe("the clients' bin-n size limit", () => {
  let spare: string;
  beforeAll(async () => {
    await bootstrap(1);
    // Fill bin-0 to within one entry of the limit, through the bulk import.
    const paths: string[] = [];
    let total = 0;
    for (const path of pathsInBin0(8_000)) {
      const size = entryBytes(path, 1, hashes);
      if (total + size + BIN_ENVELOPE_BYTES > CLIENT_MAX_BYTES.targets) {
        spare = path;
        break;
      }
      total += size;
      paths.push(path);
    }
    const body = paths.map((path) => JSON.stringify({ path, length: 1, hashes })).join("\n");
    const res = await fetchWorker("/api/v1/imports/fill/lines", { method: "POST", headers: adminHeaders, body });
    expect(res.status, await res.clone().text()).toBe(200);
    await fetchWorker("/api/v1/imports/fill/publish", { method: "POST", headers: adminHeaders });
    const stub = env.PUBLISHER.getByName(env.REPOSITORY);
    while ((await (await fetchWorker("/api/v1/imports/fill", { headers: adminHeaders })).json<{ state: string }>()).state !== "published")
      await runDurableObjectAlarm(stub);
  }, 120_000);

  it("warns in /api/v1/status once a bin passes 80% of it", async () => {
    const { warnings } = (await getStatus()) as unknown as { warnings: string[] };
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^bin-0 lists about \d+ bytes, 100% of the 5000000 bytes TUF clients download by default/);
  });

  it("publishes a bin-n just under it that clients accept", async () => {
    // bin-0 was signed by the import's publish, at timestamp version 2
    const bin = await fetchWorker("/metadata/2.bin-0.json", { headers: { "accept-encoding": "identity" } });
    expect(bin.status).toBe(200);
    const bytes = (await bin.arrayBuffer()).byteLength;
    expect(bytes).toBeLessThanOrEqual(CLIENT_MAX_BYTES.targets);
    expect(bytes).toBeGreaterThan(CLIENT_MAX_BYTES.targets - 2 * entryBytes(spare, 1, hashes) - BIN_ENVELOPE_BYTES);
  });

  it("refuses a change that would cross it, and changes nothing", async () => {
    const before = await repoState();
    const keys = await metadataKeys();
    const message = await expectError(await postArtifacts({ add: [{ path: spare, length: 1, hashes }] }, { query: "?wait=true" }), 422, "role_too_large");
    expect(message).toMatch(/^bin-0 would be \d+ bytes, over the 5000000 bytes TUF clients download by default; see "A bin is nearly full" in docs\/operations.md$/);
    expect(await repoState()).toEqual(before);
    expect(await metadataKeys()).toEqual(keys);
    // The other bin still takes changes.
    let other = 0;
    while (succinct.binIndexFor(`packages/small/ok-${other}.tar.gz`) !== 1) other++;
    const res = await postArtifacts({ add: [{ path: `packages/small/ok-${other}.tar.gz`, length: 1, hashes }] }, { query: "?wait=true" });
    expect(res.status, await res.text()).toBe(200);
  });

  it("refuses an import chunk that would cross it, staging nothing", async () => {
    const before = await repoState();
    await expectError(
      await fetchWorker("/api/v1/imports/more/lines", { method: "POST", headers: adminHeaders, body: JSON.stringify({ path: spare, length: 1, hashes }) }),
      422,
      "role_too_large",
    );
    expect(await repoState()).toEqual(before);
  });
});
