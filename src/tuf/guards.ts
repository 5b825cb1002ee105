/** Tiny type guards that narrow parsed JSON without a schema library. */
import type { JSONObject } from "./canonical.js";

export const isObject = (v: unknown): v is JSONObject =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");

export const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

export const isNonNegativeInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
