/**
 * The Python index's state inside the Publisher: projects, their files and yanks
 * (SQLite, the source of truth), and the simple pages rendered from them.
 *
 * Every change to a project's files re-renders its two pages (PEP 503 HTML, PEP 691 JSON)
 * and queues the file and page targets in ONE receipt, so one publish signs them
 * together: a client never sees a page listing a file the metadata does not cover,
 * nor a covered file missing from its page. Changes are serialized (`serialize`): the
 * page bytes written to R2 are always those of the state the same transaction records.
 *
 * R2 order. The hash-named copies (`dir/<sha256>.name`) of files and pages are written
 * before the change is accepted; their names come from their content, so that replaces
 * nothing. The plain copies (`targets/packages/…`, `targets/simple/<name>/index.*`),
 * which clients without TUF read, change only after `timestamp.json` covers them, files
 * before pages (`copyPlain`), so a plain page never links to a file that is not there.
 *
 * The project list (`simple/index.*`) changes with every new project and reaches tens
 * of MB at PyPI's size, so it is not re-signed per upload: the cron re-signs it when a
 * project was added since (`projectListChanges`), at most once per run.
 */
import { normalizeName } from "../python/names.js";
import {
  coreMetadataPath,
  distributionPath,
  projectListHtml,
  projectListJson,
  projectPageHtml,
  projectPageJson,
  projectPagePath,
  PROJECT_LIST_PATHS,
  JSON_TYPE,
  type DistributionFile,
} from "../python/simple.js";
import { canonicalVersion } from "../python/names.js";
import { digestHex, utf8, type SuccinctRoles } from "../tuf/index.js";
import type { R2Keys } from "./r2-keys.js";
import type { Change } from "./types.js";

export interface PythonUploadInput {
  /** The upload's `name` field; the first upload's spelling is the project's display name. */
  project: string;
  version: string;
  filename: string;
  size: number;
  sha256: string;
  requiresPython?: string;
  /** The wheel's METADATA, already stored under its hash-named key (PEP 658). */
  metadata?: { sha256: string; size: number };
}

export type PythonReleaseAction = "yank" | "unyank" | "delete";
export interface PythonReleaseInput {
  action: PythonReleaseAction;
  project: string;
  version: string;
  reason?: string;
}

/** How an upload's filename stands: new, already there with these bytes, or refused. */
export type FileCheck = { status: "new" } | { status: "exists" } | { status: "refused"; code: string; message: string };

/** A change to the index: the targets to queue, the SQL that records it, and what the caller reports. */
export interface IndexChange {
  changes: Change[];
  apply(): void;
}

const HTML_CONTENT_TYPE = "text/html; charset=utf-8";

type FileRow = {
  filename: string;
  project: string;
  version: string;
  size: number;
  sha256: string;
  requires_python: string | null;
  metadata_sha256: string | null;
  metadata_size: number | null;
  uploaded_at: number;
  yanked: number;
  yank_reason: string | null;
  deleted_at: number | null;
};

export function migratePythonIndex(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS python_projects (
      name TEXT PRIMARY KEY,            -- PEP 503 normalized
      display TEXT NOT NULL,            -- as first uploaded
      created_at INTEGER NOT NULL,
      listed INTEGER NOT NULL DEFAULT 0 -- 1 once a signed project list includes it
    );
    -- Every file ever uploaded. Deleted files keep their row: PyPI never lets a filename be reused.
    CREATE TABLE IF NOT EXISTS python_files (
      filename TEXT PRIMARY KEY,
      project TEXT NOT NULL,
      version TEXT NOT NULL,
      version_key TEXT NOT NULL,        -- canonical PEP 440 form, for yank and delete
      size INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      requires_python TEXT,
      metadata_sha256 TEXT,
      metadata_size INTEGER,
      uploaded_at INTEGER NOT NULL,
      yanked INTEGER NOT NULL DEFAULT 0,
      yank_reason TEXT,
      deleted_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS python_files_by_project ON python_files (project, version_key);
    -- Plain copies to write once a timestamp covers them (files, then pages).
    CREATE TABLE IF NOT EXISTS python_plain (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL);
  `);
}

export class PythonIndex {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sql: SqlStorage,
    private readonly bucket: R2Bucket,
    private readonly keys: R2Keys,
  ) {}

  /** Runs `work` after every earlier index change has been recorded. */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  checkFile(filename: string, sha256: string): FileCheck {
    const row = this.sql.exec<FileRow>("SELECT * FROM python_files WHERE filename = ?", filename).toArray()[0];
    if (!row) return { status: "new" };
    if (row.deleted_at !== null)
      return { status: "refused", code: "filename_reused", message: `${filename} was deleted; a filename can never be reused, upload a new version` };
    if (row.sha256 !== sha256)
      return { status: "refused", code: "file_exists", message: `${filename} already exists with different contents; files are immutable, upload a new version` };
    return { status: "exists" };
  }

  /** The change an upload makes; its pages are already in R2 under their hash-named keys. Call inside `serialize`. */
  async upload(u: PythonUploadInput, now: number): Promise<IndexChange> {
    const project = normalizeName(u.project);
    const known = this.sql.exec<{ display: string }>("SELECT display FROM python_projects WHERE name = ?", project).toArray()[0];
    const file: DistributionFile = {
      filename: u.filename,
      version: u.version,
      size: u.size,
      sha256: u.sha256,
      requiresPython: u.requiresPython,
      coreMetadataSha256: u.metadata?.sha256,
      uploadedAt: now,
      yanked: false,
    };
    const files = [...this.liveFiles(project), file];
    const pages = await this.writePages(known?.display ?? u.project, files);
    const path = distributionPath(project, u.filename);
    const changes: Change[] = [{ op: "add", path, length: u.size, hashes: { sha256: u.sha256 } }];
    if (u.metadata) changes.push({ op: "add", path: coreMetadataPath(project, u.filename), length: u.metadata.size, hashes: { sha256: u.metadata.sha256 } });
    return {
      changes: [...changes, ...pages],
      apply: () => {
        if (!known) this.sql.exec("INSERT INTO python_projects (name, display, created_at) VALUES (?, ?, ?)", project, u.project, now);
        this.sql.exec(
          "INSERT INTO python_files (filename, project, version, version_key, size, sha256, requires_python, metadata_sha256, metadata_size, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          u.filename, project, u.version, canonicalVersion(u.version)!, u.size, u.sha256, u.requiresPython ?? null, u.metadata?.sha256 ?? null, u.metadata?.size ?? null, now,
        );
        for (const c of [...changes, ...pages]) if (c.op === "add") this.plainLater(c.path, c.hashes.sha256!);
      },
    };
  }

  /** The change a yank, unyank or delete of every file of a release makes, or why there is none. Call inside `serialize`. */
  async release(r: PythonReleaseInput): Promise<IndexChange | { status: "not_found"; message: string }> {
    const project = normalizeName(r.project);
    const display = this.sql.exec<{ display: string }>("SELECT display FROM python_projects WHERE name = ?", project).toArray()[0]?.display;
    const key = canonicalVersion(r.version);
    const hit = (f: FileRow) => key !== undefined && canonicalVersion(f.version) === key;
    const rows = this.liveRows(project);
    const affected = rows.filter(hit);
    if (display === undefined || affected.length === 0)
      return { status: "not_found", message: `${r.project} has no files of version ${r.version}` };
    const reason = r.reason ?? "";
    const next: FileRow[] =
      r.action === "delete"
        ? rows.filter((f) => !hit(f))
        : rows.map((f) => (hit(f) ? { ...f, yanked: r.action === "yank" ? 1 : 0, yank_reason: r.action === "yank" ? reason : null } : f));
    const pages = await this.writePages(display, next.map(toDistribution));
    const removed: Change[] =
      r.action === "delete"
        ? affected.flatMap((f) => [
            { op: "remove" as const, path: distributionPath(project, f.filename) },
            ...(f.metadata_sha256 ? [{ op: "remove" as const, path: coreMetadataPath(project, f.filename) }] : []),
          ])
        : [];
    return {
      changes: [...removed, ...pages],
      apply: () => {
        for (const f of affected) {
          if (r.action === "delete") {
            this.sql.exec("UPDATE python_files SET deleted_at = ? WHERE filename = ?", Date.now(), f.filename);
            this.sql.exec("DELETE FROM python_plain WHERE path IN (?, ?)", distributionPath(project, f.filename), coreMetadataPath(project, f.filename));
          } else
            this.sql.exec("UPDATE python_files SET yanked = ?, yank_reason = ? WHERE filename = ?", r.action === "yank" ? 1 : 0, r.action === "yank" ? reason : null, f.filename);
        }
        for (const c of pages) if (c.op === "add") this.plainLater(c.path, c.hashes.sha256!);
      },
    };
  }

  /** The re-signed project list, when a project was added since it was last signed. Call inside `serialize`. */
  async projectListChanges(): Promise<IndexChange | undefined> {
    if (this.sql.exec("SELECT 1 FROM python_projects WHERE listed = 0 LIMIT 1").toArray().length === 0) return undefined;
    const names = this.sql.exec<{ display: string }>("SELECT display FROM python_projects").toArray().map((r) => r.display);
    const changes = await Promise.all([
      this.writeTarget(PROJECT_LIST_PATHS.html, projectListHtml(names), HTML_CONTENT_TYPE),
      this.writeTarget(PROJECT_LIST_PATHS.json, projectListJson(names), JSON_TYPE),
    ]);
    return {
      changes,
      apply: () => {
        this.sql.exec("UPDATE python_projects SET listed = 1 WHERE listed = 0");
        for (const c of changes) if (c.op === "add") this.plainLater(c.path, c.hashes.sha256!);
      },
    };
  }

  /**
   * Writes the plain copies of what the newest published state lists, files before pages.
   * Called after `timestamp.json` is written; a crash leaves the rows, and the next publish redoes them.
   */
  async copyPlain(succinct: SuccinctRoles): Promise<void> {
    // Each waiting copy is looked up by its (bin, path) key: a join on the path alone scanned every
    // artifact on every publish (0.9 s a publish at 10M artifacts).
    const due = this.sql
      .exec<{ path: string; sha256: string }>("SELECT path, sha256 FROM python_plain ORDER BY path LIKE 'simple/%', path")
      .toArray()
      .filter(({ path, sha256 }) =>
        this.sql
          .exec("SELECT 1 FROM artifacts WHERE bin = ? AND path = ? AND json_extract(hashes, '$.sha256') = ?", succinct.binIndexFor(path), path, sha256)
          .toArray().length > 0,
      );
    const files = due.filter((d) => !d.path.startsWith("simple/"));
    const pages = due.filter((d) => d.path.startsWith("simple/"));
    for (const batch of [files, pages]) {
      await Promise.all(
        batch.map(async ({ path, sha256 }) => {
          const source = await this.bucket.get(this.keys.consistentTarget(path, sha256));
          if (source === null) throw new Error(`the hash-named copy of ${path} is missing from R2`);
          await this.bucket.put(this.keys.plainTarget(path), source.body, { httpMetadata: source.httpMetadata });
        }),
      );
      for (const { path, sha256 } of batch) this.sql.exec("DELETE FROM python_plain WHERE path = ? AND sha256 = ?", path, sha256);
    }
  }

  private liveRows(project: string): FileRow[] {
    return this.sql.exec<FileRow>("SELECT * FROM python_files WHERE project = ? AND deleted_at IS NULL", project).toArray();
  }

  private liveFiles(project: string): DistributionFile[] {
    return this.liveRows(project).map(toDistribution);
  }

  private async writePages(display: string, files: DistributionFile[]): Promise<Change[]> {
    const project = { name: display, files };
    return Promise.all([
      this.writeTarget(projectPagePath(display, "html"), projectPageHtml(project), HTML_CONTENT_TYPE),
      this.writeTarget(projectPagePath(display, "json"), projectPageJson(project), JSON_TYPE),
    ]);
  }

  /** Stores a page under its hash-named key (a new name, so nothing clients read changes) and returns its target. */
  private async writeTarget(path: string, text: string, contentType: string): Promise<Change> {
    const bytes = utf8(text);
    const { sha256 } = await digestHex(bytes, ["sha256"]);
    await this.bucket.put(this.keys.consistentTarget(path, sha256!), bytes, { httpMetadata: { contentType } });
    return { op: "add", path, length: bytes.length, hashes: { sha256: sha256! } };
  }

  private plainLater(path: string, sha256: string): void {
    this.sql.exec("INSERT INTO python_plain (path, sha256) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256", path, sha256);
  }
}

function toDistribution(f: FileRow): DistributionFile {
  return {
    filename: f.filename,
    version: f.version,
    size: f.size,
    sha256: f.sha256,
    requiresPython: f.requires_python ?? undefined,
    coreMetadataSha256: f.metadata_sha256 ?? undefined,
    uploadedAt: f.uploaded_at,
    yanked: f.yanked ? (f.yank_reason ?? "") : false,
  };
}
