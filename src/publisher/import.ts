/**
 * Bulk import: staging an index's existing files without publishing them.
 *
 * Lines go straight into `artifacts`, and their bins are marked `staged`; one
 * publish later signs every staged bin once (Publisher.publishImport). A chunk
 * is one transaction: all its lines are staged, or none. Each import remembers
 * the next input line it expects, so a rerun after a crash resumes there, and a
 * line already listed with the same length, hashes and custom is unchanged.
 * Only new paths are staged: a line that would change a listed target is a
 * conflict, stopping the chunk or skipped, as the caller asks.
 */
import { canonicalString, type SuccinctRoles } from "../tuf/index.js";
import { hashesText } from "./bin-bytes.js";
import { assertWithinClientLimit, BIN_ENVELOPE_BYTES, rowBytes } from "./client-limits.js";
import { listArtifacts } from "./store.js";
import type { ImportChunk, ImportChunkResult, ImportView } from "./types.js";

export class ImportConflict extends Error {
  constructor(
    readonly line: number,
    readonly path: string,
  ) {
    super(`line ${line}: ${path} is already listed with another length, hashes or custom`);
  }
}

type ImportRow = {
  id: string;
  next_line: number;
  added: number;
  unchanged: number;
  skipped: number;
  publish_requested: number;
  published_in: number | null;
};

export function importView(sql: SqlStorage, id: string): ImportView {
  const row = sql.exec<ImportRow>("SELECT * FROM imports WHERE id = ?", id).toArray()[0];
  if (!row) return { id, next_line: 1, added: 0, unchanged: 0, skipped: 0, state: "new", timestamp: null };
  const committed =
    row.published_in === null
      ? undefined
      : sql.exec<{ committed_at: number | null }>("SELECT committed_at FROM publishes WHERE timestamp_version = ?", row.published_in).one().committed_at;
  return {
    id,
    next_line: row.next_line,
    added: row.added,
    unchanged: row.unchanged,
    skipped: row.skipped,
    state: row.publish_requested === 1 || committed === null ? "publishing" : row.published_in === null ? "staging" : "published",
    timestamp: committed === null || committed === undefined ? null : row.published_in,
  };
}

/** Stages one chunk; call inside a transaction (a thrown ImportConflict or RoleTooLarge rolls it back). */
export function stageChunk(sql: SqlStorage, succinct: SuccinctRoles, chunk: ImportChunk, now: number): ImportChunkResult {
  const before = importView(sql, chunk.id);
  if (chunk.firstLine !== before.next_line) return { status: "out_of_order", import: before };
  const rows = chunk.entries.map(({ line, change }) => {
    const entry = { path: change.path, length: change.length, hashes: hashesText(change.hashes), custom: change.custom === undefined ? null : canonicalString(change.custom) };
    return { ...entry, line, bin: succinct.binIndexFor(change.path), size: rowBytes(entry) };
  });
  // In key order: the inserts then walk the (bin, path) B-tree once, instead of dirtying its pages in random
  // order, which made SQLite spill and re-read them (gigabytes of WAL writes and reads at 1M artifacts).
  rows.sort((a, b) => a.bin - b.bin || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const { listed, binBytes } = listArtifacts(sql, rows);
  listed.sort((a, b) => a.row.line - b.row.line);
  const skipped: Array<{ line: number; path: string }> = [];
  let unchanged = 0;
  for (const { row, prior } of listed) {
    // Stored hashes and custom are canonical text (webhook and import alike), so text equality is equality.
    if (prior.length === row.length && prior.hashes === row.hashes && prior.custom === row.custom) unchanged++;
    else if (chunk.onConflict === "skip") skipped.push({ line: row.line, path: row.path });
    else throw new ImportConflict(row.line, row.path);
  }
  const added = rows.length - listed.length;
  for (const [bin, bytes] of binBytes) assertWithinClientLimit("targets", succinct.roleName(bin), bytes + BIN_ENVELOPE_BYTES);
  if (binBytes.size > 0) sql.exec("UPDATE bins SET staged = 1 WHERE idx IN (SELECT value FROM json_each(?))", JSON.stringify([...binBytes.keys()]));
  sql.exec(
    "INSERT INTO imports (id, next_line, added, unchanged, skipped, created_at, published_in) VALUES (?, ?, ?, ?, ?, ?, NULL) " +
      "ON CONFLICT (id) DO UPDATE SET next_line = excluded.next_line, added = added + excluded.added, " +
      "unchanged = unchanged + excluded.unchanged, skipped = skipped + excluded.skipped, " +
      "published_in = CASE WHEN excluded.added > 0 THEN NULL ELSE published_in END",
    chunk.id,
    chunk.endLine,
    added,
    unchanged,
    skipped.length,
    now,
  );
  return { status: "staged", import: importView(sql, chunk.id), skipped };
}

/** Asks the next publish to sign every staged bin; the import is published once that publish commits. */
export function requestPublish(sql: SqlStorage, id: string): ImportView {
  sql.exec("UPDATE imports SET publish_requested = 1 WHERE id = ? AND published_in IS NULL", id);
  return importView(sql, id);
}

/**
 * Inside begin(): the staged bins, if an import asked for its publish, and marks
 * them signed by `timestampVersion`. Bounded by the number of bins, not of lines.
 */
export function takeStaged(sql: SqlStorage): { bins: number[]; commit: (timestampVersion: number) => void } | undefined {
  if (sql.exec("SELECT 1 FROM imports WHERE publish_requested = 1 LIMIT 1").toArray().length === 0) return undefined;
  const bins = sql.exec<{ idx: number }>("SELECT idx FROM bins WHERE staged = 1").toArray().map((r) => r.idx);
  return {
    bins,
    commit: (timestampVersion) => {
      sql.exec("UPDATE bins SET staged = 0 WHERE staged = 1");
      sql.exec("UPDATE imports SET published_in = ?, publish_requested = 0 WHERE publish_requested = 1", timestampVersion);
    },
  };
}
