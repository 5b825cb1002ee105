/**
 * The errors of a client update. Each names the role it concerns and the spec rule
 * it enforces, so a refusal reads as one line: "bin-3e98: expired at ... (TUF 5.6.5)".
 */
import type { TufErrorCode } from "../tuf/index.js";

export type UpdateErrorCode =
  | TufErrorCode
  /** a version equal to the trusted one: not an error for the caller, the trusted copy stays */
  | "equal_version"
  /** a file is over its length limit */
  | "too_large"
  /** a role is delegated to, but the snapshot does not list it */
  | "not_in_snapshot"
  /** a metadata or target download failed (network, HTTP status) */
  | "download";

export class UpdateError extends Error {
  override readonly name = "UpdateError";
  constructor(
    readonly code: UpdateErrorCode,
    /** the role whose metadata (or whose target) was refused, e.g. "timestamp", "bin-3e98" */
    readonly role: string,
    /** the TUF specification section that makes this a refusal, e.g. "5.4.3" */
    readonly rule: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${role}: ${detail} (TUF ${rule})`, options);
  }
}

/** A download that did not produce bytes. A 403 or 404 on the next root ends the root walk (spec 5.3.3). */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  constructor(
    readonly url: string,
    message: string,
    readonly details: {
      /** the HTTP status, when there was an answer */
      status?: number;
      /** the body was longer than the length limit */
      tooLarge?: boolean;
    } = {},
  ) {
    super(message);
  }
}
