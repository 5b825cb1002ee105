/** Accepted changes wait in `queue` until a publish takes them (plan.ts). */
import { canonicalString, type SuccinctRoles } from "../tuf/index.js";
import { assertWithinClientLimit, BIN_ENVELOPE_BYTES, entryBytes } from "./client-limits.js";
import { hashesText } from "./bin-bytes.js";
import { bumpCounter } from "./store.js";
import type { Change } from "./types.js";

/** Queues one change of `receipt`; throws RoleTooLarge if its bin could outgrow what clients download. */
export function enqueue(sql: SqlStorage, receipt: string, change: Change, succinct: SuccinctRoles): void {
  const bin = succinct.binIndexFor(change.path);
  bumpCounter(sql, "queued", 1);
  if (change.op === "remove") {
    sql.exec("INSERT INTO queue (receipt, op, path, bin) VALUES (?, 'remove', ?, ?)", receipt, change.path, bin);
    return;
  }
  const size = entryBytes(change.path, change.length, change.hashes, change.custom);
  sql.exec(
    "INSERT INTO queue (receipt, op, path, bin, length, hashes, custom, size) VALUES (?, 'add', ?, ?, ?, ?, ?, ?)",
    receipt,
    change.path,
    bin,
    change.length,
    hashesText(change.hashes), // canonical text: bin-bytes.ts embeds it as is
    change.custom === undefined ? null : canonicalString(change.custom),
    size,
  );
  // Counted as if nothing queued replaces anything: a bound from above, so no accepted change can overfill a bin.
  const { bytes } = sql
    .exec<{ bytes: number }>("UPDATE bins SET queued_bytes = queued_bytes + ? WHERE idx = ? RETURNING bytes + queued_bytes AS bytes", size, bin)
    .one();
  assertWithinClientLimit("targets", succinct.roleName(bin), bytes + BIN_ENVELOPE_BYTES);
}
