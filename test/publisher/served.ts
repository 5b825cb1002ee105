/**
 * Reading back what a Publisher serves, inside workerd: src/client's Updater
 * over R2 (src/publisher/r2-fetcher.ts), with every targets role walked, as
 * `tuf-edge verify` walks them over HTTP. One ServedClient is one client: its
 * second check is a warm refresh from what the first trusted.
 */
import { MemoryStore, Updater } from "../../src/client/index.js";
import { fromR2, r2Fetcher, R2_METADATA_URL, type MetadataReader } from "../../src/publisher/r2-fetcher.js";
import type { R2Keys } from "../../src/publisher/r2-keys.js";
import type { Metadata, Root, Snapshot, Targets, Timestamp } from "../../src/tuf/index.js";

export interface ServedState {
  root: Root;
  timestamp: Timestamp;
  snapshot: Snapshot;
  /** Every targets role by name: targets, bins and each bin-n. */
  targets: ReadonlyMap<string, Targets>;
}

export class ServedClient {
  private readonly updater: Updater;
  private now = new Date();

  constructor(trustedRoot: Metadata<Root>, read: MetadataReader) {
    const store = new MemoryStore();
    store.files.set("root.json", trustedRoot.toBytes());
    this.updater = new Updater({ metadataBaseUrl: R2_METADATA_URL, fetcher: r2Fetcher(read), store, now: () => this.now });
  }

  /** A refresh as of `now`, then every targets role; throws UpdateError on the first refusal. */
  async check(now: Date): Promise<ServedState> {
    this.now = now;
    const trusted = await this.updater.refresh();
    const targets = await this.updater.loadAllTargets();
    return { root: trusted.root, timestamp: trusted.timestamp!, snapshot: trusted.snapshot!, targets };
  }
}

/** The whole repository R2 serves under `keys`, verified from `trustedRoot` alone. */
export function verifyServed(bucket: R2Bucket, keys: R2Keys, trustedRoot: Metadata<Root>, now = new Date()): Promise<ServedState> {
  return new ServedClient(trustedRoot, fromR2(bucket, keys)).check(now);
}
