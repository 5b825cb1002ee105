/**
 * The monitor's checks of a signing log (docs/signing-log.md §What an auditor
 * checks). The fetcher is passed in; audit.ts is the command around them.
 */
import { fromHex, mapLimit, Metadata, sha256Sync, toHex, TufError, verifyDelegate, verifyRootRotation, type Root } from "../../src/tuf/index.js";
import { entryHash, GENESIS_HASH, servedPath, type LogEntry, type LoggedFile } from "../../src/publisher/log-entry.js";

/** GET a path under the Worker's base URL; undefined for a 404. */
export type Fetcher = (path: string) => Promise<Uint8Array | undefined>;

export interface AuditState {
  head: { seq: number; hash: string };
  /** Base64 of the first 8 bytes of every entry's hash, entry 1 first. */
  prefixes: string;
}

export interface Problem {
  /** The entry the problem is in, when there is one. */
  seq?: number;
  check: "chain" | "fork" | "versions" | "root" | "served" | "head";
  message: string;
}

export interface AuditResult {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  files_checked: number;
  problems: Problem[];
  state: AuditState;
}

const PREFIX = 8;
const CONCURRENCY = 16;

export async function auditLog(options: { fetch: Fetcher; trustedRoot: Uint8Array; state?: AuditState }): Promise<AuditResult> {
  const { fetch } = options;
  const problems: Problem[] = [];
  let entries = await readLog(fetch);

  checkChain(entries, problems);
  if (options.state) checkFork(entries, options.state, problems);
  checkVersions(entries, problems);
  await checkRoots(entries, options.trustedRoot, fetch, problems);

  // Every file is fetched once; with a state, only files the remembered head did not cover, and what is current.
  const since = options.state?.head.seq ?? 0;
  const latest = latestFiles(entries);
  const toCheck = new Map<string, { file: LoggedFile; seq: number; current: boolean }>();
  for (const entry of entries)
    for (const file of entry.files) {
      const current = file.role === "root" || latest.get(file.role)?.version === file.version;
      if (file.role === "timestamp" && !current) continue; // only the newest timestamp has a URL
      if (entry.seq > since || current) toCheck.set(`${file.role}@${file.version}`, { file, seq: entry.seq, current });
    }
  await mapLimit([...toCheck.values()], CONCURRENCY, async ({ file, seq, current }) => {
    if (file.role === "timestamp") return; // checked against the head below
    const bytes = await fetch(`/${servedPath(file)}`);
    if (bytes === undefined) {
      if (current) problems.push({ seq, check: "served", message: `${servedPath(file)} (entry ${seq}) is current but not served` });
      return;
    }
    const sha = toHex(sha256Sync(bytes));
    if (sha !== file.sha256 || bytes.length !== file.length)
      problems.push({ seq, check: "served", message: `${servedPath(file)} is served with ${bytes.length} bytes, sha256 ${sha}; entry ${seq} logged ${file.length} bytes, sha256 ${file.sha256}` });
  });

  // The head names the timestamp being served; a publish between the two reads moves both, so read again once.
  for (let attempt = 1; entries.length > 0; attempt++) {
    const head = entries[entries.length - 1]!;
    const logged = head.files.find((f) => f.role === "timestamp");
    const served = await fetch("/metadata/timestamp.json");
    const sha = served && toHex(sha256Sync(served));
    if (logged && sha === logged.sha256) break;
    if (attempt === 2) {
      problems.push({ seq: head.seq, check: "head", message: `metadata/timestamp.json (sha256 ${sha ?? "missing"}) is not the timestamp head entry ${head.seq} names (${logged?.sha256 ?? "none"})` });
      break;
    }
    const newer = await readLog(fetch, head.seq);
    if (newer.length === 0) continue;
    entries = [...entries, ...newer];
    checkChain(entries, problems);
    checkVersions(entries, problems);
  }

  const state: AuditState = {
    head: entries.length > 0 ? { seq: entries.at(-1)!.seq, hash: entries.at(-1)!.hash } : { seq: 0, hash: GENESIS_HASH },
    prefixes: base64(concat(entries.map((e) => fromHex(e.hash).subarray(0, PREFIX)))),
  };
  const unique = [...new Map(problems.map((p) => [`${p.check}|${p.seq}|${p.message}`, p])).values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  return {
    ok: unique.length === 0,
    entries: entries.length,
    head: entries.length > 0 ? state.head : null,
    files_checked: toCheck.size,
    problems: unique,
    state,
  };
}

async function readLog(fetch: Fetcher, after = 0): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for (let path: string | null = `/api/v1/log?after=${after}`; path; ) {
    const bytes = await fetch(path);
    if (!bytes) throw new Error(`${path} is not served`);
    const page = JSON.parse(new TextDecoder().decode(bytes)) as { entries: LogEntry[]; next: string | null };
    entries.push(...page.entries);
    path = page.next;
  }
  return entries;
}

function checkChain(entries: readonly LogEntry[], problems: Problem[]): void {
  let prev = GENESIS_HASH;
  for (const [i, entry] of entries.entries()) {
    const { hash, ...body } = entry;
    if (entry.seq !== i + 1) problems.push({ seq: entry.seq, check: "chain", message: `entry ${i + 1} of the log has seq ${entry.seq}` });
    if (entry.prev !== prev) problems.push({ seq: entry.seq, check: "chain", message: `entry ${entry.seq} has prev ${entry.prev}, but entry ${entry.seq - 1} hashes to ${prev}` });
    const recomputed = entryHash(body);
    if (recomputed !== hash) problems.push({ seq: entry.seq, check: "chain", message: `entry ${entry.seq} hashes to ${recomputed}, not the ${hash} it claims` });
    prev = recomputed;
  }
}

/** The log must extend what this monitor saw last: the first entry whose hash changed is where the two diverge. */
function checkFork(entries: readonly LogEntry[], state: AuditState, problems: Problem[]): void {
  const seen = unbase64(state.prefixes);
  for (let seq = 1; seq <= state.head.seq; seq++) {
    const entry = entries[seq - 1];
    const remembered = toHex(seen.subarray((seq - 1) * PREFIX, seq * PREFIX));
    const differs = !entry || (seq === state.head.seq ? entry.hash !== state.head.hash : !entry.hash.startsWith(remembered));
    if (differs) {
      problems.push({
        seq,
        check: "fork",
        message: entry
          ? `the log diverges from the one seen before at entry ${seq}: its hash was ${remembered}… and is now ${entry.hash}`
          : `the log ends at entry ${entries.length}, but entry ${state.head.seq} (${state.head.hash}) was seen before`,
      });
      return;
    }
  }
}

function checkVersions(entries: readonly LogEntry[], problems: Problem[]): void {
  const logged = new Map<string, { sha256: string; seq: number }>();
  const newest = new Map<string, number>();
  let timestamp = 0;
  for (const entry of entries) {
    const ts = entry.files.find((f) => f.role === "timestamp");
    if (!ts) problems.push({ seq: entry.seq, check: "versions", message: `entry ${entry.seq} names no timestamp` });
    else if (ts.version <= timestamp) problems.push({ seq: entry.seq, check: "versions", message: `entry ${entry.seq} logs timestamp v${ts.version} after v${timestamp}` });
    else timestamp = ts.version;
    for (const file of entry.files) {
      const key = `${file.role} v${file.version}`;
      const before = logged.get(key);
      if (before && before.sha256 !== file.sha256)
        problems.push({ seq: entry.seq, check: "versions", message: `${key} is logged in entry ${before.seq} with sha256 ${before.sha256} and in entry ${entry.seq} with ${file.sha256}` });
      if (!before) logged.set(key, { sha256: file.sha256, seq: entry.seq });
      const top = newest.get(file.role) ?? 0;
      if (file.version < top) problems.push({ seq: entry.seq, check: "versions", message: `entry ${entry.seq} logs ${key} after v${top}` });
      else newest.set(file.role, file.version);
    }
  }
}

/** The trusted root is the logged root of its version; every later logged root rotates from it; the served timestamp verifies under the newest. */
async function checkRoots(entries: readonly LogEntry[], trustedBytes: Uint8Array, fetch: Fetcher, problems: Problem[]): Promise<void> {
  const trusted = Metadata.fromBytes("root", trustedBytes);
  const roots = entries.flatMap((e) => e.files.filter((f) => f.role === "root").map((f) => ({ file: f, seq: e.seq })));
  const mine = roots.find((r) => r.file.version === trusted.signed.version);
  // The Publisher logs the root as it serves it, canonical; the trusted copy may be formatted otherwise.
  const sha = toHex(sha256Sync(trusted.toBytes()));
  if (mine && mine.file.sha256 !== sha)
    problems.push({ seq: mine.seq, check: "root", message: `entry ${mine.seq} logs root v${trusted.signed.version} with sha256 ${mine.file.sha256}, not the trusted root's ${sha}` });
  let root: Root = trusted.signed;
  try {
    for (const { file, seq } of roots.filter((r) => r.file.version > trusted.signed.version).sort((a, b) => a.file.version - b.file.version)) {
      const bytes = await fetch(`/${servedPath(file)}`);
      if (!bytes) continue; // reported by the served-bytes check
      const next = Metadata.fromBytes("root", bytes);
      try {
        await verifyRootRotation(root, next);
      } catch (e) {
        if (!(e instanceof TufError)) throw e;
        problems.push({ seq, check: "root", message: `root v${file.version} (entry ${seq}) does not rotate from v${root.version}: ${e.message}` });
        return;
      }
      root = next.signed;
    }
    const timestamp = await fetch("/metadata/timestamp.json");
    if (timestamp) await verifyDelegate(root, "timestamp", Metadata.fromBytes("timestamp", timestamp));
  } catch (e) {
    if (!(e instanceof TufError)) throw e;
    problems.push({ check: "root", message: `metadata/timestamp.json does not verify under root v${root.version}: ${e.message}` });
  }
}

/** The newest logged version of each role. */
function latestFiles(entries: readonly LogEntry[]): Map<string, LoggedFile> {
  const latest = new Map<string, LoggedFile>();
  for (const entry of entries) for (const file of entry.files) if ((latest.get(file.role)?.version ?? 0) <= file.version) latest.set(file.role, file);
  return latest;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
const unbase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "base64"));
