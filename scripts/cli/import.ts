/**
 * `tuf-edge import`: signs the files an index already holds, from a streamed
 * JSON Lines export, through the admin bulk-import routes (src/http/routes/imports.ts).
 *
 * The file is read as a stream and sent in chunks of whole lines; the Worker
 * stages each chunk durably and remembers the next line it expects, so a rerun
 * after any crash asks where the import stopped and skips to there. When every
 * line is staged, one publish signs every touched bin once.
 */
import { createReadStream, statSync } from "node:fs";
import { basename } from "node:path";
import { intOption, parseCommandArgs, required } from "./args.js";
import type { Command } from "./command.js";
import { CliError, fromFsError, UsageError } from "./errors.js";
import { print } from "./output.js";
import { Progress } from "./progress.js";
import { adminToken, baseUrl } from "./remote.js";

const CMD = "import";
const DEFAULT_CHUNK_MIB = 4;
const MAX_CHUNK_MIB = 8; // the Worker's MAX_IMPORT_CHUNK_BYTES
const SEND_ATTEMPTS = 4;
const POLL_MS = 1_000;
const POLL_MISSES = 30;

const USAGE = `usage: tuf-edge import --url URL [--id ID] [--on-conflict stop|skip] FILE|-

Signs an index's existing files before (or after) go-live. FILE (or - for
stdin) holds JSON Lines, one target per line, as the webhook's "add" takes them:

  {"path":"packages/demo/demo-1.0.tar.gz","length":1234,"hashes":{"sha256":"..."}}

Lines are validated by the webhook's rules and staged in chunks; nothing is
published until every line is staged, then one publish signs every touched bin
once and the command waits until a timestamp covers them. A rerun continues
where the repository says the import stopped (a killed CLI or Worker loses
nothing), and a line already listed with the same length and hashes changes
nothing. Blank lines are skipped but counted.

A line whose path is already listed with another length, hashes or custom is
a conflict, reported with its line number: by default the import stops there
(nothing of that chunk is staged; fix the line and rerun), and with
--on-conflict skip it keeps the listed target, reports the line, and goes on.
A malformed line stops the import with its line number.

The admin token is read from TUF_EDGE_ADMIN_TOKEN, or from ./.dev.vars.

options:
  --url URL               the Worker, e.g. https://tuf.example.org
  --id ID                 names the import, so a rerun resumes it (default: FILE's
                          name, or "stdin"); use a new ID for a new export
  --on-conflict ACTION    stop (default) or skip
  --chunk-mib N           MiB of lines per request, 1 to ${MAX_CHUNK_MIB} (default ${DEFAULT_CHUNK_MIB})

exit codes: 0 every line staged and published, 1 a conflict, a malformed line
or the Worker could not be reached (rerun to resume), 2 bad command line.`;

interface ImportView {
  next_line: number;
  added: number;
  unchanged: number;
  skipped: number;
  state: "new" | "staging" | "publishing" | "published";
  timestamp: number | null;
}

export const importCommand: Command = {
  summary: "sign an index's existing files from a JSON Lines export (resumable)",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs(
      CMD,
      args,
      { url: { type: "string" }, id: { type: "string" }, "on-conflict": { type: "string" }, "chunk-mib": { type: "string" } },
      { min: 1, max: 1, name: "FILE (or - for stdin)" },
    );
    const url = baseUrl(required(values.url, "url", CMD));
    const file = positionals[0]!;
    const onConflict = values["on-conflict"] ?? "stop";
    if (onConflict !== "stop" && onConflict !== "skip") throw new UsageError(`--on-conflict must be stop or skip, got ${JSON.stringify(onConflict)}`, CMD);
    const chunkBytes = (intOption(values["chunk-mib"], "chunk-mib", CMD, { min: 1, max: MAX_CHUNK_MIB }) ?? DEFAULT_CHUNK_MIB) * 1024 * 1024;
    const id = values.id ?? (file === "-" ? "stdin" : basename(file).replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 100));
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(id)) throw new UsageError("--id must be 1 to 100 of A-Z a-z 0-9 . _ -", CMD);
    const api = new ImportApi(url, id, adminToken());

    let total: number | undefined;
    if (file !== "-") {
      try {
        total = statSync(file).size;
      } catch (err) {
        throw fromFsError(err, file);
      }
    }
    const start = await api.view();
    if (start.next_line > 1) print(`import ${id}: resuming at line ${start.next_line} (${start.added} added, ${start.unchanged} unchanged, ${start.skipped} skipped so far)`);
    const input = file === "-" ? process.stdin : createReadStream(file);
    input.on("error", () => undefined); // surfaced by the iterator below
    const progress = new Progress("lines", total);

    let view = start;
    let line = 1; // the number of the next line read
    let chunk: Buffer[] = [];
    let chunkSize = 0;
    let chunkFirst = start.next_line;
    let read = 0;
    const flush = async () => {
      if (chunkSize === 0 && chunk.length === 0) return;
      const body = Buffer.concat(chunk);
      chunk = [];
      chunkSize = 0;
      const result = await api.send(chunkFirst, line, body, onConflict);
      view = result.import;
      for (const s of result.skipped) process.stderr.write(`line ${s.line}: ${s.path} is already listed with another length, hashes or custom; kept the listed one\n`);
      chunkFirst = line;
    };
    // A body never passes chunkBytes, the Worker's limit at most: a line that would is sent with the next body.
    const add = async (bytes: Buffer) => {
      if (chunkSize > 0 && chunkSize + bytes.length > chunkBytes) await flush();
      chunk.push(bytes);
      chunkSize += bytes.length;
    };
    let rest: Buffer = Buffer.alloc(0);
    try {
      for await (const data of input as AsyncIterable<Buffer>) {
        read += data.length;
        let buf = rest.length > 0 ? Buffer.concat([rest, data]) : data;
        let from = 0;
        for (let nl = buf.indexOf(0x0a, from); nl !== -1; nl = buf.indexOf(0x0a, from)) {
          if (line >= start.next_line) await add(buf.subarray(from, nl + 1));
          from = nl + 1;
          line++;
        }
        rest = Buffer.from(buf.subarray(from));
        progress.update(line - 1, read);
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw fromFsError(err, file);
    }
    if (rest.length > 0) {
      if (line >= start.next_line) await add(Buffer.concat([rest, Buffer.from("\n")]));
      line++;
    }
    await flush();
    progress.finish(line - 1, read);
    if (view.state === "new") {
      print(`import ${id}: no lines to import`);
      return 0;
    }

    view = await api.publish();
    const publishing = new Progress("s publishing");
    const began = Date.now();
    for (let misses = 0; view.state !== "published"; ) {
      publishing.update(Math.round((Date.now() - began) / 1000));
      await new Promise((r) => setTimeout(r, POLL_MS));
      // The publish runs in the Publisher's alarm; a Worker busy with it may drop a poll.
      try {
        view = await api.view();
        misses = 0;
      } catch (err) {
        if (++misses === POLL_MISSES) throw err;
      }
    }
    publishing.finish(Math.round((Date.now() - began) / 1000));
    print(`import ${id}: ${line - 1} lines, ${view.added} added, ${view.unchanged} unchanged, ${view.skipped} skipped; published in timestamp ${view.timestamp}`);
    return 0;
  },
};

/** The bulk-import routes of one import, with retries across dropped connections. */
class ImportApi {
  constructor(
    private readonly url: string,
    private readonly id: string,
    private readonly token: string,
  ) {}

  view(): Promise<ImportView> {
    return this.call<ImportView>("GET", "").catch(toCliError);
  }

  publish(): Promise<ImportView> {
    return this.call<ImportView>("POST", "/publish").catch(toCliError);
  }

  /**
   * Sends lines [first, end). After a dropped connection the chunk may or may
   * not have been staged: the import's next_line says which, and only the rest is resent.
   */
  async send(first: number, end: number, body: Buffer, onConflict: string): Promise<{ import: ImportView; skipped: Array<{ line: number; path: string }> }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call("POST", `/lines?first_line=${first}&on_conflict=${onConflict}`, body);
      } catch (err) {
        if (!(err instanceof Unreachable) || attempt === SEND_ATTEMPTS) throw err instanceof Unreachable ? err.cliError() : err;
        await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
        const now = await this.view().catch(() => undefined);
        if (now && now.next_line >= end) return { import: now, skipped: [] }; // it was staged before the connection dropped
      }
    }
  }

  private async call<T>(method: string, suffix: string, body?: Buffer): Promise<T> {
    const target = `${this.url}/api/v1/imports/${this.id}${suffix}`;
    let res: Response;
    try {
      res = await fetch(target, { method, headers: { authorization: `Bearer ${this.token}`, "content-type": "application/x-ndjson" }, body });
    } catch (err) {
      throw new Unreachable(target, err as Error);
    }
    const text = await res.text();
    let parsed: { error?: { code?: string; message?: string } } | undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed as T;
    const error = parsed?.error;
    const what = `${error?.message ?? `${res.status} ${text.slice(0, 200)}`}`;
    switch (error?.code) {
      case "import_conflict":
        throw new CliError(what.replace(/ \(send on_conflict=skip.*\)$/, ""), "Fix the line and rerun to resume there, or rerun with --on-conflict skip to keep the listed target");
      case "malformed_json":
      case "request_invalid":
      case "path_invalid":
      case "hashes_invalid":
      case "hash_algorithm_unsupported":
      case "length_invalid":
      case "custom_invalid":
        throw new CliError(what, "Fix the line and rerun: the import resumes at the chunk that holds it");
      case "unauthorized":
        throw new CliError(`${target} answered 401`, "Set TUF_EDGE_ADMIN_TOKEN to the Worker's ADMIN_TOKEN");
      default:
        throw new CliError(`${target} answered ${res.status} ${error?.code ?? ""}: ${what}`, "Fix what the message says and rerun to resume");
    }
  }
}

class Unreachable extends Error {
  constructor(
    readonly target: string,
    cause: Error,
  ) {
    super(cause.message);
  }

  cliError(): CliError {
    return new CliError(`cannot reach ${this.target} (${this.message})`, "Check --url and that the Worker is running, then rerun: the import resumes where it stopped");
  }
}

const toCliError = (err: unknown): never => {
  throw err instanceof Unreachable ? err.cliError() : err;
};
