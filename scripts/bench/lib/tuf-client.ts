/**
 * An unmodified tuf-js Updater behind a counting proxy. The proxy forwards
 * each request to the Worker with the Accept-Encoding of its mode, counts the
 * body bytes as they come over the wire (still encoded), decodes them and
 * hands tuf-js the plain bytes, so tuf-js checks lengths and hashes against
 * exactly what the metadata describes.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import zlib from "node:zlib";
import { Updater } from "tuf-js";
import type { JSONObject } from "../../../src/tuf/index.js";

export interface Fetched {
  path: string;
  status: number;
  wire_bytes: number;
  bytes: number;
  content_encoding: string;
}

export class CountingProxy {
  readonly log: Fetched[] = [];
  private server?: http.Server;
  private upstream: http.Agent = new http.Agent({ keepAlive: true });
  url = "";

  constructor(
    private readonly target: string,
    public acceptEncoding: "identity" | "gzip" | "br" = "identity",
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const headers: Record<string, string> = {};
      if (this.acceptEncoding !== "identity") headers["accept-encoding"] = this.acceptEncoding;
      const up = http.request(`${this.target}${req.url}`, { method: req.method, headers, agent: this.upstream }, (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on("data", (d: Buffer) => chunks.push(d));
        upRes.on("end", () => {
          const wire = Buffer.concat(chunks);
          const coding = String(upRes.headers["content-encoding"] ?? "identity");
          const body = coding === "gzip" ? zlib.gunzipSync(wire) : coding === "br" ? zlib.brotliDecompressSync(wire) : wire;
          this.log.push({ path: req.url ?? "", status: upRes.statusCode ?? 0, wire_bytes: wire.length, bytes: body.length, content_encoding: coding });
          res.writeHead(upRes.statusCode ?? 502, { "content-type": String(upRes.headers["content-type"] ?? "application/octet-stream"), "content-length": body.length });
          res.end(body);
        });
      });
      up.on("error", (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      up.end();
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.upstream.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}

/** A tuf-js client directory seeded with the trusted root, as a package manager ships it. */
export function clientDir(base: string, root: JSONObject): string {
  mkdirSync(join(base, "metadata"), { recursive: true });
  mkdirSync(join(base, "targets"), { recursive: true });
  writeFileSync(join(base, "metadata", "root.json"), JSON.stringify(root));
  return base;
}

export function updater(dir: string, base: string): Updater {
  return new Updater({
    metadataDir: join(dir, "metadata"),
    targetDir: join(dir, "targets"),
    metadataBaseUrl: `${base}/metadata/`,
    targetBaseUrl: `${base}/targets/`,
  });
}

/** refresh() then find and download one target; returns how long each step took. */
export async function verifyOneTarget(up: Updater, dir: string, path: string): Promise<{ refresh_ms: number; total_ms: number }> {
  const t0 = performance.now();
  await up.refresh();
  const refreshMs = performance.now() - t0;
  const info = await up.getTargetInfo(path);
  if (!info) throw new Error(`tuf-js: no target ${path}`);
  await up.downloadTarget(info, join(dir, "targets", path.replaceAll("/", "_")));
  return { refresh_ms: Math.round(refreshMs), total_ms: Math.round(performance.now() - t0) };
}
