/**
 * The repository's rows in SQLite, the source of truth: the offline roles as
 * signed, the online roles' versions and expiries, counters and the audit trail.
 */
import { Metadata, type Root, type Targets } from "../tuf/index.js";
import type { OfflineRoles } from "./offline.js";

export function isBootstrapped(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM repository").toArray().length > 0;
}

export function insecureKeyPolicy(sql: SqlStorage): boolean {
  return sql.exec<{ insecure: number }>("SELECT insecure_key_policy AS insecure FROM repository").one().insecure === 1;
}

export function storeOfflineRole(sql: SqlStorage, name: string, md: Metadata<Root> | Metadata<Targets>): void {
  const body = md.toBytes();
  sql.exec(
    "INSERT INTO roles (name, version, expires, body) VALUES (?, ?, ?, ?) " +
      "ON CONFLICT (name) DO UPDATE SET version = excluded.version, expires = excluded.expires, body = excluded.body",
    name,
    md.signed.version,
    md.signed.expires.getTime(),
    name === "root" ? null : body,
  );
  if (name === "root") sql.exec("INSERT INTO root_history (version, body) VALUES (?, ?)", md.signed.version, body);
}

export function offlineRoleBody(sql: SqlStorage, role: string): { version: number; body: Uint8Array } {
  const row =
    role === "root"
      ? sql.exec<{ version: number; body: ArrayBuffer }>("SELECT version, body FROM root_history ORDER BY version DESC LIMIT 1").one()
      : sql.exec<{ version: number; body: ArrayBuffer }>("SELECT version, body FROM roles WHERE name = ?", role).one();
  return { version: row.version, body: new Uint8Array(row.body) };
}

export function currentOfflineRoles(sql: SqlStorage): OfflineRoles {
  const body = (role: string) => offlineRoleBody(sql, role).body;
  return {
    root: Metadata.fromBytes("root", body("root")),
    targets: Metadata.fromBytes("targets", body("targets")),
    bins: Metadata.fromBytes("targets", body("bins")),
  };
}

export function bumpRole(sql: SqlStorage, name: "snapshot" | "timestamp", expires: number): number {
  return sql.exec<{ version: number }>("UPDATE roles SET version = version + 1, expires = ? WHERE name = ? RETURNING version", expires, name).one().version;
}

export function roleRow(sql: SqlStorage, name: string): { version: number; expires: number } {
  return sql.exec<{ version: number; expires: number }>("SELECT version, expires FROM roles WHERE name = ?", name).one();
}

export function counter(sql: SqlStorage, name: "artifacts" | "queued"): number {
  return sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = ?", name).one().value;
}

export function bumpCounter(sql: SqlStorage, name: "artifacts" | "queued", delta: number): void {
  if (delta !== 0) sql.exec("UPDATE counters SET value = value + ? WHERE name = ?", delta, name);
}

export function audit(sql: SqlStorage, at: number, event: string, detail: object): void {
  sql.exec("INSERT INTO audit (at, event, detail) VALUES (?, ?, ?)", at, event, JSON.stringify(detail));
}
