/**
 * The Worker's settings ([vars]) and the form of its secrets, checked as a
 * whole. A bad combination is reported by /healthz and /api/v1/status and
 * refuses writes with `503 config_invalid`; it never turns every route into a 500.
 */
import { DEFAULT_POLICY, policyFromEnv, type Policy } from "./policy.js";

/** Queued changes or an in-flight publish older than this mean publishing is stuck. */
export const DEFAULT_QUEUE_STUCK_SECONDS = 300;

export interface Settings {
  policy: Policy;
  queueStuckSeconds: number;
  /** Empty when the settings are usable; else one line per problem, naming the variable. */
  problems: string[];
}

type Vars = Partial<Record<"RENEW_FLOOR_HOURS" | "ONLINE_EXPIRY_HOURS" | "RETENTION_SECONDS" | "TIMESTAMP_MAX_AGE" | "QUEUE_STUCK_SECONDS" | "ONLINE_KEY" | "ONLINE_KEY_NEXT", string>>;

const SEED = /^[0-9a-fA-F]{64}$/;

export function settingsFromEnv(env: Vars): Settings {
  const problems: string[] = [];
  const positive = (name: "RENEW_FLOOR_HOURS" | "ONLINE_EXPIRY_HOURS") => {
    const raw = env[name];
    if (raw !== undefined && raw !== "" && !(Number(raw) > 0)) problems.push(`${name} is ${JSON.stringify(raw)}, not a positive number of hours`);
  };
  const seconds = (name: "RETENTION_SECONDS" | "TIMESTAMP_MAX_AGE" | "QUEUE_STUCK_SECONDS") => {
    const raw = env[name];
    if (raw !== undefined && raw !== "" && !(Number(raw) >= 0)) problems.push(`${name} is ${JSON.stringify(raw)}, not a number of seconds`);
  };
  positive("ONLINE_EXPIRY_HOURS");
  positive("RENEW_FLOOR_HOURS");
  seconds("RETENTION_SECONDS");
  seconds("TIMESTAMP_MAX_AGE");
  seconds("QUEUE_STUCK_SECONDS");
  // Secrets are checked for form only; their values never appear in a message.
  if (!env.ONLINE_KEY) problems.push("ONLINE_KEY is not set (wrangler secret put ONLINE_KEY; .dev.vars locally)");
  else if (!SEED.test(env.ONLINE_KEY)) problems.push("ONLINE_KEY is not a 64-hex-digit Ed25519 seed (the \"seed\" of a tuf-edge keygen .key file)");
  if (env.ONLINE_KEY_NEXT && !SEED.test(env.ONLINE_KEY_NEXT))
    problems.push("ONLINE_KEY_NEXT is not a 64-hex-digit Ed25519 seed (the \"seed\" of a tuf-edge keygen .key file)");
  let policy = DEFAULT_POLICY;
  try {
    policy = policyFromEnv(env);
  } catch {
    const h = (s: string | undefined, d: number) => (Number(s) > 0 ? Number(s) : d);
    const gap = (DEFAULT_POLICY.slackMs + DEFAULT_POLICY.intervalMs) / 3_600_000;
    problems.push(
      `RENEW_FLOOR_HOURS (${h(env.RENEW_FLOOR_HOURS, 18)}) must be more than ${gap.toFixed(2)} h below ONLINE_EXPIRY_HOURS ` +
        `(${h(env.ONLINE_EXPIRY_HOURS, 24)}): renewal needs the cron interval plus 1 h of slack`,
    );
  }
  const stuck = Number(env.QUEUE_STUCK_SECONDS);
  return {
    policy,
    queueStuckSeconds: env.QUEUE_STUCK_SECONDS && stuck >= 0 ? stuck : DEFAULT_QUEUE_STUCK_SECONDS,
    problems,
  };
}
