/**
 * What clients are served, what is in flight, and whether publishing keeps failing.
 *
 * The `roles` and `bins` tables hold *reserved* versions: begin bumps them
 * before anything is written. What clients see changes only at commit, so the
 * served versions and expiries are recorded then, and a failing publish is
 * recorded by the loop that retries it. Both live in the Durable Object's
 * synchronous KV storage, so reading them is a few lookups that never wait for
 * a publish to finish.
 */
import { Metadata } from "../tuf/index.js";
import type { FailureView, InFlightView, RoleStatus, ServedView } from "./types.js";

interface Versioned {
  version: number;
  expires: number;
}

interface ServedRecord {
  timestamp: Versioned;
  snapshot: Versioned;
  oldestBin: Versioned & { idx: number };
  bins: Versioned;
  targets: Versioned;
  root: Versioned;
  committedAt: number | null;
}

interface FailureRecord {
  timestamp: number | null;
  since: number;
  last: number;
  attempts: number;
  error: string;
}

const SERVED = "served";
const FAILURE = "publish_failure";

export class PublishState {
  constructor(
    private readonly sql: SqlStorage,
    private readonly kv: SyncKvStorage,
  ) {}

  /** Called in the commit transaction: the tables now hold exactly what clients are served. */
  committed(committedAt: number): void {
    this.kv.put(SERVED, this.fromTables(committedAt));
    this.kv.delete(FAILURE);
  }

  /** Called each time a publish attempt fails; the streak is cleared by the next commit. */
  failed(now: number, error: string): void {
    const prior = this.kv.get<FailureRecord>(FAILURE);
    const timestamp = this.pending()?.timestamp_version ?? null;
    const sameStreak = prior !== undefined && prior.timestamp === timestamp;
    this.kv.put(FAILURE, {
      timestamp,
      since: sameStreak ? prior.since : now,
      last: now,
      attempts: sameStreak ? prior.attempts + 1 : 1,
      error,
    } satisfies FailureRecord);
  }

  served(now: number, binName: (idx: number) => string): ServedView {
    // Repositories bootstrapped before this record existed: with nothing in flight, the tables are what is served.
    const record = this.kv.get<ServedRecord>(SERVED) ?? this.fromTables(this.lastCommit());
    return {
      roles: {
        timestamp: view(record.timestamp, now),
        snapshot: view(record.snapshot, now),
        oldest_bin: { role: binName(record.oldestBin.idx), ...view(record.oldestBin, now) },
        bins: view(record.bins, now),
        targets: view(record.targets, now),
        root: view(record.root, now),
      },
      last_publish: record.committedAt === null ? null : new Date(record.committedAt).toISOString(),
    };
  }

  inFlight(now: number): InFlightView | null {
    const row = this.pending();
    if (!row) return null;
    // Receipts are listed in queue order, so the first is the oldest change the publish carries.
    const first = Object.keys(JSON.parse(row.receipts) as Record<string, unknown>)[0];
    const received = first
      ? this.sql.exec<{ received_at: number }>("SELECT received_at FROM receipts WHERE id = ?", first).toArray()[0]?.received_at
      : undefined;
    return {
      timestamp: row.timestamp_version,
      snapshot: row.snapshot_version,
      bins: (JSON.parse(row.bins) as unknown[]).length,
      reason: row.reason,
      since: new Date(row.reference_time).toISOString(),
      seconds: Math.max(0, Math.floor((now - row.reference_time) / 1000)),
      oldest_change_seconds: received === undefined ? null : Math.max(0, Math.floor((now - received) / 1000)),
    };
  }

  failure(): FailureView | null {
    const f = this.kv.get<FailureRecord>(FAILURE);
    return f
      ? { timestamp: f.timestamp, since: new Date(f.since).toISOString(), last_attempt: new Date(f.last).toISOString(), attempts: f.attempts, error: f.error }
      : null;
  }

  queue(now: number): { depth: number; oldestSeconds: number | null } {
    // A counter kept in each change's transaction, not COUNT(*): health and status are public.
    const depth = this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'queued'").one().value;
    const at = this.sql.exec<{ at: number | null }>(
      "SELECT r.received_at AS at FROM queue q JOIN receipts r ON r.id = q.receipt ORDER BY q.seq LIMIT 1",
    ).toArray()[0]?.at;
    return { depth, oldestSeconds: at === undefined || at === null ? null : Math.max(0, Math.floor((now - at) / 1000)) };
  }

  private pending() {
    return this.sql
      .exec<{ timestamp_version: number; snapshot_version: number; reference_time: number; bins: string; receipts: string; reason: string }>(
        "SELECT timestamp_version, snapshot_version, reference_time, bins, receipts, reason FROM publishes WHERE committed_at IS NULL ORDER BY timestamp_version LIMIT 1",
      )
      .toArray()[0];
  }

  private lastCommit(): number | null {
    return (
      this.sql
        .exec<{ committed_at: number }>("SELECT committed_at FROM publishes WHERE committed_at IS NOT NULL AND abandoned = 0 ORDER BY timestamp_version DESC LIMIT 1")
        .toArray()[0]?.committed_at ?? null
    );
  }

  private fromTables(committedAt: number | null): ServedRecord {
    const roles = Object.fromEntries(
      this.sql.exec<{ name: string; version: number; expires: number }>("SELECT name, version, expires FROM roles").toArray().map((r) => [r.name, { version: r.version, expires: r.expires }]),
    );
    const oldestBin = this.sql.exec<{ idx: number; version: number; expires: number }>("SELECT idx, version, expires FROM bins ORDER BY expires ASC LIMIT 1").one();
    // A held root (pending_root) is stored but not written: clients are served the one before it.
    const held = this.sql.exec<{ version: number }>("SELECT version FROM pending_root").toArray()[0];
    if (held?.version === roles.root!.version) {
      const { body } = this.sql.exec<{ body: ArrayBuffer }>("SELECT body FROM root_history WHERE version = ?", held.version - 1).one();
      roles.root = { version: held.version - 1, expires: Metadata.fromBytes("root", new Uint8Array(body)).signed.expires.getTime() };
    }
    return {
      timestamp: roles.timestamp!,
      snapshot: roles.snapshot!,
      oldestBin: { idx: oldestBin.idx, version: oldestBin.version, expires: oldestBin.expires },
      bins: roles.bins!,
      targets: roles.targets!,
      root: roles.root!,
      committedAt,
    };
  }
}

function view(r: Versioned, now: number): RoleStatus {
  return { version: r.version, expires: new Date(r.expires).toISOString(), seconds_left: Math.floor((r.expires - now) / 1000) };
}
