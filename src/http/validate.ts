/**
 * Validation of the artifact webhook. Each rule has its own error code, and a
 * request that breaks any rule changes nothing.
 */
import { assertCanonicalSubset, canonicalBytes, TufError, type JSONObject } from "../tuf/index.js";
import type { Change } from "../publisher/types.js";
import { MAX_TARGET_PATH_BYTES } from "../publisher/r2-keys.js";
import { ApiError } from "./errors.js";
import { nestsDeeperThan } from "./json-depth.js";

export const MAX_BODY_BYTES = 1024 * 1024;
/** Every R2 key of a target (its plain name and a sha512-prefixed copy, under the repository's prefix) fits R2's 1,024 bytes. */
export const MAX_PATH_BYTES = MAX_TARGET_PATH_BYTES;
/**
 * `custom` nests at most this deep (`{"a":1}` is 1) and takes at most this many
 * bytes as canonical JSON: far inside python-tuf's recursion limit, and a bin-n
 * stays small for every client that downloads it.
 */
export const MAX_CUSTOM_DEPTH = 8;
export const MAX_CUSTOM_BYTES = 16 * 1024;
/** The webhook body holds `custom` three levels down: {"add":[{"custom":…}]}. */
const WEBHOOK_MAX_DEPTH = 3 + MAX_CUSTOM_DEPTH;
/** Admin bodies (signed ceremony files) nest a few levels; this bound only keeps recursion finite. */
const ADMIN_MAX_DEPTH = 32;
/**
 * Path characters every TUF client writes into a URL, and every CDN passes on,
 * the same way: RFC 3986 unreserved characters plus `+ ! = , @`, and `/` between
 * segments. Anything else (space, `" < > \ ^ \` { | }`, `? # % ; : ' ( ) * $ &`,
 * controls, non-ASCII) some client, proxy or CDN encodes, normalizes or cuts differently.
 */
const PATH_CHARS = /[A-Za-z0-9._~+!=,@-]/g;
const HASH_HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

/** Reads a body of at most `limit` bytes, refusing larger ones without reading them whole. */
export async function readBody(req: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge(limit);
  const reader = req.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

const tooLarge = (limit: number) => new ApiError(413, "body_too_large", `the body is larger than ${limit} bytes`);

/** Parses a request body that nests at most `maxDepth` deep (checked on the bytes first: no recursion ever sees more). */
export function parseJSON(body: Uint8Array, maxDepth = ADMIN_MAX_DEPTH): unknown {
  if (nestsDeeperThan(body, maxDepth))
    throw maxDepth === WEBHOOK_MAX_DEPTH
      ? new ApiError(422, "custom_invalid", `the body nests deeper than ${maxDepth} levels: custom may nest at most ${MAX_CUSTOM_DEPTH} levels (python-tuf could not parse the bin-n)`)
      : new ApiError(400, "request_invalid", `the body nests deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new ApiError(400, "malformed_json", "the body is not valid UTF-8 JSON");
  }
}

/**
 * A target path as TUF clients use it (TUF spec 4.5; pep458.md §4): relative,
 * `/`-separated, put into URLs unencoded, hashed as UTF-8 to pick its bin.
 */
export function validatePath(path: unknown, where: string): string {
  const fail = (why: string) => new ApiError(422, "path_invalid", `${where}: ${why}`);
  if (typeof path !== "string" || path === "") throw fail("must be a non-empty string");
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES)
    throw fail(`must be at most ${MAX_PATH_BYTES} bytes (with the repository prefix and a sha512, every R2 key must fit in 1,024)`);
  const segments = path.split("/");
  const bad = segments.map((s) => s.replace(PATH_CHARS, "")).join("");
  if (bad !== "") {
    const cp = bad.codePointAt(0)!;
    throw fail(
      `must use only A-Z a-z 0-9 - . _ ~ + ! = , @ and / (characters every TUF client and CDN puts into a URL the same way); ` +
        `found U+${cp.toString(16).toUpperCase().padStart(4, "0")}`,
    );
  }
  if (segments.some((s) => s === "")) throw fail("must be relative, with no empty segment (no leading, trailing or double /)");
  if (segments.some((s) => s === ".." || s === ".")) throw fail("must not contain . or .. segments");
  return path;
}

/**
 * PyPI's native file hash. It is accepted beside sha256 and left out of what is signed,
 * because tuf-js cannot verify a target that lists it (docs/adr/0003-blake2b-256.md).
 */
const BLAKE2B_256 = "blake2b-256";

export function validateHashes(hashes: unknown, where: string): Record<string, string> {
  if (typeof hashes !== "object" || hashes === null || Array.isArray(hashes) || Object.keys(hashes).length === 0)
    throw new ApiError(422, "hashes_invalid", `${where}: hashes must be an object with sha256 and/or sha512`);
  const signed: Record<string, string> = {};
  for (const [alg, digest] of Object.entries(hashes)) {
    if (alg === BLAKE2B_256) {
      if (typeof digest !== "string" || !/^[0-9a-f]{64}$/.test(digest))
        throw new ApiError(422, "hashes_invalid", `${where}: ${BLAKE2B_256} must be 64 lowercase hex characters`);
      if (!Object.hasOwn(hashes, "sha256"))
        throw new ApiError(
          422,
          "hash_algorithm_unsupported",
          `${where}: ${BLAKE2B_256} is accepted only beside sha256, which is what gets signed (tuf-js clients cannot verify blake2b)`,
        );
      continue;
    }
    const expected = Object.hasOwn(HASH_HEX_LENGTH, alg) ? HASH_HEX_LENGTH[alg] : undefined;
    if (expected === undefined)
      throw new ApiError(
        422,
        "hash_algorithm_unsupported",
        `${where}: hash algorithm ${JSON.stringify(alg)} is not accepted; use sha256 and/or sha512` +
          (alg.startsWith("blake2") ? ` (or ${BLAKE2B_256} beside sha256; tuf-js clients cannot verify blake2b, so it is not signed)` : ""),
      );
    if (typeof digest !== "string" || digest.length !== expected || !/^[0-9a-f]+$/.test(digest))
      throw new ApiError(422, "hashes_invalid", `${where}: ${alg} must be ${expected} lowercase hex characters`);
    signed[alg] = digest;
  }
  return signed;
}

export function validateLength(length: unknown, where: string): number {
  if (!Number.isSafeInteger(length) || (length as number) < 0)
    throw new ApiError(422, "length_invalid", `${where}: length must be a non-negative safe integer`);
  return length as number;
}

export function validateCustom(custom: unknown, where: string): JSONObject {
  if (typeof custom !== "object" || custom === null || Array.isArray(custom))
    throw new ApiError(422, "custom_invalid", `${where}: custom must be a JSON object`);
  if (depthOf(custom) > MAX_CUSTOM_DEPTH)
    throw new ApiError(422, "custom_invalid", `${where}: custom may nest at most ${MAX_CUSTOM_DEPTH} levels (python-tuf could not parse the bin-n)`);
  let size: number;
  try {
    assertCanonicalSubset(custom, `${where}.custom`);
    size = canonicalBytes(custom).length;
  } catch (e) {
    if (e instanceof TufError) throw new ApiError(422, "custom_invalid", `${e.message} (TUF canonical JSON cannot sign it)`);
    throw e;
  }
  if (size > MAX_CUSTOM_BYTES) throw new ApiError(422, "custom_invalid", `${where}: custom is ${size} bytes as canonical JSON, more than ${MAX_CUSTOM_BYTES}`);
  return custom as JSONObject;
}

/** `{"add":[{"path","length","hashes","custom"?}],"remove":["path",...]}` to a list of changes. */
export function parseArtifactChanges(body: unknown): Change[] {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new ApiError(400, "request_invalid", 'the body must be {"add":[...],"remove":[...]}');
  const { add = [], remove = [], ...extra } = body as Record<string, unknown>;
  const unknownFields = Object.keys(extra);
  if (unknownFields.length > 0) throw new ApiError(400, "request_invalid", `unknown field ${JSON.stringify(unknownFields[0])}; expected add and remove`);
  if (!Array.isArray(add) || !Array.isArray(remove)) throw new ApiError(400, "request_invalid", "add and remove must be arrays");
  if (add.length + remove.length === 0) throw new ApiError(400, "request_invalid", "add or remove at least one path");

  const changes: Change[] = [];
  const seen = new Set<string>();
  const once = (path: string, where: string) => {
    if (seen.has(path)) throw new ApiError(422, "duplicate_path", `${where}: ${JSON.stringify(path)} appears twice in this request`);
    seen.add(path);
  };
  add.forEach((entry: unknown, i) => {
    const where = `add[${i}]`;
    const change = parseTargetEntry(entry, where);
    once(change.path, where);
    changes.push(change);
  });
  remove.forEach((path: unknown, i) => {
    const p = validatePath(path, `remove[${i}]`);
    once(p, `remove[${i}]`);
    changes.push({ op: "remove", path: p });
  });
  return changes;
}

/** One target `{"path","length","hashes","custom"?}`, as the webhook's `add` and each line of a bulk import give it. */
export function parseTargetEntry(entry: unknown, where: string): Extract<Change, { op: "add" }> {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry))
    throw new ApiError(400, "request_invalid", `${where} must be an object {"path","length","hashes"}`);
  const { path, length, hashes, custom, ...rest } = entry as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new ApiError(400, "request_invalid", `${where}: unknown field ${JSON.stringify(Object.keys(rest)[0])}`);
  return {
    op: "add",
    path: validatePath(path, where),
    length: validateLength(length, where),
    hashes: validateHashes(hashes, where),
    ...(custom === undefined ? {} : { custom: validateCustom(custom, where) }),
  };
}

/** The webhook body, nested at most as deep as `custom` allows. */
export const parseWebhookJSON = (body: Uint8Array): unknown => parseJSON(body, WEBHOOK_MAX_DEPTH);

/** Nesting depth of parsed JSON, iteratively (the input is already bounded, but this must not recurse either). */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    max = Math.max(max, d);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

const OFFLINE_ROLES = ["root", "targets", "bins"] as const;

/**
 * `{"root":{...},"targets":{...},"bins":{...}}`, the signed ceremony files, as
 * JSON text for the Publisher: all three for bootstrap, at least one for an update.
 */
export function parseOfflineRoles(body: unknown, need: "all" | "some"): Partial<Record<(typeof OFFLINE_ROLES)[number], string>> {
  const shape = need === "all" ? '{"root":{...},"targets":{...},"bins":{...}}' : '{"root"?:{...},"targets"?:{...},"bins"?:{...}} with at least one role';
  const fail = () => new ApiError(400, "request_invalid", `the body must be ${shape}, signed metadata from the ceremony`);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw fail();
  const fields = body as Record<string, unknown>;
  const given = OFFLINE_ROLES.filter((r) => fields[r] !== undefined);
  const unknownFields = Object.keys(fields).filter((k) => !(OFFLINE_ROLES as readonly string[]).includes(k));
  if (given.length === 0 || (need === "all" && given.length < OFFLINE_ROLES.length) || unknownFields.length > 0) throw fail();
  if (given.some((r) => typeof fields[r] !== "object" || fields[r] === null || Array.isArray(fields[r]))) throw fail();
  return Object.fromEntries(given.map((r) => [r, JSON.stringify(fields[r])]));
}
