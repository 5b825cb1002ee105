/**
 * What /healthz and /api/v1/status report: served versions, the publish in
 * flight, failures and the queue (a few indexed lookups, so health stays
 * cheap), and for status the repository's size and the signing log's head.
 */
import type { SuccinctRoles } from "../tuf/index.js";
import { binSizeDistribution, sizeWarnings } from "./bin-sizes.js";
import type { Settings } from "./config.js";
import { healthProblems } from "./health.js";
import type { PublishState } from "./publish-state.js";
import type { SigningLog } from "./signing-log.js";
import { counter, insecureKeyPolicy } from "./store.js";
import type { HealthView, StatusView } from "./types.js";

/** Publishes status lists, newest first. */
const RECENT_PUBLISHES = 10;

export function healthView(state: PublishState, settings: Settings, succinct: SuccinctRoles, now: number): HealthView {
  const served = state.served(now, (idx) => succinct.roleName(idx));
  const inFlight = state.inFlight(now);
  const failing = state.failure();
  const queue = state.queue(now);
  const problems = healthProblems({ served, inFlight, failing, oldestQueuedSeconds: queue.oldestSeconds }, settings);
  return {
    ok: problems.length === 0,
    problems,
    ...served,
    in_flight: inFlight,
    failing,
    queue_depth: queue.depth,
    oldest_queued_seconds: queue.oldestSeconds,
  };
}

export function statusView(sql: SqlStorage, health: HealthView, signingLog: SigningLog, succinct: SuccinctRoles): StatusView {
  return {
    ...health,
    publishing: health.in_flight !== null,
    artifacts: counter(sql, "artifacts"),
    bins: succinct.numberOfBins,
    warnings: sizeWarnings(sql, succinct),
    log: signingLog.head() ?? null,
    recent_publishes: signingLog.recent(RECENT_PUBLISHES),
    bin_sizes: binSizeDistribution(sql),
    key_policy: insecureKeyPolicy(sql) ? "insecure" : "pep458",
  };
}
