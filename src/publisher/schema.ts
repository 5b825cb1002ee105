/**
 * The Publisher's SQLite schema: the source of truth for a repository.
 * Migrations are numbered and recorded in `schema_migrations` (workerd has no
 * PRAGMA user_version); they run once, in order, under blockConcurrencyWhile.
 */
const MIGRATIONS: readonly string[] = [
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
  `
  -- 1 when bootstrap was told to skip the PEP 458 key policy (a test repository); /api/v1/status shows it.
  ALTER TABLE repository ADD COLUMN insecure_key_policy INTEGER NOT NULL DEFAULT 0;
  -- The online keyids a reservation was first written with: a resume with other keys re-reserves instead.
  ALTER TABLE publishes ADD COLUMN signers TEXT;
  -- 1 for a reservation given up (expired, or its keys changed) and published again under new versions.
  ALTER TABLE publishes ADD COLUMN abandoned INTEGER NOT NULL DEFAULT 0;
  `,
];

export function migrate(sql: SqlStorage, now: number): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const applied = sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations").one().v ?? 0;
  for (let v = applied + 1; v <= MIGRATIONS.length; v++) {
    sql.exec(MIGRATIONS[v - 1]!);
    sql.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", v, now);
  }
}
