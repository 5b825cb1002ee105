/** Length and hash checks of downloaded bytes against what their referrer recorded (spec 5.5.2, 5.6.2, 5.7.3). */
import { toHex } from "../tuf/index.js";

const SUBTLE_NAMES: Readonly<Record<string, string>> = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };

/**
 * Undefined when `bytes` has `length` (if given) and every listed hash; otherwise why not.
 * An algorithm this client cannot compute fails, as python-tuf fails it: skipping it would
 * let a repository choose which hashes are checked.
 */
export async function lengthOrHashMismatch(
  bytes: Uint8Array,
  length: number | undefined,
  hashes: Readonly<Record<string, string>> | undefined,
): Promise<string | undefined> {
  if (length !== undefined && bytes.length !== length) return `length ${bytes.length} does not match the expected ${length}`;
  for (const [algorithm, expected] of Object.entries(hashes ?? {})) {
    const name = Object.hasOwn(SUBTLE_NAMES, algorithm) ? SUBTLE_NAMES[algorithm] : undefined;
    if (!name) return `unsupported hash algorithm ${JSON.stringify(algorithm)}`;
    const actual = toHex(new Uint8Array(await crypto.subtle.digest(name, bytes as BufferSource)));
    if (actual !== expected) return `${algorithm} ${actual} does not match the expected ${expected}`;
  }
  return undefined;
}
