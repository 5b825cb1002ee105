/** Running the machine's real Python tools against a local Worker: twine, pip in a fresh venv, python-tuf's Updater. */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { UPLOAD_TOKEN } from "../fixtures/ceremony.js";
import type { Distribution } from "../fixtures/distributions.js";

const run = promisify(execFile);
const PYTHON_TUF = resolve("../shared/vendor/python");

export interface ToolResult {
  code: number;
  output: string;
}

async function tool(file: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd,
      env: { ...process.env, PIP_NO_INPUT: "1", PIP_DISABLE_PIP_VERSION_CHECK: "1", PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring", NO_COLOR: "1", ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : 1, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

/** Writes distributions to a fresh folder and returns their paths. */
export function writeDistributions(dists: readonly Distribution[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "tuf-edge-dists-"));
  return dists.map((d) => {
    const path = join(dir, d.filename);
    writeFileSync(path, d.bytes);
    return path;
  });
}

/** Debian's twine, as a user runs it. */
export const twineUpload = (url: string, files: readonly string[], { password = UPLOAD_TOKEN, extra = [] as string[] } = {}) =>
  tool("twine", ["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", `${url}/legacy/`, "-u", "__token__", "-p", password, ...extra, ...files]);

/** A fresh venv (python3 -m venv) whose pip reads only the Worker's /simple/. */
export async function venv(): Promise<{ pip(...args: string[]): Promise<ToolResult>; python(...args: string[]): Promise<ToolResult>; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "tuf-edge-venv-"));
  const made = await tool("python3", ["-m", "venv", dir]);
  if (made.code !== 0) throw new Error(`python3 -m venv failed: ${made.output}`);
  return {
    dir,
    pip: (...args) => tool(join(dir, "bin", "pip"), args, { PIP_NO_CACHE_DIR: "1", PIP_CONFIG_FILE: "/dev/null", PIP_FIND_LINKS: "" }),
    python: (...args) => tool(join(dir, "bin", "python"), args),
  };
}

/**
 * python-tuf's ngclient Updater, unmodified (../shared/vendor/python): refreshes from the trusted
 * root, then downloads and verifies each target path, printing one JSON line of results.
 */
export async function pythonTufDownload(url: string, rootJson: unknown, paths: readonly string[]): Promise<{ code: number; output: string; files?: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), "tuf-edge-python-tuf-"));
  writeFileSync(join(dir, "root.json"), JSON.stringify(rootJson));
  const script = `
import json, os, sys
from tuf.ngclient import Updater, UpdaterConfig
d = sys.argv[1]; url = sys.argv[2]
os.makedirs(d + "/metadata", exist_ok=True); os.makedirs(d + "/targets", exist_ok=True)
os.replace(d + "/root.json", d + "/metadata/root.json")
up = Updater(d + "/metadata", url + "/metadata/", d + "/targets", url + "/targets/", config=UpdaterConfig(prefix_targets_with_hash=True))
up.refresh()
out = {}
for p in sys.argv[3:]:
    info = up.get_targetinfo(p)
    if info is None:
        out[p] = None
        continue
    path = up.download_target(info, filepath=d + "/targets/" + p.replace("/", "_"))
    out[p] = open(path, "rb").read().decode("utf-8", "replace")
print(json.dumps(out))
`;
  const result = await tool("python3", ["-c", script, dir, url, ...paths], { PYTHONPATH: PYTHON_TUF });
  if (result.code !== 0) return result;
  return { ...result, files: JSON.parse(result.output.trim().split("\n").pop()!) };
}

/**
 * An HTTP proxy that rewrites one form field of each request body on its way to the Worker: the
 * only way to make a real twine send a digest that does not match its file.
 */
export async function tamperingProxy(target: string, field: string, value: string): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.from(
        Buffer.concat(chunks).toString("latin1").replace(new RegExp(`(name="${field}"\\r\\n\\r\\n)[^\\r]*`), `$1${value}`),
        "latin1",
      );
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== "content-length" && k !== "host")) as Record<string, string>;
      const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body });
      // fetch has already decoded the body.
      const back = Object.fromEntries([...answer.headers].filter(([k]) => !["content-encoding", "content-length", "transfer-encoding"].includes(k)));
      res.writeHead(answer.status, answer.statusText, back);
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, close: () => new Promise((r) => server.close(() => r())) };
}
