/**
 * A caching HTTP proxy in front of a local Worker, as a CDN edge would be:
 * it keeps each GET response for the max-age its Cache-Control gives (counted
 * from when the request was sent, RFC 9111 §4.2.3), serves it unchanged while
 * fresh, and never caches no-store, private or no-cache answers. Only the
 * freshness rules a CDN must follow, so tests see what clients behind one see,
 * most of all a timestamp.json kept for TIMESTAMP_MAX_AGE after it was replaced.
 * Part of the test environment, not of tuf-edge.
 */
import { createServer, type Server } from "node:http";

interface Entry {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  freshUntil: number;
}

export interface CachingProxy {
  url: string;
  /** Answers served from the cache, by path, and answers fetched from the Worker. */
  hits: Map<string, number>;
  misses: number;
  close(): Promise<void>;
}

export async function startCachingProxy(origin: string): Promise<CachingProxy> {
  const cache = new Map<string, Entry>();
  const hits = new Map<string, number>();
  const proxy: CachingProxy = { url: "", hits, misses: 0, close: () => close(server) };
  const server = createServer(async (req, res) => {
    const key = req.url ?? "/";
    try {
      let entry = req.method === "GET" ? cache.get(key) : undefined;
      if (entry && entry.freshUntil > Date.now()) hits.set(key, (hits.get(key) ?? 0) + 1);
      else {
        proxy.misses++;
        const sent = Date.now();
        // fetch decodes any content coding, so the proxy stores and serves identity bodies.
        const answer = await fetch(`${origin}${key}`, { method: req.method ?? "GET" });
        const headers: Record<string, string> = {};
        for (const name of ["content-type", "cache-control", "etag"]) {
          const value = answer.headers.get(name);
          if (value !== null) headers[name] = value;
        }
        entry = { status: answer.status, headers, body: Buffer.from(await answer.arrayBuffer()), freshUntil: sent + maxAgeMs(answer.headers.get("cache-control")) };
        if (req.method === "GET" && entry.freshUntil > sent) cache.set(key, entry);
      }
      res.writeHead(entry.status, { ...entry.headers, "content-length": String(entry.body.length) });
      res.end(entry.body);
    } catch (e) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${(e as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return proxy;
}

/** How long a shared cache may serve the answer: 0 unless Cache-Control says public max-age (or s-maxage). */
function maxAgeMs(cacheControl: string | null): number {
  if (!cacheControl || /\b(no-store|no-cache|private)\b/i.test(cacheControl)) return 0;
  const m = /\bs-maxage=(\d+)/i.exec(cacheControl) ?? /\bmax-age=(\d+)/i.exec(cacheControl);
  return m ? Number(m[1]) * 1000 : 0;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
