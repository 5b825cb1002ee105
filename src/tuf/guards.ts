/** Tiny type guards that narrow parsed JSON without a schema library. */
import type { JSONObject } from "./canonical.js";

export const isObject = (v: unknown): v is JSONObject =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");

export const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

export const isNonNegativeInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * A new record with `f` applied to every own entry. Built with Object.fromEntries,
 * which defines own data properties: a key such as "__proto__" (legal in JSON, e.g.
 * a target path) stays an entry instead of replacing the record's prototype.
 */
export const mapRecord = <T, U>(record: Readonly<Record<string, T>>, f: (value: T, key: string) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value, key)]));

/** `record[key]` if it is an own property: never a value inherited from Object.prototype. */
export const ownEntry = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;
