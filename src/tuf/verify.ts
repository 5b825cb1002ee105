/**
 * Threshold verification, in one place, as TUF spec 5.3.4/5.4.2 count it:
 * only keys the delegator names for the role count, and each keyid counts once.
 */
import { TufError } from "./errors.js";
import { ownEntry } from "./guards.js";
import type { Key } from "./keys.js";
import type { Metadata } from "./metadata.js";
import type { Role } from "./role.js";
import type { Root } from "./root.js";
import type { Signed } from "./signed.js";
import type { Targets } from "./targets.js";

export interface VerificationResult {
  readonly threshold: number;
  /** keyids of the role whose signature verified */
  readonly signed: ReadonlySet<string>;
  /** keyids of the role with no valid signature */
  readonly unsigned: ReadonlySet<string>;
  readonly verified: boolean;
}

export type Delegator = Root | Targets;

/** Never throws on bad signatures: says who signed and whether the threshold is met. */
export async function verificationResult(
  delegator: Delegator,
  roleName: string,
  metadata: Metadata<Signed>,
): Promise<VerificationResult> {
  const delegate = delegator.delegateFor(roleName);
  if (!delegate) throw new TufError("unknown_role", `${delegator.type} does not delegate to ${roleName}`);
  return countSignatures(delegate.keys, delegate.role, metadata);
}

export async function countSignatures(
  keys: Readonly<Record<string, Key>>,
  role: Role,
  metadata: Metadata<Signed>,
): Promise<VerificationResult> {
  const data = metadata.verificationBytes();
  const signed = new Set<string>();
  const unsigned = new Set<string>();
  for (const keyid of role.keyids) {
    const key = ownEntry(keys, keyid);
    const signature = metadata.signatures.find((s) => s.keyid === keyid);
    if (key && signature && (await key.verify(data, signature.sig))) signed.add(keyid);
    else unsigned.add(keyid);
  }
  return { threshold: role.threshold, signed, unsigned, verified: signed.size >= role.threshold };
}

/** Throws `TufError("threshold")`, e.g. "snapshot v7 signed by 0/1 keys", unless the threshold is met. */
export async function verifyDelegate(delegator: Delegator, roleName: string, metadata: Metadata<Signed>): Promise<void> {
  const result = await verificationResult(delegator, roleName, metadata);
  if (!result.verified)
    throw new TufError(
      "threshold",
      `${roleName} v${metadata.signed.version} signed by ${result.signed.size}/${result.threshold} required keys`,
    );
}

/**
 * TUF spec 5.3.4-5.3.5: root N+1 must be version N+1 and be signed by a
 * threshold of root N's keys and a threshold of its own.
 */
export async function verifyRootRotation(trusted: Root, next: Metadata<Root>): Promise<void> {
  if (next.signed.version !== trusted.version + 1)
    throw new TufError("rollback", `root v${next.signed.version} does not follow trusted root v${trusted.version}`);
  const old = await verificationResult(trusted, "root", next);
  const own = await verificationResult(next.signed, "root", next);
  if (!old.verified || !own.verified)
    throw new TufError(
      "threshold",
      `root v${next.signed.version} signed by ${old.signed.size}/${old.threshold} keys of root v${trusted.version} ` +
        `and ${own.signed.size}/${own.threshold} of its own`,
    );
}
