/**
 * What /healthz and /api/v1/status call a problem, from the served state, the
 * publish in flight, the failure streak and the queue. Pure: tests and both
 * routes share it.
 */
import type { Settings } from "./config.js";
import type { FailureView, InFlightView, ServedView } from "./types.js";

/** Consecutive failed attempts (2 s apart) after which a publish "keeps failing". */
export const FAILING_AFTER_ATTEMPTS = 3;

export interface HealthInput {
  served: ServedView;
  inFlight: InFlightView | null;
  failing: FailureView | null;
  oldestQueuedSeconds: number | null;
}

export function healthProblems(input: HealthInput, settings: Settings): string[] {
  const problems = [...settings.problems];
  const floorSeconds = settings.policy.floorMs / 1000;
  const stuck = settings.queueStuckSeconds;
  const { inFlight, failing } = input;
  const served = input.served.roles;
  for (const [name, role] of [["timestamp", served.timestamp], ["snapshot", served.snapshot], [served.oldest_bin.role, served.oldest_bin]] as const)
    if (role.seconds_left < floorSeconds)
      problems.push(`served ${name} v${role.version} has ${role.seconds_left} s of validity left, below the ${floorSeconds} s floor (RENEW_FLOOR_HOURS)`);
  if (failing && failing.attempts >= FAILING_AFTER_ATTEMPTS)
    problems.push(
      `publish of ${failing.timestamp === null ? "the next timestamp" : `timestamp v${failing.timestamp}`} failing since ${failing.since} ` +
        `(${failing.attempts} attempts): ${failing.error}`,
    );
  else if (inFlight && inFlight.seconds > stuck)
    problems.push(`publish of timestamp v${inFlight.timestamp} in flight since ${inFlight.since}, longer than QUEUE_STUCK_SECONDS (${stuck} s)`);
  if (inFlight && inFlight.oldest_change_seconds !== null && inFlight.oldest_change_seconds > stuck)
    problems.push(`a change in the publish of timestamp v${inFlight.timestamp} has waited ${inFlight.oldest_change_seconds} s, longer than QUEUE_STUCK_SECONDS (${stuck} s)`);
  if (input.oldestQueuedSeconds !== null && input.oldestQueuedSeconds > stuck)
    problems.push(`the oldest queued change has waited ${input.oldestQueuedSeconds} s, longer than QUEUE_STUCK_SECONDS (${stuck} s)`);
  return problems;
}
