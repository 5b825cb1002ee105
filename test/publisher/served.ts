/**
 * Reading back what a Publisher serves, inside workerd: src/client's Updater
 * over R2 (src/publisher/r2-fetcher.ts), with every targets role walked, as
 * `tuf-edge verify` walks them over HTTP. One ServedClient is one client: its
 * second check is a warm refresh from what the first trusted.
 */
import { MemoryStore, Updater } from "../../src/client/index.js";
import { fromR2, r2Fetcher, R2_METADATA_URL, type MetadataReader } from "../../src/publisher/r2-fetcher.js";
import type { R2Keys } from "../../src/publisher/r2-keys.js";
import { mapLimit, type Metadata, type Root, type Snapshot, type Targets, type Timestamp } from "../../src/tuf/index.js";

/** R2 reads in flight at once, as the Worker's recovery makes them. */
const CONCURRENCY = 16;

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

  private last?: ServedState;

  /** A refresh as of `now`, then every targets role; throws UpdateError on the first refusal. */
  async check(now: Date): Promise<ServedState> {
    this.now = now;
    const trusted = await this.updater.refresh();
    const targets = await this.updater.loadAllTargets({ concurrency: CONCURRENCY });
    this.last = { root: trusted.root, timestamp: trusted.timestamp!, snapshot: trusted.snapshot!, targets };
    return this.last;
  }

  /**
   * A refresh as of `now`, then only the bin-n whose version the snapshot changed since the last
   * check; the rest are carried over from it. For checks after every publish of a long simulation,
   * where verifying each unchanged bin-n again would cost most of the run: their files are
   * immutable (create-only), and their expiry is the caller's to hold to the floor.
   */
  async checkChanged(now: Date): Promise<ServedState> {
    if (!this.last) return this.check(now);
    this.now = now;
    const trusted = await this.updater.refresh();
    const targets = new Map(this.last.targets);
    targets.set("targets", trusted.targets("targets")!);
    targets.set("bins", await this.updater.loadDelegatedTargets("bins", "targets"));
    const changed = Object.entries(trusted.snapshot!.meta)
      .map(([file, meta]) => [file.slice(0, -".json".length), meta.version] as const)
      .filter(([role, version]) => role !== "targets" && role !== "bins" && targets.get(role)?.version !== version);
    await mapLimit(changed, CONCURRENCY, async ([role]) => void targets.set(role, await this.updater.loadDelegatedTargets(role, "bins")));
    this.last = { root: trusted.root, timestamp: trusted.timestamp!, snapshot: trusted.snapshot!, targets };
    return this.last;
  }
}

/** The whole repository R2 serves under `keys`, verified from `trustedRoot` alone. */
export function verifyServed(bucket: R2Bucket, keys: R2Keys, trustedRoot: Metadata<Root>, now = new Date()): Promise<ServedState> {
  return new ServedClient(trustedRoot, fromR2(bucket, keys)).check(now);
}
