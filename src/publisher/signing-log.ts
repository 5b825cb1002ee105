/**
 * The signing log in the Publisher's SQLite: append-only and hash-chained
 * (entry format: log-entry.ts, docs/signing-log.md).
 *
 * While a publish writes to R2, the bin-n each progress record covers are
 * staged with it under the publish's timestamp version, so a publish resumed
 * after a crash still logs the files it does not write again. The commit's
 * transaction turns the staged files, and the ones written since, into one entry. Triggers
 * refuse UPDATE and DELETE on entries, except on those of a page archived to R2.
 *
 * Pages have fixed bounds, counted from the first entry: a page closes at the
 * entry that makes it full, and its bounds are recorded then. At one publish a
 * second the log grows ~24 GB a year, past a Durable Object's 10 GB, so full
 * pages move to R2 (create-only, never rewritten with other bytes) and leave
 * SQLite; the newest full page stays, for the status page's recent publishes.
 */
import { putMetadata, readMetadata } from "./at-rest.js";
import { entryHash, GENESIS_HASH, type LogCause, type LogEntry, type LoggedFile } from "./log-entry.js";
import type { R2Keys } from "./r2-keys.js";

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

/** Full pages one archive run moves to R2 at most: the rest waits for the next cron run. */
const ARCHIVE_PAGES_PER_RUN = 20;

export class SigningLog {
  private readonly sql: SqlStorage;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly bucket: R2Bucket,
    private readonly keys: () => R2Keys,
  ) {
    this.sql = storage.sql;
  }

  /** Records files a publish wrote; staging the same file again (a resumed publish) replaces it with identical values. */
  stage(timestampVersion: number, files: readonly LoggedFile[]): void {
    for (const f of files)
      this.sql.exec(
        "INSERT OR REPLACE INTO signing_log_staged (timestamp_version, role, version, length, sha256, keyids) VALUES (?, ?, ?, ?, ?, ?)",
        timestampVersion, f.role, f.version, f.length, f.sha256, JSON.stringify([...f.keyids].sort()),
      );
  }

  /** Appends the publish's entry: its staged files and `written`; call inside the commit's transaction. */
  append(timestampVersion: number, started: number, time: number, cause: LogCause, written: readonly LoggedFile[]): LogEntry {
    const byRole = new Map<string, LoggedFile>();
    for (const r of this.sql.exec<{ role: string; version: number; length: number; sha256: string; keyids: string }>(
      "SELECT role, version, length, sha256, keyids FROM signing_log_staged WHERE timestamp_version = ?",
      timestampVersion,
    ))
      byRole.set(r.role, { role: r.role, version: r.version, length: r.length, sha256: r.sha256, keyids: JSON.parse(r.keyids) as string[] });
    // A file written again by this run is the same file (create-only names): the newer record replaces the staged one.
    for (const f of written) byRole.set(f.role, { ...f, keyids: [...f.keyids].sort() });
    const files = [...byRole.values()].sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
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
    closePageIfFull(this.sql, entry.seq);
    return entry;
  }

  head(): LogHead | undefined {
    return this.sql.exec<LogHead>("SELECT seq, hash FROM signing_log ORDER BY seq DESC LIMIT 1").toArray()[0];
  }

  /**
   * Entries after `after` to the end of the page that holds `after + 1`, in order: a full page's
   * entries never change, whichever `after` inside it is asked for. Undefined when that page was
   * archived and is missing from R2 (a storage accident).
   */
  async page(after: number): Promise<LogPage | undefined> {
    const bounds = this.sql
      .exec<{ after: number; last: number; archived: number }>("SELECT after, last, archived FROM signing_log_pages WHERE after <= ? AND last > ?", after, after)
      .toArray()[0];
    if (!bounds) return { entries: storedEntries(this.sql, after, Number.MAX_SAFE_INTEGER), full: false };
    if (!bounds.archived) return { entries: storedEntries(this.sql, after, bounds.last), full: true };
    const bytes = await readMetadata(this.bucket, this.keys().logPage(bounds.after));
    if (!bytes) return undefined;
    const { entries } = JSON.parse(new TextDecoder().decode(bytes)) as { entries: LogEntry[] };
    return { entries: entries.filter((e) => e.seq > after), full: true };
  }

  /**
   * Moves full pages but the newest to R2, a few per run: written create-only first, then their
   * rows deleted in one transaction, so a crash between the two rewrites the same bytes next run.
   */
  async archive(): Promise<void> {
    const pages = this.sql
      .exec<{ after: number; last: number }>("SELECT after, last FROM signing_log_pages WHERE archived = 0 ORDER BY after")
      .toArray()
      .slice(0, -1)
      .slice(0, ARCHIVE_PAGES_PER_RUN);
    for (const { after, last } of pages) {
      const entries = storedEntries(this.sql, after, last);
      await putMetadata(this.bucket, this.keys().logPage(after), new TextEncoder().encode(JSON.stringify({ entries })), { createOnly: true });
      this.storage.transactionSync(() => {
        this.sql.exec("UPDATE signing_log_pages SET archived = 1 WHERE after = ?", after);
        this.sql.exec("DELETE FROM signing_log_files WHERE seq > ? AND seq <= ?", after, last);
        this.sql.exec("DELETE FROM signing_log WHERE seq > ? AND seq <= ?", after, last);
      });
    }
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

/** The entries in (after, last] that SQLite holds, in order: range reads on the primary keys, a page at most. */
function storedEntries(sql: SqlStorage, after: number, last: number): LogEntry[] {
  const rows = sql
    .exec<EntryRow>("SELECT seq, prev, hash, started, time, cause, files FROM signing_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?", after, last, PAGE_ENTRIES)
    .toArray();
  if (rows.length === 0) return [];
  const files = new Map<number, LoggedFile[]>();
  for (const f of sql.exec<{ seq: number; role: string; version: number; length: number; sha256: string; keyids: string }>(
    "SELECT seq, role, version, length, sha256, keyids FROM signing_log_files WHERE seq > ? AND seq <= ? ORDER BY seq, role",
    after,
    rows[rows.length - 1]!.seq,
  ))
    (files.get(f.seq) ?? files.set(f.seq, []).get(f.seq)!).push({ role: f.role, version: f.version, length: f.length, sha256: f.sha256, keyids: JSON.parse(f.keyids) });
  return rows.map((r) => ({
    seq: r.seq,
    prev: r.prev,
    started: r.started,
    time: r.time,
    cause: JSON.parse(r.cause) as LogCause,
    files: files.get(r.seq) ?? [],
    hash: r.hash,
  }));
}

/**
 * Records the bounds of the page that entry `seq` fills: 100 entries, or the entry that brings it
 * to 10,000 files, counted from the end of the previous page.
 */
export function closePageIfFull(sql: SqlStorage, seq: number): void {
  const open = sql.exec<{ last: number }>("SELECT COALESCE(MAX(last), 0) AS last FROM signing_log_pages").one().last;
  const { entries, files } = sql
    .exec<{ entries: number; files: number }>("SELECT COUNT(*) AS entries, COALESCE(SUM(files), 0) AS files FROM signing_log WHERE seq > ? AND seq <= ?", open, seq)
    .one();
  if (entries >= PAGE_ENTRIES || files >= PAGE_FILES) sql.exec("INSERT INTO signing_log_pages (after, last) VALUES (?, ?)", open, seq);
}
