/**
 * What a client needs from its host, passed in so the workflow stays pure:
 * a fetcher for the repository, and a store for the metadata it trusts.
 */

export interface Fetcher {
  /**
   * GET `url`. Resolves to the body, or rejects with a `DownloadError` on any failure,
   * including a body longer than `maxLength` (read no further than that).
   */
  fetch(url: string, maxLength: number): Promise<Uint8Array>;
}

/**
 * The trusted metadata kept across runs, under unversioned names (spec 5: "root.json",
 * "timestamp.json", "<role>.json"). `name` is already safe as a file name.
 */
export interface MetadataStore {
  read(name: string): Promise<Uint8Array | undefined>;
  write(name: string, bytes: Uint8Array): Promise<void>;
}

/** A store in memory: for one process's lifetime (tests, benchmarks, `tuf-edge verify`). */
export class MemoryStore implements MetadataStore {
  readonly files = new Map<string, Uint8Array>();

  async read(name: string): Promise<Uint8Array | undefined> {
    return this.files.get(name);
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    this.files.set(name, bytes);
  }
}
