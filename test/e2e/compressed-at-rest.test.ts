/**
 * Metadata is stored gzip-compressed in R2. Clients that accept gzip get the
 * stored bytes, the others get them decoded; either way unmodified tuf-js and
 * python-tuf verify every length and hash, which describe the uncompressed bytes.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BaseFetcher, Updater } from "tuf-js";
import { DownloadHTTPError } from "tuf-js/dist/error.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRepo, type Repo } from "./harness.js";

const ADMIN = { authorization: "Bearer test-admin-token" };
const VENDOR = resolve(import.meta.dirname, "../../../shared/vendor/python");
const TARGET = "files/hello.txt";
const CODINGS = ["gzip", "identity"] as const;

/** tuf-js's fetcher interface over Node's fetch, with a fixed Accept-Encoding; records each response's Content-Encoding. */
class EncodingFetcher extends BaseFetcher {
  readonly seen: Array<{ file: string; encoding: string | null }> = [];
  constructor(private readonly acceptEncoding: string) {
    super();
  }
  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const res = await fetch(url, { headers: { "accept-encoding": this.acceptEncoding } });
    this.seen.push({ file: url.slice(url.lastIndexOf("/") + 1), encoding: res.headers.get("content-encoding") });
    if (!res.ok) throw new DownloadHTTPError("Failed to download", res.status); // as tuf-js's DefaultFetcher does: a 404 ends the root walk
    return res.body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

const PYTHON_CLIENT = `
import json, sys, requests
from tuf.ngclient import Updater, UpdaterConfig
from tuf.ngclient._internal.requests_fetcher import RequestsFetcher
base, metadata_dir, target_dir, accept = sys.argv[1:5]
seen = []
class Fetcher(RequestsFetcher):
    def _get_session(self, url):
        session = super()._get_session(url)
        session.headers["Accept-Encoding"] = accept
        if not session.hooks["response"]:
            session.hooks["response"].append(lambda r, *a, **k: seen.append([r.url.rsplit("/", 1)[1], r.headers.get("content-encoding")]))
        return session
up = Updater(metadata_dir, base + "/metadata/", target_dir, base + "/targets/", fetcher=Fetcher(), config=UpdaterConfig(prefix_targets_with_hash=True))
up.refresh()
info = up.get_targetinfo("${TARGET}")
path = up.download_target(info)
print(json.dumps({"length": info.length, "content": open(path).read(), "seen": seen}))
`;

describe("metadata compressed at rest", () => {
  let repo: Repo;
  beforeAll(async () => {
    repo = await startRepo({ bitLength: 6 });
    const put = await fetch(`${repo.worker.url}/api/v1/targets/${TARGET}?wait=true`, { method: "PUT", headers: ADMIN, body: "hello, tuf\n" });
    expect(put.status, await put.clone().text()).toBe(200);
  }, 120_000);
  afterAll(() => repo?.close());

  it("serves the snapshot as stored (gzip) or decoded, with the same content and Vary", async () => {
    const ts = (await (await fetch(`${repo.worker.url}/metadata/timestamp.json`)).json()) as { signed: { meta: Record<string, { version: number; length?: number }> } };
    const name = `${ts.signed.meta["snapshot.json"]!.version}.snapshot.json`;
    const gz = await fetch(`${repo.worker.url}/metadata/${name}`, { headers: { "accept-encoding": "gzip" } });
    const plain = await fetch(`${repo.worker.url}/metadata/${name}`, { headers: { "accept-encoding": "identity" } });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(gz.headers.get("vary")).toBe("accept-encoding");
    expect(plain.headers.get("vary")).toBe("accept-encoding");
    expect(gz.headers.get("etag")).toMatch(/^W\//);
    expect(plain.headers.get("etag")).not.toMatch(/^W\//);
    const plainText = await plain.text();
    expect(plain.headers.get("content-length")).toBe(String(new TextEncoder().encode(plainText).length));
    expect(await gz.text()).toBe(plainText); // fetch decoded the gzip body
  });

  it.each(CODINGS)("tuf-js verifies everything it fetched with Accept-Encoding: %s", async (coding) => {
    const client = repo.client();
    const fetcher = new EncodingFetcher(coding);
    const updater = new Updater({
      metadataDir: join(client.dir, "metadata"),
      targetDir: join(client.dir, "targets"),
      metadataBaseUrl: `${repo.worker.url}/metadata/`,
      targetBaseUrl: `${repo.worker.url}/targets/`,
      fetcher,
    });
    await updater.refresh();
    const info = await updater.getTargetInfo(TARGET);
    const out = join(client.dir, "targets", "hello.txt");
    await updater.downloadTarget(info!, out);
    expect(readFileSync(out, "utf8")).toBe("hello, tuf\n");
    const snapshot = fetcher.seen.find((s) => s.file.endsWith(".snapshot.json"))!;
    expect(snapshot.encoding).toBe(coding === "gzip" ? "gzip" : null);
    if (coding === "identity") expect(fetcher.seen.every((s) => s.encoding === null)).toBe(true);
  });

  it.each(CODINGS)("python-tuf verifies everything it fetched with Accept-Encoding: %s", (coding) => {
    const dir = join(repo.dir, `python-${coding}`);
    mkdirSync(join(dir, "metadata"), { recursive: true });
    mkdirSync(join(dir, "targets"), { recursive: true });
    writeFileSync(join(dir, "metadata", "root.json"), JSON.stringify(repo.ceremony.root));
    const out = execFileSync("python3", ["-c", PYTHON_CLIENT, repo.worker.url, join(dir, "metadata"), join(dir, "targets"), coding], {
      env: { ...process.env, PYTHONPATH: VENDOR },
      encoding: "utf8",
    });
    const result = JSON.parse(out) as { length: number; content: string; seen: Array<[string, string | null]> };
    expect(result.content).toBe("hello, tuf\n");
    const snapshot = result.seen.find(([file]) => file.endsWith(".snapshot.json"))!;
    expect(snapshot[1]).toBe(coding === "gzip" ? "gzip" : null);
    if (coding === "identity") expect(result.seen.every(([, e]) => e === null)).toBe(true);
  });
});
