/**
 * The OpenAPI document at /api/v1/openapi.json: OpenAPI 3.1, generated from the
 * routes, describing every /api/v1 route; and a walk of representative calls to
 * every route (successes and each reachable error) whose every response must
 * have its status documented and validate against the documented schema.
 */
import { Validator } from "@cfworker/json-schema";
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/http/app.js";
import { ALL_PATHS } from "../../src/publisher/offline.js";
import { DelegatedRole, Delegations, Metadata, Targets } from "../../src/tuf/index.js";
import { adminHeaders, bootstrapBody, fetchWorker, hex, postArtifacts, postArtifactsRaw, postBootstrap } from "./helpers.js";
import { makeCeremony, UPLOAD_TOKEN, type Ceremony } from "../fixtures/ceremony.js";

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

    const imp = "/api/v1/imports/{id}";
    const release = "/api/v1/python/projects/{project}/releases/{version}";
    const line = (path: string) => JSON.stringify({ path, length: 3, hashes: { sha256: "b".repeat(64) } });
    await call("POST", "/api/v1/recover", "/api/v1/recover", { headers: adminHeaders }); // 422: R2 holds no repository
    await call("GET", imp, "/api/v1/imports/i1", { headers: adminHeaders });
    await call("POST", `${imp}/lines`, "/api/v1/imports/i1/lines", { headers: adminHeaders, body: line("imp/one.whl") });
    await call("POST", `${imp}/publish`, "/api/v1/imports/i1/publish", { headers: adminHeaders });
    await call("POST", `${release}/yank`, "/api/v1/python/projects/demo/releases/1.0/yank", { headers: adminHeaders });
    await call("POST", `${release}/unyank`, "/api/v1/python/projects/demo/releases/1.0/unyank", { headers: adminHeaders });
    await call("DELETE", release, "/api/v1/python/projects/demo/releases/1.0", { headers: adminHeaders });

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
    // A stream of unknown length: the route streams into R2, which needs the length up front.
    await call("PUT", "/api/v1/targets/{path}", "/api/v1/targets/files/chunked.txt", { headers: adminHeaders, body: new ReadableStream({ start: (s) => s.close() }) });

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

    await call("POST", "/api/v1/recover", "/api/v1/recover");
    await call("POST", "/api/v1/recover", "/api/v1/recover", { headers: adminHeaders });
    await call("GET", imp, "/api/v1/imports/i1");
    await call("GET", imp, "/api/v1/imports/bad!id", { headers: adminHeaders });
    await call("GET", imp, "/api/v1/imports/i1", { headers: adminHeaders });
    await call("POST", `${imp}/publish`, "/api/v1/imports/i1/publish");
    await call("POST", `${imp}/publish`, "/api/v1/imports/bad!id/publish", { headers: adminHeaders });
    await call("POST", `${imp}/publish`, "/api/v1/imports/i1/publish", { headers: adminHeaders });
    await call("POST", `${imp}/lines`, "/api/v1/imports/i1/lines", { body: line("imp/one.whl") });
    await call("POST", `${imp}/lines`, "/api/v1/imports/i1/lines?first_line=0", { headers: adminHeaders, body: line("imp/one.whl") });
    await call("POST", `${imp}/lines`, "/api/v1/imports/i1/lines", { headers: adminHeaders, body: line("../x") });
    await call("POST", `${imp}/lines`, "/api/v1/imports/i1/lines", { headers: { ...adminHeaders, "content-length": String(9 * 1024 * 1024) }, body: line("imp/one.whl") });
    await call("POST", `${imp}/lines`, "/api/v1/imports/i1/lines", { headers: adminHeaders, body: `${line("imp/one.whl")}\n${line("imp/two.whl")}` });
    await call("POST", `${imp}/lines`, "/api/v1/imports/i1/lines", { headers: adminHeaders, body: line("imp/three.whl") }); // 409: out of order
    await call("POST", `${imp}/publish`, "/api/v1/imports/i1/publish", { headers: adminHeaders }); // 202
    const stub = env.PUBLISHER.getByName(env.REPOSITORY);
    for (let i = 0; i < 20 && ((await stub.importStatus("i1"))?.state ?? "") !== "published"; i++) await runDurableObjectAlarm(stub);
    await call("POST", `${imp}/publish`, "/api/v1/imports/i1/publish", { headers: adminHeaders }); // 200

    await call("POST", `${release}/yank`, "/api/v1/python/projects/demo/releases/1.0/yank");
    await call("POST", `${release}/yank`, "/api/v1/python/projects/demo/releases/1.0/yank", { headers: adminHeaders, body: "{nope" });
    await call("POST", `${release}/yank`, "/api/v1/python/projects/demo/releases/1.0/yank", { headers: { ...adminHeaders, "content-length": String(2 * 1024 * 1024) }, body: "{}" });
    await call("POST", `${release}/yank`, "/api/v1/python/projects/demo/releases/1.0/yank", { headers: adminHeaders, body: JSON.stringify({ reason: "a\nb" }) });
    await call("POST", `${release}/yank`, "/api/v1/python/projects/demo/releases/1.0/yank", { headers: adminHeaders, body: JSON.stringify({ reason: "broken" }) });
    for (const [method, url] of [["POST", `${release}/unyank`], ["DELETE", release]] as const) {
      const at = url.replace("{project}", "demo").replace("{version}", "1.0");
      await call(method, url, at);
      await call(method, url, at.replace("1.0", "not a version"), { headers: adminHeaders });
      await call(method, url, at, { headers: adminHeaders });
    }
    // An sdist's bytes are not read, so any will do for a release to yank, unyank and delete.
    const sdist = new TextEncoder().encode("not really a tarball");
    const form = new FormData();
    const fields = { ":action": "file_upload", protocol_version: "1", name: "demo", version: "2.0", filetype: "sdist", sha256_digest: hex(await crypto.subtle.digest("SHA-256", sdist)) };
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append("content", new File([sdist], "demo-2.0.tar.gz"));
    const uploaded = await fetchWorker("/legacy/", { method: "POST", headers: { authorization: `Basic ${btoa(`__token__:${UPLOAD_TOKEN}`)}` }, body: form });
    expect(uploaded.status, await uploaded.clone().text()).toBe(200);
    await call("POST", `${release}/yank`, "/api/v1/python/projects/demo/releases/2.0/yank", { headers: adminHeaders, body: JSON.stringify({ reason: "broken" }) });
    await call("POST", `${release}/unyank`, "/api/v1/python/projects/demo/releases/2.0/unyank", { headers: adminHeaders });
    await call("DELETE", release, "/api/v1/python/projects/demo/releases/2.0", { headers: adminHeaders });

    // Every documented operation was called, and every documented status of it that a walk can reach.
    const operations = new Set(seen.map((s) => s.split(" ").slice(0, 2).join(" ")));
    expect([...operations].sort()).toEqual(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).sort());
    // Not reached here: 500 (no input causes one), metadata's 202 (a publish cut short), admin 413s (64 MiB bodies),
    // 503 (bad settings or a publish that cannot finish: test/e2e/bad-settings and stuck-publish), recover's 200 and 202
    // (an empty Publisher over a bucket that serves a repository: test/e2e/recover, test/publisher/storage-safety), and a release's 202 (its publish
    // outlasting the wait).
    const unreachable = new Set([
      "500",
      "503",
      "post /api/v1/metadata 202",
      "post /api/v1/bootstrap 413",
      "post /api/v1/metadata 413",
      "put /api/v1/targets/{path} 413",
      "post /api/v1/recover 200",
      "post /api/v1/recover 202",
      `post ${release}/yank 202`,
      `post ${release}/unyank 202`,
      `delete ${release} 202`,
    ]);
    const statuses = new Set(seen);
    const missed = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) =>
        Object.keys(op.responses)
          .map((status) => `${method} ${path} ${status}`)
          .filter((s) => !unreachable.has(s.split(" ")[2]!) && !unreachable.has(s) && !statuses.has(s)),
      ),
    );
    expect(missed, "documented statuses the walk does not exercise").toEqual([]);
  }, 60_000);
});
