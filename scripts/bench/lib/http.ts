/**
 * A keep-alive HTTP/1.1 client on node:http, lighter than fetch for load
 * generation on the same two cores as workerd. Bodies are read fully and
 * counted as they arrive on the wire (still encoded, if the server encoded them).
 */
import http from "node:http";

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Body bytes as received (before any content decoding). */
  wireBytes: number;
}

export class HttpClient {
  readonly agent: http.Agent;
  constructor(
    readonly base: string,
    maxSockets = 64,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(method: string, path: string, headers: Record<string, string> = {}, body?: string | Uint8Array, keepBody = true): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${this.base}${path}`, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let wireBytes = 0;
        res.on("data", (d: Buffer) => {
          wireBytes += d.length;
          if (keepBody) chunks.push(d);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), wireBytes }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  /** As `request`, retried (up to 3 times) when a reused keep-alive socket was closed under us. */
  async retrying(method: string, path: string, headers: Record<string, string> = {}, body?: string | Uint8Array): Promise<HttpResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request(method, path, headers, body);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (attempt >= 3 || (code !== "ECONNRESET" && code !== "EPIPE")) throw e;
      }
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
