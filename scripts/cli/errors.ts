/**
 * The CLI's one error path. Every failure a user can cause becomes a `CliError`
 * with two halves, printed as one line on stderr:
 *
 *   error: <what is wrong>. <what to do>
 *
 * `TufError` codes from src/tuf map to a fixed "what to do" hint; filesystem
 * errors map by errno. Anything else is a bug and says so. Messages never carry
 * file contents, so a private key can't leak through a parse error.
 */
import { TufError, type TufErrorCode } from "../../src/tuf/index.js";

export const EXIT_OK = 0;
/** A command ran and failed: bad input files, unknown key, a threshold not met. */
export const EXIT_FAILURE = 1;
/** The command line itself is wrong: unknown command or option, missing argument. */
export const EXIT_USAGE = 2;

export class CliError extends Error {
  override readonly name: string = "CliError";
  constructor(
    /** What is wrong, without a final period. */
    readonly what: string,
    /** What the user should do about it. */
    readonly todo: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(`${what}. ${todo}`);
  }
}

/** A malformed command line: exit code 2 and a pointer to the command's help. */
export class UsageError extends CliError {
  override readonly name = "UsageError";
  constructor(what: string, command?: string) {
    super(what, `Run "tuf-edge ${command ? `${command} ` : ""}--help" for usage`, EXIT_USAGE);
  }
}

/** The "what to do" half for each TufError code. */
const TUF_HINTS: Record<TufErrorCode, string> = {
  malformed: "Copy an intact file from the ceremony machine, or draft it again with tuf-edge init or tuf-edge root rotate",
  not_canonical: "Remove the value outside TUF canonical JSON (floats, control characters, lone surrogates) and draft again",
  threshold: "Collect more signatures with tuf-edge sign",
  rollback: "Root versions must be consecutive: N.root.json must follow (N-1).root.json",
  expired: "Draft a new version with a fresh expiry",
  length_or_hash: "Copy the file again; it does not match its recorded length or hash",
  unknown_role: "Check that the delegating metadata names this role",
  unknown_key: "Sign with a key the role lists",
  key_policy: "Give root at least two signatures and keep the online key out of root, targets and bins (tuf-edge init does), or bootstrap a test repository with --insecure-key-policy",
};

export function tufHint(code: TufErrorCode): string {
  return TUF_HINTS[code];
}

/** A TufError raised while handling `file`, as a CliError naming the file. */
export function fromTufError(err: TufError, file?: string): CliError {
  const what = file ? `${file}: ${err.message}` : err.message;
  return new CliError(what, tufHint(err.code));
}

const FS_ERRORS: Record<string, [string, string]> = {
  ENOENT: ["does not exist", "Check the path"],
  EACCES: ["is not accessible (permission denied)", "Check the file's permissions"],
  EPERM: ["is not accessible (operation not permitted)", "Check the file's permissions"],
  EISDIR: ["is a directory, not a file", "Pass a file path"],
  ENOTDIR: ["is not inside a directory", "Check the path"],
  EEXIST: ["already exists", "Refusing to overwrite it; choose another path or move the old file away"],
  ENOSPC: ["cannot be written: the disk is full", "Free some space and try again"],
  EROFS: ["cannot be written: read-only file system", "Write somewhere writable"],
};

/** Wraps a Node filesystem error on `path` into a CliError; rethrows anything else untouched. */
export function fromFsError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const known = code ? FS_ERRORS[code] : undefined;
  return known ? new CliError(`${path} ${known[0]}`, known[1]) : err;
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").trim();
const withoutPeriod = (s: string): string => s.replace(/[.\s]+$/, "");

/** Formats any thrown value as the single stderr line, plus the exit code. */
export function describeError(err: unknown): { line: string; exitCode: number } {
  if (err instanceof CliError)
    return { line: `error: ${oneLine(withoutPeriod(err.what))}. ${oneLine(err.todo)}`, exitCode: err.exitCode };
  if (err instanceof TufError) return describeError(fromTufError(err));
  const fsError = fromFsError(err, (err as NodeJS.ErrnoException | undefined)?.path ?? "a file");
  if (fsError instanceof CliError) return describeError(fsError);
  const message = err instanceof Error ? err.message : String(err);
  return {
    line: `error: unexpected failure: ${oneLine(withoutPeriod(message))}. This is a bug in tuf-edge; please report it with the command you ran`,
    exitCode: EXIT_FAILURE,
  };
}
