/**
 * The verifying simple-API server behind `tuf-edge proxy`. pip and uv talk to it
 * as to any index; it answers only with bytes that src/client has verified
 * against the repository's TUF metadata:
 *
 *   /simple/                 the target simple/index.html or simple/index.json
 *   /simple/<project>/       simple/<project>/index.html or .json (PEP 503 / PEP 691, by Accept)
 *   /targets/<path>          the target <path>, e.g. packages/<project>/<file>
 *
 * Pages link to files as ../../targets/packages/..., so the Worker's pages work here unchanged.
 * Metadata is refreshed at most once per timestamp.json lifetime (its Cache-Control max-age),
 * and at once when a target is not found. Verified files and pages are kept by sha256 in
 * the cache directory and served from there while the trusted metadata still lists them.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { UpdateError, Updater, verifyTarget } from "../../src/client/index.js";
import type { TargetFile } from "../../src/tuf/index.js";
import { DirectoryStore, httpFetcher } from "./client-io.js";

export interface ProxyOptions {
  /** The repository's base URL: metadata at URL/metadata/, targets at URL/targets/. */
  url: string;
  /** The trusted root.json, used when the cache has none yet. */
  root: Uint8Array;
  cacheDir: string;
  port?: number;
  host?: string;
  /** The clock of every update (tests move it). */
  now?: () => Date;
  /** Where each refusal and refresh is reported. */
  log?: (line: string) => void;
}

export interface RunningProxy {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const JSON_TYPE = "application/vnd.pypi.simple.v1+json";
const HTML_TYPE = "application/vnd.pypi.simple.v1+html";
/** Used when timestamp.json says nothing about its lifetime: the Worker's default TIMESTAMP_MAX_AGE. */
const DEFAULT_TIMESTAMP_MAX_AGE_S = 60;

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => {});
  const base = options.url.replace(/\/+$/, "");
  const store = new DirectoryStore(join(options.cacheDir, "metadata"));
  if (!(await store.read("root.json"))) await store.write("root.json", options.root);
  const blobs = join(options.cacheDir, "blobs");
  await mkdir(blobs, { recursive: true });

  // The lifetime of the last timestamp.json, from its Cache-Control: how long a refresh holds.
  let timestampMaxAgeMs = DEFAULT_TIMESTAMP_MAX_AGE_S * 1000;
  const fetcher = httpFetcher((url, headers) => {
    if (!url.endsWith("/timestamp.json")) return;
    const maxAge = /max-age=(\d+)/.exec(headers.get("cache-control") ?? "")?.[1];
    timestampMaxAgeMs = (maxAge === undefined ? DEFAULT_TIMESTAMP_MAX_AGE_S : Number(maxAge)) * 1000;
  });
  const updater = new Updater({ metadataBaseUrl: `${base}/metadata/`, targetBaseUrl: `${base}/targets/`, fetcher, store, now });

  let refreshedAt = -Infinity;
  let refreshing: Promise<void> | undefined;
  /** One refresh at a time; callers arriving during it share it. A failed refresh leaves nothing trusted. */
  const refresh = (): Promise<void> =>
    (refreshing ??= (async () => {
      try {
        const trusted = await updater.refresh();
        refreshedAt = now().getTime();
        log(`refreshed: timestamp v${trusted.timestamp!.version}, snapshot v${trusted.snapshot!.version}`);
      } finally {
        refreshing = undefined;
      }
    })());
  const fresh = async (): Promise<void> => {
    if (!updater.trustedSet || now().getTime() - refreshedAt >= timestampMaxAgeMs) await refresh();
  };

  /** The trusted info of a target; a miss refreshes once at once, since the index may have just published it. */
  async function targetInfo(path: string): Promise<TargetFile | undefined> {
    await fresh();
    const info = await updater.getTargetInfo(path);
    if (info || now().getTime() - refreshedAt < 1000) return info;
    await refresh();
    return updater.getTargetInfo(path);
  }

  /** The verified bytes of a target, from the cache when it holds them (checked again), else downloaded and checked. */
  async function targetBytes(info: TargetFile): Promise<Uint8Array> {
    const key = info.hashes.sha256 ?? Object.values(info.hashes)[0]!;
    const file = join(blobs, /^[0-9a-f]{16,128}$/.test(key) ? key : createHash("sha256").update(key).digest("hex"));
    const cached = await readFile(file).then((b) => new Uint8Array(b), () => undefined);
    if (cached && (await verifyTarget(info, cached).then(() => true, () => false))) return cached;
    const bytes = await updater.downloadTarget(info);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
    return bytes;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://proxy").pathname);
    if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "only GET and HEAD");
    if (pathname === "/" || pathname === "") return redirect(res, "/simple/");

    let page: { project?: string } | undefined;
    if (pathname === "/simple" || pathname === "/simple/") page = {};
    else {
      const m = /^\/simple\/([^/]+)\/?$/.exec(pathname);
      if (m) {
        const project = normalize(m[1]!);
        // PEP 503: one URL per project, normalized and with the trailing slash.
        if (pathname !== `/simple/${project}/`) return redirect(res, `/simple/${project}/`);
        page = { project };
      }
    }
    if (page) {
      const dir = page.project === undefined ? "simple" : `simple/${page.project}`;
      const wantsJson = prefersJson(req.headers.accept);
      for (const [target, type] of wantsJson
        ? ([[`${dir}/index.json`, JSON_TYPE], [`${dir}/index.html`, htmlType(req.headers.accept)]] as const)
        : ([[`${dir}/index.html`, htmlType(req.headers.accept)]] as const)) {
        const info = await targetInfo(target);
        if (info) return send(req, res, await targetBytes(info), type, "max-age=0");
      }
      return plain(res, 404, `${dir}/ is not in the repository's TUF metadata`);
    }
    const t = /^\/targets\/(.+)$/.exec(pathname);
    if (t) {
      const info = await targetInfo(t[1]!);
      if (!info) return plain(res, 404, `${t[1]} is not in the repository's TUF metadata`);
      return send(req, res, await targetBytes(info), contentType(t[1]!), "max-age=31536000, immutable");
    }
    return plain(res, 404, "not found: this proxy serves /simple/ and /targets/");
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!(err instanceof UpdateError)) {
        log(`error: ${(err as Error).stack ?? err}`);
        return plain(res, 500, `tuf-edge proxy: ${(err as Error).message}`);
      }
      const line = `TUF refused ${err.message}`;
      log(line);
      refuse(req, res, line);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 3141, options.host ?? "127.0.0.1", resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/**
 * A refusal as one line pip prints. Files: 502 with the line as the reason phrase, which
 * pip prints ("HTTP error 502 ... 502 Server Error: TUF refused ..."). Pages: pip logs HTTP
 * errors on index pages only at debug level (pip/_internal/index/collector.py,
 * _handle_get_simple_fail), but warns about a page's Content-Type at the default level, so
 * pip gets the line in the Content-Type of an uncacheable answer it skips. Others get the 502.
 */
function refuse(req: IncomingMessage, res: ServerResponse, line: string): void {
  const phrase = line.replace(/[^\x20-\x7e]/g, "?").slice(0, 400);
  const isPage = (req.url ?? "").startsWith("/simple");
  if (isPage && /^pip\//.test(req.headers["user-agent"] ?? "")) {
    res.writeHead(200, { "content-type": `text/plain; tuf-refused="${phrase.replace(/["\\]/g, "'")}"`, "cache-control": "no-store" });
    res.end(`${line}\n`);
    return;
  }
  res.writeHead(502, phrase, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(`${line}\n`);
}

function send(req: IncomingMessage, res: ServerResponse, bytes: Uint8Array, type: string, cache: string): void {
  res.writeHead(200, { "content-type": type, "content-length": bytes.length, "cache-control": cache });
  res.end(req.method === "HEAD" ? undefined : bytes);
}

function plain(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(`${message}\n`);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(301, { location });
  res.end();
}

/** PEP 503 name normalization. */
export const normalize = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, "-");

/** PEP 691: JSON when the client ranks it above HTML (pip sends JSON q=1, HTML q=0.1). */
function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const q = (type: string) => {
    let best = -1;
    for (const part of accept.split(",")) {
      const [media, ...params] = part.trim().split(";").map((s) => s.trim());
      if (media !== type && media !== "*/*") continue;
      const qp = params.find((p) => p.startsWith("q="));
      const value = qp ? Number(qp.slice(2)) : 1;
      if (media === type || best < 0) best = Math.max(best, media === type ? value : Math.min(value, 0.001));
    }
    return best;
  };
  return q(JSON_TYPE) > Math.max(q(HTML_TYPE), q("text/html"), 0);
}

function htmlType(accept: string | undefined): string {
  return accept?.includes(HTML_TYPE) ? HTML_TYPE : "text/html; charset=utf-8";
}

function contentType(path: string): string {
  if (path.endsWith(".metadata")) return "text/plain; charset=utf-8";
  if (path.endsWith(".whl") || path.endsWith(".zip")) return "application/zip";
  if (path.endsWith(".tar.gz")) return "application/gzip";
  return "application/octet-stream";
}
