/**
 * The PEP 458 key policy the Publisher enforces on the offline roles it
 * accepts (§Number and Type Of Keys Recommended, §Managing online keys):
 * root needs at least two signatures, and the online key, which lives in the
 * Worker, signs none of root, targets and bins. A repository bootstrapped with
 * `insecure_key_policy` skips these checks for good, and /api/v1/status says so.
 */
import { TufError, type Key } from "../tuf/index.js";
import type { OfflineRoles } from "./offline.js";

export function requireKeyPolicy(roles: OfflineRoles, onlineKey: Key): void {
  const root = roles.root.signed;
  if (root.roles.root.threshold < 2)
    throw new TufError(
      "key_policy",
      `root v${root.version} has threshold ${root.roles.root.threshold}: PEP 458 asks for at least two root signatures (bootstrap with "insecure_key_policy": true only for a test repository)`,
    );
  const bins = roles.targets.signed.delegations?.roles?.find((r) => r.name === "bins");
  const offline: Array<[string, readonly string[]]> = [
    ["root", root.roles.root.keyids],
    ["targets", root.roles.targets.keyids],
    ["bins", bins?.keyids ?? []],
  ];
  for (const [role, keyids] of offline)
    if (keyids.includes(onlineKey.keyid))
      throw new TufError(
        "key_policy",
        `the online key (keyid ${onlineKey.keyid}) is a ${role} key: offline roles must never be signable by the key the Worker holds`,
      );
}
