/**
 * `/api/v1/imports/ID`: bulk import of the files an index already holds (`tuf-edge import`).
 *
 *   GET  ID                 how far import ID got: {id, next_line, added, unchanged, skipped, state, timestamp}
 *   POST ID/lines?first_line=N&on_conflict=stop|skip
 *                           JSON Lines, one {"path","length","hashes","custom"?} per line, validated
 *                           like the webhook's `add`; staged durably (all or none) before the 200
 *   POST ID/publish         the one publish that signs every staged bin: 202 until a timestamp covers them
 *
 * Admin routes: an import replaces the webhook for files the index already serves.
 */
import { Hono } from "hono";
import type { ImportChunk, ImportView } from "../../publisher/types.js";
import { requireAdmin } from "../auth.js";
import { ApiError } from "../errors.js";
import { publisherOf } from "../publisher-stub.js";
import { requireUsableSettings } from "../settings-guard.js";
import { parseTargetEntry, readBody } from "../validate.js";
import { routeDocs } from "../api-docs.js";

/** Largest chunk: ~40,000 PyPI-like lines, parsed well within one isolate's 128 MB. */
export const MAX_IMPORT_CHUNK_BYTES = 8 * 1024 * 1024;

const IMPORT_ID = /^[A-Za-z0-9._-]{1,100}$/;

export const imports = new Hono<{ Bindings: Env }>()
  .use("*", requireUsableSettings)
  .use("*", requireAdmin)
  .get("/:id", routeDocs.importStatus, async (c) => c.json(await view(c.env, importId(c.req.param("id")))))
  .post("/:id/lines", routeDocs.importLines, async (c) => {
    const id = importId(c.req.param("id"));
    const firstLine = Number(c.req.query("first_line") ?? "1");
    if (!Number.isSafeInteger(firstLine) || firstLine < 1)
      throw new ApiError(400, "request_invalid", "first_line must be the input line number of the body's first line, 1 or more");
    const onConflict = c.req.query("on_conflict") ?? "stop";
    if (onConflict !== "stop" && onConflict !== "skip") throw new ApiError(400, "request_invalid", "on_conflict must be stop or skip");
    const chunk: ImportChunk = { id, firstLine, onConflict, ...parseLines(await readBody(c.req.raw, MAX_IMPORT_CHUNK_BYTES), firstLine) };
    const result = await publisherOf(c.env).importLines(chunk);
    switch (result.status) {
      case "staged":
        return c.json({ import: result.import, skipped: result.skipped });
      case "out_of_order":
        throw new ApiError(409, "import_out_of_order", `this body starts at line ${firstLine}, but import ${id} has staged every line before ${result.import.next_line}: send line ${result.import.next_line} next`);
      case "conflict":
        throw new ApiError(409, "import_conflict", `line ${result.line}: ${result.path} is already listed with another length, hashes or custom; nothing in this body was staged (send on_conflict=skip to keep the listed one)`);
      case "not_bootstrapped":
        throw notBootstrapped();
      case "rejected":
        throw new ApiError(422, result.code, result.message);
    }
  })
  .post("/:id/publish", routeDocs.importPublish, async (c) => {
    const id = importId(c.req.param("id"));
    const current = await view(c.env, id);
    if (current.state === "new") throw new ApiError(404, "import_not_found", `import ${id} has staged no lines`);
    const requested = (await publisherOf(c.env).publishImport(id))!;
    return c.json(requested, requested.state === "published" ? 200 : 202);
  });

async function view(env: Env, id: string): Promise<ImportView> {
  const current = await publisherOf(env).importStatus(id);
  if (!current) throw notBootstrapped();
  return current;
}

function importId(raw: string): string {
  if (!IMPORT_ID.test(raw)) throw new ApiError(400, "request_invalid", "the import ID is 1 to 100 of A-Z a-z 0-9 . _ -");
  return raw;
}

const notBootstrapped = () => new ApiError(409, "not_bootstrapped", "this repository is not bootstrapped yet: run tuf-edge bootstrap");

/** Splits JSON Lines, numbering them from `firstLine`; blank lines count but carry nothing. */
function parseLines(body: Uint8Array, firstLine: number): Pick<ImportChunk, "entries" | "endLine"> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const entries: ImportChunk["entries"] = [];
  let line = firstLine;
  for (let start = 0; start < body.length; line++) {
    let end = body.indexOf(0x0a, start);
    if (end === -1) end = body.length;
    const where = `line ${line}`;
    let text: string;
    let value: unknown;
    try {
      text = decoder.decode(body.subarray(start, end)).replace(/\r$/, "");
      value = text.trim() === "" ? undefined : JSON.parse(text);
    } catch {
      throw new ApiError(400, "malformed_json", `${where}: not valid UTF-8 JSON`);
    }
    if (value !== undefined) entries.push({ line, change: parseTargetEntry(value, where) });
    start = end + 1;
  }
  return { entries, endLine: line };
}
