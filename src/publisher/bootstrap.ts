/** The repository's first rows, from the ceremony's root, targets and bins. */
import type { SuccinctRoles } from "../tuf/index.js";
import { initBinSizes } from "./bin-sizes.js";
import type { OfflineRoles } from "./offline.js";
import { insertPlan } from "./plan.js";
import { staggeredExpiry, type Policy } from "./policy.js";
import { audit, storeOfflineRole } from "./store.js";

/** Stores the offline roles and version 1 of everything, and reserves the publish of all of it. Runs in a transactionSync. */
export function bootstrapRows(sql: SqlStorage, roles: OfflineRoles, succinct: SuccinctRoles, p: Policy, insecure: boolean, now: number): void {
  const n = succinct.numberOfBins;
  sql.exec(
    "INSERT INTO repository (id, bit_length, name_prefix, bootstrapped_at, insecure_key_policy) VALUES (1, ?, ?, ?, ?)",
    succinct.bitLength,
    succinct.namePrefix,
    now,
    insecure ? 1 : 0,
  );
  for (const [name, md] of Object.entries(roles)) storeOfflineRole(sql, name, md);
  for (let i = 0; i < n; i++) sql.exec("INSERT INTO bins (idx, version, expires) VALUES (?, 1, ?)", i, staggeredExpiry(i, n, now, p));
  initBinSizes(sql, n);
  sql.exec("INSERT INTO roles (name, version, expires) VALUES ('snapshot', 1, ?), ('timestamp', 1, ?)", now + p.onlineExpiryMs, now + p.onlineExpiryMs);
  const plan = {
    timestampVersion: 1,
    snapshotVersion: 1,
    referenceTime: now,
    bins: Array.from({ length: n }, (_, i): [number, number] => [i, 1]),
    offline: ["bins", "targets", "root"],
    receipts: {},
    superseded: [],
  };
  insertPlan(sql, plan, "bootstrap");
  audit(sql, now, "bootstrap", { root: 1, bins: n, bit_length: succinct.bitLength, insecure_key_policy: insecure });
}
