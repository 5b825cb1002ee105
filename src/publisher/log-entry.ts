/**
 * One entry of the signing log (PEP 458 §Managing online keys: a transaction log
 * of what the repository signs), and its hash. Pure code: the Publisher builds
 * entries with it and `tuf-edge audit` replays them with it. docs/signing-log.md
 * defines the same bytes for anyone reimplementing an auditor.
 */
import { canonicalBytes, sha256Sync, toHex } from "../tuf/index.js";

/** The `prev` of the first entry. */
export const GENESIS_HASH = "0".repeat(64);

/** Why a publish happened; `kind` is the Publisher's reason for it. */
export type LogCause =
  | { kind: "bootstrap" }
  | { kind: "artifacts"; receipts: string[] }
  | { kind: "renewal" }
  | { kind: "offline_roles"; roles: string[] }
  | { kind: "online_key_rotation"; roles: string[] };

/** A metadata file a publish wrote: `timestamp` is metadata/timestamp.json, every other role metadata/<version>.<role>.json. */
export interface LoggedFile {
  role: string;
  version: number;
  length: number;
  sha256: string;
  /** The keyids of the file's signatures, sorted. */
  keyids: string[];
}

/** What is hashed: every field of an entry but its own hash. */
export interface LogEntryBody {
  seq: number;
  prev: string;
  /** When the publish began and when it was committed, in ms since the epoch. */
  started: number;
  time: number;
  cause: LogCause;
  /** Sorted by role name (UTF-16 code units, which for these ASCII names is byte order). */
  files: LoggedFile[];
}

export interface LogEntry extends LogEntryBody {
  hash: string;
}

/** The entry's canonical bytes: TUF canonical JSON (OLPC) of the body, files sorted, no `hash` field. */
export function entryBytes(body: LogEntryBody): Uint8Array {
  const { seq, prev, started, time, cause, files } = body;
  return canonicalBytes({ seq, prev, started, time, cause, files: sortFiles(files) });
}

/** Lowercase hex SHA-256 of `entryBytes`. */
export const entryHash = (body: LogEntryBody): string => toHex(sha256Sync(entryBytes(body)));

export function sortFiles(files: readonly LoggedFile[]): LoggedFile[] {
  return [...files]
    .map((f) => ({ ...f, keyids: [...f.keyids].sort() }))
    .sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
}

/** Where the Worker serves a logged file. */
export const servedPath = (file: Pick<LoggedFile, "role" | "version">): string =>
  file.role === "timestamp" ? "metadata/timestamp.json" : `metadata/${file.version}.${file.role}.json`;
