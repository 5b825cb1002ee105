/**
 * Signing with the online keys: which configured keys sign, the envelope built
 * around already-canonical signed bytes, and the self-checks every file passes
 * before it is written.
 */
import { digestHex, Ed25519Signer, fromHex, Metadata, MetaFile, Timestamp, utf8, type Signature } from "../tuf/index.js";
import { assertWithinClientLimit } from "./client-limits.js";
import { assertCanonicalSnapshot } from "./snapshot-bytes.js";
import type { LoggedFile } from "./log-entry.js";

/** The configured online keys (ONLINE_KEY, ONLINE_KEY_NEXT), whether or not a root names them. */
export function configuredOnlineKeys(env: Env): Promise<Ed25519Signer[]> {
  // Mid-rotation both secrets may hold the same seed; each key signs once (keyids are unique per file).
  const seeds = [...new Set([env.ONLINE_KEY, env.ONLINE_KEY_NEXT].filter((s): s is string => !!s).map((s) => s.toLowerCase()))];
  return Promise.all(seeds.map((hex) => Ed25519Signer.fromSeed(fromHex(hex))));
}

/**
 * The keys that sign online roles: each configured key (ONLINE_KEY,
 * ONLINE_KEY_NEXT) that the current or the previous root names for
 * timestamp. Right after an online-key rotation that is both keys, so a
 * client still on the previous root and one on the new root both verify.
 *
 * While the current root is held back (pending_root, plan.ts) clients are
 * still on the previous one, and the files signed now are what caches hold
 * when the held root goes out: both roots' keys must sign, or nothing is.
 */
export async function onlineSigners(sql: SqlStorage, env: Env): Promise<Ed25519Signer[]> {
  const roots = sql
    .exec<{ body: ArrayBuffer }>("SELECT body FROM root_history ORDER BY version DESC LIMIT 2")
    .toArray()
    .map((r) => Metadata.fromBytes("root", new Uint8Array(r.body)).signed);
  const named = new Set(roots.flatMap((root) => root.roles.timestamp.keyids));
  const signers = (await configuredOnlineKeys(env)).filter((s) => named.has(s.key.keyid));
  const held = sql.exec<{ version: number }>("SELECT version FROM pending_root").toArray()[0]?.version === roots[0]!.version;
  // Signing only with keys a root clients use has dropped would publish files those clients refuse:
  // fail instead, so the alarm retries and /healthz reports the roles running out.
  for (const root of held ? roots : roots.slice(0, 1))
    if (!signers.some((s) => root.roles.timestamp.keyids.includes(s.key.keyid))) {
      const both = !!env.ONLINE_KEY_NEXT && !!env.ONLINE_KEY;
      const wanted = root.roles.timestamp.keyids.map((k) => `${k.slice(0, 8)}…`).join(", ");
      const which = `${both ? "neither ONLINE_KEY nor ONLINE_KEY_NEXT is" : env.ONLINE_KEY_NEXT ? "ONLINE_KEY_NEXT is not" : "ONLINE_KEY is not"} the key root v${root.version} names for timestamp (${wanted})`;
      throw new Error(
        root === roots[0]
          ? `${which}; set ONLINE_KEY to that key's seed (docs/operations.md section 7)`
          : `${which}, and clients stay on root v${root.version} until root v${roots[0]!.version} is written: keep that key as ONLINE_KEY (or ONLINE_KEY_NEXT) until GET /api/v1/status shows root v${roots[0]!.version} (docs/operations.md section 7)`,
      );
    }
  return signers.sort((a, b) => (a.key.keyid < b.key.keyid ? -1 : 1));
}

/** `{"signatures":[…],"signed":…}` built around already-canonical signed bytes: the keys sort this way. */
export async function envelope(signedBytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<Uint8Array> {
  const signatures: Signature[] = await Promise.all(signers.map((s) => s.sign(signedBytes)));
  const head = utf8(`{"signatures":[${signatures.map((s) => `{"keyid":"${s.keyid}","sig":"${s.sig}"}`).join(",")}],"signed":`);
  const out = new Uint8Array(head.length + signedBytes.length + 1);
  out.set(head);
  out.set(signedBytes, head.length);
  out[out.length - 1] = 0x7d; // "}"
  return out;
}

/**
 * timestamp.json's self-check: the bytes parse back as the role, are already
 * canonical, and carry a valid signature by each online key. (It is small; the
 * snapshot and the bin-n have cheaper checks below.)
 */
async function selfCheckTimestamp(bytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<void> {
  const md = Metadata.fromBytes("timestamp", bytes);
  for (const signer of signers) {
    const sig = md.signatures.find((s) => s.keyid === signer.key.keyid);
    if (!sig || !(await signer.key.verify(md.signedBytes(), sig.sig)) || !bytesEqual(md.toBytes(), bytes))
      throw new Error(`self-check failed: timestamp v${md.signed.version} does not round-trip or verify with the online key`);
  }
}

/**
 * The cheap self-check of a bin-n: it parses as JSON and each online key's
 * signature verifies over the signed part. (bin-bytes.test.ts proves the bytes
 * are what the Metadata API would write; parsing every bin back through it
 * would double the cost of a publish at 10M artifacts.)
 */
export async function verifyEnvelope(bytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<void> {
  JSON.parse(new TextDecoder().decode(bytes));
  await verifySignatures("a bin-n", bytes, signers);
}

/**
 * The snapshot's self-check: its signed part is canonical (a byte scan, see
 * assertCanonicalSnapshot) and each online key's signature verifies over it.
 * Parsing the 16,386-entry snapshot into the Metadata API and back cost more
 * than the whole rest of a publish at 16,384 bins.
 */
export async function selfCheckSnapshot(bytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<void> {
  assertCanonicalSnapshot(await verifySignatures("the snapshot", bytes, signers));
}

const SIGNED = utf8(',"signed":');

/**
 * Verifies each signer's signature over the signed part of an envelope()
 * output and returns that part. Only the short ASCII head is parsed: its
 * signatures hold hex only, so the first `,"signed":` ends it.
 */
async function verifySignatures(what: string, bytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<Uint8Array> {
  const end = indexOf(bytes, SIGNED);
  if (end < 0) throw new Error(`self-check failed: ${what} has no signed part`);
  const { signatures } = JSON.parse(`${new TextDecoder().decode(bytes.subarray(0, end))}}`) as { signatures: Array<{ keyid: string; sig: string }> };
  const signed = bytes.subarray(end + SIGNED.length, bytes.length - 1);
  for (const signer of signers) {
    const sig = signatures.find((s) => s.keyid === signer.key.keyid);
    if (!sig || !(await signer.key.verify(signed, sig.sig))) throw new Error(`self-check failed: ${what} does not verify with the online key`);
  }
  return signed;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** timestamp.json for the snapshot `snapshotBytes`, signed and self-checked. */
export async function signTimestamp(version: number, expires: Date, snapshotVersion: number, snapshotBytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<Uint8Array> {
  let md = new Metadata(new Timestamp({ version, expires }, new MetaFile(snapshotVersion, snapshotBytes.length, { sha256: await sha256Of(snapshotBytes) })));
  for (const signer of signers) md = await md.sign(signer);
  const bytes = md.toBytes();
  await selfCheckTimestamp(bytes, signers);
  assertWithinClientLimit("timestamp", "timestamp", bytes.length);
  return bytes;
}

/** A written file as the signing log records it; `signers` signed it, else its own signatures name the keys. */
export async function loggedFile(role: string, version: number, bytes: Uint8Array, signers?: readonly Ed25519Signer[]): Promise<LoggedFile> {
  const keyids = signers
    ? signers.map((s) => s.key.keyid)
    : (JSON.parse(new TextDecoder().decode(bytes)) as { signatures: Array<{ keyid: string }> }).signatures.map((s) => s.keyid);
  return { role, version, length: bytes.length, sha256: await sha256Of(bytes), keyids: keyids.sort() };
}

const digests = new WeakMap<Uint8Array, Promise<string>>();

/**
 * The SHA-256 of a file about to be written, hashed once: the timestamp and the
 * signing log both need the ~0.5 MB snapshot's. WebCrypto, not sha256Sync,
 * whose JS SHA-256 of the snapshot was 5 ms of every publish.
 */
function sha256Of(bytes: Uint8Array): Promise<string> {
  let digest = digests.get(bytes);
  if (!digest) digests.set(bytes, (digest = digestHex(bytes).then((d) => d.sha256!)));
  return digest;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
