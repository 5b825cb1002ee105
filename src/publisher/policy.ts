/**
 * When online roles expire and when they are re-signed.
 *
 * PEP 458 §Metadata Expiry Times: bin-n, snapshot and timestamp expire after
 * one day. Every publish leaves each role with at least `floor` of validity.
 * A bin is *due* once it has less than floor + slack left; due bins are spread
 * evenly over the renewal period (bootstrap staggers their expiries), so a
 * cron run re-signs about 2^bit_length × interval / period of them.
 */
export interface Policy {
  /** Validity given to bin-n, snapshot and timestamp when signed. */
  readonly onlineExpiryMs: number;
  /** Least validity any published online role may have. */
  readonly floorMs: number;
  /** Extra margin before the floor, so a run or two can be missed. */
  readonly slackMs: number;
  /** How often the cron asks for renewal. */
  readonly intervalMs: number;
  /**
   * How long superseded files stay in R2 (PEP 458 §Cleaning up old metadata):
   * one hour plus the CDN lifetime of timestamp.json, so a client holding any
   * timestamp published in that time can finish its update.
   */
  readonly retentionMs: number;
  /** The CDN lifetime of timestamp.json (TIMESTAMP_MAX_AGE): how long a cache may serve one after it is replaced. */
  readonly timestampMaxAgeMs: number;
}

const HOUR = 3_600_000;

export const DEFAULT_POLICY: Policy = {
  onlineExpiryMs: 24 * HOUR,
  floorMs: 18 * HOUR,
  slackMs: 1 * HOUR,
  intervalMs: 5 * 60_000,
  retentionMs: HOUR + 60_000,
  timestampMaxAgeMs: 60_000,
};

export function policyFromEnv(env: {
  RENEW_FLOOR_HOURS?: string;
  ONLINE_EXPIRY_HOURS?: string;
  RETENTION_SECONDS?: string;
  TIMESTAMP_MAX_AGE?: string;
}): Policy {
  const hours = (s: string | undefined, fallback: number) => {
    const n = Number(s);
    return s !== undefined && s !== "" && Number.isFinite(n) && n > 0 ? n * HOUR : fallback;
  };
  const policy = {
    ...DEFAULT_POLICY,
    onlineExpiryMs: hours(env.ONLINE_EXPIRY_HOURS, DEFAULT_POLICY.onlineExpiryMs),
    floorMs: hours(env.RENEW_FLOOR_HOURS, DEFAULT_POLICY.floorMs),
    retentionMs: (seconds(env.RETENTION_SECONDS, 3600) + seconds(env.TIMESTAMP_MAX_AGE, 60)) * 1000,
    timestampMaxAgeMs: seconds(env.TIMESTAMP_MAX_AGE, 60) * 1000,
  };
  function seconds(s: string | undefined, fallback: number): number {
    const n = Number(s);
    return s !== undefined && s !== "" && Number.isFinite(n) && n >= 0 ? n : fallback;
  }
  if (renewalPeriod(policy) <= policy.intervalMs)
    throw new Error("RENEW_FLOOR_HOURS must leave more than the cron interval plus 1 h below ONLINE_EXPIRY_HOURS");
  return policy;
}

/** How long a freshly signed bin stays before it is due again. */
export const renewalPeriod = (p: Policy): number => p.onlineExpiryMs - p.floorMs - p.slackMs;

/** The number of bins one cron run re-signs in the steady state, doubled for drift. */
export const binsPerRun = (numberOfBins: number, p: Policy): number =>
  2 * Math.ceil((numberOfBins * p.intervalMs) / renewalPeriod(p));

/** Bootstrap expiries spread over one renewal period, so renewal work is even from the start. */
export const staggeredExpiry = (index: number, numberOfBins: number, now: number, p: Policy): number =>
  now + p.floorMs + p.slackMs + Math.floor((renewalPeriod(p) * (index + 1)) / numberOfBins);

export const isDue = (expires: number, now: number, p: Policy): boolean => expires <= now + p.floorMs + p.slackMs;

/** Due so urgently that waiting one more interval would cross the floor: renewed regardless of the per-run bound. */
export const isOverdue = (expires: number, now: number, p: Policy): boolean => expires <= now + p.floorMs + p.intervalMs;
