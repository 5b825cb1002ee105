/**
 * The signing log in the Publisher's SQLite: append-only and hash-chained
 * (entry format: log-entry.ts, docs/signing-log.md).
 *
 * While a publish writes to R2, each file it wrote is staged under the publish's
 * timestamp version, so a publish resumed after a crash still logs every file.
 * The commit's transaction turns the staged files into one entry. Triggers
 * refuse UPDATE and DELETE on entries: retention never drops them.
 */
import { entryHash, GENESIS_HASH, type LogCause, type LogEntry, type LoggedFile } from "./log-entry.js";

/** A page ends after this many entries, or after the entry that reaches PAGE_FILES files. */
export const PAGE_ENTRIES = 100;
export const PAGE_FILES = 10_000;

export type LogHead = {
  seq: number;
  hash: string;
};

export interface LogPage {
  entries: LogEntry[];
  /** Full pages never change; the last page grows until it is full. */
  full: boolean;
}

export interface PublishSummary {
  seq: number;
  started: string;
  time: string;
  duration_ms: number;
  cause: LogCause["kind"];
  files: number;
}

type EntryRow = {
  seq: number;
  prev: string;
  hash: string;
  started: number;
  time: number;
  cause: string;
  files: number;
};

export class SigningLog {
  constructor(private readonly sql: SqlStorage) {}

  /** Records files a publish wrote; staging the same file again (a resumed publish) replaces it with identical values. */
  stage(timestampVersion: number, files: readonly LoggedFile[]): void {
    for (const f of files)
      this.sql.exec(
        "INSERT OR REPLACE INTO signing_log_staged (timestamp_version, role, version, length, sha256, keyids) VALUES (?, ?, ?, ?, ?, ?)",
        timestampVersion, f.role, f.version, f.length, f.sha256, JSON.stringify([...f.keyids].sort()),
      );
  }

  /** Appends the publish's entry; call inside the commit's transaction. */
  append(timestampVersion: number, started: number, time: number, cause: LogCause): LogEntry {
    const files = this.sql
      .exec<{ role: string; version: number; length: number; sha256: string; keyids: string }>(
        "SELECT role, version, length, sha256, keyids FROM signing_log_staged WHERE timestamp_version = ? ORDER BY role",
        timestampVersion,
      )
      .toArray()
      .map((r) => ({ role: r.role, version: r.version, length: r.length, sha256: r.sha256, keyids: JSON.parse(r.keyids) as string[] }));
    const head = this.head();
    const body = { seq: (head?.seq ?? 0) + 1, prev: head?.hash ?? GENESIS_HASH, started, time, cause, files };
    const entry = { ...body, hash: entryHash(body) };
    this.sql.exec(
      "INSERT INTO signing_log (seq, prev, hash, started, time, cause, files) VALUES (?, ?, ?, ?, ?, ?, ?)",
      entry.seq, entry.prev, entry.hash, started, time, JSON.stringify(cause), files.length,
    );
    for (const f of entry.files)
      this.sql.exec(
        "INSERT INTO signing_log_files (seq, role, version, length, sha256, keyids) VALUES (?, ?, ?, ?, ?, ?)",
        entry.seq, f.role, f.version, f.length, f.sha256, JSON.stringify(f.keyids),
      );
    this.sql.exec("DELETE FROM signing_log_staged WHERE timestamp_version = ?", timestampVersion);
    return entry;
  }

  head(): LogHead | undefined {
    return this.sql.exec<LogHead>("SELECT seq, hash FROM signing_log ORDER BY seq DESC LIMIT 1").toArray()[0];
  }

  /** Entries after `after`, in order; a range read on the primary keys. */
  page(after: number): LogPage {
    const rows = this.sql
      .exec<EntryRow>("SELECT seq, prev, hash, started, time, cause, files FROM signing_log WHERE seq > ? ORDER BY seq LIMIT ?", after, PAGE_ENTRIES)
      .toArray();
    let total = 0;
    let cut = rows.length;
    for (let i = 0; i < rows.length; i++) {
      total += rows[i]!.files;
      if (total >= PAGE_FILES) {
        cut = i + 1;
        break;
      }
    }
    const taken = rows.slice(0, cut);
    const full = taken.length === PAGE_ENTRIES || total >= PAGE_FILES;
    if (taken.length === 0) return { entries: [], full: false };
    const files = new Map<number, LoggedFile[]>();
    for (const f of this.sql.exec<{ seq: number; role: string; version: number; length: number; sha256: string; keyids: string }>(
      "SELECT seq, role, version, length, sha256, keyids FROM signing_log_files WHERE seq > ? AND seq <= ? ORDER BY seq, role",
      after,
      taken[taken.length - 1]!.seq,
    ))
      (files.get(f.seq) ?? files.set(f.seq, []).get(f.seq)!).push({ role: f.role, version: f.version, length: f.length, sha256: f.sha256, keyids: JSON.parse(f.keyids) });
    return {
      entries: taken.map((r) => ({
        seq: r.seq,
        prev: r.prev,
        started: r.started,
        time: r.time,
        cause: JSON.parse(r.cause) as LogCause,
        files: files.get(r.seq) ?? [],
        hash: r.hash,
      })),
      full,
    };
  }

  /** The newest `n` publishes, newest first, without their files. */
  recent(n: number): PublishSummary[] {
    return this.sql
      .exec<EntryRow>("SELECT seq, started, time, cause, files FROM signing_log ORDER BY seq DESC LIMIT ?", n)
      .toArray()
      .map((r) => ({
        seq: r.seq,
        started: new Date(r.started).toISOString(),
        time: new Date(r.time).toISOString(),
        duration_ms: r.time - r.started,
        cause: (JSON.parse(r.cause) as LogCause).kind,
        files: r.files,
      }));
  }
}
