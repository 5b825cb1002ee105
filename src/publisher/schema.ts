/**
 * The Publisher's SQLite schema: the source of truth for a repository.
 * Migrations are numbered and recorded in `schema_migrations` (workerd has no
 * PRAGMA user_version); they run once, in order, under blockConcurrencyWhile.
 */
import { closePageIfFull } from "./signing-log.js";
import { canonicalString } from "../tuf/index.js";
import { hashesText } from "./bin-bytes.js";
import { entryBytes } from "./client-limits.js";

type Migration = string | ((sql: SqlStorage) => void);

const MIGRATIONS: readonly Migration[] = [
  `
  -- One row: the repository's layout, fixed at bootstrap.
  CREATE TABLE repository (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    bit_length INTEGER NOT NULL,
    name_prefix TEXT NOT NULL,
    bootstrapped_at INTEGER NOT NULL
  );
  -- root, targets, bins (offline-signed bytes kept as published), snapshot, timestamp.
  CREATE TABLE roles (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    body BLOB
  );
  CREATE TABLE root_history (version INTEGER PRIMARY KEY, body BLOB NOT NULL);
  -- Every bin-n: its current version and expiry.
  CREATE TABLE bins (idx INTEGER PRIMARY KEY, version INTEGER NOT NULL, expires INTEGER NOT NULL);
  CREATE INDEX bins_by_expires ON bins (expires);
  -- The targets listed by the bins, as of the newest reserved publish.
  CREATE TABLE artifacts (
    path TEXT PRIMARY KEY,
    bin INTEGER NOT NULL,
    length INTEGER NOT NULL,
    hashes TEXT NOT NULL,
    custom TEXT
  );
  CREATE INDEX artifacts_by_bin ON artifacts (bin);
  -- Accepted webhook requests; result is set once a timestamp covers them.
  CREATE TABLE receipts (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    body_sha256 TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    published_in INTEGER,
    result TEXT
  );
  -- The FIFO of accepted changes not yet reserved by a publish.
  CREATE TABLE queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    receipt TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'remove')),
    path TEXT NOT NULL,
    bin INTEGER NOT NULL,
    length INTEGER,
    hashes TEXT,
    custom TEXT
  );
  -- The transaction log: one row per consistent snapshot. committed_at NULL = in flight.
  CREATE TABLE publishes (
    timestamp_version INTEGER PRIMARY KEY,
    snapshot_version INTEGER NOT NULL,
    reference_time INTEGER NOT NULL,
    committed_at INTEGER,
    bins TEXT NOT NULL,
    offline TEXT NOT NULL,
    receipts TEXT NOT NULL,
    superseded TEXT NOT NULL,
    bins_written INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL
  );
  -- R2 keys no published state needs any more, and since when; deleted after the retention window.
  CREATE TABLE superseded (key TEXT PRIMARY KEY, since INTEGER NOT NULL);
  CREATE INDEX superseded_by_since ON superseded (since);
  -- pendingPlan() looks for the one in-flight publish on every publish.
  CREATE INDEX publishes_in_flight ON publishes (timestamp_version) WHERE committed_at IS NULL;
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL
  );
  `,
  // Scale: a bin's rows are one range of the primary key, so signing a bin reads only its rows;
  // counters and per-bin sizes are kept in the transactions that change them, so status reads O(1) rows.
  `
  CREATE TABLE artifacts_v2 (
    bin INTEGER NOT NULL,
    path TEXT NOT NULL,
    length INTEGER NOT NULL,
    hashes TEXT NOT NULL,
    custom TEXT,
    -- canonical bytes this entry adds to its bin-n (client-limits.ts entryBytes)
    size INTEGER NOT NULL,
    PRIMARY KEY (bin, path)
  ) WITHOUT ROWID;
  ALTER TABLE bins ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE bins ADD COLUMN queued_bytes INTEGER NOT NULL DEFAULT 0;
  -- bulk-imported rows this bin lists that no publish has signed yet
  ALTER TABLE bins ADD COLUMN staged INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX bins_by_bytes ON bins (bytes);
  CREATE INDEX bins_staged ON bins (idx) WHERE staged = 1;
  ALTER TABLE queue ADD COLUMN size INTEGER;
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO counters (name, value) VALUES ('artifacts', 0), ('queued', (SELECT COUNT(*) FROM queue));
  -- Bulk imports (POST /api/v1/imports/ID/lines): how far each got, by input line.
  CREATE TABLE imports (
    id TEXT PRIMARY KEY,
    next_line INTEGER NOT NULL,
    added INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    -- set by POST .../publish; the next publish signs every staged bin and records itself in published_in
    publish_requested INTEGER NOT NULL DEFAULT 0,
    published_in INTEGER
  );
  `,
  (sql) => {
    for (const row of sql.exec<{ path: string; bin: number; length: number; hashes: string; custom: string | null }>("SELECT * FROM artifacts")) {
      const size = entryBytes(row.path, row.length, JSON.parse(row.hashes), row.custom === null ? undefined : JSON.parse(row.custom));
      // Stored as canonical text from now on (bin-bytes.ts embeds it as is).
      const custom = row.custom === null ? null : canonicalString(JSON.parse(row.custom));
      sql.exec("INSERT INTO artifacts_v2 (bin, path, length, hashes, custom, size) VALUES (?, ?, ?, ?, ?, ?)", row.bin, row.path, row.length, hashesText(JSON.parse(row.hashes)), custom, size);
      sql.exec("UPDATE bins SET bytes = bytes + ? WHERE idx = ?", size, row.bin);
      sql.exec("UPDATE counters SET value = value + 1 WHERE name = 'artifacts'");
    }
    for (const row of sql.exec<{ seq: number; path: string; length: number; hashes: string; custom: string | null }>("SELECT * FROM queue WHERE op = 'add'").toArray()) {
      const size = entryBytes(row.path, row.length, JSON.parse(row.hashes), row.custom === null ? undefined : JSON.parse(row.custom));
      const custom = row.custom === null ? null : canonicalString(JSON.parse(row.custom));
      sql.exec("UPDATE queue SET size = ?, hashes = ?, custom = ? WHERE seq = ?", size, hashesText(JSON.parse(row.hashes)), custom, row.seq);
    }
    sql.exec("UPDATE bins SET queued_bytes = (SELECT COALESCE(SUM(size), 0) FROM queue WHERE queue.bin = bins.idx AND op = 'add')");
    sql.exec("DROP TABLE artifacts");
    sql.exec("ALTER TABLE artifacts_v2 RENAME TO artifacts");
  },
  `
  -- The signing log (signing-log.ts, docs/signing-log.md): one entry per publish, hash-chained, never changed or dropped.
  CREATE TABLE signing_log (
    seq INTEGER PRIMARY KEY,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    started INTEGER NOT NULL,
    time INTEGER NOT NULL,
    cause TEXT NOT NULL,
    files INTEGER NOT NULL
  );
  CREATE TABLE signing_log_files (
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    version INTEGER NOT NULL,
    length INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    keyids TEXT NOT NULL,
    PRIMARY KEY (seq, role)
  ) WITHOUT ROWID;
  -- Files an unfinished publish has written so far, keyed by its timestamp version.
  CREATE TABLE signing_log_staged (
    timestamp_version INTEGER NOT NULL,
    role TEXT NOT NULL,
    version INTEGER NOT NULL,
    length INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    keyids TEXT NOT NULL,
    PRIMARY KEY (timestamp_version, role)
  ) WITHOUT ROWID;
  CREATE TRIGGER signing_log_no_update BEFORE UPDATE ON signing_log BEGIN SELECT RAISE(ABORT, 'the signing log is append-only'); END;
  CREATE TRIGGER signing_log_no_delete BEFORE DELETE ON signing_log BEGIN SELECT RAISE(ABORT, 'the signing log is append-only'); END;
  CREATE TRIGGER signing_log_files_no_update BEFORE UPDATE ON signing_log_files BEGIN SELECT RAISE(ABORT, 'the signing log is append-only'); END;
  CREATE TRIGGER signing_log_files_no_delete BEFORE DELETE ON signing_log_files BEGIN SELECT RAISE(ABORT, 'the signing log is append-only'); END;
  -- How many targets each bin lists, and how many bins list each count: the status page's
  -- bin-size distribution without a scan of artifacts.
  ALTER TABLE bins ADD COLUMN targets INTEGER NOT NULL DEFAULT 0;
  UPDATE bins SET targets = (SELECT COUNT(*) FROM artifacts WHERE artifacts.bin = bins.idx);
  CREATE TABLE bin_size_counts (size INTEGER PRIMARY KEY, bins INTEGER NOT NULL);
  INSERT INTO bin_size_counts (size, bins) SELECT targets, COUNT(*) FROM bins GROUP BY targets;
  `,
  `
  -- 1 when bootstrap was told to skip the PEP 458 key policy (a test repository); /api/v1/status shows it.
  ALTER TABLE repository ADD COLUMN insecure_key_policy INTEGER NOT NULL DEFAULT 0;
  -- The online keyids a reservation was first written with: a resume with other keys re-reserves instead.
  ALTER TABLE publishes ADD COLUMN signers TEXT;
  -- 1 for a reservation given up (expired, or its keys changed) and published again under new versions.
  ALTER TABLE publishes ADD COLUMN abandoned INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- Retention's mark (retention.ts) asks, for each key it would delete, whether a queued add lists its path.
  CREATE INDEX queue_adds_by_path ON queue (path) WHERE op = 'add';
  `,
  // The signing log's pages get fixed bounds, and full ones move to R2 (signing-log.ts): the log's
  // rows of an archived page may then be deleted, and no others.
  (sql) => {
    sql.exec(`
      CREATE TABLE signing_log_pages (after INTEGER PRIMARY KEY, last INTEGER NOT NULL, archived INTEGER NOT NULL DEFAULT 0);
      DROP TRIGGER signing_log_no_delete;
      DROP TRIGGER signing_log_files_no_delete;
      CREATE TRIGGER signing_log_no_delete BEFORE DELETE ON signing_log
        WHEN OLD.seq > (SELECT COALESCE(MAX(last), 0) FROM signing_log_pages WHERE archived = 1)
        BEGIN SELECT RAISE(ABORT, 'the signing log is append-only'); END;
      CREATE TRIGGER signing_log_files_no_delete BEFORE DELETE ON signing_log_files
        WHEN OLD.seq > (SELECT COALESCE(MAX(last), 0) FROM signing_log_pages WHERE archived = 1)
        BEGIN SELECT RAISE(ABORT, 'the signing log is append-only'); END;
    `);
    for (const { seq } of sql.exec<{ seq: number }>("SELECT seq FROM signing_log ORDER BY seq").toArray()) closePageIfFull(sql, seq);
  },
  `
  -- A root that moves the targets or online keys, accepted but not yet written as N.root.json
  -- (offline.ts rootWaitsForCaches): serve_after is NULL until the publish that dual-signs for it
  -- commits, then the time every cached timestamp.json is one that root can verify.
  CREATE TABLE pending_root (version INTEGER PRIMARY KEY, serve_after INTEGER);
  `,
  `
  -- A tuf-edge recover under way (recover.ts), one step per call; emptied when it finishes.
  CREATE TABLE recovery (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    started_at INTEGER NOT NULL,
    -- every step's update start time (TUF spec 5.1): when the pinned timestamp was signed
    reference_time INTEGER NOT NULL,
    -- where the listing of R2 goes on; listed = 1 once it is done
    list_cursor TEXT,
    listed INTEGER NOT NULL DEFAULT 0,
    -- bin-n verified and listed in artifacts so far, from bin 0 up
    bins_read INTEGER NOT NULL DEFAULT 0
  );
  -- What the start step verified, by file name: the pinned timestamp.json, every N.root.json, and the
  -- Updater's root.json, snapshot.json, targets.json and bins.json.
  CREATE TABLE recovery_metadata (name TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
  -- The highest version R2 holds under each role's name, served or not.
  CREATE TABLE recovery_highest (role TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
  `,
];

export function migrate(sql: SqlStorage, now: number): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const applied = sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations").one().v ?? 0;
  for (let v = applied + 1; v <= MIGRATIONS.length; v++) {
    const migration = MIGRATIONS[v - 1]!;
    if (typeof migration === "string") sql.exec(migration);
    else migration(sql);
    sql.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", v, now);
  }
}
