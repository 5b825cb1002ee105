/**
 * Reading a repository back from what R2 serves, for `tuf-edge recover`: when
 * the Publisher's SQLite storage is lost, or a new deployment takes over a
 * bucket. The served state is checked as a client would check it (TUF spec 5,
 * checkRepository) and its highest versions are found by listing, so the
 * Publisher can continue strictly above every version any cache may hold.
 */
import { readMetadata } from "./at-rest.js";
import { Metadata, TufError, type JSONObject, type Root, type Snapshot, type Targets, type Timestamp } from "../tuf/index.js";
import { checkRepository } from "../tuf/repository-check.js";
import type { R2Keys } from "./r2-keys.js";

const VERSIONED = /^(\d+)\.([a-z0-9][a-z0-9.-]*)\.json$/;

export interface RecoveredArtifact {
  path: string;
  bin: number;
  length: number;
  hashes: Record<string, string>;
  custom?: JSONObject;
}

export interface RecoveredRepository {
  /** Every root, from 1 to the newest served. */
  roots: Metadata<Root>[];
  targets: Metadata<Targets>;
  bins: Metadata<Targets>;
  timestamp: Metadata<Timestamp>;
  snapshot: Metadata<Snapshot>;
  /** Every target listed by the served bin-n. */
  artifacts: RecoveredArtifact[];
  /** The highest version under which R2 holds each role's file, served or not (an unfinished publish leaves some). */
  highest: ReadonlyMap<string, number>;
}

/**
 * `onlineExpiryMs` dates the check: the served state is verified as of the time
 * its timestamp was signed, so a repository whose online roles ran out while
 * the Publisher was gone can still be recovered (and is re-signed at once).
 */
export async function readRepository(bucket: R2Bucket, keys: R2Keys, onlineExpiryMs: number): Promise<RecoveredRepository> {
  const files = new Map<string, Uint8Array>();
  const fetch = async (name: string): Promise<Uint8Array | undefined> => {
    const bytes = await readMetadata(bucket, keys.metadata(name));
    if (bytes === undefined) return undefined;
    files.set(name, bytes);
    return bytes;
  };
  const rootOne = await fetch("1.root.json");
  const timestampBytes = await fetch("timestamp.json");
  if (!rootOne || !timestampBytes)
    throw new TufError("malformed", `R2 holds no repository under ${keys.metadataPrefix} (no 1.root.json or timestamp.json): bootstrap instead`);
  const signedAt = new Date(Metadata.fromBytes("timestamp", timestampBytes).signed.expires.getTime() - onlineExpiryMs);
  const state = await checkRepository({ fetch, trustedRoot: Metadata.fromBytes("root", rootOne), now: signedAt, concurrency: 32 });

  const roots: Metadata<Root>[] = [];
  for (let v = 1; v <= state.root.signed.version; v++) roots.push(Metadata.fromBytes("root", files.get(`${v}.root.json`)!));
  const served = (role: string) => Metadata.fromBytes("targets", files.get(`${state.snapshot.signed.meta[`${role}.json`]!.version}.${role}.json`)!);
  const bins = served("bins");
  const succinct = bins.signed.delegations!.succinctRoles!;
  const artifacts: RecoveredArtifact[] = [];
  for (const [role, signed] of state.targets) {
    if (role === "targets" || role === "bins") continue;
    const bin = succinct.indexOf(role)!;
    for (const [path, file] of Object.entries(signed.targets)) {
      if (succinct.binIndexFor(path) !== bin) throw new TufError("malformed", `${role} lists ${path}, which belongs to ${succinct.succinctBinFor(path)}`);
      artifacts.push({ path, bin, length: file.length, hashes: { ...file.hashes }, ...(file.custom === undefined ? {} : { custom: file.custom }) });
    }
  }
  return {
    roots,
    targets: served("targets"),
    bins,
    timestamp: state.timestamp,
    snapshot: state.snapshot,
    artifacts,
    highest: await highestVersions(bucket, keys),
  };
}

async function highestVersions(bucket: R2Bucket, keys: R2Keys): Promise<Map<string, number>> {
  const highest = new Map<string, number>();
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: keys.metadataPrefix, cursor, limit: 1000 });
    for (const object of page.objects) {
      const m = VERSIONED.exec(object.key.slice(keys.metadataPrefix.length));
      if (m) highest.set(m[2]!, Math.max(highest.get(m[2]!) ?? 0, Number(m[1])));
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return highest;
}
