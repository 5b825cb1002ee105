/** Byte helpers shared by the TUF core. WebCrypto and @noble only: no Node, no Cloudflare. */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export const utf8 = (s: string): Uint8Array => encoder.encode(s);
export const fromUtf8 = (b: Uint8Array): string => decoder.decode(b);

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError("not a hex string");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Synchronous SHA-256 for small inputs (keyids, bin assignment) that must run inside sync SQL transactions. */
export const sha256Sync = (data: Uint8Array): Uint8Array => nobleSha256(data);

export type HashAlgorithm = "sha256" | "sha512";
const SUBTLE_NAME: Record<HashAlgorithm, string> = { sha256: "SHA-256", sha512: "SHA-512" };

/** Hex digests of `data` for each algorithm, via WebCrypto (fast on large files). */
export async function digestHex(
  data: Uint8Array,
  algorithms: readonly HashAlgorithm[] = ["sha256"],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const alg of algorithms) {
    out[alg] = toHex(new Uint8Array(await crypto.subtle.digest(SUBTLE_NAME[alg], data as BufferSource)));
  }
  return out;
}

/** Constant-time equality for secrets compared as strings of equal expected length. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
