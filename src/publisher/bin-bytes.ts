/**
 * A bin-n's signed bytes, written straight from its SQLite rows.
 *
 * At 10M artifacts over 16,384 bins a bin lists ~600 targets, and every bin
 * is signed at import, on renewal and on key rotation. Building a TargetFile
 * per row and canonicalizing the whole object costs ~50 µs per target; rows
 * already hold their hashes and custom as canonical JSON text (the Publisher
 * stores them so) and come out of the (bin, path) primary key in path order,
 * so the canonical text is one template per row. The output is byte-identical
 * to the Metadata API's; test/publisher/bin-bytes.test.ts proves it.
 */
import { formatExpires, SPEC_VERSION, utf8 } from "../tuf/index.js";

export type ListedRow = {
  path: string;
  length: number;
  /** canonicalString of the hashes object */
  hashes: string;
  /** canonicalString of custom, or null */
  custom: string | null;
};

/** One row's `"path":{…}` in bin-n's `targets`. */
export const entryText = (r: ListedRow): string =>
  `${JSON.stringify(r.path)}:{${r.custom === null ? "" : `"custom":${r.custom},`}"hashes":${r.hashes},"length":${r.length}}`;

/** Canonical text of validated hashes (hex values only): the keys sorted, nothing to escape. */
export function hashesText(hashes: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(hashes).sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** `rows` sorted by path (UTF-16 order, which is UTF-8 byte order below U+D800, the paths validatePath allows). */
export function binSignedBytes(version: number, expires: Date, rows: readonly ListedRow[]): Uint8Array {
  const entries = rows.map(entryText);
  return utf8(
    `{"_type":"targets","expires":"${formatExpires(expires)}","spec_version":"${SPEC_VERSION}","targets":{${entries.join(",")}},"version":${version}}`,
  );
}
