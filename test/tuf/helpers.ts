/**
 * Shared fixtures for the src/tuf tests: a seeded PRNG, fixed Ed25519 signers,
 * valid JSON datasets of every role, and reference canonicalizers to compare with.
 * Everything here is deterministic: fixed seeds, a fixed expiry, no clock.
 */
import { expect } from "vitest";
import { Ed25519Signer, Metadata, TufError, type RoleType, type Signed, type TufErrorCode } from "../../src/tuf/index.js";

// Datasets are mutated freely by the invalid-input tables, so they are loosely typed.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** mulberry32: a tiny, fast, deterministic PRNG. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The error `fn` throws, or a failed expectation if it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  expect.fail("expected a throw, but the call returned");
}

export async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return expect.fail("expected a rejection, but the promise resolved");
}

export function expectTufError(error: unknown, code: TufErrorCode, message?: string | RegExp): void {
  expect(error).toBeInstanceOf(TufError);
  expect((error as TufError).code).toBe(code);
  if (message !== undefined) expect((error as TufError).message).toMatch(message);
}

export const expectThrowsTuf = (fn: () => unknown, code: TufErrorCode, message?: string | RegExp): void =>
  expectTufError(thrown(fn), code, message);

export const expectRejectsTuf = async (promise: Promise<unknown>, code: TufErrorCode, message?: string | RegExp) =>
  expectTufError(await rejected(promise), code, message);

/**
 * securesystemslib `encode_canonical`, ported as the Python reference: only `\` and `"`
 * escaped, keys sorted by code point (Python `sorted`), integers only.
 */
export function sslibCanonical(value: unknown): string {
  if (typeof value === "string") return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  if (value === true) return "true";
  if (value === false) return "false";
  if (value === null) return "null";
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error("FormatError: floats are not canonical");
    return BigInt(value).toString();
  }
  if (Array.isArray(value)) return `[${value.map(sslibCanonical).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compareCodePoints(a, b));
    return `{${entries.map(([k, v]) => `${sslibCanonical(k)}:${sslibCanonical(v)}`).join(",")}}`;
  }
  throw new Error(`FormatError: ${typeof value}`);
}

function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

// ---------------------------------------------------------------------------------------------
// Fixed keys: signer i is made from the seed with every byte equal to i + 1.

export const seedOf = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);

export const signers: Ed25519Signer[] = await Promise.all(
  Array.from({ length: 10 }, (_, i) => Ed25519Signer.fromSeed(seedOf(i + 1))),
);

export const keyid = (i: number): string => signers[i]!.key.keyid;
export const keyJSON = (i: number): Json => signers[i]!.key.toJSON();

/** The key and keyid of the TUF spec example (pep458.md section 9). */
export const SPEC_PUBLIC_KEY = "72378e5bc588793e58f81c8533da64a2e8f1565c1fcc7f253496394ffc52542c";
export const SPEC_KEYID = "1bf1c6e3cdd3d3a8420b19199e27511999850f4b376c4547b2f32fba7e80fca3";

export const EXPIRES = "2030-01-01T00:00:00Z";
export const SHA256_A = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"; // sha256("a")
export const SHA512_A =
  "1f40fc92da241694750979ee6cf582f2d5d7d28e18335de05abc54d0560e0f5302860c652bf08d560252aa5e74210546f369fbbbce8c12cfc7957b2652fe9a75";

// ---------------------------------------------------------------------------------------------
// Valid datasets: fresh objects on every call, so a test may mutate them.

const common = (type: RoleType, version = 1): Json => ({ _type: type, spec_version: "1.0.31", version, expires: EXPIRES });

/** Root: signer 0 for root, 1 targets, 2 snapshot, 3 timestamp. */
export const rootJSON = (): Json => ({
  ...common("root"),
  consistent_snapshot: true,
  keys: { [keyid(0)]: keyJSON(0), [keyid(1)]: keyJSON(1), [keyid(2)]: keyJSON(2), [keyid(3)]: keyJSON(3) },
  roles: {
    root: { keyids: [keyid(0)], threshold: 1 },
    targets: { keyids: [keyid(1)], threshold: 1 },
    snapshot: { keyids: [keyid(2)], threshold: 1 },
    timestamp: { keyids: [keyid(3)], threshold: 1 },
  },
});

/** Targets delegating by name: "a" (signer 4, paths) and "b" (signers 5, 6 of 2, hash prefixes). */
export const targetsJSON = (): Json => ({
  ...common("targets"),
  targets: {
    "file1.txt": { length: 1, hashes: { sha256: SHA256_A } },
    "dir/file2.tar.gz": { length: 0, hashes: { sha256: SHA256_A, sha512: SHA512_A }, custom: { "x-note": "kept" } },
  },
  delegations: {
    keys: { [keyid(4)]: keyJSON(4), [keyid(5)]: keyJSON(5), [keyid(6)]: keyJSON(6) },
    roles: [
      { name: "a", keyids: [keyid(4)], threshold: 1, terminating: false, paths: ["a/*"] },
      { name: "b", keyids: [keyid(5), keyid(6)], threshold: 2, terminating: true, path_hash_prefixes: ["8", "9"] },
    ],
  },
});

/** Targets delegating to 2^14 succinct bins "bins-0000".."bins-3fff", signed by signer 4 (TAP 15). */
export const succinctTargetsJSON = (bitLength = 14, namePrefix = "bins"): Json => ({
  ...common("targets"),
  targets: {},
  delegations: {
    keys: { [keyid(4)]: keyJSON(4) },
    succinct_roles: { keyids: [keyid(4)], threshold: 1, bit_length: bitLength, name_prefix: namePrefix },
  },
});

export const binJSON = (version = 1): Json => ({
  ...common("targets", version),
  targets: { "packages/source/r/requests/requests-2.31.0.tar.gz": { length: 1, hashes: { sha256: SHA256_A } } },
});

export const snapshotJSON = (): Json => ({
  ...common("snapshot"),
  meta: {
    "targets.json": { version: 1 },
    "bins-0000.json": { version: 3, length: 512, hashes: { sha256: SHA256_A } },
  },
});

export const timestampJSON = (): Json => ({
  ...common("timestamp"),
  meta: { "snapshot.json": { version: 1, length: 1024, hashes: { sha256: SHA256_A } } },
});

export const DATASETS: Record<string, { type: RoleType; json: () => Json }> = {
  root: { type: "root", json: rootJSON },
  "targets with delegations.roles": { type: "targets", json: targetsJSON },
  "targets with succinct_roles": { type: "targets", json: succinctTargetsJSON },
  "targets without delegations": { type: "targets", json: binJSON },
  snapshot: { type: "snapshot", json: snapshotJSON },
  timestamp: { type: "timestamp", json: timestampJSON },
};

export const envelope = (signed: Json, signatures: Json[] = []): Json => ({ signatures, signed });

/** `md` signed in turn by the given signers. */
export async function signedBy<T extends Signed>(md: Metadata<T>, indices: readonly number[]): Promise<Metadata<T>> {
  for (const i of indices) md = await md.sign(signers[i]!);
  return md;
}
