/**
 * Node implementations of src/client's Fetcher and MetadataStore: HTTP with a
 * length limit enforced while reading, and a directory written atomically.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DownloadError, type Fetcher, type MetadataStore } from "../../src/client/index.js";

/** GETs with Node's fetch and stops reading at `maxLength` + 1 bytes. `onResponse` sees each good answer's headers. */
export function httpFetcher(onResponse?: (url: string, headers: Headers) => void): Fetcher {
  return {
    async fetch(url, maxLength) {
      let res: Response;
      try {
        res = await fetch(url);
      } catch (err) {
        throw new DownloadError(url, `cannot reach ${url} (${(err as Error).cause ?? (err as Error).message})`);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new DownloadError(url, `${url} answered HTTP ${res.status}`, { status: res.status });
      }
      onResponse?.(url, res.headers);
      const declared = Number(res.headers.get("content-length") ?? NaN);
      if (declared > maxLength) {
        await res.body?.cancel();
        throw new DownloadError(url, `${url} is longer than the ${maxLength} bytes allowed`, { tooLarge: true });
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      for await (const chunk of res.body ?? []) {
        total += chunk.length;
        if (total > maxLength) {
          await res.body?.cancel().catch(() => {});
          throw new DownloadError(url, `${url} is longer than the ${maxLength} bytes allowed`, { tooLarge: true });
        }
        chunks.push(chunk);
      }
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    },
  };
}

/** Trusted metadata as files in one directory, each replaced atomically (write, then rename). */
export class DirectoryStore implements MetadataStore {
  constructor(readonly dir: string) {}

  async read(name: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(join(this.dir, name)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, bytes);
    await rename(tmp, join(this.dir, name));
  }
}
