/**
 * The OpenAPI document at /api/v1/openapi.json: OpenAPI 3.1, generated from the
 * routes, describing every /api/v1 route; and a walk of representative calls to
 * every route (successes and each reachable error) whose every response must
 * have its status documented and validate against the documented schema.
 */
import { Validator } from "@cfworker/json-schema";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/http/app.js";
import { ALL_PATHS } from "../../src/publisher/offline.js";
import { DelegatedRole, Delegations, Metadata, Targets } from "../../src/tuf/index.js";
import { adminHeaders, bootstrapBody, fetchWorker, postArtifacts, postArtifactsRaw, postBootstrap } from "./helpers.js";
import { makeCeremony, type Ceremony } from "../fixtures/ceremony.js";

interface OpenAPIDoc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
  components?: object;
}

let doc: OpenAPIDoc;
const seen: string[] = [];

/** Checks `res` against the operation documented for `path` and `method`, and returns its JSON body. */
async function check(method: string, path: string, res: Response): Promise<unknown> {
  const op = doc.paths[path]?.[method.toLowerCase()];
  expect(op, `${method} ${path} is documented`).toBeDefined();
  const documented = op!.responses[String(res.status)];
  const text = await res.text();
  expect(documented, `${method} ${path} answered ${res.status}, which is not documented: ${text.slice(0, 200)}`).toBeDefined();
  const media = (res.headers.get("content-type") ?? "").split(";")[0]!;
  const schema = documented!.content?.[media]?.schema;
  expect(schema, `${method} ${path} ${res.status} documents ${media}`).toBeDefined();
  const body = JSON.parse(text) as unknown;
  const result = new Validator({ ...schema, components: doc.components } as never, "2020-12", false).validate(body);
  expect(result.errors.map((e) => `${e.instanceLocation}: ${e.error}`), `${method} ${path} ${res.status}: ${text.slice(0, 300)}`).toEqual([]);
  seen.push(`${method.toLowerCase()} ${path} ${res.status}`);
  return body;
}

const call = async (method: string, docPath: string, url: string, init: RequestInit = {}) =>
  check(method, docPath, await fetchWorker(url, { method, ...init }));

describe("OpenAPI", () => {
  let ceremony: Ceremony;

  beforeAll(async () => {
    const res = await fetchWorker("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenAPIDoc;
    ceremony = await makeCeremony({ bitLength: 3 });
  });

  it("is OpenAPI 3.1 and describes every /api/v1 route the app serves", () => {
    expect(doc.openapi).toBe("3.1.0");
    const routes = new Set(
      app.routes
        .filter((r) => r.path.startsWith("/api/v1/") && r.method !== "ALL")
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([a-z]+)(\{[^}]*\})?/gi, "{$1}")}`),
    );
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    expect([...routes].sort()).toEqual([...documented].sort());
  });

  it("validates every response of a walk through every route, errors included", async () => {
    await call("GET", "/api/v1/openapi.json", "/api/v1/openapi.json");
    await call("GET", "/api/v1/status", "/api/v1/status"); // 409 before bootstrap
    await call("GET", "/api/v1/log", "/api/v1/log?after=nope");
    await call("GET", "/api/v1/log", "/api/v1/log");
    const add = (path: string) => ({ add: [{ path, length: 3, hashes: { sha256: "a".repeat(64) } }] });
    await check("POST", "/api/v1/artifacts", await postArtifacts(add("early/early-1.whl")));
    await check("POST", "/api/v1/artifacts", await postArtifacts({ add: [] }));
    await check("POST", "/api/v1/artifacts", await postArtifactsRaw(JSON.stringify({ remove: ["x".repeat(1_100_000)] })));
    await call("PUT", "/api/v1/targets/{path}", "/api/v1/targets/files/early.txt", { headers: adminHeaders, body: "early" });
    await check("POST", "/api/v1/metadata", await fetchWorker("/api/v1/metadata", { method: "POST", headers: adminHeaders, body: JSON.stringify({ targets: ceremony.targets }) }));

    await check("POST", "/api/v1/bootstrap", await postBootstrap(bootstrapBody(ceremony), {}));
    await check("POST", "/api/v1/bootstrap", await postBootstrap("{nope"));
    await check("POST", "/api/v1/bootstrap", await postBootstrap(JSON.stringify({ root: ceremony.root })));
    await check("POST", "/api/v1/bootstrap", await postBootstrap(JSON.stringify({ ...JSON.parse(bootstrapBody(ceremony)), root: { ...ceremony.root, signatures: [] } })));
    await check("POST", "/api/v1/bootstrap", await postBootstrap(bootstrapBody(ceremony)));
    await check("POST", "/api/v1/bootstrap", await postBootstrap(bootstrapBody(ceremony)));

    await check("POST", "/api/v1/artifacts", await postArtifacts(add("a/a-1.whl"), { webhook: null }));
    await check("POST", "/api/v1/artifacts", await postArtifactsRaw("{nope"));
    await check("POST", "/api/v1/artifacts", await postArtifacts(add("../x")));
    await check("POST", "/api/v1/artifacts", await postArtifacts(add("a/a-1.whl"), { headers: { "idempotency-key": "" } }));
    await check("POST", "/api/v1/artifacts", await postArtifacts({ add: [{ path: "x", length: 1, hashes: { md5: "a".repeat(32) } }] }));
    const queued = (await check("POST", "/api/v1/artifacts", await postArtifacts(add("a/a-1.whl"), { headers: { "idempotency-key": "k1" } }))) as { receipt: string };
    await check("POST", "/api/v1/artifacts", await postArtifacts(add("a/a-2.whl"), { headers: { "idempotency-key": "k1" } }));
    await check("POST", "/api/v1/artifacts", await postArtifacts(add("b/b-1.whl"), { query: "?wait=true" }));
    await check("GET", "/api/v1/receipts/{id}", await fetchWorker(`/api/v1/receipts/${queued.receipt}`));
    await check("GET", "/api/v1/receipts/{id}", await fetchWorker("/api/v1/receipts/nope"));

    await call("PUT", "/api/v1/targets/{path}", "/api/v1/targets/files/hello.txt?wait=true", { headers: adminHeaders, body: "hello" });
    await call("PUT", "/api/v1/targets/{path}", "/api/v1/targets/files/queued.txt", { headers: adminHeaders, body: "later" });
    await call("PUT", "/api/v1/targets/{path}", "/api/v1/targets/files/x.txt", { body: "x" });
    await call("PUT", "/api/v1/targets/{path}", "/api/v1/targets/files/x.txt", { headers: { ...adminHeaders, "idempotency-key": "" }, body: "x" });
    await call("PUT", "/api/v1/targets/{path}", "/api/v1/targets/files/a%5Cb.txt", { headers: adminHeaders, body: "x" });

    const keys = ceremony.signers.targets.map((s) => s.key);
    const targets2 = new Metadata(new Targets({ version: 2, expires: new Date(Math.floor((Date.now() + 300 * 86_400_000) / 1000) * 1000) }, {},
      new Delegations(Object.fromEntries(keys.map((k) => [k.keyid, k])), [new DelegatedRole("bins", keys.map((k) => k.keyid), keys.length, false, undefined, ALL_PATHS)])));
    let signed = targets2;
    for (const s of ceremony.signers.targets) signed = await signed.sign(s);
    const postMetadata = (body: string, headers: Record<string, string> = adminHeaders) => fetchWorker("/api/v1/metadata", { method: "POST", headers, body });
    await check("POST", "/api/v1/metadata", await postMetadata(JSON.stringify({ targets: signed.toJSON() }), {}));
    await check("POST", "/api/v1/metadata", await postMetadata(JSON.stringify({ nope: 1 })));
    await check("POST", "/api/v1/metadata", await postMetadata(JSON.stringify({ targets: ceremony.targets })));
    await check("POST", "/api/v1/metadata", await postMetadata(JSON.stringify({ targets: signed.toJSON() })));

    await call("GET", "/api/v1/status", "/api/v1/status");
    await call("GET", "/api/v1/log", "/api/v1/log?after=0");

    // Every documented operation was called, and every documented status of it that a walk can reach.
    const operations = new Set(seen.map((s) => s.split(" ").slice(0, 2).join(" ")));
    expect([...operations].sort()).toEqual(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).sort());
    // Not reached here: 500 (no input causes one), metadata's 202 (a publish cut short), admin 413s (64 MiB bodies).
    const unreachable = new Set(["500", "post /api/v1/metadata 202", "post /api/v1/bootstrap 413", "post /api/v1/metadata 413", "put /api/v1/targets/{path} 413"]);
    const statuses = new Set(seen);
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops))
        for (const status of Object.keys(op.responses))
          if (!unreachable.has(status) && !unreachable.has(`${method} ${path} ${status}`))
            expect(statuses.has(`${method} ${path} ${status}`), `${method} ${path} ${status} is exercised`).toBe(true);
  }, 60_000);
});
