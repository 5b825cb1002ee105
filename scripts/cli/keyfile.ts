/**
 * Key files on the ceremony machine.
 *
 * `NAME.pub` is exactly the TUF public key object (TUF spec 4.2.2), so any TUF
 * tool can read it and its keyid is the SHA-256 of its canonical JSON:
 *
 *   {"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"<64 hex>"}}
 *
 * `NAME.key` holds the private seed and is created with mode 0600, never
 * overwritten:
 *
 *   {"format":"tuf-edge-private-key","version":1,"name":"alice","keytype":"ed25519",
 *    "scheme":"ed25519","keyid":"<64 hex>","public":"<64 hex>","seed":"<64 hex>"}
 *
 * The seed is read only to build an `Ed25519Signer` and is never printed; errors
 * about a key file never quote its contents.
 */
import { constants } from "node:fs";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { Ed25519Signer, fromHex, Key, toHex, TufError } from "../../src/tuf/index.js";
import { CliError, fromFsError } from "./errors.js";
import { warn } from "./output.js";

export const PRIVATE_KEY_FORMAT = "tuf-edge-private-key";
const HEX64 = /^[0-9a-f]{64}$/;

export interface KeyPairPaths {
  privatePath: string;
  publicPath: string;
}

/** `alice`, `alice.key` and `alice.pub` all name the pair alice.key + alice.pub. */
export function keyPairPaths(out: string): KeyPairPaths {
  const base = out.replace(/\.(key|pub)$/, "");
  return { privatePath: `${base}.key`, publicPath: `${base}.pub` };
}

export interface WrittenKeyPair extends KeyPairPaths {
  key: Key;
  name: string;
}

/** Writes a key pair for `seed`; refuses if either file exists. */
export async function writeKeyPair(out: string, seed: Uint8Array, name?: string): Promise<WrittenKeyPair> {
  const { privatePath, publicPath } = keyPairPaths(out);
  const signer = await Ed25519Signer.fromSeed(seed);
  const key = signer.key;
  const keyName = name ?? basename(privatePath, ".key");
  for (const path of [privatePath, publicPath])
    if (await exists(path)) throw new CliError(`${path} already exists`, "Refusing to overwrite a key; choose another --out");
  try {
    await mkdir(dirname(privatePath), { recursive: true });
  } catch (err) {
    throw fromFsError(err, dirname(privatePath));
  }
  const privateJSON = {
    format: PRIVATE_KEY_FORMAT,
    version: 1,
    name: keyName,
    keytype: key.keytype,
    scheme: key.scheme,
    keyid: key.keyid,
    public: key.keyval.public!,
    seed: toHex(seed),
  };
  await writeNew(privatePath, `${JSON.stringify(privateJSON, null, 2)}\n`, 0o600);
  // umask can only clear bits, but say exactly what we mean.
  await chmod(privatePath, 0o600);
  await writeNew(publicPath, `${JSON.stringify(key.toJSON(), null, 2)}\n`, 0o644);
  return { key, name: keyName, privatePath, publicPath };
}

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(path, text, { flag: "wx", mode });
  } catch (err) {
    throw fromFsError(err, path);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readJSON(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw fromFsError(err, path);
  }
  try {
    return JSON.parse(text);
  } catch {
    // Deliberately no parser message: it would quote the file, which may be a private key.
    throw new CliError(`${path} is not valid JSON`, `Pass ${what}`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a `.pub` file: an Ed25519 TUF public key. Refuses private key files. */
export async function readPublicKey(path: string): Promise<Key> {
  const raw = await readJSON(path, "a public key file written by tuf-edge keygen (NAME.pub)");
  if (isRecord(raw) && (raw.format === PRIVATE_KEY_FORMAT || "seed" in raw))
    throw new CliError(
      `${path} is a private key file`,
      "Pass the matching .pub file instead; private keys stay with their holder",
    );
  let key: Key;
  try {
    key = Key.fromJSON(raw);
  } catch (err) {
    if (err instanceof TufError) throw new CliError(`${path} is not a TUF public key (${err.message})`, "Pass a .pub file written by tuf-edge keygen");
    throw err;
  }
  const pub = key.keyval.public ?? "";
  if (key.keytype !== "ed25519" || key.scheme !== "ed25519" || !HEX64.test(pub))
    throw new CliError(
      `${path} is not an Ed25519 public key (keytype ${JSON.stringify(key.keytype)}, scheme ${JSON.stringify(key.scheme)})`,
      "tuf-edge signs with Ed25519 only (PEP 458); pass a .pub file written by tuf-edge keygen",
    );
  // Rebuild from the raw bytes so stray extra fields can't change the keyid.
  return Key.ed25519(fromHex(pub));
}

export interface LoadedSigner {
  signer: Ed25519Signer;
  name: string;
}

/** Reads a `.key` file into a signer, checking that its seed matches its recorded keyid. */
export async function readPrivateKey(path: string): Promise<LoadedSigner> {
  const raw = await readJSON(path, "a private key file written by tuf-edge keygen (NAME.key)");
  if (!isRecord(raw) || raw.format !== PRIVATE_KEY_FORMAT) {
    const looksPublic = isRecord(raw) && "keyval" in raw;
    throw new CliError(
      looksPublic ? `${path} is a public key, not a private key file` : `${path} is not a tuf-edge private key file`,
      "Pass the .key file written by tuf-edge keygen",
    );
  }
  if (raw.version !== 1 || raw.keytype !== "ed25519" || raw.scheme !== "ed25519")
    throw new CliError(`${path} has an unsupported key format`, "Pass an Ed25519 .key file written by tuf-edge keygen");
  if (typeof raw.seed !== "string" || !HEX64.test(raw.seed))
    throw new CliError(`${path} is damaged: its seed is not 64 hex digits`, "Restore the key file from its backup");
  const signer = await Ed25519Signer.fromSeed(fromHex(raw.seed));
  if (raw.keyid !== signer.key.keyid)
    throw new CliError(`${path} is damaged: its seed does not match its keyid`, "Restore the key file from its backup");
  await warnIfShared(path);
  return { signer, name: typeof raw.name === "string" ? raw.name : basename(path, ".key") };
}

async function warnIfShared(path: string): Promise<void> {
  if (process.platform === "win32") return;
  const { mode } = await stat(path);
  if (mode & (constants.S_IRWXG | constants.S_IRWXO))
    warn(`${path} can be read by other users; run: chmod 600 ${path}`);
}
