/**
 * The PEP 458 key layout rules that `init` and `root rotate` both enforce
 * (PEP 458 §Number and Type Of Keys Recommended, §Minimum Security Model):
 *  - root is t-of-n offline keys with t > 1 ("at least two members must sign");
 *  - targets and bins keys are offline and independent of the root keys;
 *  - snapshot, timestamp and every bin-n share ONE online key, threshold 1,
 *    which must not also be an offline key.
 */
import { Role, type Key, type Root } from "../../src/tuf/index.js";
import { URL_SAFE_ROLE } from "../../src/publisher/offline.js";
import { CliError, UsageError } from "./errors.js";
import { readPublicKey } from "./keyfile.js";

/** Reads public key files for `option`, refusing the same key twice. */
export async function readKeys(paths: readonly string[], option: string): Promise<Key[]> {
  const keys: Key[] = [];
  for (const path of paths) {
    const key = await readPublicKey(path);
    if (keys.some((k) => k.keyid === key.keyid))
      throw new CliError(`--${option} names key ${key.keyid} twice (${path})`, "Give each key holder's .pub file once");
    keys.push(key);
  }
  return keys;
}

/** Root t-of-n: 1 <= t <= n, and t >= 2 unless explicitly made insecure. */
export function checkRootThreshold(threshold: number, n: number, insecure: boolean, command: string): void {
  checkThreshold("root", threshold, n, "root-key", command);
  if (threshold < 2 && !insecure)
    throw new UsageError(
      "a root threshold of 1 lets a single stolen key take over the repository; PEP 458 requires at least two root signatures. " +
        "Use --root-threshold 2 or more with at least two --root-key files, or pass --insecure-single-root-key for a test repository",
      command,
    );
}

export function checkThreshold(role: string, threshold: number, n: number, option: string, command: string): void {
  if (n === 0) throw new UsageError(`${role} needs at least one key; give --${option}`, command);
  if (threshold > n)
    throw new UsageError(`the ${role} threshold ${threshold} exceeds its ${n} key${n === 1 ? "" : "s"}; a threshold can be at most the number of keys`, command);
}

/** Offline keys must stay offline: the online key may not sign any offline role, and targets/bins keys stay apart from root keys. */
export function checkIndependence(sets: { root: readonly Key[]; targets: readonly Key[]; bins: readonly Key[]; online: Key }): void {
  const { root, targets, bins, online } = sets;
  const has = (list: readonly Key[], key: Key): boolean => list.some((k) => k.keyid === key.keyid);
  for (const [role, list] of [["root", root], ["targets", targets], ["bins", bins]] as const)
    if (has(list, online))
      throw new CliError(
        `the online key ${online.keyid} is also a ${role} key`,
        "The online key lives on the server and must not sign offline roles (PEP 458); generate a separate online key",
      );
  for (const [role, list] of [["targets", targets], ["bins", bins]] as const) {
    const shared = list.find((k) => has(root, k));
    if (shared)
      throw new CliError(
        `key ${shared.keyid} is both a root key and a ${role} key`,
        `PEP 458 requires ${role} keys to be independent of the root keys; generate separate keys`,
      );
  }
}

export const keyMap = (keys: Iterable<Key>): Record<string, Key> => {
  const out: Record<string, Key> = {};
  for (const key of keys) out[key.keyid] = key;
  return out;
};

export const ids = (keys: readonly Key[]): string[] => keys.map((k) => k.keyid);

/** The four top-level roles of a PEP 458 root. */
export function rootRoles(
  root: { keys: readonly Key[]; threshold: number },
  targets: { keys: readonly Key[]; threshold: number },
  online: Key,
): Record<"root" | "targets" | "snapshot" | "timestamp", Role> {
  return {
    root: new Role(ids(root.keys), root.threshold),
    targets: new Role(ids(targets.keys), targets.threshold),
    snapshot: new Role([online.keyid], 1),
    timestamp: new Role([online.keyid], 1),
  };
}

/** Keys of one root role, in the order the role lists them. */
export function keysOf(root: Root, role: "root" | "targets" | "snapshot" | "timestamp"): Key[] {
  return root.roles[role].keyids.map((keyid) => {
    const key = root.keys[keyid];
    if (!key) throw new CliError(`root v${root.version} lists ${role} key ${keyid} but has no such key`, "Draft the root again");
    return key;
  });
}

/** Role names become file and URL names: the alphabet the Worker's bootstrap accepts (src/publisher/offline.ts). */
export function checkNamePrefix(prefix: string, command: string): void {
  if (!URL_SAFE_ROLE.test(prefix))
    throw new UsageError(
      `--name-prefix ${JSON.stringify(prefix)} must be lowercase letters a-z, digits, "." or "-", starting with a letter or digit (what the Worker's bootstrap accepts)`,
      command,
    );
}
