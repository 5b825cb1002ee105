/**
 * Receipts: what an accepted request gets back, queued until the publish that
 * takes its last change commits, then published with its bins' versions.
 */
import type { SuccinctRoles } from "../tuf/index.js";
import type { PublishPlan } from "./plan.js";
import type { ReceiptView } from "./types.js";

/** The receipt of an earlier request with this idempotency key. */
export function receiptFor(sql: SqlStorage, idempotencyKey: string): { id: string; body_sha256: string } | undefined {
  return sql.exec<{ id: string; body_sha256: string }>("SELECT id, body_sha256 FROM receipts WHERE idempotency_key = ?", idempotencyKey).toArray()[0];
}

export function insertReceipt(sql: SqlStorage, id: string, idempotencyKey: string | null, bodySha256: string, now: number): void {
  sql.exec("INSERT INTO receipts (id, idempotency_key, body_sha256, received_at) VALUES (?, ?, ?, ?)", id, idempotencyKey, bodySha256, now);
}

export function receiptView(sql: SqlStorage, id: string): ReceiptView | undefined {
  const row = sql.exec<{ result: string | null }>("SELECT result FROM receipts WHERE id = ?", id).toArray()[0];
  if (!row) return undefined;
  const result = row.result === null ? undefined : JSON.parse(row.result);
  return result && !result.partial ? { receipt: id, status: "published", ...result } : { receipt: id, status: "queued" };
}

/** Records each receipt's bins and versions once the plan is committed. */
export function settleReceipts(sql: SqlStorage, plan: PublishPlan, succinct: SuccinctRoles): void {
  const versions = new Map(plan.bins);
  for (const [id, bins] of Object.entries(plan.receipts)) {
    // A request with more changes than one publish takes (MAX_BATCH in plan.ts) is published only by the
    // publish that takes its last change; until then its receipt gathers bins and says queued.
    const prior = sql.exec<{ result: string | null }>("SELECT result FROM receipts WHERE id = ?", id).one().result;
    const merged = { ...(prior ? (JSON.parse(prior) as { bins: Record<string, number> }).bins : {}), ...Object.fromEntries(bins.map((idx) => [succinct.roleName(idx), versions.get(idx)!])) };
    const remaining = sql.exec("SELECT 1 FROM queue WHERE receipt = ? LIMIT 1", id).toArray().length > 0;
    const result = remaining ? { partial: true, bins: merged } : { bins: merged, snapshot: plan.snapshotVersion, timestamp: plan.timestampVersion };
    sql.exec("UPDATE receipts SET result = ? WHERE id = ?", JSON.stringify(result), id);
  }
}
