/**
 * Command-line parsing shared by every command: node:util parseArgs in strict
 * mode, with its errors turned into one-line `UsageError`s, plus small
 * validators for integers and the reference clock.
 */
import { parseArgs } from "node:util";
import { CliError, UsageError } from "./errors.js";

interface OptionSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
}
type OptionSpecs = Record<string, OptionSpec>;

type OptionValue<S extends OptionSpec> = S["type"] extends "boolean"
  ? S["multiple"] extends true
    ? boolean[]
    : boolean
  : S["multiple"] extends true
    ? string[]
    : string;

export interface Parsed<O extends OptionSpecs> {
  values: { [K in keyof O]?: OptionValue<O[K]> };
  positionals: string[];
}

/**
 * Parses `args` for `command` against `options` (strict: unknown options are
 * errors) and checks the number of positionals.
 */
export function parseCommandArgs<O extends OptionSpecs>(
  command: string,
  args: readonly string[],
  options: O,
  positionals: { min: number; max: number; name?: string } = { min: 0, max: 0 },
): Parsed<O> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err), command);
  }
  const n = parsed.positionals.length;
  if (n < positionals.min) throw new UsageError(`missing ${positionals.name ?? "argument"}`, command);
  if (n > positionals.max)
    throw new UsageError(
      positionals.max === 0
        ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}`
        : `too many arguments: expected at most ${positionals.max} ${positionals.name ?? "argument"}`,
      command,
    );
  return parsed as Parsed<O>;
}

/** The first sentence of a parseArgs error, lower-cased: "unknown option '--foo'". */
function parseArgsMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split(/\.\s/)[0] ?? message;
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** A required string option. */
export function required<T>(value: T | undefined, option: string, command: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0))
    throw new UsageError(`missing required option --${option}`, command);
  return value;
}

/** Parses an integer option within [min, max]; undefined stays undefined. */
export function intOption(
  raw: string | undefined,
  option: string,
  command: string,
  range: { min: number; max?: number },
): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < range.min || value > max)
    throw new UsageError(
      `--${option} must be an integer ${range.max === undefined ? `>= ${range.min}` : `from ${range.min} to ${max}`}, got ${JSON.stringify(raw)}`,
      command,
    );
  return value;
}

/**
 * The reference time: now, or TUF_EDGE_NOW (an ISO 8601 time) so runs are
 * reproducible. Whole seconds, like every TUF expiry.
 */
export function referenceTime(): Date {
  const fixed = process.env.TUF_EDGE_NOW;
  let ms = Date.now();
  if (fixed !== undefined && fixed !== "") {
    ms = Date.parse(fixed);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(fixed) || Number.isNaN(ms))
      throw new CliError(
        `TUF_EDGE_NOW is ${JSON.stringify(fixed)}, not an ISO 8601 time`,
        "Set it like 2026-01-01T00:00:00Z, or unset it to use the current time",
      );
  }
  return new Date(Math.floor(ms / 1000) * 1000);
}

const DAY_MS = 86_400_000;

/** `now` plus `days` whole days. */
export const daysFrom = (now: Date, days: number): Date => new Date(now.getTime() + days * DAY_MS);

/** "in 364 days", "in 3 hours", "expired 2 days ago". */
export function timeLeft(expires: Date, now: Date): string {
  const ms = expires.getTime() - now.getTime();
  const abs = Math.abs(ms);
  const amount =
    abs >= DAY_MS
      ? plural(Math.floor(abs / DAY_MS), "day")
      : abs >= 3_600_000
        ? plural(Math.floor(abs / 3_600_000), "hour")
        : plural(Math.floor(abs / 60_000), "minute");
  return ms > 0 ? `${amount} left` : `expired ${amount} ago`;
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The range of every --*-expires-days option: a day to a century. */
export const MAX_DAYS = { min: 1, max: 36_500 } as const;
