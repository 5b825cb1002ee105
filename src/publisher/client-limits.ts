/**
 * The largest metadata files TUF clients download by default. python-tuf's
 * UpdaterConfig and tuf-js's config refuse, without reading further, a
 * timestamp over 16 KiB, a snapshot over 2,000,000 bytes and a targets role
 * (every bin-n) over 5,000,000 bytes. A file past its limit is published but
 * unusable: every client stops at it. So the Publisher refuses, before
 * accepting them, changes that would push a bin-n past its limit, and checks
 * every file again before writing it.
 */
import { canonicalString, type JSONObject } from "../tuf/index.js";
import { entryText, hashesText, type ListedRow } from "./bin-bytes.js";

export const CLIENT_MAX_BYTES = { timestamp: 16_384, snapshot: 2_000_000, targets: 5_000_000 } as const;

/** /api/v1/status warns once a bin-n passes this share of its limit. */
export const WARN_FRACTION = 0.8;

/**
 * What a bin-n holds besides its `targets` entries: `_type`, `expires`,
 * `spec_version`, `version` and two online-key signatures (~470 bytes), with margin.
 */
export const BIN_ENVELOPE_BYTES = 1_024;

/** The bytes one entry adds to a bin-n's `targets`: `"path":{"custom":…,"hashes":{…},"length":N}` and its comma. */
export function entryBytes(path: string, length: number, hashes: Readonly<Record<string, string>>, custom?: JSONObject): number {
  return rowBytes({ path, length, hashes: hashesText(hashes), custom: custom === undefined ? null : canonicalString(custom) });
}

/** entryBytes of a row whose hashes and custom are already canonical text. */
export function rowBytes(row: ListedRow): number {
  const text = entryText(row);
  // eslint-disable-next-line no-control-regex
  return (/^[\x00-\x7f]*$/.test(text) ? text.length : new TextEncoder().encode(text).length) + 1;
}

export class RoleTooLarge extends Error {
  constructor(
    readonly role: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`${role} would be ${bytes} bytes, over the ${limit} bytes TUF clients download by default`);
  }
}

/** Throws RoleTooLarge when a file of `type` is over what clients download. */
export function assertWithinClientLimit(type: keyof typeof CLIENT_MAX_BYTES, role: string, bytes: number): void {
  if (bytes > CLIENT_MAX_BYTES[type]) throw new RoleTooLarge(role, bytes, CLIENT_MAX_BYTES[type]);
}
