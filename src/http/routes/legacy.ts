/**
 * `POST /legacy/`: the legacy upload API that twine, flit, hatch, uv and poetry speak
 * (multipart/form-data, `:action=file_upload`, HTTP basic `__token__:<UPLOAD_TOKEN>`).
 *
 * Every check runs before anything is written, so a refusal changes nothing, R2 included.
 * Refusals carry their one-line reason as the HTTP reason phrase too, as PyPI does:
 * that phrase is what twine prints. The file is held once, by the runtime's form parser
 * (a multipart body stays buffered: its other fields, which may follow the file, decide
 * whether it may be stored; `PUT /api/v1/targets` streams instead, http/hosted-target.ts);
 * it is hashed and stored by streaming from there, and only the wheel's central
 * directory and METADATA member are read again.
 */
import { blake2b } from "@noble/hashes/blake2.js";
import { Hono, type Context } from "hono";
import type { PythonUploadInput } from "../../publisher/python-index.js";
import type { PythonUploadResult } from "../../publisher/types.js";
import { parseCoreMetadata } from "../../python/core-metadata.js";
import { canonicalVersion, checkFilename, FilenameError, isValidName, normalizeName, normalizeVersion } from "../../python/names.js";
import { coreMetadataPath, distributionPath } from "../../python/simple.js";
import { wheelMetadata, WheelError } from "../../python/wheel.js";
import { fromUtf8, timingSafeEqual, toHex, utf8 } from "../../tuf/index.js";
import { r2Keys } from "../../publisher/r2-keys.js";
import { publisherOf } from "../publisher-stub.js";

/** The largest distribution accepted: Cloudflare's request-body limit on the Free and Pro plans (100 MB). */
export const MAX_UPLOAD_BYTES = 100 * 1000 * 1000;
/** Room for the form's other fields beside the file. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

type Ctx = Context<{ Bindings: Env }>;

/** A refused upload: a 4xx whose reason phrase and JSON body both give the one-line reason. */
class UploadRefused extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 409 | 411 | 413,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function handle(c: Ctx): Promise<Response> {
  try {
    return await upload(c);
  } catch (e) {
    if (!(e instanceof UploadRefused)) throw e;
    return refusal(e);
  }
}

export const legacy = new Hono<{ Bindings: Env }>().post("/legacy/", handle).post("/legacy", handle);

function refusal(e: UploadRefused): Response {
  const headers: Record<string, string> = { "content-type": "application/json", "cache-control": "no-store" };
  if (e.status === 401) headers["www-authenticate"] = 'Basic realm="tuf-edge upload"';
  // A reason phrase is one line of visible ASCII (RFC 9112 4).
  const phrase = e.message.replace(/[^\x20-\x7e]/g, "?").slice(0, 500);
  return new Response(JSON.stringify({ error: { code: e.code, message: e.message } }), { status: e.status, statusText: phrase, headers });
}

async function upload(c: Ctx): Promise<Response> {
  authenticate(c);
  const declared = c.req.header("content-length");
  if (declared === undefined) throw new UploadRefused(411, "length_required", "send Content-Length with the upload");
  if (Number(declared) > MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES) throw tooLarge();
  let form: FormData;
  try {
    form = await c.req.raw.formData();
  } catch {
    throw new UploadRefused(400, "form_invalid", "the body must be multipart/form-data, as twine sends it");
  }
  const field = (name: string) => {
    const v = form.get(name);
    return typeof v === "string" ? v.trim() : undefined;
  };
  if (field(":action") !== "file_upload")
    throw new UploadRefused(400, "action_unsupported", `unsupported :action ${JSON.stringify(field(":action") ?? "")}; only file_upload is supported`);
  if ((field("protocol_version") ?? "1") !== "1") throw new UploadRefused(400, "protocol_unsupported", "unsupported protocol_version; only 1 is supported");
  const name = field("name") ?? "";
  const version = field("version") ?? "";
  if (!isValidName(name)) throw new UploadRefused(400, "name_invalid", `invalid project name ${JSON.stringify(name)} (PEP 508)`);
  if (normalizeVersion(version) === undefined) throw new UploadRefused(400, "version_invalid", `invalid version ${JSON.stringify(version)} (PEP 440)`);
  const content = form.get("content") as unknown as File | string | null;
  if (content === null || typeof content === "string") throw new UploadRefused(400, "file_missing", "the upload has no file in its content field");
  const filename = content.name;
  let kind: string;
  try {
    kind = checkFilename(filename, name, version).kind;
  } catch (e) {
    if (e instanceof FilenameError) throw new UploadRefused(400, "filename_invalid", e.message);
    throw e;
  }
  const filetype = field("filetype");
  if (filetype !== kind) throw new UploadRefused(400, "filetype_invalid", `filetype ${JSON.stringify(filetype ?? "")} does not match ${filename}, which is a ${kind}`);
  if (content.size > MAX_UPLOAD_BYTES) throw tooLarge();

  const sha256 = field("sha256_digest")?.toLowerCase();
  if (!sha256) throw new UploadRefused(400, "digest_missing", "the upload has no sha256_digest");
  const md5 = field("md5_digest");
  const blake2 = field("blake2_256_digest")?.toLowerCase();
  const actual = await digests(content, { md5: md5 !== undefined, blake2: blake2 !== undefined });
  if (actual.sha256 !== sha256) throw new UploadRefused(400, "digest_mismatch", "the sha256_digest does not match the file's contents");
  // Older clients send md5 as urlsafe base64 without padding, newer ones as hex; both name the same digest.
  if (md5 !== undefined && md5.toLowerCase() !== actual.md5 && md5 !== actual.md5Base64)
    throw new UploadRefused(400, "digest_mismatch", "the md5_digest does not match the file's contents");
  if (blake2 !== undefined && blake2 !== actual.blake2) throw new UploadRefused(400, "digest_mismatch", "the blake2_256_digest does not match the file's contents");

  let requiresPython = field("requires_python") || undefined;
  let metadata: Uint8Array | undefined;
  if (kind === "bdist_wheel") {
    try {
      metadata = await wheelMetadata({ size: content.size, read: async (o, n) => new Uint8Array(await content.slice(o, o + n).arrayBuffer()) });
    } catch (e) {
      if (e instanceof WheelError) throw new UploadRefused(400, "wheel_invalid", `${filename}: ${e.message}`);
      throw e;
    }
    const core = parseCoreMetadata(fromUtf8(metadata));
    if (core.name === undefined || normalizeName(core.name) !== normalizeName(name))
      throw new UploadRefused(400, "metadata_mismatch", `the wheel's METADATA names ${JSON.stringify(core.name ?? "")}, not ${name}`);
    if (core.version === undefined || canonicalVersion(core.version) !== canonicalVersion(version))
      throw new UploadRefused(400, "metadata_mismatch", `the wheel's METADATA has version ${JSON.stringify(core.version ?? "")}, not ${version}`);
    requiresPython = core.requiresPython;
  }

  const publisher = publisherOf(c.env);
  const check = await publisher.pythonCheckFile(filename, sha256);
  if (check.status === "exists") return uploaded(c, "already uploaded with the same contents; nothing changed");
  if (check.status === "refused") throw new UploadRefused(check.code === "not_bootstrapped" ? 409 : 400, check.code, check.message);

  const path = distributionPath(name, filename);
  const keys = r2Keys(c.env);
  const written = [keys.consistentTarget(path, sha256)];
  // New, content-derived names: writing them replaces nothing a client reads.
  await c.env.BUCKET.put(written[0]!, content, { httpMetadata: { contentType: "application/octet-stream" } });
  const input: PythonUploadInput = { project: name, version, filename, size: content.size, sha256, ...(requiresPython ? { requiresPython } : {}) };
  if (metadata) {
    const metadataSha256 = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", metadata)));
    written.push(keys.consistentTarget(coreMetadataPath(name, filename), metadataSha256));
    await c.env.BUCKET.put(written[1]!, metadata, { httpMetadata: { contentType: "text/plain; charset=utf-8" } });
    input.metadata = { sha256: metadataSha256, size: metadata.length };
  }
  const result: PythonUploadResult = await publisher.pythonUpload(input, true);
  switch (result.status) {
    case "published":
      return uploaded(c, `published in timestamp ${result.timestamp}`);
    case "queued":
      return uploaded(c, "accepted; it is published within seconds");
    case "exists":
      return uploaded(c, "already uploaded with the same contents; nothing changed");
    case "refused":
    case "rejected":
    case "not_bootstrapped":
    case "idempotency_conflict": {
      // Another upload of this filename won the race, or the publish was refused: ours was never accepted, so its copies go.
      await c.env.BUCKET.delete(written);
      if (result.status === "refused" || result.status === "rejected")
        throw new UploadRefused(400, result.code, result.message);
      throw new UploadRefused(409, "not_bootstrapped", "this repository is not bootstrapped yet: run tuf-edge bootstrap");
    }
  }
}

function authenticate(c: Ctx): void {
  const header = c.req.header("authorization") ?? "";
  if (!/^basic /i.test(header)) throw new UploadRefused(401, "unauthorized", "authenticate with username __token__ and the upload token as password");
  let user = "";
  let password = "";
  try {
    const decoded = atob(header.slice(6).trim());
    const colon = decoded.indexOf(":");
    user = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  } catch {
    /* malformed: refused below */
  }
  const token = c.env.UPLOAD_TOKEN;
  if (!token) throw new UploadRefused(403, "uploads_disabled", "uploads are disabled: the Worker has no UPLOAD_TOKEN secret");
  if (user !== "__token__" || !timingSafeEqual(utf8(password), utf8(token)))
    throw new UploadRefused(403, "forbidden", "invalid upload token: use username __token__ and the UPLOAD_TOKEN as password");
}

const tooLarge = () =>
  new UploadRefused(413, "file_too_large", `the file is larger than the ${MAX_UPLOAD_BYTES / 1e6} MB upload limit`);

function uploaded(c: Ctx, message: string): Response {
  return c.json({ ok: true, message }, 200, { "cache-control": "no-store" });
}

/** One pass over the file: sha256 always, md5 and blake2b-256 when the client sent them to check. */
async function digests(file: Blob, want: { md5: boolean; blake2: boolean }) {
  const sha = new crypto.DigestStream("SHA-256");
  const md5 = want.md5 ? new crypto.DigestStream("MD5") : undefined;
  const blake = want.blake2 ? blake2b.create({ dkLen: 32 }) : undefined;
  const shaWriter = sha.getWriter();
  const md5Writer = md5?.getWriter();
  const reader = file.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    await Promise.all([shaWriter.write(value), md5Writer?.write(value)]);
    blake?.update(value);
  }
  await Promise.all([shaWriter.close(), md5Writer?.close()]);
  const md5Bytes = md5 ? new Uint8Array(await md5.digest) : undefined;
  return {
    sha256: toHex(new Uint8Array(await sha.digest)),
    md5: md5Bytes && toHex(md5Bytes),
    md5Base64: md5Bytes && btoa(String.fromCharCode(...md5Bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
    blake2: blake && toHex(blake.digest()),
  };
}
