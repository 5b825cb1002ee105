/**
 * Runs the CLI in-process and captures what it prints. Keys come from fixed
 * seeds and time from TUF_EDGE_NOW, so every file a test writes is the same
 * bytes on every run.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, vi } from "vitest";
import { main } from "../../scripts/cli/main.js";
import { writeKeyPair } from "../../scripts/cli/keyfile.js";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(...argv: string[]): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Runs and expects exit 0, failing with the captured stderr otherwise. */
export async function ok(...argv: string[]): Promise<RunResult> {
  const result = await run(...argv);
  if (result.code !== 0) throw new Error(`tuf-edge ${argv.join(" ")} exited ${result.code}: ${result.stderr}`);
  return result;
}

export async function tempDir(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "tuf-edge-cli-"));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export const T0 = "2026-01-01T00:00:00Z";

/** A deterministic holder key pair at DIR/NAME.{key,pub}; returns its paths and keyid. */
export async function holder(dir: string, name: string, seedByte: number): Promise<Holder> {
  const written = await writeKeyPair(join(dir, name), new Uint8Array(32).fill(seedByte), name);
  return { name, key: written.privatePath, pub: written.publicPath, keyid: written.key.keyid, seedHex: seedByte.toString(16).padStart(2, "0").repeat(32) };
}

export interface Holder {
  name: string;
  key: string;
  pub: string;
  keyid: string;
  seedHex: string;
}

export const readJSON = async (path: string): Promise<any> => JSON.parse(await readFile(path, "utf8"));
export const writeJSON = (path: string, value: unknown): Promise<void> => writeFile(path, JSON.stringify(value));

/** The PEP 458 test cast: 3 root holders (threshold 2), 2 targets/bins holders, 1 online key. */
export async function cast(keysDir: string): Promise<{ root: Holder[]; targets: Holder[]; online: Holder }> {
  return {
    root: [await holder(keysDir, "root-a", 1), await holder(keysDir, "root-b", 2), await holder(keysDir, "root-c", 3)],
    targets: [await holder(keysDir, "targets-a", 4), await holder(keysDir, "targets-b", 5)],
    online: await holder(keysDir, "online", 6),
  };
}

/** `tuf-edge init` for the cast, with optional extra flags. */
export function initArgs(dir: string, c: Awaited<ReturnType<typeof cast>>, ...extra: string[]): string[] {
  return [
    "init",
    "--dir",
    dir,
    ...c.root.flatMap((h) => ["--root-key", h.pub]),
    "--root-threshold",
    "2",
    ...c.targets.flatMap((h) => ["--targets-key", h.pub]),
    "--online-key",
    c.online.pub,
    ...extra,
  ];
}

/** Inits and fully signs a ceremony for the cast. */
export async function completeCeremony(dir: string, c: Awaited<ReturnType<typeof cast>>, ...extra: string[]): Promise<void> {
  await ok(...initArgs(dir, c, ...extra));
  await ok("sign", "--key", c.root[0]!.key, join(dir, "1.root.json"));
  await ok("sign", "--key", c.root[1]!.key, join(dir, "1.root.json"));
  for (const role of ["targets", "bins"])
    for (const h of c.targets) await ok("sign", "--key", h.key, join(dir, `1.${role}.json`));
}

/** What {@link useCeremony} hands the tests: set afresh before each test (or once, with `once`). */
export interface Ceremony {
  tmp: Awaited<ReturnType<typeof tempDir>>;
  c: Awaited<ReturnType<typeof cast>>;
  /** TMP/ceremony, where `init` writes the ceremony. */
  dir: string;
}

/**
 * The command tests' fixture: registers hooks in the enclosing describe (or
 * file) that stub the environment (TUF_EDGE_NOW=T0 unless `env` says
 * otherwise), make a temporary directory holding the cast's keys and, with
 * `complete`, a fully signed ceremony (`init` with `initArgs`); after, they
 * unstub the environment and remove the directory. Read the fields inside
 * tests and hooks only, never at collection time.
 */
export function useCeremony(options: { complete?: boolean; initArgs?: string[]; env?: Record<string, string>; once?: boolean } = {}): Ceremony {
  const ctx = {} as Ceremony;
  const [before, after] = options.once ? [beforeAll, afterAll] : [beforeEach, afterEach];
  before(async () => {
    for (const [name, value] of Object.entries({ TUF_EDGE_NOW: T0, ...options.env })) vi.stubEnv(name, value);
    ctx.tmp = await tempDir();
    ctx.c = await cast(ctx.tmp.path);
    ctx.dir = join(ctx.tmp.path, "ceremony");
    if (options.complete) await completeCeremony(ctx.dir, ctx.c, ...(options.initArgs ?? []));
  });
  after(async () => {
    vi.unstubAllEnvs();
    await ctx.tmp?.cleanup();
  });
  return ctx;
}

/** One line on stderr, shaped "error: <what>. <what to do>". */
export const ONE_LINE_ERROR = /^error: [^\n]+\. [^\n]+\n$/;
