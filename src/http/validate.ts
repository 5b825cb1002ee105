/**
 * Validation of the artifact webhook. Each rule has its own error code, and a
 * request that breaks any rule changes nothing.
 */
import { assertCanonicalSubset, TufError, type JSONObject } from "../tuf/index.js";
import type { Change } from "../publisher/types.js";
import { ApiError } from "./errors.js";

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_PATH_BYTES = 1024;
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

export function parseJSON(body: Uint8Array): unknown {
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
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) throw fail(`must be at most ${MAX_PATH_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) throw fail("must not contain control characters");
  if (/[\\?#%]/.test(path)) throw fail("must not contain \\, ?, # or % (clients put paths into URLs unencoded)");
  // Keys above U+DFFF sort differently in JS and Python clients; paths are keys in bin-n.
  if (/[\ud800-\uffff]/.test(path)) throw fail("must not contain characters at or above U+D800");
  const segments = path.split("/");
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
  try {
    assertCanonicalSubset(custom, `${where}.custom`);
  } catch (e) {
    if (e instanceof TufError) throw new ApiError(422, "custom_invalid", `${e.message} (TUF canonical JSON cannot sign it)`);
    throw e;
  }
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
